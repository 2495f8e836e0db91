/**
 * In-viewer navigation order (src/core/dataset/imageNavigator.ts): next/previous stay in the image's split and
 * label-level group in the Datasets tree's order (file name by code unit, then id); "pending" walks the whole
 * dataset split by split and wraps. The tree model's own lists are the reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageNavigator, type NavigableImage } from '../../../src/core/dataset/imageNavigator';
import { DatasetTreeModel } from '../../../src/core/dataset/datasetTreeModel';
import type { DatasetFile } from '../../../src/core/dataset/schema';

const im = (id: number, file_name: string, split: string, label_level: string): NavigableImage => ({ id, file_name, split, label_level });

const images: NavigableImage[] = [
  im(1, 'b.dcm', 'train', 'points'),
  im(2, 'a.dcm', 'train', 'points'),
  im(3, 'B.dcm', 'train', 'points'), // 'B' < 'a' by code unit, as the tree sorts
  im(4, 'c.dcm', 'train', 'boxes'),
  im(5, 'a.dcm', 'val', 'points'),
  im(6, 'z.dcm', 'test', 'points'),
  im(7, 'a.dcm', 'train', 'points'), // same name as 2: id breaks the tie
  im(8, 'd.dcm', 'unassigned', 'unlabeled'),
];

test('next/previous follow the group in file-name order (code units, then id) and stop at its ends', () => {
  const nav = new ImageNavigator(images);
  const walk: number[] = [];
  for (let id: number | undefined = 3; id !== undefined; id = nav.neighbour(id, 'next')?.id) walk.push(id);
  assert.deepEqual(walk, [3, 2, 7, 1], 'B.dcm, a.dcm (2), a.dcm (7), b.dcm');
  assert.equal(nav.neighbour(3, 'previous'), undefined, 'no wrap at the start');
  assert.equal(nav.neighbour(1, 'next'), undefined, 'no wrap at the end');
  assert.equal(nav.neighbour(7, 'previous')?.id, 2);
  assert.equal(nav.neighbour(4, 'next'), undefined, 'the only box-level train image: alone in its group');
  assert.equal(nav.neighbour(5, 'next'), undefined, 'val is another group');
  assert.deepEqual(nav.position(7), { group: 'train / Point-level', index: 2, count: 4 });
  assert.deepEqual(nav.ahead(3, 'next', 2).map((x) => x.id), [2, 7]);
  assert.deepEqual(nav.ahead(2, 'previous', 3).map((x) => x.id), [3]);
  assert.equal(nav.neighbour(999, 'next'), undefined);
});

test('the order is the Datasets tree\'s: each group lists the same images in the same order as DatasetTreeModel', () => {
  const data = {
    pointbox: { schema_version: 1 }, info: { name: 'nav' }, categories: [{ id: 1, name: 'Nodule' }],
    images: images.map((x) => ({ ...x, width: 10, height: 10 })), annotations: [], pseudo_boxes: [],
  } as unknown as DatasetFile;
  const tree = new DatasetTreeModel(data);
  const nav = new ImageNavigator(images);
  for (const [split, group] of [['train', 'points'], ['train', 'boxes'], ['val', 'points'], ['unassigned', 'unlabeled']] as const) {
    const rows = tree.getChildren(`ds/s:${split}/g:${group}`).map((n) => n.imageId!);
    const first = rows[0]!;
    const ours = [first, ...nav.ahead(first, 'next', 100).map((x) => x.id)];
    assert.deepEqual(ours, rows, `${split}/${group}`);
  }
});

test('find walks the dataset split by split (train, val, test, unassigned), wraps, and never returns the start', () => {
  const nav = new ImageNavigator(images);
  const pending = new Set([1, 5, 8]);
  const isPending = (x: NavigableImage) => pending.has(x.id);
  assert.equal(nav.find(3, 'next', isPending)?.id, 1, 'b.dcm is later in train than B.dcm');
  assert.equal(nav.find(1, 'next', isPending)?.id, 5, 'then val');
  assert.equal(nav.find(5, 'next', isPending)?.id, 8, 'test has none; unassigned last');
  assert.equal(nav.find(8, 'next', isPending)?.id, 1, 'wraps to train');
  assert.equal(nav.find(1, 'previous', isPending)?.id, 8, 'backwards wraps too');
  assert.equal(nav.find(undefined, 'next', isPending)?.id, 1);
  assert.equal(nav.find(1, 'next', (x) => x.id === 1), undefined, 'the start itself is not "the next"');
  assert.equal(nav.count(isPending), 3);
});

test('duplicate ids: the first record wins, as in the tree', () => {
  const nav = new ImageNavigator([im(1, 'a.dcm', 'train', 'points'), im(1, 'z.dcm', 'val', 'boxes'), im(2, 'b.dcm', 'train', 'points')]);
  assert.equal(nav.size, 2);
  assert.equal(nav.neighbour(1, 'next')?.id, 2);
});
