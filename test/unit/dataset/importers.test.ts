import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError } from '../../../src/core/dataset/DatasetError';
import { computeStats } from '../../../src/core/dataset/datasetStats';
import { importCoco, splitFromFileName } from '../../../src/core/dataset/importCoco';
import { importFolder } from '../../../src/core/dataset/importFolder';
import { importNih } from '../../../src/core/dataset/importNih';
import { importRsna } from '../../../src/core/dataset/importRsna';
import { importVindr, removeConsensus } from '../../../src/core/dataset/importVindr';
import { validateDataset } from '../../../src/core/dataset/validateDataset';
import { SKIP_NO_SHARED, sharedData, tinyDicom, tinyPng, tmpDir, writeFiles } from './datasetFixtures';

const codes = (r: { log: { problems: { code: string; line?: number }[] } }) => r.log.problems.map((p) => `${p.code}@${p.line ?? '-'}`);

test('RSNA: several rows per patient, Target=0 negatives, sizes from DICOM headers, absent DICOMs assumed 1024 and reported, bad rows with their line', () => {
  const t = tmpDir();
  try {
    mkdirSync(join(t.dir, 'dcm'));
    writeFiles(join(t.dir, 'dcm'), { 'p1.dcm': tinyDicom(512, 400), 'p2.dcm': tinyDicom(64, 64) });
    const csv = [
      'patientId,x,y,width,height,Target',
      'p1,10,20,100,50,1',       // line 2
      'p1,300,300,400,50,1',     // line 3: right edge 700 > 512: clamped
      'p2,,,,,0',                // line 4: negative
      'p3,1,2,30,40,1',          // line 5: DICOM absent -> 1024x1024
      'p4,5,5,-10,20,1',         // line 6: negative width: dropped, image kept
      'p5,,,,,1',                // line 7: Target=1 without box: row error
      'p6,1,1,1,1,7',            // line 8: bad Target
    ].join('\n');
    writeFileSync(join(t.dir, 'labels.csv'), csv);
    const r = importRsna({ labels: join(t.dir, 'labels.csv'), images: join(t.dir, 'dcm'), out: join(t.dir, 'ds.pointbox.json') });
    const byName = new Map(r.data.images.map((im) => [im.file_name, im]));
    assert.deepEqual([byName.get('dcm/p1.dcm')?.width, byName.get('dcm/p1.dcm')?.height], [512, 400]);
    assert.deepEqual([byName.get('dcm/p3.dcm')?.width, byName.get('dcm/p3.dcm')?.height], [1024, 1024]);
    assert.equal(r.data.images.length, 5, 'p1..p5 (p6 has an invalid Target and is skipped)');
    assert.equal(r.missingFiles, 3);
    const p1 = byName.get('dcm/p1.dcm')!;
    const p1boxes = r.data.annotations.filter((a) => a.image_id === p1.id).map((a) => a.bbox);
    assert.deepEqual(p1boxes, [[10, 20, 100, 50], [300, 300, 212, 50]]);
    assert.ok(codes(r).includes('box-clamped@3'));
    assert.ok(codes(r).includes('negative-size@6'));
    assert.ok(codes(r).includes('bad-row@7'));
    assert.ok(codes(r).includes('bad-row@8'));
    assert.ok(codes(r).includes('missing-file@5'));
    const s = computeStats(r.data);
    assert.equal(s.negativeImages, 3, 'p2 (Target=0), p4 (its only box dropped), p5');
    assert.equal(s.imagesWithBoxes, 2);
    assert.equal(r.data.categories[0]!.name, 'Lung Opacity');
    assert.equal(validateDataset(r.data).errors, 0, 'an import always produces a valid dataset');
  } finally { t.cleanup(); }
});

