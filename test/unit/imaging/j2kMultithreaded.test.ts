/**
 * The multithreaded OpenJPEG build (src/core/imaging/codecs/openjpeg-mt) that Node uses for JPEG 2000:
 * same samples as the single-threaded cornerstone codec it replaces (which stays the fallback and the
 * browser's decoder) on every J2K fixture, at every thread count; typed errors for truncated codestreams and
 * for a crashing WASM thread; and a process that loaded it still exits by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { decodeDicom } from '../../../src/core/imaging/decodeDicom';
import { nodeImagingPlatform } from '../../../src/core/imaging/nodeImagingPlatform';
import { DicomDecodeError, type DecodedImage } from '../../../src/core/imaging';
import type { ImagingPlatform, J2kPlatformFrame } from '../../../src/core/imaging/ImagingPlatform';
import { decodeCompressedFrame } from '../../../src/core/imaging/codecs/decodeCompressedFrame';
import { transferSyntaxInfo } from '../../../src/core/imaging/transferSyntax';
import { availableParallelism } from 'node:os';
import { poolWorkerEnv } from '../../../src/core/workers/workerScripts';
import { crashTestOpenJpegMt, decodeJ2kMultithreaded, locateOpenJpegMt } from '../../../src/core/imaging/codecs/openjpeg-mt/openjpegMt';
import { corpusDir, cxrDir, ensureGeneratedFixtures, generatedDir, hasFixtureTools, hasSharedData, repoRoot } from './imagingTestHelpers';

const J2K_SYNTAXES = new Set(['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91', '1.2.840.10008.1.2.4.92', '1.2.840.10008.1.2.4.93']);
const built = locateOpenJpegMt() !== undefined;
const skipBuild = built ? false : 'openjpeg-mt build missing (src/core/imaging/codecs/openjpeg-mt/prebuilt)';
// Generate the RG1 fixtures now, not inside the first test: `skip` below is decided when this file loads,
// and a fresh clone (CI) has none yet, which silently skipped three tests there.
const fixtures = hasFixtureTools() || existsSync(join(generatedDir, 'manifest.json')) ? ensureGeneratedFixtures() : 'gdcmconv/dcmtk absent: cannot generate fixtures';
const skipFixture = (file: string) => skipBuild || (typeof fixtures === 'string' && fixtures) || (!existsSync(join(generatedDir, file)) && `fixture ${file} absent`);

/** The cornerstone (single-threaded) path: the Node platform without the optional MT decoder. */
const cornerstonePlatform: ImagingPlatform = { ...nodeImagingPlatform, decodeJ2kMultithreaded: undefined };

/** The Node platform, recording what the MT decoder did with each frame (null = handed to the fallback). */
function spyPlatform() {
  const calls: { frame: Uint8Array; result: J2kPlatformFrame | null }[] = [];
  const platform: ImagingPlatform = {
    ...nodeImagingPlatform,
    async decodeJ2kMultithreaded(frame, file) {
      const result = await nodeImagingPlatform.decodeJ2kMultithreaded!(frame, file);
      calls.push({ frame: frame.slice(), result });
      return result;
    },
  };
  return { platform, calls };
}

async function withThreads<T>(n: string | undefined, fn: () => Promise<T>): Promise<T> {
  const old = process.env.POINTBOX_J2K_THREADS;
  if (n === undefined) delete process.env.POINTBOX_J2K_THREADS; else process.env.POINTBOX_J2K_THREADS = n;
  try { return await fn(); } finally {
    if (old === undefined) delete process.env.POINTBOX_J2K_THREADS; else process.env.POINTBOX_J2K_THREADS = old;
  }
}

function walk(d: string, out: string[] = []): string[] {
  if (!existsSync(d)) return out;
  for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p, out); else out.push(p); }
  return out;
}

