import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { PointBoxModel } from '../../../src/core/inference/PointBoxModel';
import { InferenceError } from '../../../src/core/inference/InferenceError';
import { readOnnxMetadata } from '../../../src/core/inference/readOnnxMetadata';
import { providerPlan, providerFixHint } from '../../../src/core/inference/executionProviders';
import { onnxFixtures } from './onnxFixtures';

const fx = onnxFixtures();
const skip = fx.reason ? `skipped: ${fx.reason}` : false;
const f = (name: string) => join(fx.dir ?? '', name);

async function rejectsWith(p: Promise<unknown>, code: string, ...patterns: RegExp[]) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InferenceError, `not an InferenceError: ${e}`);
    assert.equal(e.code, code, e.message);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

test('reads ONNX metadata_props, IR version and opset without decoding the graph', { skip }, () => {
  const facts = readOnnxMetadata(readFileSync(f('good.onnx')), 'good.onnx');
  assert.ok(facts.irVersion >= 7);
  assert.equal(facts.producerName, 'pytorch');
  assert.equal(facts.opsets.find((o) => o.domain === '')?.version, 14);
  assert.deepEqual(JSON.parse(facts.metadata['pointbox.classes']!), ['Nodule', 'Mass', 'Effusion']);
});

test('a model that fits the contract loads on CPU and runs a batch with padded points', { skip }, async () => {
  const m = await PointBoxModel.load(f('good.onnx'), { device: 'cpu', threads: 1 });
  try {
    assert.equal(m.executionProvider, 'cpu');
    assert.deepEqual(m.info.classes, ['Nodule', 'Mass', 'Effusion']);
    assert.equal(m.info.inputSize, 32);
    assert.equal(m.info.normalization.mean, 0.5);
    assert.equal(m.info.sha256, createHash('sha256').update(readFileSync(f('good.onnx'))).digest('hex'));
    const S = 32;
    const image = new Float32Array(2 * S * S).fill(0.25);
    const out = await m.run({
      batch: 2, points: 2, image,
      pointsXY: Float32Array.from([0.5, 0.5, 0.2, 0.3, 0.9, 0.9, 0, 0]),
      labels: BigInt64Array.from([0n, 2n, 1n, 0n]),
      mask: Uint8Array.from([1, 1, 1, 0]),
    });
    // The fixture's rule: half-size 0.05 * (class + 1), clamped to [0,1]; padding gives zeros.
    const expect = [0.45, 0.45, 0.55, 0.55, 0.05, 0.15, 0.35, 0.45, 0.8, 0.8, 1, 1, 0, 0, 0, 0];
    expect.forEach((v, i) => assert.ok(Math.abs(out.boxes[i]! - v) < 1e-6, `box[${i}] = ${out.boxes[i]}, want ${v}`));
    assert.deepEqual(Array.from(out.scores), [0.25, 0.25, 0.25, 0]);
  } finally {
    await m.dispose();
  }
});

test('a bool point_mask model is fed bool tensors', { skip }, async () => {
  const m = await PointBoxModel.load(f('good-bool-mask.onnx'), { device: 'cpu' });
  assert.equal(m.info.pointMaskType, 'bool');
  const out = await m.run({ batch: 1, points: 1, image: new Float32Array(32 * 32), pointsXY: Float32Array.from([0.5, 0.5]), labels: BigInt64Array.from([0n]), mask: Uint8Array.from([1]) });
  assert.ok(Math.abs(out.boxes[2]! - 0.55) < 1e-6);
  await m.dispose();
});

test('models that break the contract fail with the file and every problem named', { skip }, async () => {
  await rejectsWith(PointBoxModel.load(f('wrong-input-name.onnx'), { device: 'cpu' }), 'model-contract', /wrong-input-name\.onnx/, /input 'points' is missing/);
  await rejectsWith(PointBoxModel.load(f('wrong-label-dtype.onnx'), { device: 'cpu' }), 'model-contract', /input 'labels' has dtype float32, expected int64/);
  await rejectsWith(PointBoxModel.load(f('no-metadata.onnx'), { device: 'cpu' }), 'model-contract', /contract_version' is missing/, /pointbox\.classes/, /input_size/, /normalization/);
  await rejectsWith(PointBoxModel.load(f('size-mismatch.onnx'), { device: 'cpu' }), 'model-contract', /axis 2 is 32 but metadata says input_size 64/);
});

test('unreadable files fail as model-unreadable naming the file', { skip }, async () => {
  await rejectsWith(PointBoxModel.load(f('truncated.onnx')), 'model-unreadable', /truncated\.onnx/, /truncated/);
  await rejectsWith(PointBoxModel.load(f('not-onnx.onnx')), 'model-unreadable', /not-onnx\.onnx/, /not an ONNX model/);
  await rejectsWith(PointBoxModel.load(f('does-not-exist.onnx')), 'model-unreadable', /does-not-exist\.onnx: cannot read model/);
});

test('auto falls back to CPU and reports why each GPU provider was skipped', { skip }, async () => {
  const tried: string[] = [];
  const m = await PointBoxModel.load(f('good.onnx'), { device: 'auto', onProviderAttempt: (ep, err) => tried.push(`${ep}:${err ? 'fail' : 'ok'}`) });
  // On a machine with a working GPU provider this picks it; otherwise CPU with the skipped list filled.
  assert.ok(['cpu', 'cuda', 'webgpu', 'dml', 'coreml'].includes(m.executionProvider));
  assert.equal(tried[tried.length - 1], `${m.executionProvider}:ok`);
  assert.equal(m.skipped.length, tried.length - 1);
  await m.dispose();
});

test('an explicit provider that cannot load fails with the reason and how to fix it', { skip }, async () => {
  // dml exists only on Windows, coreml only on macOS: on Linux both must fail with a hint.
  if (process.platform === 'linux') {
    await rejectsWith(PointBoxModel.load(f('good.onnx'), { device: 'dml' }), 'provider-unavailable', /'dml' cannot load/, /Fix: DirectML exists only on Windows/);
    await rejectsWith(PointBoxModel.load(f('good.onnx'), { device: 'coreml' }), 'provider-unavailable', /Fix: CoreML exists only on macOS/);
  }
});

test('provider plans per platform', () => {
  assert.deepEqual(providerPlan('auto', 'linux', 'x64'), ['cuda', 'webgpu', 'cpu']);
  assert.deepEqual(providerPlan('auto', 'win32', 'x64'), ['dml', 'webgpu', 'cpu']);
  assert.deepEqual(providerPlan('auto', 'darwin', 'arm64'), ['coreml', 'webgpu', 'cpu']);
  assert.deepEqual(providerPlan('auto', 'linux', 'arm64'), ['cpu']);
  assert.deepEqual(providerPlan('cuda', 'linux', 'x64'), ['cuda']);
  assert.match(providerFixHint('cuda', 'linux', 'x64'), /npm rebuild onnxruntime-node/);
});
