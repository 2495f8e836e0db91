import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyDataset } from '../../../src/core/dataset/datasetJson';
import { DatasetTreeModel, type DatasetTreeNode } from '../../../src/core/dataset/datasetTreeModel';
import type { DatasetFile } from '../../../src/core/dataset/schema';

/** 1,234 train point images (nodule/mass), 3 val box images, 1 negative, 2 unlabeled; pseudo-boxes on some. */
function data(): DatasetFile {
  const d = emptyDataset('cxr');
  d.categories.push({ id: 1, name: 'nodule' }, { id: 2, name: 'mass' });
  let id = 1; let ann = 1; let pb = 1;
  for (let i = 0; i < 1234; i++, id++) {
    d.images.push({ id, file_name: `train/${String(1234 - i).padStart(5, '0')}.dcm`, width: 100, height: 100, split: 'train', label_level: 'points' });
    d.annotations.push({ id: ann++, image_id: id, category_id: i % 10 === 0 ? 2 : 1, point: [5, 5] });
    if (i < 7) d.pseudo_boxes.push({ id: pb++, image_id: id, category_id: 1, bbox: [1, 1, 2, 2], provenance: { model_id: 'm', time: 't' }, review: i < 5 ? 'pending' : 'accepted' });
  }
  for (let i = 0; i < 3; i++, id++) {
    d.images.push({ id, file_name: `val/v${i}.png`, width: 100, height: 100, split: 'val', label_level: 'boxes' });
    d.annotations.push({ id: ann++, image_id: id, category_id: 1, bbox: [1, 1, 5, 5] }, { id: ann++, image_id: id, category_id: 2, bbox: [10, 10, 5, 5] });
  }
  d.images.push({ id: id++, file_name: 'val/neg.png', width: 100, height: 100, split: 'val', label_level: 'boxes' });
  d.images.push({ id: id++, file_name: 'u/1.png', width: 100, height: 100, split: 'unassigned', label_level: 'unlabeled' }, { id: id++, file_name: 'u/2.png', width: 100, height: 100, split: 'unassigned', label_level: 'unlabeled' });
  return d;
}

const labels = (ns: DatasetTreeNode[]) => ns.map((n) => `${n.label} (${n.count})`);

test('tree: dataset -> splits -> groups -> images, counts and per-class tooltips on every node', () => {
  const m = new DatasetTreeModel(data(), { pageSize: 500 });
  const [root] = m.getChildren();
  assert.equal(root!.type, 'dataset');
  assert.equal(root!.count, 1240);
  assert.equal(m.parentOf(root!.id), undefined);
  const splits = m.getChildren(root!.id);
  assert.deepEqual(labels(splits), ['train (1234)', 'val (4)', 'unassigned (2)'], 'empty test split hidden');
  const trainGroups = m.getChildren(splits[0]!.id);
  assert.deepEqual(labels(trainGroups), ['Box-level (0)', 'Point-level (1234)', 'Unlabeled (0)', 'Pseudo-boxes: pending (5)', 'Pseudo-boxes: accepted (2)']);
  assert.deepEqual(trainGroups[1]!.classCounts, { nodule: { boxes: 0, points: 1110, pseudo: 7 }, mass: { boxes: 0, points: 124, pseudo: 0 } });
  assert.match(trainGroups[1]!.tooltip, /mass: 124 points/);
  const valImgs = m.getChildren(m.getChildren(splits[1]!.id)[0]!.id);
  assert.deepEqual(valImgs.map((n) => [n.label, n.kind, n.description]), [['neg.png', 'image-negative', 'negative'], ['v0.png', 'image-boxes', '2 boxes'], ['v1.png', 'image-boxes', '2 boxes'], ['v2.png', 'image-boxes', '2 boxes']]);
  assert.match(valImgs[1]!.tooltip, /val\/v0.png[\s\S]*mass: 1 box\nnodule: 1 box/);
  const pending = m.getChildren(trainGroups[3]!.id);
  assert.ok(pending.every((n) => n.kind === 'image-pseudo-pending' && n.imageId !== undefined));
});