test('CSV details: UTF-8 BOM, CRLF line ends, quoted fields, blank lines; line numbers stay right', () => {
  const t = tmpDir();
  try {
    writeFileSync(join(t.dir, 'l.csv'), '\ufeffpatientId,x,y,width,height,Target\r\n"p1",10,10,5,5,1\r\n\r\np2,1,1,-1,1,1\r\n');
    const r = importRsna({ labels: join(t.dir, 'l.csv'), images: t.dir, out: join(t.dir, 'o.json'), readSizes: false });
    assert.equal(r.data.images.length, 2);
    assert.deepEqual(r.data.annotations.map((a) => a.bbox), [[10, 10, 5, 5]]);
    assert.ok(codes(r).includes('negative-size@4'), codes(r).join(' '));
  } finally { t.cleanup(); }
});

test('RSNA: a CSV without the needed columns is a DatasetError naming the file and the missing columns; a malformed CSV names its line', () => {
  const t = tmpDir();
  try {
    writeFileSync(join(t.dir, 'a.csv'), 'patientId,x,y\nq,1,2\n');
    assert.throws(() => importRsna({ labels: join(t.dir, 'a.csv'), images: t.dir, out: join(t.dir, 'o.json') }),
      (e: unknown) => e instanceof DatasetError && e.code === 'missing-column' && /width, height, Target/.test(e.message) && e.file === join(t.dir, 'a.csv'));
    writeFileSync(join(t.dir, 'b.csv'), 'patientId,x,y,width,height,Target\np1,1,2,3,4,1\n"p2,1,2,3,4,1\n');
    assert.throws(() => importRsna({ labels: join(t.dir, 'b.csv'), images: t.dir, out: join(t.dir, 'o.json') }),
      (e: unknown) => e instanceof DatasetError && e.code === 'csv-syntax' && e.line !== undefined && e.line >= 3);
  } finally { t.cleanup(); }
});

test('NIH: the malformed BBox_List header, float boxes, classes from findings, --all-images adds unlabeled ones', () => {
  const t = tmpDir();
  try {
    writeFiles(t.dir, { 'a.png': tinyPng(1024, 1024), 'b.png': tinyPng(1024, 1024), 'c.png': tinyPng(800, 600) });
    writeFileSync(join(t.dir, 'bbox.csv'), 'Image Index,Finding Label,Bbox [x,y,w,h],,,\na.png,Atelectasis,225.08,547.01,86.77,79.18\na.png,Mass,1000,1000,100,100\nmissing.png,Nodule,1,2,3,4\nb.png,Effusion,1,2\n');
    const r = importNih({ bbox: join(t.dir, 'bbox.csv'), images: t.dir, out: join(t.dir, 'nih.pointbox.json'), allImages: true });
    assert.deepEqual(r.data.categories.map((c) => c.name), ['Atelectasis', 'Mass', 'Nodule']);
    assert.deepEqual(r.data.annotations[0]!.bbox, [225.08, 547.01, 86.77, 79.18]);
    assert.deepEqual(r.data.annotations[1]!.bbox, [1000, 1000, 24, 24], 'clamped to the 1024x1024 image');
    assert.ok(codes(r).includes('bad-row@5'), 'b.png row with 2 numbers');
    assert.ok(codes(r).includes('missing-file@4'));
    const levels = Object.fromEntries(r.data.images.map((im) => [im.file_name, im.label_level]));
    assert.deepEqual(levels, { 'a.png': 'boxes', 'missing.png': 'boxes', 'b.png': 'unlabeled', 'c.png': 'unlabeled' });
    assert.throws(() => { writeFileSync(join(t.dir, 'x.csv'), 'foo,bar\n'); importNih({ bbox: join(t.dir, 'x.csv'), images: t.dir, out: join(t.dir, 'o.json') }); }, /not an NIH BBox list/);
  } finally { t.cleanup(); }
});

