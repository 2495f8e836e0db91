/** The viewer's pure geometry (src/shared/viewerGeometry.ts): transforms, zoom, hit tests, drag math, W/L drag. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  boxFromCorners, centreOn, clampPoint, fitTransform, hitTest, imageToScreen, moveBox, nextInCycle, oneToOneTransform, panBy,
  resizeBox, screenToImage, wheelZoomFactor, windowLevelDrag, zoomAround, MAX_SCALE, MIN_SCALE, type ViewTransform,
} from '../../../src/shared/viewerGeometry';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test('screen<->image round-trips and maps the image origin to (tx, ty)', () => {
  const v: ViewTransform = { scale: 0.37, tx: 12.5, ty: -40 };
  assert.deepEqual(imageToScreen(v, 0, 0), [12.5, -40]);
  for (const [x, y] of [[0, 0], [100, 250], [2499.5, 2999.25]] as const) {
    const [sx, sy] = imageToScreen(v, x, y);
    const [ix, iy] = screenToImage(v, sx, sy);
    close(ix, x); close(iy, y);
  }
});

test('fit centres the whole image with the margin on the limiting side', () => {
  // 2500 x 3000 into 800 x 600: height limits, (600 - 16) / 3000
  const v = fitTransform(2500, 3000, 800, 600, 8);
  close(v.scale, 584 / 3000);
  close(v.ty, 8);
  close(v.tx, (800 - 2500 * v.scale) / 2);
  const [cx, cy] = screenToImage(v, 400, 300);
  close(cx, 1250); close(cy, 1500);
});

test('zoom around the cursor keeps the image point under the cursor fixed, and clamps the scale', () => {
  const v = fitTransform(1024, 1024, 500, 500);
  const before = screenToImage(v, 123, 321);
  const z = zoomAround(v, 123, 321, 3.7);
  close(z.scale, v.scale * 3.7);
  const after = screenToImage(z, 123, 321);
  close(after[0], before[0]); close(after[1], before[1]);
  assert.equal(zoomAround(v, 0, 0, 1e9).scale, MAX_SCALE);
  assert.equal(zoomAround(v, 0, 0, 1e-9).scale, MIN_SCALE);
  // Zooming in then out by the same wheel amount returns to the same view.
  const back = zoomAround(zoomAround(v, 50, 60, wheelZoomFactor(-120)), 50, 60, wheelZoomFactor(120));
  close(back.scale, v.scale); close(back.tx, v.tx, 1e-6); close(back.ty, v.ty, 1e-6);
  assert.ok(wheelZoomFactor(-100) > 1 && wheelZoomFactor(100) < 1, 'wheel up zooms in');
});

test('1:1 keeps the view centre, pan moves by screen pixels, centreOn puts a point in the middle', () => {
  const v = fitTransform(3000, 3000, 600, 400);
  const c0 = screenToImage(v, 300, 200);
  const o = oneToOneTransform(v, 600, 400);
  assert.equal(o.scale, 1);
  const c1 = screenToImage(o, 300, 200);
  close(c1[0], c0[0]); close(c1[1], c0[1]);
  assert.deepEqual(panBy({ scale: 2, tx: 1, ty: 2 }, 10, -5), { scale: 2, tx: 11, ty: -3 });
  const c = centreOn({ scale: 2, tx: 0, ty: 0 }, 100, 50, 600, 400);
  assert.deepEqual(imageToScreen(c, 100, 50), [300, 200]);
});

test('boxes from drag corners are normalised and clamped to the image', () => {
  assert.deepEqual(boxFromCorners([50, 60], [10, 20], 100, 100), [10, 20, 40, 40]);
  assert.deepEqual(boxFromCorners([-10, 90], [120, 130], 100, 100), [0, 90, 100, 10]);
  assert.deepEqual(clampPoint([-1, 101], 100, 100), [0, 100]);
});

test('moving a box stops at the border and keeps its size', () => {
  assert.deepEqual(moveBox([10, 10, 20, 30], 5, -3, 100, 100), [15, 7, 20, 30]);
  assert.deepEqual(moveBox([10, 10, 20, 30], -50, 200, 100, 100), [0, 70, 20, 30]);
  assert.deepEqual(moveBox([90, 0, 20, 30], 0, 0, 100, 100), [80, 0, 20, 30]);
});

test('resizing drags one corner, keeps the opposite one, clamps to the image and never goes below the minimum size', () => {
  const b: [number, number, number, number] = [10, 10, 20, 20];
  assert.deepEqual(resizeBox(b, 'se', [50, 45], 100, 100), [10, 10, 40, 35]);
  assert.deepEqual(resizeBox(b, 'nw', [0, 5], 100, 100), [0, 5, 30, 25]);
  assert.deepEqual(resizeBox(b, 'ne', [200, -50], 100, 100), [10, 0, 90, 30]);
  // Dragging past the opposite corner stops minSize short of it (no flip).
  assert.deepEqual(resizeBox(b, 'se', [0, 0], 100, 100, 2), [10, 10, 2, 2]);
  assert.deepEqual(resizeBox(b, 'sw', [100, 5], 100, 100, 3), [27, 10, 3, 3]);
});

test('hit testing: handles of the selected box first, then points, edges, the smallest enclosing box, pseudo-boxes', () => {
  const input = {
    boxes: [{ id: 1, box: [10, 10, 80, 80] as [number, number, number, number] }, { id: 2, box: [40, 40, 10, 10] as [number, number, number, number] }],
    points: [{ id: 3, point: [45, 45] as [number, number] }, { id: 1, point: [20, 20] as [number, number] }],
    pseudo: [{ id: 7, box: [200, 200, 50, 50] as [number, number, number, number] }],
  };
  assert.deepEqual(hitTest({ ...input, selectedBoxId: 1 }, 90.5, 89, 1), { kind: 'handle', id: 1, corner: 'se' });
  assert.deepEqual(hitTest(input, 90.5, 89, 1), { kind: 'box', id: 1, part: 'edge' }, 'no handles unless selected');
  assert.deepEqual(hitTest(input, 46, 44, 1), { kind: 'point', id: 3 });
  assert.deepEqual(hitTest(input, 30, 70, 1), { kind: 'box', id: 1, part: 'inside' });
  assert.deepEqual(hitTest(input, 43, 48.5, 0.1), { kind: 'point', id: 3 }, 'tolerance is in screen pixels: zoomed out, a point is easier to hit');
  assert.deepEqual(hitTest(input, 47, 47, 10), { kind: 'box', id: 2, part: 'inside' }, 'zoomed in: the nested box, not the point 2.8 px away');
  assert.deepEqual(hitTest(input, 225, 225, 1), { kind: 'pseudo', id: 7, part: 'inside' });
  assert.equal(hitTest(input, 150, 150, 1), undefined);
});

test('window/level drag: right widens, down raises the level, width never below 1, sensitivity follows the range', () => {
  const s = { center: 2048, width: 4096 };
  assert.deepEqual(windowLevelDrag(s, 0, 0, 4096), s);
  const w = windowLevelDrag(s, 128, 0, 4096);
  assert.equal(w.width, 4096 + 1024); assert.equal(w.center, 2048);
  const l = windowLevelDrag(s, 0, 64, 4096);
  assert.equal(l.center, 2048 + 512);
  assert.equal(windowLevelDrag(s, -100000, 0, 4096).width, 1);
  assert.equal(windowLevelDrag({ center: 128, width: 256 }, 512, 0, 256).width, 512, '8-bit: a 512 px drag spans the range');
});

test('next pending cycles through the ids', () => {
  assert.equal(nextInCycle([], undefined), undefined);
  assert.equal(nextInCycle([3, 5, 9], undefined), 3);
  assert.equal(nextInCycle([3, 5, 9], 5), 9);
  assert.equal(nextInCycle([3, 5, 9], 9), 3);
  assert.equal(nextInCycle([3, 5, 9], 4), 3);
});
