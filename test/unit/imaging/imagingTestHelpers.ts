/** Shared paths and the two reference decoders (pydicom+GDCM, dcmtk) for the imaging tests (not a test file itself). */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import type { DecodedImage } from '../../../src/core/imaging/DecodedImage';
import { modalityValues as modalityValuesOf, toDisplay8 as toDisplay8Of } from '../../../src/core/imaging/greyPipeline';

export const repoRoot = resolve(__dirname, '..', '..', '..');
export const sharedData = resolve(repoRoot, '..', 'shared', 'data');
export const corpusDir = join(sharedData, 'dicom-corpus');
export const cxrDir = join(sharedData, 'dicom-cxr');
export const generatedDir = join(repoRoot, 'test', 'fixtures', 'imaging', 'generated');
export const python = '/usr/bin/python3';

export function hasSharedData(): boolean { return existsSync(corpusDir) && existsSync(cxrDir); }

let pyOk: boolean | undefined;
/** pydicom + numpy + gdcm importable by /usr/bin/python3 (CI installs them). */
export function hasReference(): boolean {
  if (pyOk === undefined) {
    const r = spawnSync(python, ['-c', 'import pydicom, numpy, gdcm'], { encoding: 'utf8' });
    pyOk = r.status === 0;
  }
  return pyOk;
}

export interface FixtureEntry { file: string; transferSyntaxUID: string; lossless: boolean; base: string; note: string }

/** gdcmconv (libgdcm-tools) and DCMTK's dcmconv/dcmcjpeg/dcmcjpls, which the fixture generator runs. */
export function hasFixtureTools(): boolean {
  return ['gdcmconv', 'dcmconv', 'dcmcjpeg', 'dcmcjpls'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
}

/**
 * Generate test/fixtures/imaging/generated/ from the shared RG1 chest when missing or older than the
 * generator script (needs gdcmconv/dcmtk and pydicom).
 */
export function ensureGeneratedFixtures(): FixtureEntry[] | string {
  const manifest = join(generatedDir, 'manifest.json');
  const script = join(repoRoot, 'scripts', 'fixtures-imaging.py');
  if (!existsSync(manifest) || statSync(manifest).mtimeMs < statSync(script).mtimeMs) {
    if (!hasSharedData()) return 'shared/data absent';
    const r = spawnSync(python, [script], { encoding: 'utf8' });
    if (r.status !== 0) return `fixture generator failed: ${(r.stderr || r.stdout).trim().slice(-300)}`;
  }
  return JSON.parse(readFileSync(manifest, 'utf8')) as FixtureEntry[];
}

export const conformanceDir = join(generatedDir, 'conformance');

/** One file of the conformance matrix (scripts/fixtures-conformance.py writes manifest.json). */
export interface ConformanceEntry {
  file: string; transferSyntaxUID: string | null; syntax: string; encoder: string; lossless: boolean; tolerance: number;
  /** 'match' (one of the references, within tolerance) or the ImagingError code PointBox must refuse it with. */
  expect: string; note: string;
  /** The uncompressed source file it was encoded from (DICOM entries); lossless entries must decode to exactly its pixels. */
  base?: string | null;
  bits: number; signed: boolean; photometric: string; planar: number | null; frames: number; width: number; height: number;
  samplesPerPixel: number; shape: string; source: string; fragments?: string; offsetTable?: boolean;
  jpegColour?: { coded: string; markers: string; componentIds: string };
}
export interface ConformanceManifest { files: ConformanceEntry[]; skipped: { file: string; encoder: string; reason: string }[] }

/** What the conformance generator runs (encoders) and the second reference needs, beyond the RG1 fixture tools. */
export function hasConformanceTools(): boolean {
  return hasFixtureTools() && hasDcmtkReference() && ['dcmcrle', 'img2dcm', 'opj_compress', 'pngtopam'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
}

function sleepMs(ms: number): void { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); }

/**
 * The conformance matrix in test/fixtures/imaging/generated/conformance/, generated from ../shared/data when
 * missing or older than its scripts (about a minute). Several test files may ask at once: one generates
 * (into a temporary folder renamed into place, under a lock file), the others wait for it.
 */
export function ensureConformanceFixtures(): ConformanceManifest | string {
  const manifest = join(conformanceDir, 'manifest.json');
  const scripts = ['fixtures-conformance.py', 'ljpeg_encoder.py', 'codec-encode.mjs'].map((f) => join(repoRoot, 'scripts', f));
  const fresh = () => existsSync(manifest) && scripts.every((f) => statSync(manifest).mtimeMs >= statSync(f).mtimeMs);
  const read = () => JSON.parse(readFileSync(manifest, 'utf8')) as ConformanceManifest;
  if (fresh()) return read();
  if (!hasSharedData()) return 'shared/data absent';
  if (!hasConformanceTools()) return 'encoders or references absent (dcmtk, libgdcm-tools, libopenjp2-tools, netpbm)';
  mkdirSync(generatedDir, { recursive: true });
  const lock = join(generatedDir, 'conformance.lock');
  for (const t0 = Date.now(); ;) {
    try { closeSync(openSync(lock, 'wx')); break; } catch { /* someone else is generating */ }
    if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 15 * 60_000) { try { unlinkSync(lock); } catch {} continue; } // stale
    if (Date.now() - t0 > 15 * 60_000) return 'timed out waiting for another test to generate the conformance matrix';
    sleepMs(500);
    if (!existsSync(lock)) return fresh() ? read() : 'the conformance generator failed in another test (run scripts/fixtures-conformance.py)';
  }
  try {
    if (fresh()) return read();
    const tmpOut = `${conformanceDir}.tmp-${process.pid}`;
    const r = spawnSync(python, ['-W', 'ignore', join(repoRoot, 'scripts', 'fixtures-conformance.py'), '--out', tmpOut], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status !== 0) { rmSync(tmpOut, { recursive: true, force: true }); return `conformance generator failed: ${(r.stderr || r.stdout).trim().slice(-400)}`; }
    rmSync(conformanceDir, { recursive: true, force: true });
    renameSync(tmpOut, conformanceDir);
    return read();
  } finally {
    try { unlinkSync(lock); } catch {}
  }
}

