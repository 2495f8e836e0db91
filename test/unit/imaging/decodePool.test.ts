import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { DecodePool, ImagingError, decodeImageFile } from '../../../src/core/imaging';
import { corpusDir, hasSharedData } from './imagingTestHelpers';

const skip = hasSharedData() ? false : 'shared/data absent';

test('DecodePool decodes in worker threads with transferred buffers, same pixels as in-thread', { skip, timeout: 120_000 }, async () => {
  const pool = new DecodePool({ size: 2 });
  try {
    const files = ['pydicom/CT_small.dcm', 'pydicom/MR_small_RLE.dcm', 'pydicom/MR_small_jpeg_ls_lossless.dcm', 'pydicom/JPEG2000.dcm', 'pydicom-data/emri_small.dcm'].map((f) => join(corpusDir, f));
    const results = await Promise.all(files.map((f) => pool.decode(f, { display: true })));
    for (const [i, r] of results.entries()) {
      const local = await decodeImageFile(files[i]!);
      assert.deepEqual([...r.image.data], [...local.data], files[i]);
      assert.equal(r.display!.length, local.width * local.height);
    }
    // bytes in, one bad file in the middle of a batch: the batch goes on and the error is typed
    const bytes = new Uint8Array(readFileSync(files[0]!));
    const batch = await Promise.allSettled([pool.decode(bytes, { transferBytes: true }), pool.decode(join(corpusDir, 'pydicom/MR_truncated.dcm')), pool.decode(files[1]!)]);
    assert.equal(batch[0].status, 'fulfilled');
    assert.equal(bytes.byteLength, 0, 'transferred input is detached');
    assert.equal(batch[1].status, 'rejected');
    assert.ok(batch[1].status === 'rejected' && batch[1].reason instanceof ImagingError && batch[1].reason.code === 'TRUNCATED');
    assert.equal(batch[2].status, 'fulfilled');
  } finally { await pool.close(); }
});

test('DecodePool: a task past its deadline fails with TIMEOUT, its worker is replaced, and abort works', { skip, timeout: 120_000 }, async () => {
  const pool = new DecodePool({ size: 1 });
  try {
    const big = join(corpusDir, 'fo-dicom/GH133.dcm'); // 3062x2394 JPEG lossless: far more than 1 ms
    await assert.rejects(pool.decode(big, { timeoutMs: 1 }), (e: unknown) => e instanceof ImagingError && e.code === 'TIMEOUT');
    assert.equal(pool.restarts, 1);
    const ok = await pool.decode(join(corpusDir, 'pydicom/CT_small.dcm'));
    assert.equal(ok.image.width, 128);
    const ac = new AbortController();
    const p = pool.decode(big, { signal: ac.signal });
    const queued = pool.decode(join(corpusDir, 'pydicom/CT_small.dcm'), { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p, (e: unknown) => e instanceof ImagingError && e.code === 'ABORTED');
    await assert.rejects(queued, (e: unknown) => e instanceof ImagingError && e.code === 'ABORTED');
    const after = await pool.decode(join(corpusDir, 'pydicom/MR_small.dcm'));
    assert.equal(after.image.width, 64);
  } finally { await pool.close(); }
});

test('decodeBatch reports every file in input order with progress, bad files included', { skip, timeout: 120_000 }, async () => {
  const pool = new DecodePool({ size: 2 });
  try {
    const files = ['pydicom/CT_small.dcm', 'pydicom/MR_truncated.dcm', 'pydicom/no_meta.dcm', 'pydicom/MR_small_RLE.dcm', 'pydicom-data/emri_small.dcm'].map((f) => join(corpusDir, f));
    const progress: number[] = [];
    const items = await pool.decodeBatch(files, { onProgress: (done, total) => { assert.equal(total, 5); progress.push(done); } });
    assert.deepEqual(progress, [1, 2, 3, 4, 5]);
    assert.deepEqual(items.map((i) => i.source), files);
    assert.deepEqual(items.map((i) => (i.ok ? 'ok' : i.error.code)), ['ok', 'TRUNCATED', 'NOT_DICOM', 'ok', 'ok']);
    const ac = new AbortController();
    ac.abort();
    const aborted = await pool.decodeBatch(files.slice(0, 2), { signal: ac.signal });
    assert.ok(aborted.every((i) => !i.ok && i.error.code === 'ABORTED'));
  } finally { await pool.close(); }
});