/** Every JPEG 2000 DICOM we have: the generated fixtures, RG1_J2KI and the corpus files in a J2K syntax. */
async function j2kFiles(): Promise<string[]> {
  const files: string[] = [];
  const manifest = hasFixtureTools() || existsSync(join(generatedDir, 'manifest.json')) ? ensureGeneratedFixtures() : 'no fixture tools';
  if (typeof manifest !== 'string') files.push(...manifest.filter((e) => J2K_SYNTAXES.has(e.transferSyntaxUID)).map((e) => join(generatedDir, e.file)));
  if (existsSync(join(cxrDir, 'RG1_J2KI.dcm'))) files.push(join(cxrDir, 'RG1_J2KI.dcm'));
  const { readDicomFileInfo } = await import('../../../src/core/imaging');
  for (const f of walk(corpusDir)) {
    try {
      if (J2K_SYNTAXES.has((await readDicomFileInfo(f)).parsed.transferSyntax.uid)) files.push(f);
    } catch {}
  }
  return files;
}

function sameSamples(a: DecodedImage, b: DecodedImage, what: string) {
  assert.equal(a.width, b.width, `${what} width`);
  assert.equal(a.height, b.height, `${what} height`);
  assert.equal(a.samplesPerPixel, b.samplesPerPixel, `${what} samplesPerPixel`);
  assert.equal(a.data.constructor.name, b.data.constructor.name, `${what} sample type`);
  assert.equal(a.data.length, b.data.length, `${what} sample count`);
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  assert.ok(Buffer.from(x).equals(Buffer.from(y)), `${what}: samples differ`);
}

test('every J2K fixture decodes to the same samples through the MT build (1, 2 and 4 threads) and the cornerstone codec', { skip: skipBuild || (!hasSharedData() && 'shared/data absent'), timeout: 300_000 }, async (t) => {
  const files = await j2kFiles();
  assert.ok(files.length >= 6, `expected the J2K fixtures, found ${files.length}`);
  let mtFrames = 0;
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(f));
    const name = basename(f);
    let first: DecodedImage;
    try {
      first = await decodeDicom(bytes, cornerstonePlatform, { fileName: name });
    } catch (e) {
      // A file the cornerstone path rejects (e.g. the corpus' JPEG2000-embedded-sequence-delimiter.dcm, whose
      // frame is cut at a bogus delimiter) must be rejected the same way by the MT path.
      assert.ok(e instanceof DicomDecodeError, `${name}: ${String(e)}`);
      await assert.rejects(decodeDicom(bytes, nodeImagingPlatform, { fileName: name }), (m: unknown) => m instanceof DicomDecodeError && m.code === e.code, name);
      continue;
    }
    for (let frame = 0; frame < first.frames; frame++) {
      const ref = frame === 0 ? first : await decodeDicom(bytes, cornerstonePlatform, { fileName: name, frame });
      for (const threads of ['1', '2', '4']) {
        const spy = spyPlatform();
        const img = await withThreads(threads, () => decodeDicom(bytes, spy.platform, { fileName: name, frame }));
        assert.equal(spy.calls.length, 1, `${name}#${frame}: MT decoder asked once`);
        assert.ok(spy.calls[0]!.result, `${name}#${frame}: the MT build handled it (did not fall back)`);
        sameSamples(img, ref, `${name}#${frame} threads=${threads}`);
        mtFrames++;
      }
    }
  }
  t.diagnostic(`${files.length} files (${files.map((f) => basename(f)).join(', ')}), ${mtFrames} MT decodes compared`);
  assert.ok(mtFrames >= (files.length - 1) * 3);
});

test('POINTBOX_J2K_THREADS=0 leaves JPEG 2000 to the cornerstone codec', { skip: skipBuild }, async () => {
  const r = await withThreads('0', () => decodeJ2kMultithreaded(new Uint8Array([0xff, 0x4f, 0xff, 0x51]), 'x.dcm'));
  assert.equal(r, null);
});

