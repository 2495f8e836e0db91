// Detector evaluation (src/core/eval/evaluateDetector.ts) with a stand-in detector whose answers are known,
// the PBC export's `pseudoBoxes: 'all'` (what the benchmark's students train on), and the detector contract
// check on hand-made metadata (no Python needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { emptyDataset } from '../../../src/core/dataset/datasetJson';
import { exportCoco } from '../../../src/core/dataset/exportCoco';
import { imageRootsOf } from '../../../src/core/dataset/imagePaths';
import type { DatasetFile } from '../../../src/core/dataset/schema';
import { splitDataset } from '../../../src/core/dataset/splitDataset';
import { evaluateDetector } from '../../../src/core/eval/evaluateDetector';
import { checkDetectorContract, type DetectorModelInfo } from '../../../src/core/inference/detectorContract';
import { postprocessDetections } from '../../../src/core/inference/detectorPostprocess';
import type { FileDetections, ImageDetector } from '../../../src/core/inference/DetectorModel';
import { xywhToXyxy, type XYXY } from '../../../src/shared/geometry';
import { tinyPng, tmpDir, writeFiles } from '../dataset/datasetFixtures';

function dataset(): DatasetFile {
  const d = emptyDataset('det');
  d.categories.push({ id: 1, name: 'Nodule' }, { id: 2, name: 'Mass' });
  let ann = 1;
  for (let i = 1; i <= 40; i++) {
    d.images.push({ id: i, file_name: `im${i}.png`, width: 200, height: 100, split: i <= 20 ? 'test' : 'train', label_level: 'boxes' });
    if (i % 4 !== 0) d.annotations.push({ id: ann++, image_id: i, category_id: 1 + (i % 2), bbox: [10 + i, 20, 30, 40], area: 1200, iscrowd: 0 });
  }
  return d;
}

const info = (classes: string[]): DetectorModelInfo => ({
  kind: 'detector', file: '/m/det.onnx', sha256: 'x', classes, inputSize: 64, normalization: { mean: 0.5, std: 0.25, letterbox: 'top-left' },
  contractVersion: '1', postprocess: { scoreThreshold: 0.05, nmsIou: 0.6, topkCandidates: 1000, detectionsPerImage: 100, levels: [1] }, anchors: 1, opset: 17, producer: 'test',
});

/** Answers each file with boxes from `answer(imageId)`. */
function fakeDetector(classes: string[], answer: (id: number) => { box: XYXY; score: number; cls: number }[]): ImageDetector {
  return {
    info: info(classes), executionProvider: 'cpu', skipped: [],
    async detectFile(file: string): Promise<FileDetections> {
      const id = Number(/im(\d+)\.png$/.exec(basename(file))?.[1]);
      if (id === 7) throw new Error(`${file}: cannot decode`);
      return { width: 200, height: 100, detections: answer(id).map((a) => ({ box: a.box, score: a.score, classIndex: a.cls, className: classes[a.cls]! })), ms: { decode: 0, infer: 0, post: 0 } };
    },
    async dispose() { /* nothing */ },
  };
}

