import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyDataset } from '../../../src/core/dataset/datasetJson';
import type { DatasetFile } from '../../../src/core/dataset/schema';
import { DatasetError } from '../../../src/core/dataset/DatasetError';
import { PriorBoxPredictor } from '../../../src/core/inference/PriorBoxPredictor';
import { parsePriorTable, formatPriorTableCsv } from '../../../src/core/inference/priorTable';
import { evaluatePointToBox } from '../../../src/core/inference/evaluatePointToBox';
import { runCli } from '../../../src/cli/main';

/**
 * An unsplit dataset where leave-one-image-out matters: image 1 holds six 200 x 200 'A' boxes, images 2-6
 * one 20 x 20 'A' box each. With image 1's own boxes the median of A is 200; without them it is 20.
 * Class 'C' exists only on image 1.
 */
function looDataset(): DatasetFile {
  const d = emptyDataset('loo');
  d.categories = [{ id: 1, name: 'A' }, { id: 2, name: 'C' }];
  d.images = [1, 2, 3, 4, 5, 6].map((id) => ({ id, file_name: `${id}.png`, width: 1000, height: 1000, split: 'unassigned' as const, label_level: 'boxes' as const }));
  let ann = 1;
  for (let k = 0; k < 6; k++) d.annotations.push({ id: ann++, image_id: 1, category_id: 1, bbox: [100 * k, 100, 200, 200] });
  for (let i = 2; i <= 6; i++) d.annotations.push({ id: ann++, image_id: i, category_id: 1, bbox: [500, 500, 20, 20] });
  d.annotations.push({ id: ann++, image_id: 1, category_id: 2, bbox: [700, 700, 90, 90] });
  return d;
}

test('leave-one-image-out: a click on an image never uses that image\'s own boxes', () => {
  const p = PriorBoxPredictor.fromDataset(looDataset());
  assert.equal(p.report.source, 'leave-one-image-out');
  // Image 1: the other images hold five 20 x 20 boxes of A.
  assert.deepEqual(p.resolve(1, 1, 1000, 1000), { w: 20, h: 20, dx: 0, dy: 0, from: 'learned', classBoxes: 5 });
  // Image 2: six 200s and four 20s remain -> median 200.
  assert.deepEqual(p.predict(2, 1, 500, 500, 1000, 1000), [400, 400, 600, 600]);
  // Class C has no box outside image 1: on image 1 it falls back to the other images' all-class median.
  assert.deepEqual(p.resolve(1, 2, 1000, 1000), { w: 20, h: 20, dx: 0, dy: 0, from: 'global', classBoxes: 0 });
  // Class C has one box (on image 1): other images learn it from that box, listed as thin, not replaced.
  assert.deepEqual(p.report.fewBoxClasses, []);
  assert.deepEqual(p.report.thinClasses, [{ name: 'C', boxes: 1 }]);
  assert.deepEqual(p.resolve(2, 2, 1000, 1000), { w: 90, h: 90, dx: 0, dy: 0, from: 'learned', classBoxes: 1 });
  // With minBoxes 5 (the old rule), C would have been answered with the all-class median everywhere.
  assert.deepEqual(PriorBoxPredictor.fromDataset(looDataset(), { minBoxes: 5 }).report.fewBoxClasses, [{ name: 'C', boxes: 1, fallback: 'global' }]);
});

test('evaluating the prior on an unsplit dataset scores every box against boxes of other images only', async () => {
  const d = looDataset();
  const r = await evaluatePointToBox(d, '/nonexistent', PriorBoxPredictor.fromDataset(d), { bootstrap: 0 });
  assert.equal(r.prior?.source, 'leave-one-image-out');
  assert.equal(r.prior?.role, 'baseline');
  // Image 1's six 200-boxes get 20-boxes (IoU 0.01) and the five 20-boxes get 200-boxes (IoU 0.01): nothing
  // reaches IoU 0.5. Learning from every box instead would have given image 1 perfect 200-boxes.
  assert.equal(r.perClass.A!.ap50, 0);
  assert.equal(r.perClass.A!.boxes, 11);
  assert.deepEqual(r.perClass.C!.priorFrom, { global: 1 });
  assert.equal(r.calibration, null);
  assert.match(r.calibrationNote!, /prior has no confidence/);
  assert.equal(r.predictions.length, 12);
});

