import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averagePrecision, evaluatePointBoxPredictions, type PointBoxPrediction } from '../../../src/core/eval/boxEvaluation';
import { scoreCalibration, spearman } from '../../../src/core/eval/scoreCalibration';
import { evaluatePooledPredictions } from '../../../src/core/inference/evaluatePointToBox';
import { mulberry32 } from '../../../src/core/dataset/seededRandom';

const GT = [100, 100, 200, 200];
const MISS = [600, 600, 700, 700];
const q = (imageId: number, className: string, hit: boolean, score: number, seed = 0): PointBoxPrediction =>
  ({ imageId, className, seed, point: [150, 150], gtBox: GT, box: hit ? GT : MISS, score, annotationId: imageId * 10 + (className === 'A' ? 1 : 2) });

// Class A: 3 boxes (hit 0.9, miss 0.8, hit 0.3); class B: 1 box (hit 0.5). Worked by hand:
//  A ranked: P = 1, 1/2, 2/3 at R = 1/3, 1/3, 2/3 -> envelope 1 up to R 1/3 (34 of 101 recall points), 2/3 up to
//    R 2/3 (33 points): AP_A = (34 + 33 * 2/3) / 101 = 56/101. B: AP 1. Macro = (56/101 + 1) / 2.
//  Micro, all ranked: 0.9 A hit, 0.8 A miss, 0.5 B hit, 0.3 A hit over 4 GT: P = 1, .5, .667, .75 at R = .25, .25,
//    .5, .75 -> envelope 1 to R .25 (26 points), .75 to R .75 (50 points): AP = (26 + 37.5) / 101.
const handCase = [q(1, 'A', true, 0.9), q(2, 'A', false, 0.8), q(3, 'A', true, 0.3), q(4, 'B', true, 0.5)];

test('micro (box-weighted) and macro (class-averaged) AP50 differ as worked by hand', () => {
  const m = evaluatePointBoxPredictions(handCase, { bootstrap: 0 });
  assert.ok(Math.abs(m.perClass.A!.ap50 - 56 / 101) < 1e-12, `A ${m.perClass.A!.ap50}`);
  assert.equal(m.perClass.B!.ap50, 1);
  assert.ok(Math.abs(m.macro.ap50.value - (56 / 101 + 1) / 2) < 1e-12, `macro ${m.macro.ap50.value}`);
  assert.ok(Math.abs(m.micro.ap50.value - 63.5 / 101) < 1e-12, `micro ${m.micro.ap50.value}`);
  assert.equal(m.micro.meanIou.value, 0.75);
  assert.equal(m.perClass.A!.boxes, 3);
  assert.equal(m.perClass.A!.meanIou, 2 / 3);
  assert.equal(m.macro.classes, 2);
  assert.equal(m.micro.ap50.ci95, null, 'no bootstrap asked for');
  // Per class the query form agrees with the detection form of the same data.
  const gts = handCase.filter((p) => p.className === 'A').map((p) => ({ imageId: p.imageId, classId: 0, box: p.gtBox }));
  const dets = handCase.filter((p) => p.className === 'A').map((p) => ({ imageId: p.imageId, classId: 0, box: p.box, score: p.score }));
  assert.equal(m.perClass.A!.ap50, averagePrecision(gts, dets, 0.5));
});

test('a detection matches only a ground truth of its own class in its own (image, seed)', () => {
  // Same image, two seeds: the seed-1 box lies on the seed-0 ground truth's place but may not match it.
  const a: PointBoxPrediction = { imageId: 1, className: 'A', seed: 0, point: [0, 0], gtBox: [0, 0, 10, 10], box: [50, 50, 60, 60], score: 0.9 };
  const b: PointBoxPrediction = { imageId: 1, className: 'A', seed: 1, point: [0, 0], gtBox: [50, 50, 60, 60], box: [0, 0, 10, 10], score: 0.8 };
  assert.equal(evaluatePointBoxPredictions([a, b], { bootstrap: 0 }).micro.ap50.value, 0);
  // Within one (image, seed) the boxes cross-match, as COCO matching does.
  const m = evaluatePointBoxPredictions([a, { ...b, seed: 0 }], { bootstrap: 0 });
  assert.equal(m.micro.ap50.value, 1);
  // And never across classes.
  assert.equal(evaluatePointBoxPredictions([a, { ...b, seed: 0, className: 'B' }], { bootstrap: 0 }).micro.ap50.value, 0);
});

function randomSet(images: number, seed: number): PointBoxPrediction[] {
  const r = mulberry32(seed);
  const out: PointBoxPrediction[] = [];
  for (let i = 1; i <= images; i++) {
    for (let k = 0; k < 1 + Math.floor(r() * 3); k++) {
      const x = r() * 800; const y = r() * 800; const w = 50 + r() * 150; const h = 50 + r() * 150;
      const shift = r() * 0.8 * w;
      const box = [x + shift, y, x + shift + w, y + h];
      out.push({ imageId: i, className: r() < 0.7 ? 'Pneumonia' : 'Nodule', seed: 0, point: [x, y], gtBox: [x, y, x + w, y + h], box, score: Math.max(0, 1 - shift / w + 0.3 * (r() - 0.5)), annotationId: i * 10 + k });
    }
  }
  return out;
}