test('evaluateDetector: perfect boxes score 1, shifted ones less, a wrong class 0; failures named; intervals bracket', async () => {
  const d = dataset();
  const roots = imageRootsOf(d, '/data');
  const gt = (id: number) => d.annotations.filter((a) => a.image_id === id);
  const classes = ['Mass', 'Nodule']; // model order differs from the dataset's: matched by name
  const idx = (catId: number) => (catId === 1 ? 1 : 0);
  const perfect = await evaluateDetector(d, roots, fakeDetector(classes, (id) => gt(id).map((a) => ({ box: xywhToXyxy(a.bbox!), score: 0.9, cls: idx(a.category_id) }))), { bootstrap: 50 });
  assert.equal(perfect.split, 'test');
  assert.equal(perfect.images, 19, 'one of 20 failed');
  assert.deepEqual(perfect.failed.map((f) => f.imageId), [7]);
  assert.match(perfect.failed[0]!.error, /cannot decode/);
  assert.equal(perfect.map, 1);
  assert.equal(perfect.ap50, 1);
  assert.deepEqual(perfect.ci.map, [1, 1]);
  assert.deepEqual(perfect.perClass.map((c) => c.name).sort(), ['Mass', 'Nodule']);
  // shifted by a third of the width: IoU 0.5 -> AP50 1, AP at 0.75 0
  const shifted = await evaluateDetector(d, roots, fakeDetector(classes, (id) => gt(id).map((a) => { const b = xywhToXyxy(a.bbox!); return { box: [b[0] + 10, b[1], b[2] + 10, b[3]] as XYXY, score: 0.9, cls: idx(a.category_id) }; })), { bootstrap: 50 });
  assert.equal(shifted.ap50, 1);
  assert.equal(shifted.ap75, 0);
  assert.ok(shifted.map > 0 && shifted.map < 0.5, `mAP ${shifted.map}`);
  const wrong = await evaluateDetector(d, roots, fakeDetector(classes, (id) => gt(id).map((a) => ({ box: xywhToXyxy(a.bbox!), score: 0.9, cls: 1 - idx(a.category_id) }))), { bootstrap: 0 });
  assert.equal(wrong.map, 0);
  // noisy: half the images get their box, the other half a far-away one; the interval brackets the value
  const noisy = await evaluateDetector(d, roots, fakeDetector(classes, (id) => gt(id).map((a) => ({ box: id % 3 ? xywhToXyxy(a.bbox!) : [150, 60, 190, 90] as XYXY, score: id % 3 ? 0.5 : 0.95, cls: idx(a.category_id) }))), { bootstrap: 200 });
  assert.ok(noisy.ci.map[0] <= noisy.map && noisy.map <= noisy.ci.map[1], `${noisy.ci.map} around ${noisy.map}`);
  assert.ok(noisy.ci.map[1] - noisy.ci.map[0] > 0.05);
  // a class the detector does not know is named, and its boxes are missed
  const partial = await evaluateDetector(d, roots, fakeDetector(['Nodule'], (id) => gt(id).filter((a) => a.category_id === 1).map((a) => ({ box: xywhToXyxy(a.bbox!), score: 0.9, cls: 0 }))), { bootstrap: 0 });
  assert.deepEqual(partial.unknownClasses, ['Mass']);
  assert.equal(partial.perClass.find((c) => c.name === 'Mass')!.map, 0);
  await assert.rejects(evaluateDetector(d, roots, fakeDetector(classes, () => []), { split: 'val' }), /no val images/);
});

test('export --layout pbc, pseudoBoxes all: pending pseudo-boxes go in (with review and annotation_id), rejected never', () => {
  const t = tmpDir();
  try {
    mkdirSync(join(t.dir, 'data'), { recursive: true });
    const d = dataset();
    for (const im of d.images) writeFiles(join(t.dir, 'data'), { [im.file_name]: tinyPng(8, 8) });
    splitDataset(d, { val: 0.2, boxRatio: 0.3, seed: 0 });
    const pts = d.images.filter((i) => i.split === 'train' && i.label_level === 'points' && d.annotations.some((a) => a.image_id === i.id));
    const reviews = ['pending', 'accepted', 'rejected', 'edited'] as const;
    pts.slice(0, 4).forEach((im, k) => {
      const a = d.annotations.find((x) => x.image_id === im.id)!;
      d.pseudo_boxes.push({ id: 100 + k, image_id: im.id, category_id: a.category_id, annotation_id: a.id, bbox: [1, 2, 3, 4], ...(reviews[k] === 'edited' ? { edited_bbox: [2, 2, 3, 3] as [number, number, number, number] } : {}), provenance: { model_id: 't.onnx', time: 't' }, review: reviews[k]! });
    });
    const read = (out: string) => JSON.parse(readFileSync(join(out, 'annotations', 'instances_train_pseudo.json'), 'utf8')) as { annotations: { id: number; review: string; annotation_id: number; bbox: number[] }[] };
    exportCoco(d, { out: join(t.dir, 'a'), datasetDir: join(t.dir, 'data'), layout: 'pbc' });
    assert.deepEqual(read(join(t.dir, 'a')).annotations.map((a) => a.review), ['accepted', 'edited']);
    exportCoco(d, { out: join(t.dir, 'b'), datasetDir: join(t.dir, 'data'), layout: 'pbc', pseudoBoxes: 'all' });
    const all = read(join(t.dir, 'b')).annotations;
    assert.deepEqual(all.map((a) => a.review), ['pending', 'accepted', 'edited']);
    assert.ok(all.every((a) => typeof a.annotation_id === 'number'));
    assert.deepEqual(all.find((a) => a.review === 'edited')!.bbox, [2, 2, 3, 3]);
  } finally {
    t.cleanup();
  }
});