test('a train split with box-level boxes is the prior\'s source, and the scored image is still left out', () => {
  const d = looDataset();
  for (const im of d.images) im.split = im.id === 1 ? 'val' : 'train';
  const p = PriorBoxPredictor.fromDataset(d);
  assert.equal(p.report.source, 'train-split');
  assert.equal(p.report.learned.boxes, 5);
  assert.equal(p.resolve(1, 1, 1000, 1000)!.w, 20);
  // A train image predicted (e.g. --split train) does not see its own box: 4 of the 5 are left.
  assert.deepEqual(p.resolve(2, 1, 1000, 1000), { w: 20, h: 20, dx: 0, dy: 0, from: 'learned', classBoxes: 4 });
});

test('learnFrom (k-fold: the other folds) learns only from the given images', () => {
  const d = looDataset();
  const p = PriorBoxPredictor.fromDataset(d, { learnFrom: { imageIds: [2, 3, 4, 5, 6], label: 'other folds' } });
  assert.equal(p.report.source, 'images');
  assert.equal(p.sourceLabel, 'other folds');
  assert.equal(p.resolve(1, 1, 1000, 1000)!.w, 20);
});

test('a prior table: frac scales with the image\'s longer side, px does not, a centre offset moves the box', () => {
  const d = looDataset();
  const table = parsePriorTable('class,width,height,unit,boxes,source\nA,0.1,0.2,frac,9534,RSNA\nC,30,40,,3,hand\n', '/t/p.csv');
  const p = PriorBoxPredictor.fromDataset(d, { table });
  assert.equal(p.report.source, 'table');
  assert.equal(p.sourceLabel, 'table /t/p.csv');
  assert.deepEqual(p.predict(1, 1, 500, 500, 1000, 2000), [400, 300, 600, 700]);
  assert.deepEqual(p.predict(1, 2, 500, 500, 1000, 2000), [485, 480, 515, 520]);
  const off = PriorBoxPredictor.fromDataset(d, { table: parsePriorTable('{"classes":{"A":{"w":0.1,"h":0.1,"unit":"frac","dx":0.5,"dy":-0.5}}}', '/t/p.json') });
  // Centre = click + (0.5 w, -0.5 h) = (550, 450).
  assert.deepEqual(off.predict(1, 1, 500, 500, 1000, 1000), [500, 400, 600, 500]);
  // A class the table lacks is learned from the dataset by the usual rule.
  assert.equal(off.resolve(1, 2, 1000, 1000)!.from, 'global');
});

test('prior tables: CSV with px/frac units, JSON, a model\'s box_prior; bad files name the file and line', () => {
  const csv = parsePriorTable('class,width,height\r\nNodule,30,28\r\n', 'n.csv');
  assert.deepEqual(csv.entries.map((e) => [e.name, e.w, e.h, e.unit, e.line]), [['Nodule', 30, 28, 'px', 2]]);
  const bp = parsePriorTable(JSON.stringify({ parameterization: 'prior-residual', unit: 'frac', classes: { Pneumonia: { w: 0.2, h: 0.3, dx: 0, dy: 0.1, learned: true, boxes: 9534 } } }), 'bp.json');
  assert.equal(bp.format, 'box_prior');
  assert.deepEqual([bp.entries[0]!.unit, bp.entries[0]!.dy, bp.entries[0]!.boxes], ['frac', 0.1, 9534]);
  const bad = (text: string, file: string, re: RegExp) => assert.throws(() => parsePriorTable(text, file), (e: unknown) => e instanceof DatasetError && re.test(e.message), `${file}: ${text}`);
  bad('class,width,height,unit\nA,0.1,0.2,frac\nB,10,20,cm\n', 'u.csv', /^u\.csv:3: bad prior table: class 'B': unit must be px or frac/);
  bad('class,width,height\nA,-3,20\n', 'neg.csv', /^neg\.csv:2: .*width must be a positive number/);
  bad('class,width,height,unit\nA,120,80,frac\n', 'f.csv', /^f\.csv:2: .*must be <= 1 .*px values/);
  bad('class,width,height\nA,1,2\nB,3,x\na,5,6\n', 'two.csv', /^two\.csv:3: .*height must be a positive number[\s\S]*two\.csv:4: class 'a': listed twice \(first on line 2\)/);
  bad('name,w,h\nA,1,2\n', 'hdr.csv', /^hdr\.csv:1: a prior table needs the columns class,width,height/);
  bad('class,width,height\n', 'empty.csv', /^empty\.csv:1: bad prior table: no class rows/);
  bad('{"classes": {\n "A": {"w": 0.1},\n "B": {"w": 1, "h": 1}}}', 'j.json', /^j\.json:2: bad prior table: class 'A': height must be a positive number/);
  bad('{"classes": {"A": {"w": 0.1, "h": }}}', 'syntax.json', /^syntax\.json(:1)?: invalid JSON/);
  bad('{"parameterization":"prior-residual","unit":"frac","classes":{\n"A":{"w":2,"h":0.1,"learned":true}}}', 'bp.json', /^bp\.json:2: .*class 'A': w must be a number in \(0, 1\]/);
  // The CSV writer round-trips, quoting what needs it.
  const rows = [{ name: 'Mass, left', w: 0.1234567, h: 0.2, unit: 'frac' as const, dx: 0, dy: 0, boxes: 3, source: 'NIH "x"' }];
  const text = formatPriorTableCsv(rows);
  assert.equal(text, 'class,width,height,unit,boxes,source\n"Mass, left",0.123457,0.2,frac,3,"NIH ""x"""\n');
  assert.deepEqual(parsePriorTable(text, 'r.csv').entries.map((e) => [e.name, e.w, e.boxes, e.source]), [['Mass, left', 0.123457, 3, 'NIH "x"']]);
});