test('VinDr: readers kept apart, "No finding" negatives, WBF consensus at IoU 0.5, fusion reversible', () => {
  const t = tmpDir();
  try {
    writeFiles(t.dir, { 'img1.dicom': tinyDicom(1000, 1000), 'img2.dicom': tinyDicom(1000, 1000) });
    writeFileSync(join(t.dir, 'train.csv'), [
      'image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max',
      'img1,Nodule/Mass,8,R1,100,100,200,200',
      'img1,Nodule/Mass,8,R2,110,110,210,210',
      'img1,Nodule/Mass,8,R3,600,600,700,700',
      'img1,Aortic enlargement,0,R3,100,100,200,200',
      'img2,No finding,14,R1,,,,',
      'img2,No finding,14,R2,,,,',
      'img2,No finding,14,R3,,,,',
    ].join('\n'));
    const plain = importVindr({ csv: join(t.dir, 'train.csv'), images: t.dir, out: join(t.dir, 'v.pointbox.json') });
    assert.equal(plain.data.annotations.length, 4);
    assert.deepEqual(plain.data.annotations.map((a) => a.reader), ['R1', 'R2', 'R3', 'R3']);
    assert.deepEqual(plain.data.categories.map((c) => [c.id, c.name]), [[9, 'Nodule/Mass'], [1, 'Aortic enlargement']], 'VinDr class_id + 1');
    const fused = importVindr({ csv: join(t.dir, 'train.csv'), images: t.dir, out: join(t.dir, 'v.pointbox.json'), fuse: 'wbf' });
    const cons = fused.data.annotations.filter((a) => a.reader === 'consensus');
    assert.equal(cons.length, 3, 'R1+R2 nodules fuse (IoU 0.68), R3 nodule alone, aortic alone');
    const nod = cons.find((a) => a.fused_from?.length === 2)!;
    assert.deepEqual(nod.bbox, [105, 105, 100, 100]);
    const s = computeStats(fused.data);
    assert.equal(s.boxes, 3, 'stats count consensus boxes, not readers twice');
    assert.equal(s.readerBoxes, 4);
    assert.equal(s.negativeImages, 1);
    assert.equal(removeConsensus(fused.data), 3);
    assert.deepEqual(fused.data.annotations, plain.data.annotations);
  } finally { t.cleanup(); }
});

test('COCO/PBC: points, split from file name, point files -> label level points, unknown classes kept, duplicate ids, JSON syntax error line', () => {
  const t = tmpDir();
  try {
    mkdirSync(join(t.dir, 'images')); mkdirSync(join(t.dir, 'annotations'));
    writeFiles(join(t.dir, 'images'), { 'a.png': tinyPng(100, 100), 'b.png': tinyPng(100, 100), 'c.png': tinyPng(100, 100) });
    const cats = [{ id: 1, name: 'nodule' }];
    writeFileSync(join(t.dir, 'annotations', 'instances_train_box.json'), JSON.stringify({
      images: [{ id: 1, file_name: 'a.png', width: 100, height: 100 }, { id: 1, file_name: 'dup.png', width: 100, height: 100 }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], point: [15, 15] }, { id: 2, image_id: 1, category_id: 7, bbox: [50, 50, 10, 10] }],
      categories: cats,
    }, null, 1));
    writeFileSync(join(t.dir, 'annotations', 'instances_train_point.json'), JSON.stringify({
      images: [{ id: 1, file_name: 'b.png', width: 100, height: 100 }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [30, 30, 10, 10], point: [33, 34] }],
      categories: cats,
    }));
    writeFileSync(join(t.dir, 'annotations', 'instances_val.json'), JSON.stringify({ images: [{ id: 5, file_name: 'c.png' }], annotations: [], categories: cats }));
    const r = importCoco({ annotations: ['instances_train_box.json', 'instances_train_point.json', 'instances_val.json'].map((f) => join(t.dir, 'annotations', f)), out: join(t.dir, 'ds.pointbox.json') });
    assert.deepEqual(r.data.images.map((im) => [im.file_name, im.split, im.label_level, im.width]), [
      ['images/a.png', 'train', 'boxes', 100], ['images/b.png', 'train', 'points', 100], ['images/c.png', 'val', 'boxes', 100],
    ]);
    assert.deepEqual(r.data.categories.map((c) => c.name), ['nodule', 'unknown-7']);
    const b = r.data.images[1]!;
    assert.notEqual(b.id, 1, 'colliding image id renumbered');
    assert.equal(b.attributes?.coco_id, '1');
    const bAnn = r.data.annotations.find((a) => a.image_id === b.id)!;
    assert.deepEqual([bAnn.point, bAnn.bbox], [[33, 34], [30, 30, 10, 10]], 'hidden GT box kept on the point image');
    const dupe = r.log.problems.find((p) => p.code === 'duplicate-id' && p.record?.startsWith('images[1]'));
    assert.ok(dupe && dupe.line === 9, `duplicate image reported at its line, got ${JSON.stringify(dupe)}`);
    assert.ok(r.log.problems.some((p) => p.code === 'unknown-category'));
    assert.equal(validateDataset(r.data).errors, 0);
    writeFileSync(join(t.dir, 'bad.json'), '{\n "images": [\n  {"id": 1,}\n ]\n}');
    assert.throws(() => importCoco({ annotations: [join(t.dir, 'bad.json')], out: join(t.dir, 'o.json') }), (e: unknown) => e instanceof DatasetError && e.code === 'json-syntax' && e.line === 3);
    assert.equal(splitFromFileName('instances_val2017.json'), 'val');
    assert.equal(splitFromFileName('instances_test.json'), 'test');
  } finally { t.cleanup(); }
});

