// The student detector (models/pbc_trainer/detector.py) as PointBox runs it, checked from Node with
// onnxruntime-node: a tiny detector trained for a few steps by the Python CLI (needs /usr/bin/python3 with torch
// and torchvision, or PBC_PYTHON; skipped with the reason where missing), exported with the detector contract.
// - the dense outputs match PyTorch's reference (max abs diff < 1e-4), batch 1 and 2;
// - the TypeScript post-processing (detectorPostprocess.ts) gives the trainer's detections on the same dense
//   outputs (boxes, scores, classes, order), with a threshold low enough for many candidates and suppressions;
// - the loaders tell the kinds apart: PointBoxModel refuses a detector, DetectorModel refuses a point->box model;
// - DetectorModel.detectFile and the worker version give the same pixel-space detections on a real PNG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { DetectorModel } from '../../../src/core/inference/DetectorModel';
import { DetectorModelWorker } from '../../../src/core/inference/DetectorModelWorker';
import { PointBoxModel } from '../../../src/core/inference/PointBoxModel';
import { postprocessDetections } from '../../../src/core/inference/detectorPostprocess';
import { readOnnxMetadata } from '../../../src/core/inference/readOnnxMetadata';
import { modelKindOf } from '../../../src/core/inference/detectorContract';

const root = join(__dirname, '..', '..', '..');
const modelsDir = join(root, 'models');
const PY = process.env.PBC_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

function pythonHasTorchvision(): string | undefined {
  const r = spawnSync(PY, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PY} cannot import torch and torchvision (${(r.stderr || '').trim().split('\n').pop()})`;
}

function bin(dir: string, file: string): Float32Array {
  const b = readFileSync(join(dir, file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

const skip = pythonHasTorchvision();

test('detector: ONNX export matches PyTorch, post-processing matches the trainer, kinds are told apart', { skip, timeout: 180_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'pbx-det-'));
  try {
    const env = { ...process.env, PYTHONPATH: modelsDir, OMP_NUM_THREADS: '2' };
    let r = spawnSync(PY, ['-m', 'pbc_trainer', 'synth', '--out', join(tmp, 'ds'), '--train', '12', '--val', '4', '--size', '64'], { cwd: modelsDir, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    r = spawnSync(PY, ['-m', 'pbc_trainer', 'detector', '--data', join(tmp, 'ds'), '--out', join(tmp, 'run'), '--epochs', '1', '--image-size', '64',
      '--batch', '4', '--steps-per-epoch', '3', '--pseudo', 'none'], { cwd: modelsDir, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const onnx = join(tmp, 'run', 'model.onnx');
    const refDir = join(tmp, 'run', 'reference');
    const meta = readOnnxMetadata(readFileSync(onnx), onnx).metadata;
    assert.equal(modelKindOf(meta), 'detector');
    assert.equal(meta['pointbox.detector_contract_version'], '1');
    assert.equal(meta['pointbox.contract_version'], undefined, 'no point->box contract version on a detector');

    const det = await DetectorModel.load(onnx, { device: 'cpu', threads: 2 });
    assert.equal(det.info.kind, 'detector');
    assert.deepEqual(det.info.classes, ['nodule', 'opacity']);
    assert.equal(det.info.inputSize, 64);
    assert.deepEqual(det.info.postprocess.levels, [64, 16, 4]); // 64 px: 8x8, 4x4, 2x2 locations
    const ref = JSON.parse(readFileSync(join(refDir, 'reference.json'), 'utf8')) as {
      postprocess: { score_threshold: number; nms_iou: number; topk_candidates: number; detections_per_image: number; levels: number[] };
      detections: { boxes: number[][]; scores: number[]; labels: number[] }[];
    };
    const image = bin(refDir, 'image.bin');
    const refBoxes = bin(refDir, 'boxes.bin');
    const refScores = bin(refDir, 'scores.bin');
    const A = det.info.anchors;
    const C = 2;
    const out = await det.runDense(image, 2);
    let worst = 0;
    for (const [a, b] of [[out.boxes, refBoxes], [out.scores, refScores]] as const) {
      assert.equal(a.length, b.length);
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    }
    assert.ok(worst < 1e-4, `dense outputs: max abs diff ${worst}`);
    // batch 1 gives image 1's outputs unchanged (no batch effects: BatchNorm is in eval mode)
    const one = await det.runDense(image.slice(64 * 64), 1);
    for (let i = 0; i < one.scores.length; i++) assert.ok(Math.abs(one.scores[i]! - refScores[A * C + i]!) < 1e-4);

    const p = { scoreThreshold: ref.postprocess.score_threshold, nmsIou: ref.postprocess.nms_iou, topkCandidates: ref.postprocess.topk_candidates, detectionsPerImage: ref.postprocess.detections_per_image, levels: ref.postprocess.levels };
    let compared = 0;
    for (let b = 0; b < 2; b++) {
      const mine = postprocessDetections(refBoxes.subarray(b * A * 4, (b + 1) * A * 4), refScores.subarray(b * A * C, (b + 1) * A * C), C, p);
      const theirs = ref.detections[b]!;
      assert.equal(mine.length, theirs.scores.length, `image ${b}: ${mine.length} vs ${theirs.scores.length} detections`);
      mine.forEach((d, k) => {
        assert.equal(d.classIndex, theirs.labels[k]);
        assert.ok(Math.abs(d.score - theirs.scores[k]!) < 1e-6);
        d.box.forEach((v, j) => assert.ok(Math.abs(v - theirs.boxes[k]![j]!) < 1e-6));
      });
      compared += mine.length;
    }
    assert.ok(compared >= 4, `the reference exercises the post-processing (${compared} detections)`);

    // kinds: the point->box loader refuses a detector with a message that says what it is
    await assert.rejects(PointBoxModel.load(onnx, { device: 'cpu' }), /is a detector/);
    // and the detector loader refuses a point->box model
    const pointBox = join(modelsDir, 'pointbox-pbc-v1.onnx');
    if (existsSync(pointBox)) await assert.rejects(DetectorModel.load(pointBox, { device: 'cpu' }), /pointbox\.kind/);

    // a real file: in this thread and in the worker, same detections in source pixels
    const png = join(tmp, 'ds', 'images', 'img_0013.png');
    const a = await det.detectFile(png);
    const w = await DetectorModelWorker.load(onnx, { device: 'cpu', threads: 1 });
    try {
      const bw = await w.detectFile(png);
      assert.equal(bw.width, a.width);
      assert.deepEqual(bw.detections.map((d) => d.className), a.detections.map((d) => d.className));
      for (const d of a.detections) {
        assert.ok(d.box[0] >= 0 && d.box[2] <= a.width && d.box[1] >= 0 && d.box[3] <= a.height && d.box[2] > d.box[0]);
      }
      await assert.rejects(w.detectFile(join(tmp, 'nope.png')), /nope\.png/);
    } finally {
      await w.dispose();
      await det.dispose();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