function io() {
  let out = ''; let err = '';
  return { io: { out: (t: string) => { out += t; }, err: (t: string) => { err += t; }, cwd: process.cwd() }, get out() { return out; }, get err() { return err; } };
}

test('pointbox prior-table: NIH medians per finding, Pneumonia from RSNA Target=1, a dataset\'s images left out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pointbox-prior-table-'));
  // NIH's real header is malformed; values are pixels of 1024 x 1024 images.
  writeFileSync(join(dir, 'nih.csv'), 'Image Index,Finding Label,Bbox [x,y,w,h],,,\n' +
    'a.png,Nodule,1,1,102.4,51.2\nb.png,Nodule,1,1,204.8,102.4\nc.png,Nodule,1,1,307.2,153.6\n' +
    'held.png,Nodule,1,1,1000,1000\nd.png,Pneumonia,1,1,10,10\ne.png,Mass,1,1,512,256\n');
  writeFileSync(join(dir, 'rsna.csv'), 'patientId,x,y,width,height,Target\np1,1,1,256,512,1\np1,1,1,512,512,1\np2,,,,,0\np3,1,1,1024,1024,1\np4,1,1,128,128,1\n');
  writeFileSync(join(dir, 'map.csv'), 'nih_image,patientId,x,y,width,height,Target,match_mse\nheld.png,p3,1,1,1024,1024,1,0.5\nother.png,p4,1,1,1,1,1,0.5\n');
  const d = emptyDataset('held');
  d.images = [{ id: 1, file_name: 'held.png', width: 1024, height: 1024, split: 'val', label_level: 'boxes' }];
  writeFileSync(join(dir, 'held.pointbox.json'), JSON.stringify(d));
  const c = io();
  const code = await runCli(['prior-table', '--nih', join(dir, 'nih.csv'), '--rsna', join(dir, 'rsna.csv'), '--exclude-dataset', join(dir, 'held.pointbox.json'),
    '--exclude-rsna-patients', join(dir, 'map.csv'), '--out', join(dir, 'prior.csv'), '--json'], c.io);
  assert.equal(code, 0, c.err);
  assert.equal(readFileSync(join(dir, 'prior.csv'), 'utf8'),
    'class,width,height,unit,boxes,source\n' +
    'Mass,0.5,0.25,frac,1,NIH nih.csv\n' +
    'Nodule,0.2,0.1,frac,3,NIH nih.csv\n' +
    // p1 (two boxes) and p4 stay; p3 maps to held.png and is left out; NIH's Pneumonia row is not used.
    'Pneumonia,0.25,0.5,frac,3,RSNA rsna.csv Target=1\n');
  const s = JSON.parse(c.out);
  assert.deepEqual([s.nih.excluded, s.rsna.excluded, s.excludedRsnaPatients], [1, 1, 1]);
  // What it writes is a prior table PointBox reads.
  assert.equal(parsePriorTable(readFileSync(join(dir, 'prior.csv'), 'utf8'), 'prior.csv').entries.length, 3);
  const bad = io();
  assert.equal(await runCli(['prior-table', '--out', join(dir, 'x.csv')], bad.io), 2);
  assert.match(bad.err, /give --nih, --rsna or both/);
});