test('folder: DICOM/PNG/JPEG recursively, extension-less DICOMs by magic, all unlabeled', () => {
  const t = tmpDir();
  try {
    mkdirSync(join(t.dir, 'img', 'sub'), { recursive: true });
    writeFiles(join(t.dir, 'img'), { 'a.dcm': tinyDicom(32, 16), 'b.png': tinyPng(8, 9), 'notes.txt': 'x', 'IM0001': tinyDicom(10, 10) });
    writeFiles(join(t.dir, 'img', 'sub'), { 'c.dcm': tinyDicom(20, 20) });
    const r = importFolder({ images: join(t.dir, 'img'), out: join(t.dir, 'f.pointbox.json') });
    assert.deepEqual(r.data.images.map((im) => [im.file_name, im.width, im.height, im.label_level]), [
      ['img/IM0001', 10, 10, 'unlabeled'], ['img/a.dcm', 32, 16, 'unlabeled'], ['img/b.png', 8, 9, 'unlabeled'], ['img/sub/c.dcm', 20, 20, 'unlabeled'],
    ]);
  } finally { t.cleanup(); }
});

test('real RSNA labels: 30,227 rows -> 26,684 images, 9,555 boxes, 6,012 positive', { skip: SKIP_NO_SHARED }, () => {
  const t = tmpDir();
  try {
    const r = importRsna({ labels: join(sharedData, 'cxr-png/annotations/rsna_stage_2_train_labels.csv'), images: join(t.dir, 'none'), out: join(t.dir, 'r.pointbox.json') });
    const s = computeStats(r.data);
    assert.deepEqual([s.images, s.boxes, s.imagesWithBoxes, s.negativeImages, r.missingFiles, r.log.errors], [26684, 9555, 6012, 20672, 26684, 0]);
    assert.ok(r.data.images.every((im) => im.width === 1024 && im.height === 1024));
  } finally { t.cleanup(); }
});

test('real NIH BBox list (880 images, 984 boxes, 8 classes) and rsna_boxes_on_nih.csv on the real PNGs', { skip: SKIP_NO_SHARED }, () => {
  const t = tmpDir();
  try {
    const ann = join(sharedData, 'cxr-png/annotations');
    const n = importNih({ bbox: join(ann, 'nih_BBox_List_2017.csv'), images: join(sharedData, 'cxr-png/images'), out: join(t.dir, 'n.pointbox.json') });
    const s = computeStats(n.data);
    assert.deepEqual([s.images, s.boxes, n.data.categories.length, n.missingFiles, n.log.errors], [880, 984, 8, 875, 0]);
    const r = importRsna({ labels: join(ann, 'rsna_boxes_on_nih.csv'), images: join(sharedData, 'cxr-png/images'), out: join(t.dir, 'r.pointbox.json') });
    assert.equal(r.missingFiles, 0, 'every joined NIH PNG is present');
    const both = r.data.images.find((im) => im.file_name.endsWith('00022178_000.png'))!;
    assert.equal(both.width, 1024);
    assert.ok(r.data.annotations.some((a) => a.image_id === both.id));
    assert.equal(r.log.errors, 0);
  } finally { t.cleanup(); }
});