test('detector contract: every problem is named; post-processing: threshold, per-class NMS, top-k, cap', () => {
  const facts = (md: Record<string, string>) => ({ irVersion: 8, producerName: 'pytorch', producerVersion: '1.13', opsets: [{ domain: '', version: 17 }], metadata: md });
  const md = {
    'pointbox.kind': 'detector', 'pointbox.detector_contract_version': '1', 'pointbox.classes': '["a","b"]', 'pointbox.input_size': '64',
    'pointbox.normalization': '{"mean":0.5,"std":0.25,"letterbox":"top-left"}',
    'pointbox.detector': JSON.stringify({ score_threshold: 0.05, nms_iou: 0.6, topk_candidates: 1000, detections_per_image: 100, levels: [{ stride: 8, locations: 64 }, { stride: 16, locations: 16 }] }),
  };
  const io = { inputs: [{ name: 'image', isTensor: true, type: 'float32', shape: ['B', 1, 64, 64] }], outputs: [{ name: 'boxes', isTensor: true, type: 'float32', shape: ['B', 80, 4] }, { name: 'scores', isTensor: true, type: 'float32', shape: ['B', 80, 2] }] };
  const ok = checkDetectorContract('m.onnx', 's', facts(md), io.inputs, io.outputs);
  assert.equal(ok.anchors, 80);
  assert.deepEqual(ok.postprocess.levels, [64, 16]);
  assert.throws(() => checkDetectorContract('m.onnx', 's', facts({ ...md, 'pointbox.kind': 'point-to-box' }), io.inputs, io.outputs), /pointbox\.kind/);
  assert.throws(() => checkDetectorContract('m.onnx', 's', facts({ ...md, 'pointbox.detector': '{}' }), io.inputs, io.outputs), /score_threshold[\s\S]*levels/);
  assert.throws(() => checkDetectorContract('m.onnx', 's', facts(md), io.inputs, [io.outputs[0]!, { ...io.outputs[1]!, shape: ['B', 80, 3] }]), /3 classes but metadata lists 2/);
  assert.throws(() => checkDetectorContract('m.onnx', 's', facts(md), [...io.inputs, { name: 'points', isTensor: true }], io.outputs), /one input/);

  // 2 levels of 2 and 1 locations, 2 classes
  const boxes = new Float32Array([0, 0, 0.5, 0.5, 0.05, 0, 0.55, 0.5, 0.6, 0.6, 0.9, 0.9]);
  const scores = new Float32Array([0.9, 0.8, 0.85, 0.01, 0.7, 0.04]);
  const p = { scoreThreshold: 0.05, nmsIou: 0.6, topkCandidates: 1000, detectionsPerImage: 100, levels: [2, 1] };
  const r = postprocessDetections(boxes, scores, 2, p);
  // class 0: loc0 (0.9) suppresses loc1 (0.85, IoU 0.82); class 1: loc0 (0.8) stays (other class); loc2 class 0 (0.7)
  assert.deepEqual(r.map((x) => [x.classIndex, +x.score.toFixed(2)]), [[0, 0.9], [1, 0.8], [0, 0.7]]);
  assert.deepEqual(postprocessDetections(boxes, scores, 2, { ...p, topkCandidates: 1 }).map((x) => +x.score.toFixed(2)), [0.9, 0.7]);
  assert.equal(postprocessDetections(boxes, scores, 2, { ...p, detectionsPerImage: 2 }).length, 2);
  assert.equal(postprocessDetections(boxes, scores, 2, { ...p, nmsIou: 0.9 }).length, 4);
  assert.throws(() => postprocessDetections(boxes, scores, 3, p), /do not fit/);
});
