import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PointBoxModel } from '../../../src/core/inference/PointBoxModel';
import { PointBoxModelWorker } from '../../../src/core/inference/PointBoxModelWorker';
import { InferenceError } from '../../../src/core/inference/InferenceError';
import { onnxFixtures, repoRoot } from './onnxFixtures';

const fx = onnxFixtures();
const skip = fx.reason ? `skipped: ${fx.reason}` : false;
const shipped = join(repoRoot, 'models', 'pointbox-pbc-v1.onnx');

function batch(S: number, B: number, N: number) {
  return {
    batch: B, points: N,
    image: Float32Array.from({ length: B * S * S }, (_, i) => Math.sin(i / 97)),
    pointsXY: Float32Array.from({ length: B * N * 2 }, (_, i) => 0.2 + 0.6 * ((i * 37) % 100) / 100),
    labels: BigInt64Array.from({ length: B * N }, (_, i) => BigInt(i % 3)),
    mask: Uint8Array.from({ length: B * N }, (_, i) => (i % N === N - 1 ? 0 : 1)),
  };
}

test('the worker-thread model gives the same outputs as the in-thread model', { skip }, async () => {
  const file = existsSync(shipped) ? shipped : join(fx.dir!, 'good.onnx');
  const direct = await PointBoxModel.load(file, { device: 'cpu', threads: 1 });
  const worker = await PointBoxModelWorker.load(file, { device: 'cpu', threads: 1 });
  try {
    assert.deepEqual(worker.info, direct.info);
    assert.equal(worker.executionProvider, 'cpu');
    const S = direct.info.inputSize;
    const a = await direct.run(batch(S, 2, 3));
    const b = await worker.run(batch(S, 2, 3)); // the batch's buffers are transferred, so build a fresh one
    assert.deepEqual(Array.from(b.boxes), Array.from(a.boxes));
    assert.deepEqual(Array.from(b.scores), Array.from(a.scores));
  } finally {
    await direct.dispose();
    await worker.dispose();
  }
});

test('inference in the worker leaves the caller\'s event loop free (in-thread inference blocks it)', { skip: existsSync(shipped) ? skip : 'skipped: no shipped model' }, async () => {
  const direct = await PointBoxModel.load(shipped, { device: 'cpu', threads: 1 });
  const worker = await PointBoxModelWorker.load(shipped, { device: 'cpu', threads: 1 });
  const S = direct.info.inputSize;
  const ticksDuring = async (run: () => Promise<unknown>) => {
    let ticks = 0;
    const iv = setInterval(() => { ticks++; }, 1);
    await run();
    clearInterval(iv);
    return ticks;
  };
  try {
    await direct.run(batch(S, 1, 2)); await worker.run(batch(S, 1, 2)); // warm up
    const blocked = await ticksDuring(() => direct.run(batch(S, 16, 4)));
    const free = await ticksDuring(() => worker.run(batch(S, 16, 4)));
    assert.equal(blocked, 0, 'in-thread onnxruntime no longer blocks: the worker may be unnecessary');
    assert.ok(free > 0, 'the event loop did not run while the worker computed');
  } finally {
    await direct.dispose();
    await worker.dispose();
  }
});

test('load errors cross the thread boundary with their code and file', { skip }, async () => {
  await assert.rejects(PointBoxModelWorker.load(join(fx.dir!, 'wrong-input-name.onnx'), { device: 'cpu' }), (e: unknown) =>
    e instanceof InferenceError && e.code === 'model-contract' && /wrong-input-name\.onnx/.test(e.message));
  if (process.platform !== 'win32') {
    await assert.rejects(PointBoxModelWorker.load(join(fx.dir!, 'good.onnx'), { device: 'dml' }), (e: unknown) =>
      e instanceof InferenceError && e.code === 'provider-unavailable');
  }
});