// Tiny opj_compress outputs (OpenJPEG 2.5.0): an 8-bit image with an image offset (XOsiz 3, YOsiz 5) and a
// signed 8-bit image. The cornerstone codec handles both specially, so the MT build hands them back (null).
const OFFSET_U8_J2K = '/0//UQApAAAAAAAkAAAAFgAAAAMAAAAFAAAAJAAAABYAAAAAAAAAAAABBwEB/1IADAAAAAEAAQQEAAH/XAAHQEBISFD/ZAAlAAFDcmVhdGVkIGJ5IE9wZW5KUEVHIHZlcnNpb24gMi41LjD/kAAKAAAAAADUAAH/k8+1nBGDzdop5zfo/1uiDxPFNeF7b1p4/AwDgXeHRt72mYlDm+RWcoMJp6YDDIpdLnR80GUyRUOZLDG0CG/RNLOZXVOzI75c5AfF4/WdVWCMUqi5vxFDQ1f4XdrV2sNwhWnJUZ1hd3o3j9/H2iE/A6h9oSBItVF6i9nidiZ5zWgSFv73SAwYfY+H9FbvEO8UuMOJJY/TVABYwK+S2c43Dmi3b3H8v62lifKFfMaM/2oHzLIpBUFMNOX8UOIqvJd1Ul3xW+3LP//Z';
const SIGNED_S8_J2K = '/0//UQApAAAAAAAhAAAAEQAAAAAAAAAAAAAAIQAAABEAAAAAAAAAAAABhwEB/1IADAAAAAEAAQQEAAH/XAAHQEBISFD/ZAAlAAFDcmVhdGVkIGJ5IE9wZW5KUEVHIHZlcnNpb24gMi41LjD/kAAKAAAAAADAAAH/k8+14BGDkixDdTfruHu/74JH+i/cElNVdQHK/N/tmMILblFePi9Ql5PJ4w54FaynVDOh/Ehbk5X9vGaZrcMOmvsNA3wCHFplqfbUqOMDDHTxkAXMg63ZE4icRfD0lTs/Ctuvm+dnQsNH6EJKTnOc5znPekR1oqqqqqqsh8faFR9o5B9QQAQlqP9x2Lydus4Bsqy8e21N/ROvNpecDogee1ajR4LZso5JCIXPBmIkYm60TL//2Q==';

test('images the cornerstone codec treats specially (image offset, signed 8-bit) go back to it, with the same outcome', { skip: skipBuild }, async () => {
  for (const [name, b64, g] of [
    ['offset.dcm', OFFSET_U8_J2K, { width: 33, height: 17, samplesPerPixel: 1, bitsAllocated: 8, bitsStored: 8, signed: false }],
    ['signed8.dcm', SIGNED_S8_J2K, { width: 33, height: 17, samplesPerPixel: 1, bitsAllocated: 8, bitsStored: 8, signed: true }],
  ] as const) {
    const frame = new Uint8Array(Buffer.from(b64, 'base64'));
    assert.equal(await decodeJ2kMultithreaded(frame, name), null, name);
    const ts = transferSyntaxInfo('1.2.840.10008.1.2.4.90');
    const outcome = (p: ImagingPlatform) => decodeCompressedFrame(ts, frame, g, p, name).then(
      (r) => ({ ok: true, data: Array.from(r.data) }), (e: unknown) => ({ ok: false, code: (e as DicomDecodeError).code }));
    assert.deepEqual(await outcome(nodeImagingPlatform), await outcome(cornerstonePlatform), name);
  }
});

test('a truncated J2K codestream is a DicomDecodeError (CODEC_ERROR) naming the file, from the MT build and through decodeCompressedFrame', { skip: skipFixture('rg1_j2k_lossless.dcm'), timeout: 60_000 }, async () => {
  const spy = spyPlatform();
  const img = await decodeDicom(new Uint8Array(readFileSync(join(generatedDir, 'rg1_j2k_lossless.dcm'))), spy.platform, { fileName: 'rg1_j2k_lossless.dcm' });
  const frame = spy.calls[0]!.frame;
  for (const keep of [0.02, 0.5, 0.999]) {
    const cut = frame.subarray(0, Math.floor(frame.length * keep));
    await assert.rejects(decodeJ2kMultithreaded(cut, 'cut.dcm'), (e: unknown) => {
      assert.ok(e instanceof DicomDecodeError, String(e));
      assert.equal(e.code, 'CODEC_ERROR');
      assert.equal(e.file, 'cut.dcm');
      assert.match(e.message, /^cut\.dcm: openjpeg failed: /);
      return true;
    });
    const g = { width: img.width, height: img.height, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: img.bitsStored, signed: false };
    await assert.rejects(decodeCompressedFrame(transferSyntaxInfo('1.2.840.10008.1.2.4.90'), cut, g, nodeImagingPlatform, 'cut2.dcm'),
      (e: unknown) => e instanceof DicomDecodeError && e.code === 'CODEC_ERROR' && e.file === 'cut2.dcm');
  }
  // Concurrent callers on one thread queue up and all get their own (correct) result.
  const rs = await Promise.all([frame, frame.subarray(0, 100), frame].map((f) => decodeJ2kMultithreaded(f, 'c.dcm').catch((e: unknown) => e)));
  assert.ok(rs[1] instanceof DicomDecodeError);
  assert.deepEqual((rs[0] as J2kPlatformFrame).data, (rs[2] as J2kPlatformFrame).data);
});

