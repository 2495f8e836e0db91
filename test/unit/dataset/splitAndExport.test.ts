import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { emptyDataset } from '../../../src/core/dataset/datasetJson';
import { computeStats } from '../../../src/core/dataset/datasetStats';
import { exportCoco } from '../../../src/core/dataset/exportCoco';
import { importCoco } from '../../../src/core/dataset/importCoco';
import type { DatasetFile } from '../../../src/core/dataset/schema';
import { mulberry32 } from '../../../src/core/dataset/seededRandom';
import { samplePoint, splitDataset } from '../../../src/core/dataset/splitDataset';
import { tinyPng, tmpDir, writeFiles } from './datasetFixtures';

/** 1000 images: 300 positive (1-2 boxes), 600 negative, 100 unlabeled. */
function synthetic(): DatasetFile {
  const d = emptyDataset('syn');
  d.categories.push({ id: 1, name: 'opacity' });
  let ann = 1;
  for (let i = 1; i <= 1000; i++) {
    d.images.push({ id: i, file_name: `images/${String(i).padStart(4, '0')}.png`, width: 1024, height: 1024, split: 'unassigned', label_level: i > 900 ? 'unlabeled' : 'boxes' });
    if (i <= 300) for (let k = 0; k < 1 + (i % 2); k++) d.annotations.push({ id: ann++, image_id: i, category_id: 1, bbox: [100 + k * 300, 200, 240, 300], area: 72000, iscrowd: 0 });
  }
  return d;
}

test('mulberry32 is the documented generator (values from an independent Python port, see docs/dataset-schema.md)', () => {
  const r = mulberry32(0);
  assert.deepEqual([r(), r(), r()].map((v) => v.toFixed(10)), ['0.2664292087', '0.0003297457', '0.2232720274']);
});

test('split: deterministic per seed, 80/20 with equal positive rates, box ratio within train, hidden boxes kept', () => {
  const a = synthetic(); const b = synthetic(); const c = synthetic();
  const sa = splitDataset(a, { val: 0.2, boxRatio: 0.1, seed: 7 });
  splitDataset(b, { val: 0.2, boxRatio: 0.1, seed: 7 });
  splitDataset(c, { val: 0.2, boxRatio: 0.1, seed: 8 });
  assert.deepEqual({ ...a, info: {} }, { ...b, info: {} }, 'same seed, same split and points');
  assert.notDeepEqual(a.images.map((i) => i.split), c.images.map((i) => i.split));
  assert.deepEqual([sa.train, sa.val, sa.test], [800, 200, 0]);
  const pos = (d: DatasetFile, split: string) => d.images.filter((i) => i.split === split && i.id <= 300).length;
  assert.equal(pos(a, 'val'), 60, '20% of the positives');
  assert.equal(sa.trainBoxes, 24 + 48, '10% of 240 positive + 10% of 480 negative train images');
  const s = computeStats(a);
  assert.equal(s.unlabeled, 100);
  assert.equal(s.splits.val!.imagesWithBoxes, 60);
  assert.ok(a.images.filter((i) => i.split === 'val').every((i) => i.label_level !== 'points'));
  assert.equal(a.annotations.length, 450, 'no annotation dropped: point-only images keep their boxes as hidden ground truth');
  assert.equal(s.hiddenBoxes + s.boxes, 450);
  for (const an of a.annotations) {
    const [x, y, w, h] = an.bbox!;
    assert.equal(an.point_source, 'sampled');
    assert.ok(an.point![0] >= x && an.point![0] <= x + w && an.point![1] >= y && an.point![1] <= y + h);
  }
  assert.deepEqual(a.info.split && { ...a.info.split, created: '' }, { seed: 7, val: 0.2, test: 0, boxRatio: 0.1, pointRegion: 'box', created: '' });
});

test('split: central-2/3 points, clicked points kept, test fraction, bad fractions rejected', () => {
  const rand = mulberry32(3);
  for (let i = 0; i < 1000; i++) {
    const [px, py] = samplePoint([0, 0, 600, 300], 'center-2/3', rand);
    assert.ok(px >= 100 && px <= 500 && py >= 50 && py <= 250);
  }
  const d = synthetic();
  d.annotations[0]!.point = [101, 201]; d.annotations[0]!.point_source = 'click';
  const s = splitDataset(d, { val: 0.1, test: 0.1, boxRatio: 0.5, seed: 1, pointRegion: 'center-2/3' });
  assert.deepEqual(d.annotations[0]!.point, [101, 201]);
  assert.equal(s.test, 100);
  assert.throws(() => splitDataset(synthetic(), { val: 0.8, test: 0.3, boxRatio: 0.1, seed: 0 }), /<= 1/);
  assert.throws(() => splitDataset(synthetic(), { val: 0.2, boxRatio: 1.5, seed: 0 }), /box-ratio/);
});

