/**
 * Mutation fuzzing: thousands of corrupted corpus files (byte flips, truncation, inserted/deleted runs,
 * overwritten lengths with huge values) read, decoded and letterboxed through the product path: the
 * inference preprocess worker on the shared WorkerPool, exactly as Generate Pseudo-Boxes runs it (each
 * file written to disk first, because the worker reads the file itself).
 * Asserts every file ends in a model input or a typed ImagingError: no uncaught exception (which would
 * kill a worker: WORKER_DIED), no hang (TIMEOUT) and bounded memory.
 * POINTBOX_FUZZ_ITERATIONS scales it (default 2000); POINTBOX_FUZZ_SEED picks the mutations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { WorkerError, WorkerPool } from '../../../src/core/workers/WorkerPool';
import { resolveWorkerScript } from '../../../src/core/workers/workerScripts';
import type { PrepareReply, PrepareRequest } from '../../../src/core/inference/modelInputMessages';
import { corpusDir, hasSharedData } from './imagingTestHelpers';

const iterations = Number(process.env.POINTBOX_FUZZ_ITERATIONS ?? 2000);
const seed0 = Number(process.env.POINTBOX_FUZZ_SEED ?? 20261125);

const seeds = [
  'pydicom/CT_small.dcm', 'pydicom/MR_small.dcm', 'pydicom/MR_small_implicit.dcm', 'pydicom/MR_small_bigendian.dcm', 'pydicom/MR_small_RLE.dcm',
  'pydicom/MR_small_jpeg_ls_lossless.dcm', 'pydicom/MR_small_jp2klossless.dcm', 'pydicom/JPEGLSNearLossless_16.dcm', 'pydicom/SC_rgb_jpeg_dcmtk.dcm',
  'pydicom/SC_rgb_rle_2frame.dcm', 'pydicom/ExplVR_BigEnd.dcm', 'pydicom/dicomdirtests_CR1_6154', 'pydicom/image_dfl.dcm', 'pydicom/JPGExtended.dcm',
  'pydicom-data/emri_small_RLE.dcm', 'dicomParser/CT0012.fragmented_no_bot_jpeg_lossless.57.dcm',
];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const kind = Math.floor(r() * 6);
  const at = (n = src.length) => Math.floor(r() * n);
  // Most structure is in the first few hundred bytes: bias positions there half of the time.
  const pos = () => (r() < 0.5 ? at(Math.min(src.length, 1024)) : at());
  const b = src.slice();
  switch (kind) {
    case 0: { const n = 1 + at(16); for (let i = 0; i < n; i++) b[pos()] = at(256); return b; }
    case 1: return b.slice(0, pos());
    case 2: { const p = pos(); const ins = Uint8Array.from({ length: 1 + at(64) }, () => at(256)); const o = new Uint8Array(b.length + ins.length); o.set(b.subarray(0, p)); o.set(ins, p); o.set(b.subarray(p), p + ins.length); return o; }
    case 3: { const n = Math.min(b.length, 1 + at(64)); const p = Math.min(pos(), b.length - n); const o = new Uint8Array(b.length - n); o.set(b.subarray(0, p)); o.set(b.subarray(p + n), p); return o; }
    case 4: { const p = pos(); const v = [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x00]; for (let i = 0; i < 4 && p + i < b.length; i++) b[p + i] = v[(i + at(4)) % 8]!; return b; }
    default: { const p = pos(); for (let i = 0; i < 8 && p + i < b.length; i++) b[p + i] = b[p + i]! ^ (1 << at(8)); return b; }
  }
}

test(`fuzz: ${iterations} mutated corpus files end decoded or in a typed error (no crash, no hang, bounded memory)`, { skip: hasSharedData() ? false : 'shared/data absent', timeout: 600_000 }, async () => {
  const inputs: { name: string; bytes: Uint8Array }[] = seeds.map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(corpusDir, f))) }));
  const png = encodePng({ width: 64, height: 48, data: Uint16Array.from({ length: 64 * 48 }, (_, i) => i * 21), depth: 16, channels: 1 });
  inputs.push({ name: 'generated.png', bytes: png });
  const script = resolveWorkerScript('preprocess', join(__dirname, '..', '..', '..', 'src', 'core', 'inference', 'preprocess.worker.ts'));
  const pool = new WorkerPool<PrepareRequest, PrepareReply>(script, { size: 2, timeoutMs: 20_000, maxHeapMb: 512 });
  const dir = mkdtempSync(join(tmpdir(), 'pointbox-fuzz-'));
  const r = rng(seed0);
  const codes = new Map<string, number>();
  let decoded = 0;
  let peakRss = 0;
  const bad: string[] = [];
  try {
    const inflight = new Set<Promise<void>>();
    for (let i = 0; i < iterations; i++) {
      const src = inputs[Math.floor(r() * inputs.length)]!;
      const bytes = mutate(src.bytes, r);
      const name = `${src.name}#${i}`;
      const file = join(dir, `f${i % 64}.${src.name.endsWith('.png') ? 'png' : 'dcm'}`);
      writeFileSync(file, bytes);
      const p = pool.run({ file, size: 64, normalization: { mean: 0.5, std: 0.25, letterbox: 'top-left' } }).then(
        (res) => {
          if (res.ok) {
            decoded++;
            assert.equal(res.data.length, 64 * 64, `${name}: model input size`);
            assert.ok(res.width > 0 && res.height > 0, `${name}: size`);
            return;
          }
          if (!res.code) { bad.push(`${name}: untyped error ${res.error}`); return; }
          codes.set(res.code, (codes.get(res.code) ?? 0) + 1);
          if (res.code === 'TIMEOUT' || res.code === 'WORKER_FAILED') bad.push(`${name}: ${res.code} ${res.error}`);
        },
        (e: unknown) => { bad.push(`${name}: ${e instanceof WorkerError ? e.code : 'untyped'} ${String(e)}`); },
      ).finally(() => { inflight.delete(p); });
      inflight.add(p);
      // 8 in flight at most, and never two on the same temp file (64 names).
      if (inflight.size >= 8) await Promise.race(inflight);
      if (i % 100 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    await Promise.all(inflight);
  } finally { await pool.close(); rmSync(dir, { recursive: true, force: true }); }
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const summary = `decoded ${decoded}, errors ${[...codes].map(([c, n]) => `${c}=${n}`).join(' ')}, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB, worker restarts ${pool.restarts}`;
  console.log(`# fuzz: ${summary}`);
  assert.deepEqual(bad, [], summary);
  assert.ok(peakRss < 3 * 2 ** 30, `RSS ${peakRss} over 3 GiB`);
  assert.ok(decoded > 0 && codes.size > 0, 'mutations should produce both successes and errors');
});
