import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main';
import { capture, tinyDicom, tmpDir, writeFiles } from './datasetFixtures';

test('CLI: import rsna -> stats --json -> split -> export --layout pbc -> validate, on generated DICOMs', async () => {
  const t = tmpDir();
  try {
    mkdirSync(join(t.dir, 'dcm'));
    const rows = ['patientId,x,y,width,height,Target'];
    for (let i = 0; i < 50; i++) {
      const id = `p${String(i).padStart(3, '0')}`;
      writeFiles(join(t.dir, 'dcm'), { [`${id}.dcm`]: tinyDicom(256, 256, id) });
      if (i % 2) rows.push(`${id},10,10,100,100,1`, `${id},120,20,50,60,1`); else rows.push(`${id},,,,,0`);
    }
    rows.push('ghost,1,1,10,10,1');
    writeFileSync(join(t.dir, 'labels.csv'), rows.join('\n'));
    let c = capture(t.dir);
    assert.equal(await runCli(['import', 'rsna', '--labels', 'labels.csv', '--images', 'dcm', '--out', 'rsna.pointbox.json'], c.io), 0, c.err);
    assert.match(c.err, /imported 51 images, 51 annotations, 1 classes .* \(1 image files missing, 0 errors, 1 warnings\)/);
    assert.match(c.err, /labels\.csv:77: warning missing-file/);
    c = capture(t.dir);
    assert.equal(await runCli(['import', 'rsna', '--labels', 'labels.csv', '--images', 'dcm', '--out', 'rsna.pointbox.json'], c.io), 2, 'refuses to overwrite without --force');
    c = capture(t.dir);
    assert.equal(await runCli(['stats', 'rsna.pointbox.json', '--json'], c.io), 0);
    const s = JSON.parse(c.out);
    for (const k of ['images', 'imagesWithBoxes', 'imagesWithPointsOnly', 'unlabeled', 'boxes', 'points', 'pseudoBoxes', 'missingFiles', 'classes', 'splits']) assert.ok(k in s, k);
    assert.deepEqual([s.images, s.imagesWithBoxes, s.boxes, s.missingFiles, s.classes['Lung Opacity'].boxes, s.splits.unassigned.images], [51, 26, 51, 1, 51, 51]);
    c = capture(t.dir);
    assert.equal(await runCli(['split', 'rsna.pointbox.json', '--val', '0.2', '--box-ratio', '0.2', '--seed', '0', '--point-region', 'center-2/3'], c.io), 0, c.err);
    c = capture(t.dir);
    await runCli(['stats', 'rsna.pointbox.json', '--json'], c.io);
    const s2 = JSON.parse(c.out);
    assert.equal(s2.splits.train.images + s2.splits.val.images, 51);
    assert.ok(s2.points > 0 && s2.imagesWithPointsOnly > 0);
    c = capture(t.dir);
    assert.equal(await runCli(['export', 'coco', 'rsna.pointbox.json', '--out', 'pbc', '--layout', 'pbc'], c.io), 0, c.err);
    assert.ok(existsSync(join(t.dir, 'pbc', 'annotations', 'instances_train_point.json')));
    assert.ok(existsSync(join(t.dir, 'pbc', 'images', 'p001.dcm')));
    c = capture(t.dir);
    assert.equal(await runCli(['validate', 'rsna.pointbox.json'], c.io), 0, 'a missing image is a warning, not an error');
    assert.match(c.out, /rsna\.pointbox\.json:\d+ \(images\[\d+\] id=\d+\): warning missing-file: image file not found: dcm\/ghost\.dcm/);
    c = capture(t.dir);
    assert.equal(await runCli(['split', 'rsna.pointbox.json', '--val', '2', '--box-ratio', '0.1'], c.io), 1);
    assert.match(c.err, /--val must be in \[0, 1\]/);
  } finally { t.cleanup(); }
});

test('CLI validate: every problem with file:line, exit 1 on errors; unreadable JSON names its line', async () => {
  const t = tmpDir();
  try {
    const lines = [
      '{',
      '"pointbox": {"schema_version":1},',
      '"info": {"name":"x"},',
      '"categories": [',
      '{"id":1,"name":"a"}',
      '],',
      '"images": [',
      '{"id":1,"file_name":"a.png","width":100,"height":100,"split":"train","label_level":"boxes"},',
      '{"id":1,"file_name":"b.png","width":100,"height":100,"split":"nope","label_level":"boxes"}',
      '],',
      '"annotations": [',
      '{"id":1,"image_id":1,"category_id":1,"bbox":[10,10,-5,5]},',
      '{"id":2,"image_id":1,"category_id":9,"bbox":[90,90,20,20]},',
      '{"id":3,"image_id":7,"category_id":1,"point":[1,1]}',
      '],',
      '"pseudo_boxes": [',
      '{"id":1,"image_id":1,"category_id":1,"bbox":[1,1,2,2],"review":"maybe","provenance":{"model_id":"m","time":"t"}}',
      ']',
      '}',
    ];
    writeFileSync(join(t.dir, 'bad.pointbox.json'), lines.join('\n'));
    const c = capture(t.dir);
    assert.equal(await runCli(['validate', 'bad.pointbox.json', '--no-files'], c.io), 1);
    const f = join(t.dir, 'bad.pointbox.json');
    for (const re of [`${f}:9 \\(images\\[1\\] id=1\\): error duplicate-id`, `${f}:12 .*error negative-size`, `${f}:13 .*error unknown-category`,
      `${f}:13 .*warning box-clamped`, `${f}:14 .*error unknown-image`, `${f}:17 .*error bad-value: review`]) assert.match(c.out, new RegExp(re));
    writeFileSync(join(t.dir, 'torn.pointbox.json'), lines.slice(0, 12).join('\n'));
    const c2 = capture(t.dir);
    assert.equal(await runCli(['validate', 'torn.pointbox.json'], c2.io), 1);
    assert.match(c2.err, /torn\.pointbox\.json:12: invalid JSON/);
    const c3 = capture(t.dir);
    assert.equal(await runCli(['stats', 'torn.pointbox.json'], c3.io), 1);
    assert.match(c3.err, /torn\.pointbox\.json:12/);
    assert.ok(readFileSync(join(t.dir, 'torn.pointbox.json'), 'utf8').length > 0, 'nothing rewrites a broken file');
  } finally { t.cleanup(); }
});
