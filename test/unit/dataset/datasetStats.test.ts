import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyDataset } from '../../../src/core/dataset/datasetJson';
import { computeStats } from '../../../src/core/dataset/datasetStats';
import { splitDataset } from '../../../src/core/dataset/splitDataset';
import { DatasetTreeModel } from '../../../src/core/dataset/datasetTreeModel';

test('stats names match meaning: box-level vs with boxes, point-level vs with points, negatives at any level, unlabeled never negative', () => {
  const d = emptyDataset('n');
  d.categories.push({ id: 1, name: 'nodule' });
  const im = (id: number, level: 'boxes' | 'points' | 'unlabeled') => d.images.push({ id, file_name: `${id}.png`, width: 10, height: 10, split: 'train', label_level: level });
  im(1, 'boxes'); d.annotations.push({ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 2, 2] });
  im(2, 'boxes'); // negative at box level
  im(3, 'points'); d.annotations.push({ id: 2, image_id: 3, category_id: 1, point: [1, 1] });
  im(4, 'points'); // negative at point level: nobody clicked a lesion
  im(5, 'unlabeled');
  const s = computeStats(d);
  assert.deepEqual(
    [s.boxLevelImages, s.imagesWithBoxes, s.pointLevelImages, s.imagesWithPointsOnly, s.negativeImages, s.unlabeled],
    [2, 1, 2, 1, 2, 1]);
  const t = s.splits.train!;
  assert.deepEqual([t.boxLevelImages, t.imagesWithBoxes, t.pointLevelImages, t.imagesWithPointsOnly, t.negativeImages], [2, 1, 2, 1, 2]);
  // The tree says the same in its group descriptions.
  const tree = new DatasetTreeModel(d);
  const groups = tree.getChildren(tree.getChildren(tree.getChildren()[0]!.id)[0]!.id);
  assert.deepEqual(groups.slice(0, 2).map((g) => `${g.label}: ${g.description}`), ['Box-level: 2 images (1 with boxes) · 1 box', 'Point-level: 2 images (1 with points) · 1 point']);
});

test('the split summary counts box-level train images and, of those, the ones with boxes', () => {
  const d = emptyDataset('s');
  d.categories.push({ id: 1, name: 'nodule' });
  for (let i = 1; i <= 40; i++) {
    d.images.push({ id: i, file_name: `${i}.png`, width: 100, height: 100, split: 'unassigned', label_level: 'boxes' });
    if (i <= 20) d.annotations.push({ id: i, image_id: i, category_id: 1, bbox: [1, 1, 20, 20] });
  }
  const s = splitDataset(d, { val: 0, boxRatio: 0.5, seed: 1 });
  assert.equal(s.trainBoxes, 20, 'half of the 20 positives and half of the 20 negatives keep box level');
  assert.equal(s.trainBoxesWithBoxes, 10);
  assert.equal(computeStats(d).imagesWithBoxes, 10);
});