test('bootstrap intervals: deterministic for a seed, different for another, and they contain the point estimate', () => {
  const preds = randomSet(40, 3);
  const a = evaluatePointBoxPredictions(preds, { bootstrap: 300, bootstrapSeed: 7 });
  const b = evaluatePointBoxPredictions(preds, { bootstrap: 300, bootstrapSeed: 7 });
  const c = evaluatePointBoxPredictions(preds, { bootstrap: 300, bootstrapSeed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.micro.ap50.ci95, c.micro.ap50.ci95);
  for (const e of [a.micro.ap50, a.micro.ap75, a.micro.map, a.micro.meanIou, a.macro.ap50, a.macro.map]) {
    assert.ok(e.ci95 && e.ci95[0] <= e.value && e.value <= e.ci95[1], `${e.value} outside ${e.ci95}`);
    assert.ok(e.ci95![1] > e.ci95![0], 'a real spread');
  }
  assert.deepEqual(a.bootstrap, { resamples: 300, seed: 7, unit: 'image', interval: 'percentile 2.5-97.5' });
});

test('bootstrap resamples whole images: identical images give an interval of zero width', () => {
  // Every image holds the same hit and miss, so every resample is the same set up to repetition.
  const preds = [1, 2, 3, 4, 5].flatMap((i) => [q(i, 'A', true, 0.9), { ...q(i, 'A', false, 0.4), annotationId: i * 10 + 3 }]);
  const m = evaluatePointBoxPredictions(preds, { bootstrap: 200 });
  // A count-weighted expansion must give exactly the point estimate each time.
  assert.deepEqual(m.micro.ap50.ci95, [m.micro.ap50.value, m.micro.ap50.value]);
  assert.deepEqual(m.micro.meanIou.ci95, [0.5, 0.5]);
});

test('expected calibration error and correlations on a constructed case', () => {
  // Bins: [0,.1): .05 vs 0; [.1,.2): .15,.15 vs .3,.1 (mean .2); [.9,1]: .95 vs .5.
  // ECE = 1/4 * .05 + 2/4 * .05 + 1/4 * .45 = .15.
  const c = scoreCalibration([0.05, 0.15, 0.15, 0.95], [0, 0.3, 0.1, 0.5]);
  assert.ok(Math.abs(c.ece - 0.15) < 1e-12, `ece ${c.ece}`);
  assert.equal(c.bins.length, 10);
  assert.deepEqual(c.bins.map((b) => b.count), [1, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.ok(Number.isNaN(c.bins[2]!.meanPredicted));
  assert.ok(Math.abs(c.bins[1]!.meanActual - 0.2) < 1e-12);
  // A score of exactly 1 falls in the last bin.
  assert.equal(scoreCalibration([1], [1]).bins[9]!.count, 1);
  // Ranks with ties: x = 1,2,2,3 -> 1, 2.5, 2.5, 4.
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 2, 3, 4]) - 0.9486832980505138) < 1e-12);
  assert.equal(c.n, 4);
  assert.ok(c.pearson > 0 && c.spearman > 0);
});

test('calibration is null with a reason for constant scores; prior-fallback boxes are left out of it', () => {
  const constant = evaluatePooledPredictions(handCase.map((p) => ({ ...p, score: 1 })), { bootstrap: 0 });
  assert.equal(constant.calibration, null);
  assert.match(constant.calibrationNote!, /same score/);
  const withFallback = evaluatePooledPredictions([...handCase, { ...q(5, 'C', true, 0), priorFallback: true }], { bootstrap: 0 });
  assert.equal(withFallback.calibration!.n, 4);
  assert.match(withFallback.calibrationNote!, /1 prior-fallback/);
  assert.equal(withFallback.perClass.C!.priorFallback, 1);
});

test('k-fold pooling: folds evaluated as one set, not as a mean of per-fold figures', () => {
  const fold0 = handCase.filter((p) => p.imageId <= 2);
  const fold1 = handCase.filter((p) => p.imageId > 2);
  const pooled = evaluatePooledPredictions([...fold0, ...fold1], { bootstrap: 100 });
  assert.ok(Math.abs(pooled.ap50 - 63.5 / 101) < 1e-12);
  assert.equal(pooled.micro.ap50.value, pooled.ap50);
  const perFold = [fold0, fold1].map((f) => evaluatePooledPredictions(f, { bootstrap: 0 }).ap50);
  assert.ok(Math.abs((perFold[0]! + perFold[1]!) / 2 - 76 / 101) < 1e-12, 'the per-fold mean is a different number');
  assert.equal(pooled.images, 4);
  assert.equal(pooled.boxes, 4);
});