test('tree: groups over pageSize are bucketed (never more than pageSize children), in file-name order; parentOf/getNode/findImage agree', () => {
  const m = new DatasetTreeModel(data(), { pageSize: 10 });
  const points = 'ds/s:train/g:points';
  const level1 = m.getChildren(points);
  assert.equal(level1.length, 2, '1234 images in buckets of 100 (10 x 10)');
  assert.deepEqual(level1.map((n) => n.label), ['1-1,000', '1,001-1,234']);
  assert.equal(level1[1]!.count, 234);
  const level2 = m.getChildren(level1[0]!.id);
  assert.equal(level2.length, 10);
  assert.deepEqual(labels(level2.slice(0, 2)), ['1-100 (100)', '101-200 (100)']);
  const level3 = m.getChildren(level2[0]!.id);
  assert.deepEqual(labels(level3.slice(0, 2)), ['1-10 (10)', '11-20 (10)']);
  const imgs = m.getChildren(level3[0]!.id);
  assert.equal(imgs.length, 10);
  assert.deepEqual(imgs.slice(0, 3).map((n) => n.label), ['00001.dcm', '00002.dcm', '00003.dcm']);
  // Every node of the whole tree: no level above pageSize, parentOf inverts getChildren, getNode rebuilds it.
  let visited = 0;
  const walk = (id: string | undefined) => {
    const kids = m.getChildren(id);
    assert.ok(kids.length <= 10, `${id} has ${kids.length} children`);
    for (const k of kids) {
      visited++;
      assert.equal(m.parentOf(k.id), id ?? undefined);
      assert.deepEqual(m.getNode(k.id), k);
      if (k.collapsible !== 'none') walk(k.id);
    }
  };
  walk(undefined);
  assert.ok(visited > 1240);
  const target = data().images.find((im) => im.file_name === 'train/01111.dcm')!;
  const found = m.findImage(target.id)!;
  assert.equal(found, `ds/s:train/g:points/b:1000-1234/b:1100-1200/b:1110-1120/i:${target.id}`);
  assert.equal(m.getNode(found)!.label, '01111.dcm');
  assert.ok(m.getChildren(m.parentOf(found)).some((n) => n.id === found), 'reveal path is real');
  assert.equal(m.findImage(1, 'pending')!.startsWith('ds/s:train/g:pending/'), true);
});

test('tree: class filter and file-name search narrow every level and its counts; rebuild after an edit', () => {
  const d = data();
  const m = new DatasetTreeModel(d);
  m.setFilter({ categoryIds: [2] });
  assert.equal(m.getChildren()[0]!.count, 124 + 3);
  assert.match(m.getChildren()[0]!.description, /filtered: mass/);
  assert.deepEqual(labels(m.getChildren('ds')), ['train (124)', 'val (3)'], 'splits with no match are hidden');
  m.setFilter({ search: 'V1' });
  assert.deepEqual(m.getChildren('ds/s:val/g:boxes').map((n) => n.label), ['v1.png']);
  assert.equal(m.findImage(1), undefined, 'hidden by the filter');
  m.setFilter({});
  d.images[0]!.label_level = 'boxes';
  d.annotations[0]!.bbox = [1, 1, 2, 2];
  m.rebuild(d);
  assert.equal(m.getNode('ds/s:train/g:boxes')!.count, 1);
  m.setMissing([d.images[0]!.id]);
  assert.equal(m.getNode(m.findImage(d.images[0]!.id)!)!.kind, 'image-missing');
});

/** Every node the tree can show, as text: id, label, description, count, kind and class counts. */
function dump(m: DatasetTreeModel): string[] {
  const out: string[] = [];
  const walk = (id?: string) => {
    for (const n of m.getChildren(id)) {
      out.push(`${n.id}|${n.label}|${n.description}|${n.count}|${n.kind}|${JSON.stringify(n.classCounts)}`);
      if (n.collapsible !== 'none') walk(n.id);
    }
  };
  walk();
  return out;
}

