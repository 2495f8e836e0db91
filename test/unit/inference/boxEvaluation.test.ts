import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averagePrecision, evaluateBoxes, type EvalDetection, type EvalGroundTruth } from '../../../src/core/eval/boxEvaluation';
import { iouXyxy, letterbox, pointToModel, boxFromModel } from '../../../src/shared/geometry';

const gt = (imageId: number, box: number[], classId = 0): EvalGroundTruth => ({ imageId, classId, box });
const det = (imageId: number, box: number[], score: number, classId = 0): EvalDetection => ({ imageId, classId, box, score });

test('IoU of known boxes', () => {
  assert.equal(iouXyxy([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  assert.equal(iouXyxy([0, 0, 10, 10], [10, 0, 20, 10]), 0);
  assert.ok(Math.abs(iouXyxy([0, 0, 10, 10], [5, 0, 15, 10]) - 50 / 150) < 1e-12);
});

test('perfect predictions give AP 1 at every threshold', () => {
  const g = [gt(1, [10, 10, 50, 60]), gt(1, [100, 100, 140, 180]), gt(2, [0, 0, 30, 30])];
  const r = evaluateBoxes(g, g.map((x, i) => det(x.imageId, [...x.box], 0.5 + i * 0.1)));
  assert.equal(r.ap50, 1);
  assert.equal(r.map, 1);
  assert.equal(r.meanBestIou, 1);
});

test('a false positive ranked first halves precision at the first recall points (worked by hand)', () => {
  // 1 GT; detections: FP with score 0.9, TP with 0.8 -> precision at recall 1 is 1/2 -> AP = 0.5.
  const ap = averagePrecision([gt(1, [0, 0, 10, 10])], [det(1, [50, 50, 60, 60], 0.9), det(1, [0, 0, 10, 10], 0.8)], 0.5);
  assert.ok(Math.abs(ap - 0.5) < 1e-12, `ap=${ap}`);
  // Ranked the other way the FP comes after full recall and costs nothing.
  assert.equal(averagePrecision([gt(1, [0, 0, 10, 10])], [det(1, [50, 50, 60, 60], 0.1), det(1, [0, 0, 10, 10], 0.8)], 0.5), 1);
});

test('half the ground truth found: AP = 51/101 (recall points 0..0.5)', () => {
  const ap = averagePrecision([gt(1, [0, 0, 10, 10]), gt(2, [0, 0, 10, 10])], [det(1, [0, 0, 10, 10], 0.9)], 0.5);
  assert.ok(Math.abs(ap - 51 / 101) < 1e-12, `ap=${ap}`);
});

test('IoU thresholds: a box with IoU 0.62 counts at 0.50, 0.55 and 0.60, not above', () => {
  // GT [0,0,10,10]; prediction [0,0,10,6.2]: IoU = 62/100
  const r = evaluateBoxes([gt(1, [0, 0, 10, 10])], [det(1, [0, 0, 10, 6.2], 1)]);
  assert.equal(r.ap50, 1);
  assert.equal(r.ap75, 0);
  assert.ok(Math.abs(r.map - 0.3) < 1e-12, `map=${r.map}`); // 3 of 10 thresholds
  assert.ok(Math.abs(r.meanBestIou - 0.62) < 1e-12);
});

test('one detection matches one ground truth only; classes are evaluated apart', () => {
  const g = [gt(1, [0, 0, 10, 10]), gt(1, [0, 0, 10, 10]), gt(1, [0, 0, 10, 10], 1)];
  const r = evaluateBoxes(g, [det(1, [0, 0, 10, 10], 0.9), det(1, [0, 0, 10, 10], 0.8, 1)]);
  const c0 = r.perClass.find((c) => c.classId === 0)!;
  const c1 = r.perClass.find((c) => c.classId === 1)!;
  assert.ok(Math.abs(c0.ap50 - 51 / 101) < 1e-12);
  assert.equal(c1.ap50, 1);
  assert.ok(Math.abs(r.ap50 - (51 / 101 + 1) / 2) < 1e-12);
});

test('letterbox round trip maps a source box to model space and back', () => {
  const lb = letterbox(2000, 1000, 512, 'center');
  assert.equal(lb.scale, 512 / 2000);
  assert.equal(lb.padX, 0);
  assert.equal(lb.padY, (512 - 256) / 2);
  // The trainer's convention: image at the top-left, padding right/bottom.
  const tl = letterbox(1000, 2000, 512);
  assert.deepEqual([tl.padX, tl.padY], [0, 0]);
  assert.deepEqual(pointToModel(tl, 1000, 2000), [0.5, 1]);
  const [x1, y1] = pointToModel(lb, 400, 300);
  const [x2, y2] = pointToModel(lb, 900, 700);
  const back = boxFromModel(lb, [x1, y1, x2, y2]);
  back.forEach((v, i) => assert.ok(Math.abs(v - [400, 300, 900, 700][i]!) < 1e-9));
  // Boxes reaching into the padding are clamped to the image.
  assert.deepEqual(boxFromModel(lb, [0, 0, 1, 1]), [0, 0, 2000, 1000]);
});