test('a WASM thread that traps fails the pending decode with CODEC_ERROR, and the next decode gets a fresh instance', { skip: skipFixture('sc_rgb_j2k.dcm'), timeout: 60_000 }, async () => {
  await assert.rejects(crashTestOpenJpegMt('crash.dcm'), (e: unknown) => e instanceof DicomDecodeError && e.code === 'CODEC_ERROR' && e.file === 'crash.dcm' && /crashed/.test(e.message));
  const bytes = new Uint8Array(readFileSync(join(generatedDir, 'sc_rgb_j2k.dcm')));
  const spy = spyPlatform();
  const img = await decodeDicom(bytes, spy.platform, { fileName: 'sc_rgb_j2k.dcm' });
  assert.ok(spy.calls[0]!.result, 'decoded by the MT build after the crash');
  sameSamples(img, await decodeDicom(bytes, cornerstonePlatform, { fileName: 'sc_rgb_j2k.dcm' }), 'after crash');
});

test('a process that decoded with the MT build exits by itself (no live pthread workers keep it alive)', { skip: skipFixture('rg1_j2k_lossy.dcm'), timeout: 60_000 }, () => {
  // CLI-style: a plain script decodes one file, prints, and must end on its own.
  const script = `
    const { decodeDicom } = require(${JSON.stringify(join(repoRoot, 'src', 'core', 'imaging', 'decodeDicom'))});
    const { nodeImagingPlatform: p } = require(${JSON.stringify(join(repoRoot, 'src', 'core', 'imaging', 'nodeImagingPlatform'))});
    let mt = false;
    const platform = { ...p, decodeJ2kMultithreaded: (f, n) => p.decodeJ2kMultithreaded(f, n).then((r) => { mt = r !== null; return r; }) };
    const bytes = require('node:fs').readFileSync(${JSON.stringify(join(generatedDir, 'rg1_j2k_lossy.dcm'))});
    decodeDicom(new Uint8Array(bytes), platform).then((img) => { console.log(JSON.stringify({ w: img.width, h: img.height, mt })); });`;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000, env: { ...process.env, POINTBOX_J2K_THREADS: '2' } });
  assert.equal(r.error, undefined, `child did not exit: ${String(r.error)}`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { w: 1841, h: 1955, mt: true }, 'stdout is only what the script printed');
  assert.ok(Date.now() - t0 < 30_000);
});

test('pool workers split the cores: a pool of N workers gives each J2K decoder cores/N threads (at least 1); an explicit setting wins', () => {
  const cores = availableParallelism();
  const saved = process.env.POINTBOX_J2K_THREADS;
  try {
    delete process.env.POINTBOX_J2K_THREADS;
    assert.equal(poolWorkerEnv(cores).POINTBOX_J2K_THREADS, '1', 'one worker per core: one decoder thread each');
    assert.equal(poolWorkerEnv(1).POINTBOX_J2K_THREADS, String(Math.min(4, cores)), 'a single worker may use every core, up to the per-process cap of 4');
    assert.equal(poolWorkerEnv(cores * 4).POINTBOX_J2K_THREADS, '1', 'never 0 (0 would switch the build off)');
    process.env.POINTBOX_J2K_THREADS = '3';
    assert.equal(poolWorkerEnv(cores).POINTBOX_J2K_THREADS, '3');
  } finally {
    if (saved === undefined) delete process.env.POINTBOX_J2K_THREADS; else process.env.POINTBOX_J2K_THREADS = saved;
  }
});