test('PBC export layout: box/point/pseudo/val files, no box leaks into the point file, file_name resolves through images/', () => {
  const t = tmpDir();
  try {
    mkdirSync(join(t.dir, 'data', 'images'), { recursive: true });
    const d = synthetic();
    for (const im of d.images.slice(0, 5)) writeFiles(join(t.dir, 'data', 'images'), { [im.file_name.slice(7)]: tinyPng(8, 8) });
    splitDataset(d, { val: 0.2, boxRatio: 0.2, seed: 0 });
    const pointImg = d.images.find((i) => i.split === 'train' && i.label_level === 'points' && i.id <= 300)!;
    d.pseudo_boxes.push({ id: 1, image_id: pointImg.id, category_id: 1, bbox: [1, 2, 3, 4], score: 0.9, provenance: { model_id: 'pbc.onnx', time: 't' }, review: 'accepted' },
      { id: 2, image_id: pointImg.id, category_id: 1, bbox: [1, 2, 3, 4], provenance: { model_id: 'pbc.onnx', time: 't' }, review: 'rejected' });
    const out = join(t.dir, 'export');
    const r = exportCoco(d, { out, datasetDir: join(t.dir, 'data'), layout: 'pbc' });
    const read = (f: string) => JSON.parse(readFileSync(join(out, 'annotations', f), 'utf8'));
    const box = read('instances_train_box.json'); const pt = read('instances_train_point.json'); const val = read('instances_val.json'); const ps = read('instances_train_pseudo.json');
    assert.equal(existsSync(join(out, 'annotations', 'instances_test.json')), false);
    assert.ok(box.annotations.length > 0 && box.annotations.every((a: { bbox?: number[]; point?: number[] }) => a.bbox && a.point));
    assert.ok(pt.annotations.length > 0 && pt.annotations.every((a: { bbox?: unknown; point?: number[]; gt_bbox?: unknown }) => !a.bbox && !a.gt_bbox && a.point));
    assert.ok(val.images.every((i: { split: string }) => i.split === 'val'));
    assert.deepEqual(ps.annotations.map((a: { id: number }) => a.id), [1]);
    assert.equal(box.images.length + pt.images.length + val.images.length, 900, 'unlabeled images are not in the layout');
    assert.equal(realpathSync(join(out, 'images')), realpathSync(join(t.dir, 'data', 'images')));
    const first = [...box.images, ...pt.images, ...val.images].find((i: { id: number }) => i.id === 1);
    assert.equal(first.file_name, '0001.png');
    assert.ok(existsSync(join(out, 'images', first.file_name)), 'file_name resolves under <out>/images');
    assert.equal(box.pointbox_export.image_root, join(t.dir, 'data', 'images'));
    const manifest = JSON.parse(readFileSync(join(out, 'pbc_layout.json'), 'utf8'));
    assert.deepEqual(manifest.files.map((f: { file: string }) => f.file), ['annotations/instances_train_box.json', 'annotations/instances_train_point.json', 'annotations/instances_train_pseudo.json', 'annotations/instances_val.json']);
    assert.equal(manifest.split.seed, 0);
    assert.ok(r.log.problems.some((p) => /unlabeled/.test(p.message)));
    exportCoco(d, { out, datasetDir: join(t.dir, 'data'), layout: 'pbc', keepHiddenBoxes: true });
    assert.ok(read('instances_train_point.json').annotations.every((a: { bbox?: unknown; gt_bbox?: unknown }) => !a.bbox && a.gt_bbox));
    const plain = exportCoco(d, { out: join(t.dir, 'plain'), datasetDir: join(t.dir, 'data'), images: 'none' });
    const all = JSON.parse(readFileSync(plain.files[0]!.file, 'utf8'));
    assert.equal(all.images.length, 1000);
    assert.equal(all.annotations.length, 450);
    assert.equal(existsSync(join(t.dir, 'plain', 'images')), false);
  } finally { t.cleanup(); }
});

test('round trip: PBC export (with hidden boxes) imported back as COCO gives the same statistics and points', () => {
  const t = tmpDir();
  try {
    const d = synthetic();
    splitDataset(d, { val: 0.2, test: 0.1, boxRatio: 0.3, seed: 5 });
    const out = join(t.dir, 'exp');
    const r = exportCoco(d, { out, datasetDir: t.dir, layout: 'pbc', images: 'none', keepHiddenBoxes: true });
    const back = importCoco({ annotations: r.files.map((f) => f.file), images: join(t.dir, 'images'), out: join(t.dir, 'rt.pointbox.json') });
    const labeled = { ...d, images: d.images.filter((im) => im.label_level !== 'unlabeled') };
    const a = computeStats(labeled); const b = computeStats(back.data);
    assert.deepEqual(b, a);
    const pts = (x: DatasetFile) => new Map(x.annotations.map((an) => [an.id, an.point]));
    assert.deepEqual(pts(back.data), pts(d));
  } finally { t.cleanup(); }
});
