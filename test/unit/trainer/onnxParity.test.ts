// ONNX export parity, checked from Node with onnxruntime-node (the runtime the extension uses):
// 1. a freshly exported model (random init, 64 px) from the Python trainer — needs /usr/bin/python3 with
//    torch (or PBC_PYTHON); skipped with a reason where that is missing;
// 2. every shipped model models/<name>.onnx that has models/reference/<name>/ — no Python needed.
// Each: outputs vs PyTorch's reference outputs (max abs diff < 1e-4), the contract's names/shapes/metadata,
// dynamic B and N, and "padded points change nothing" inside ORT too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { PointBoxModel } from '../../../src/core/inference/PointBoxModel';
import { readOnnxMetadata } from '../../../src/core/inference/readOnnxMetadata';
import { checkBoxPrior } from '../../../src/core/inference/boxPrior';

const root = join(__dirname, '..', '..', '..');
const modelsDir = join(root, 'models');
const TOL = 1e-4;

type Meta = { file: string; dtype: 'float32' | 'int64'; shape: number[] };
type Ref = { inputs: Record<string, Meta>; outputs: Record<string, Meta> };

function loadTensor(dir: string, m: Meta): ort.Tensor {
  const b = readFileSync(join(dir, m.file));
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  return m.dtype === 'int64' ? new ort.Tensor('int64', new BigInt64Array(ab), m.shape)
    : new ort.Tensor('float32', new Float32Array(ab), m.shape);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

async function checkModel(onnxPath: string, refDir: string): Promise<number> {
  const ref = JSON.parse(readFileSync(join(refDir, 'reference.json'), 'utf8')) as Ref;
  const meta = readOnnxMetadata(readFileSync(onnxPath), onnxPath).metadata;
  const version = meta['pointbox.contract_version'];
  assert.ok(version === '1' || version === '2', `contract version ${version}`);
  const classes = JSON.parse(meta['pointbox.classes'] ?? 'null') as string[];
  assert.ok(Array.isArray(classes) && classes.length > 0, 'pointbox.classes is a JSON array');
  if (version === '2') {
    // contract 2: the prior the box head is a residual on, one entry per class, readable by the extension
    const bp = checkBoxPrior(meta['pointbox.box_prior'], classes);
    assert.deepEqual(bp.problems, []);
    assert.deepEqual(Object.keys(bp.prior!.classes).sort(), [...classes].sort());
  }
  const S = Number(meta['pointbox.input_size']);
  const norm = JSON.parse(meta['pointbox.normalization'] ?? '{}') as { mean: number; std: number };
  assert.equal(typeof norm.mean, 'number');
  assert.equal(typeof norm.std, 'number');
  assert.ok(meta['pointbox.training'], 'training provenance');

  // the extension's own loader accepts it (its contract check in src/core/inference/modelContract.ts)
  const loaded = await PointBoxModel.load(onnxPath, { device: 'cpu' });
  assert.equal(loaded.info.inputSize, S);
  assert.deepEqual(loaded.info.classes, classes);
  assert.equal(loaded.info.normalization.letterbox, 'top-left');

  const session = await ort.InferenceSession.create(onnxPath, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
  assert.deepEqual([...session.inputNames].sort(), ['image', 'labels', 'point_mask', 'points']);
  assert.deepEqual([...session.outputNames].sort(), ['boxes', 'scores']);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, m] of Object.entries(ref.inputs)) feeds[k] = loadTensor(refDir, m);
  assert.deepEqual(feeds.image!.dims, [2, 1, S, S]);
  const out = await session.run(feeds);
  let worst = 0;
  for (const [k, m] of Object.entries(ref.outputs)) {
    assert.deepEqual([...out[k]!.dims], m.shape, `${k} shape`);
    const d = maxAbsDiff(out[k]!.data as Float32Array, loadTensor(refDir, m).data as Float32Array);
    assert.ok(d < TOL, `${k}: max abs diff ${d} >= ${TOL}`);
    worst = Math.max(worst, d);
  }
  // dynamic B and N + padding: image 0 alone with only its 2 real points, then with 4 extra padded points
  const B0 = loadTensor(refDir, ref.outputs.boxes!).data as Float32Array; // [2,3,4]; image 0 has points 0,1 real
  const img = (feeds.image!.data as Float32Array).subarray(0, S * S);
  const pts = (feeds.points!.data as Float32Array).subarray(0, 6);
  const lab = (feeds.labels!.data as BigInt64Array).subarray(0, 3);
  for (const extra of [0, 4]) {
    const N = 2 + extra;
    const p = new Float32Array(N * 2); p.set(pts.subarray(0, 4));
    for (let i = 2; i < N; i++) { p[2 * i] = 0.123 * i; p[2 * i + 1] = 0.9; }
    const l = new BigInt64Array(N); l.set(lab.subarray(0, 2));
    const mk = new Float32Array(N); mk[0] = 1; mk[1] = 1;
    const r = await session.run({
      image: new ort.Tensor('float32', Float32Array.from(img), [1, 1, S, S]),
      points: new ort.Tensor('float32', p, [1, N, 2]), labels: new ort.Tensor('int64', l, [1, N]),
      point_mask: new ort.Tensor('float32', mk, [1, N]),
    });
    assert.deepEqual([...r.boxes!.dims], [1, N, 4]);
    const got = r.boxes!.data as Float32Array;
    const d = maxAbsDiff(got.subarray(0, 8), B0.subarray(0, 8));
    assert.ok(d < TOL, `B=1,N=${N}: real-point boxes differ by ${d}`);
    for (let i = 8; i < N * 4; i++) assert.equal(got[i], 0, 'padded points give zero boxes');
    worst = Math.max(worst, d);
  }
  return worst;
}

function python(): string { return process.env.PBC_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'); }

test('trainer export: ONNX Runtime (Node) matches PyTorch within 1e-4, contract + metadata + dynamic B/N', async (t) => {
  const probe = spawnSync(python(), ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) { t.skip(`${python()} has no torch (install python3-torch or set PBC_PYTHON)`); return; }
  const dir = mkdtempSync(join(tmpdir(), 'pbc-parity-'));
  try {
    const r = spawnSync(python(), ['-m', 'pbc_trainer', 'tiny-model', '--out', dir, '--image-size', '64', '--stride', '8'],
      { cwd: modelsDir, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const worst = await checkModel(join(dir, 'model.onnx'), join(dir, 'reference'));
    t.diagnostic(`max abs diff ${worst.toExponential(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const shipped = existsSync(modelsDir) ? readdirSync(modelsDir).filter((f) => f.endsWith('.onnx')) : [];
for (const f of shipped) {
  const name = f.replace(/\.onnx$/, '');
  test(`shipped model ${f}: ONNX Runtime (Node) matches its PyTorch reference outputs, < 10 MB`, async (t) => {
    const refDir = join(modelsDir, 'reference', name);
    if (!existsSync(join(refDir, 'reference.json'))) { t.skip(`no models/reference/${name}/`); return; }
    const onnxPath = join(modelsDir, f);
    assert.ok(readFileSync(onnxPath).byteLength < 10 * 2 ** 20, 'model under 10 MB');
    const worst = await checkModel(onnxPath, refDir);
    t.diagnostic(`max abs diff ${worst.toExponential(2)}`);
  });
}
