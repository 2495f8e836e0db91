/** Shared paths and the pydicom+GDCM reference runner for the imaging tests (not a test file itself). */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import type { DecodedImage } from '../../../src/core/imaging/DecodedImage';

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

export interface RefResult {
  input: string; ok: boolean; error?: string; rows?: number; columns?: number; samplesPerPixel?: number; photometric?: string;
  min?: number; max?: number;
  stored?: Int32Array; modality?: Float32Array; display?: Uint8Array;
}

/** Decode files with pydicom+GDCM in one Python process. Spec: path or path::frame. */
export function referenceDecode(specs: string[]): RefResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'pb-ref-'));
  const r = spawnSync(python, [join(repoRoot, 'test', 'fixtures', 'imaging', 'pydicomReference.py'), dir, ...specs], { encoding: 'utf8', maxBuffer: 16 << 20 });
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