export interface RefResult {
  input: string; ok: boolean; error?: string; rows?: number; columns?: number; samplesPerPixel?: number; photometric?: string;
  /** Which decoder produced it: 'pydicom+GDCM', 'dcmtk', or 'OpenJPEG' (JPEG 2000 in the dcmtk run: dcmtk has no J2K codec). */
  reference?: string;
  min?: number; max?: number;
  stored?: Int32Array; modality?: Float32Array; display?: Uint8Array;
}

export type ReferenceName = 'gdcm' | 'dcmtk';

let dcmtkOk: boolean | undefined;
/** DCMTK's decompressors and OpenJPEG's opj_decompress (the second reference; CI installs dcmtk and libopenjp2-tools). */
export function hasDcmtkReference(): boolean {
  if (dcmtkOk === undefined) dcmtkOk = ['dcmdjpeg', 'dcmdjpls', 'dcmdrle', 'dcmconv', 'opj_decompress'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
  return dcmtkOk;
}

/**
 * Decode files with one reference in one Python process (pydicomReference.py): pydicom+GDCM (default) or
 * dcmtk's own decompressors (OpenJPEG for JPEG 2000). Spec: path or path::frame.
 */
export function referenceDecode(specs: string[], reference: ReferenceName = 'gdcm'): RefResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'pb-ref-'));
  const r = spawnSync(python, [join(repoRoot, 'test', 'fixtures', 'imaging', 'pydicomReference.py'), '--reference', reference, dir, ...specs], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`reference failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as RefResult);
  return lines.map((rec, i) => {
    if (!rec.ok) return rec;
    const rd = (ext: string) => { const p = join(dir, `${i}.${ext}`); return existsSync(p) ? readFileSync(p) : undefined; };
    const s = rd('stored.i32'); const m = rd('modality.f32'); const d = rd('display.u8');
    const copy = (b: Buffer) => { const u = new Uint8Array(b.length); u.set(b); return u.buffer; };
    return { ...rec, stored: s && new Int32Array(copy(s)), modality: m && new Float32Array(copy(m)), display: d && new Uint8Array(copy(d)) };
  });
}

/** Both references for each spec: [pydicom+GDCM, dcmtk]. */
export function referenceDecodeBoth(specs: string[]): [RefResult, RefResult][] {
  const g = referenceDecode(specs, 'gdcm');
  const d = referenceDecode(specs, 'dcmtk');
  return specs.map((_, i) => [g[i]!, d[i]!]);
}

/**
 * Why `img` does not match `ref` (undefined when it does): size, stored values within `tol`, modality values
 * and 8-bit display (grey images), each compared the way the reference computed them.
 */
export function referenceMismatch(img: DecodedImage, ref: RefResult, tol: number): string | undefined {
  if (!ref.ok) return `reference failed: ${ref.error}`;
  if (img.width !== ref.columns || img.height !== ref.rows) return `size ${img.width}x${img.height}, reference ${ref.columns}x${ref.rows}`;
  const s = diffStats(Int32Array.from(img.data), ref.stored!);
  if (s.maxAbs > tol) return `stored values differ by up to ${s.maxAbs} at ${s.mismatches}/${s.count} samples (tolerance ${tol})`;
  if (ref.modality) {
    const m = diffStats(modalityValuesOf(img), ref.modality);
    if (m.maxAbs > tol * Math.abs(img.modality.kind === 'rescale' ? img.modality.slope : 1) + 1e-3) return `modality values differ by ${m.maxAbs}`;
  }
  if (ref.display) {
    // Display is 8-bit. Where lossy stored values differ by 1, so may a bin edge and, without a window in the
    // file, the min/max window itself: 2 levels.
    const d = diffStats(toDisplay8Of(img), ref.display);
    if (d.maxAbs > (tol === 0 ? 0 : 2)) return `display differs by ${d.maxAbs} at ${d.mismatches} pixels`;
  }
  return undefined;
}

/**
 * The two-reference rule: `img` passes when it matches at least one reference (bit for bit, or within the
 * lossy codec's tolerance). Returns the names that matched and, for each reference that disagreed, why (for
 * the test to print); throws with both reasons when none matched.
 */
export function assertMatchesAReference(name: string, img: DecodedImage, refs: readonly RefResult[], tol: number): { matched: string[]; disagreed: string[] } {
  const matched: string[] = []; const disagreed: string[] = [];
  for (const r of refs) {
    const why = referenceMismatch(img, r, tol);
    const label = r.reference ?? 'reference';
    if (why) disagreed.push(`${name}: ${label} disagrees: ${why}`); else matched.push(label);
  }
  if (matched.length === 0) throw new Error(`${name} matches no reference:\n  ${disagreed.join('\n  ')}`);
  return { matched, disagreed };
}

export interface DiffStats { maxAbs: number; mismatches: number; count: number }
export function diffStats(a: ArrayLike<number>, b: ArrayLike<number>): DiffStats {
  if (a.length !== b.length) return { maxAbs: Infinity, mismatches: Math.max(a.length, b.length), count: Math.max(a.length, b.length) };
  let maxAbs = 0; let mismatches = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i]! - b[i]!); if (d > 0) { mismatches++; if (d > maxAbs) maxAbs = d; } }
  return { maxAbs, mismatches, count: a.length };
}

/** A 1-row grey DecodedImage around `data` (12-bit unsigned MONOCHROME2, no VOI) for pipeline tests. */
export function greyImage(data: DecodedImage['data'], over: Partial<DecodedImage> = {}): DecodedImage {
  return {
    source: 'dicom', width: data.length, height: 1, samplesPerPixel: 1, photometric: 'MONOCHROME2', sourcePhotometric: 'MONOCHROME2',
    bitsAllocated: 16, bitsStored: 12, isSigned: false, data, modality: { kind: 'rescale', slope: 1, intercept: 0 },
    voi: { windows: [], function: 'LINEAR', luts: [] }, frames: 1, frameIndex: 0, pixelSpacing: null, pixelSpacingSource: null,
    warnings: [], decodeMs: 0, ...over,
  };
}