test('tree: incremental update after edits gives exactly the tree a rebuild gives, and names the nodes that changed', async () => {
  const { DatasetDocument } = await import('../../../src/core/dataset/DatasetDocument');
  for (const filter of [{}, { categoryIds: [2] }, { search: '00' }]) {
    const doc = DatasetDocument.create('/tmp/none.pointbox.json', data());
    const m = new DatasetTreeModel(doc.data, { pageSize: 50 });
    m.setFilter(filter);
    dump(m); // fill the caches, as a view would
    const lookup = (id: number) => ({ image: doc.image(id), annotations: doc.annotationsOf(id), pseudoBoxes: doc.pseudoBoxesOf(id) });
    const updates: ReturnType<DatasetTreeModel['update']>[] = [];
    doc.onDidChange((c) => updates.push(m.update(doc.data, c.imageIds, lookup)));
    let seed = 7;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    for (let step = 0; step < 60; step++) {
      const im = doc.data.images[rnd(doc.data.images.length)]!;
      switch (rnd(6)) {
        case 0: doc.addPoint(im.id, 1 + rnd(2), [rnd(90), rnd(90)]); break;
        case 1: doc.addBox(im.id, 1 + rnd(2), [1, 1, 5, 5]); break;
        case 2: doc.setImage(im.id, { split: (['train', 'val', 'test'] as const)[rnd(3)]!, label_level: (['boxes', 'points', 'unlabeled'] as const)[rnd(3)]! }); break;
        case 3: doc.addPseudoBoxes([{ image_id: im.id, category_id: 1 + rnd(2), bbox: [1, 1, 3, 3], provenance: { model_id: 'm', time: 't' }, review: 'pending' }]); break;
        case 4: { const p = doc.data.pseudo_boxes[rnd(doc.data.pseudo_boxes.length)]; if (p) doc.setReview([p.id], (['accepted', 'rejected'] as const)[rnd(2)]!); break; }
        default: doc.undo();
      }
      dump(m); // the view reads between edits
      const fresh = new DatasetTreeModel(doc.data, { pageSize: 50 });
      fresh.setFilter(filter);
      assert.deepEqual(dump(m), dump(fresh), `step ${step} with filter ${JSON.stringify(filter)}`);
    }
    assert.ok(updates.some((u) => !u.rebuilt), 'edits are applied incrementally');
  }
});

test('tree: a point added to an image that stays in its groups refreshes that image row, its bucket, group, split and dataset only', () => {
  const d = data();
  const m = new DatasetTreeModel(d, { pageSize: 500 });
  const target = d.images[600]!; // a train points image, inside a bucket of 'Point-level'
  const id = m.findImage(target.id)!;
  assert.match(id, /\/b:\d+-\d+\/i:/);
  d.annotations.push({ id: 99_999, image_id: target.id, category_id: 1, point: [1, 1] });
  const u = m.update(d, [target.id]);
  assert.equal(u.rebuilt, false);
  const expected = [id];
  for (let p = m.parentOf(id); p; p = m.parentOf(p)) expected.push(p);
  assert.deepEqual(u.nodeIds.slice().sort(), expected.sort());
  assert.match(m.getNode(id)!.description, /^2 points$/);
});

test('tree: rebuildAsync yields while indexing and ends with the same tree as rebuild', async () => {
  const m = new DatasetTreeModel(emptyDataset('x'), { pageSize: 50 });
  let yields = 0;
  const big = data();
  for (let i = 0; i < 6; i++) big.images.push(...big.images.slice(0, 1234).map((im, k) => ({ ...im, id: 10_000 * (i + 1) + k, file_name: `${i}/${im.file_name}` })));
  await m.rebuildAsync(big, { budgetMs: 0, yieldNow: async () => { yields++; } });
  assert.ok(yields > 3, `yielded ${yields} times`);
  assert.deepEqual(dump(m), dump(new DatasetTreeModel(big, { pageSize: 50 })));
});
