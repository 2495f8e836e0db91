import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatasetDocument } from '../../../src/core/dataset/DatasetDocument';
import { DatasetError } from '../../../src/core/dataset/DatasetError';
import { emptyDataset, serializeDataset } from '../../../src/core/dataset/datasetJson';
import { findMissingImages } from '../../../src/core/dataset/findMissingImages';
import type { DatasetFile } from '../../../src/core/dataset/schema';
import { splitDataset } from '../../../src/core/dataset/splitDataset';
import { repoRoot, tmpDir } from './datasetFixtures';

function sample(n = 3): DatasetFile {
  const d = emptyDataset('t');
  d.categories.push({ id: 1, name: 'nodule' }, { id: 2, name: 'mass' });
  for (let i = 1; i <= n; i++) d.images.push({ id: i, file_name: `img/${i}.png`, width: 100, height: 100, split: 'train', label_level: 'points' });
  d.annotations.push({ id: 1, image_id: 1, category_id: 1, point: [10, 10] });
  return d;
}

function saved(file: string): DatasetFile { return JSON.parse(readFileSync(file, 'utf8')); }

test('edits are undoable and redoable, exactly; a new edit clears redo; batches are one step', async () => {
  const t = tmpDir();
  try {
    const file = join(t.dir, 'd.pointbox.json');
    writeFileSync(file, serializeDataset(sample()));
    const doc = DatasetDocument.load(file);
    const original = serializeDataset(doc.data);
    const changes: string[] = [];
    doc.onDidChange((c) => changes.push(`${c.cause}:${c.label}:${c.imageIds.join(',')}`));
    const p = doc.addPoint(2, 1, [5, 6]);
    doc.movePoint(p, [7, 8]);
    const b = doc.addBox(3, 2, [1, 2, 30, 40]);
    doc.setBox(b, [2, 2, 10, 10]);
    doc.deleteAnnotation(1);
    const ids = doc.addPseudoBoxes([2, 3].map((im) => ({ image_id: im, category_id: 1, bbox: [1, 1, 5, 5] as [number, number, number, number], score: 0.8, provenance: { model_id: 'm.onnx', model_sha256: 'ab', execution_provider: 'cpu', time: '2026-01-01T00:00:00Z' }, review: 'pending' as const })));
    doc.setReview(ids, 'accepted');
    doc.setReview([ids[0]!], 'edited', [0, 0, 9, 9]);
    assert.equal(doc.pseudoBox(ids[0]!)?.edited_bbox?.[2], 9);
    assert.equal(doc.annotation(p)?.point_source, 'click');
    assert.ok(doc.isDirty);
    const afterEdits = serializeDataset(doc.data);
    let steps = 0;
    while (doc.undo()) steps++;
    assert.equal(steps, 8, 'the two-image pseudo-box batch and the 2-box review are one step each');
    assert.equal(serializeDataset(doc.data), original, 'undo restores the file byte for byte (deleted record back in place)');
    assert.equal(doc.isDirty, false);
    while (doc.redo()) { /* all */ }
    assert.equal(serializeDataset(doc.data), afterEdits);
    doc.undo();
    doc.setImage(1, { split: 'val' });
    assert.equal(doc.canRedo, false);
    assert.ok(changes.includes('edit:Add pseudo-boxes:2,3'));
    assert.ok(changes.some((c) => c.startsWith('undo:')));
    // Failing edits change nothing.
    assert.throws(() => doc.addBox(99, 1, [0, 0, 1, 1]), DatasetError);
    assert.throws(() => doc.addBox(1, 1, [0, 0, -1, 1]), /width and height > 0/);
    const before = serializeDataset(doc.data);
    assert.throws(() => doc.transact('two', () => { doc.addPoint(1, 1, [1, 1]); doc.addPoint(1, 42, [1, 1]); }));
    assert.equal(serializeDataset(doc.data), before, 'a failed transaction is rolled back');
    doc.transact('accept all', () => { doc.addPoint(1, 1, [1, 1]); doc.addPoint(1, 2, [2, 2]); });
    assert.equal(doc.undoLabel, 'accept all');
  } finally { t.cleanup(); }
});

test('a whole-dataset operation (PBC split) is one undo step through bulkEdit', () => {
  const t = tmpDir();
  try {
    const file = join(t.dir, 'd.pointbox.json');
    const d = sample(200);
    d.images.forEach((im, i) => { im.label_level = 'boxes'; if (i < 50) d.annotations.push({ id: 100 + i, image_id: im.id, category_id: 1, bbox: [10, 10, 20, 20] }); });
    d.annotations.shift(); // drop the bbox-less click of sample()
    writeFileSync(file, serializeDataset(d));
    const doc = DatasetDocument.load(file);
    const before = serializeDataset(doc.data);
    const seen: number[] = [];
    doc.onDidChange((c) => seen.push(c.imageIds.length));
    const s = doc.bulkEdit('Split 80/20', (draft) => splitDataset(draft, { val: 0.2, boxRatio: 0.2, seed: 3 }));
    assert.equal(s.val, 40);
    assert.equal(doc.data.info.split?.seed, 3);
    assert.equal(doc.data.images.filter((im) => im.split === 'val').length, 40);
    assert.ok(doc.data.annotations.every((a) => a.point_source === 'sampled'));
    assert.equal(doc.undoLabel, 'Split 80/20');
    assert.ok(seen[0]! >= 150, 'the change names the touched images');
    doc.undo();
    assert.equal(serializeDataset(doc.data), before);
    doc.redo();
    assert.equal(doc.data.info.split?.seed, 3);
  } finally { t.cleanup(); }
});

test('save is atomic (temp + rename in the same folder, no temp left), and the saved file reloads equal', async () => {
  const t = tmpDir();
  try {
    const file = join(t.dir, 'd.pointbox.json');
    writeFileSync(file, serializeDataset(sample()));
    const inodeBefore = statSync(file).ino;
    const doc = DatasetDocument.load(file);
    doc.addPoint(2, 2, [3, 3]);
    const pending = doc.save();
    doc.addPoint(3, 2, [4, 4]); // an edit during the save is not in this save
    await pending;
    assert.notEqual(statSync(file).ino, inodeBefore, 'replaced by rename, not rewritten in place');
    assert.equal(saved(file).annotations.length, 2);
    assert.ok(doc.isDirty, 'the later edit is still unsaved');
    await doc.save();
    assert.equal(doc.isDirty, false);
    assert.deepEqual(readdirSync(t.dir), ['d.pointbox.json']);
    assert.deepEqual(DatasetDocument.load(file).data, doc.data);
    // One record per line: a one-point edit is a one-line diff.
    const lines0 = readFileSync(file, 'utf8').split('\n');
    doc.movePoint(1, [11, 11]);
    await doc.save();
    const lines1 = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines1.length, lines0.length);
    assert.equal(lines1.filter((l, i) => l !== lines0[i]).length, 1);
  } finally { t.cleanup(); }
});

test('external changes are detected (content, not mtime), a save never overwrites them silently, reload picks them up', async () => {
  const t = tmpDir();
  try {
    const file = join(t.dir, 'd.pointbox.json');
    writeFileSync(file, serializeDataset(sample()));
    const doc = DatasetDocument.load(file);
    assert.equal(await doc.hasChangedOnDisk(), false);
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later); // touched, same content (e.g. git checkout of the same blob)
    assert.equal(await doc.hasChangedOnDisk(), false);
    const ext = sample(); ext.images.push({ id: 9, file_name: 'img/9.png', width: 1, height: 1, split: 'val', label_level: 'boxes' });
    writeFileSync(file, serializeDataset(ext)); // `git pull` changed it
    assert.equal(await doc.hasChangedOnDisk(), true);
    doc.addPoint(1, 1, [1, 1]);
    await assert.rejects(doc.save(), (e: unknown) => e instanceof DatasetError && e.code === 'changed-on-disk');
    assert.equal(saved(file).images.length, 4, 'the external version is intact');
    assert.ok(doc.isDirty, 'our edit is still there to be saved elsewhere or forced');
    doc.reload();
    assert.equal(doc.data.images.length, 4);
    assert.equal(doc.canUndo, false);
    assert.equal(await doc.hasChangedOnDisk(), false);
    writeFileSync(join(t.dir, 'present.png'), 'x');
    const withFiles = sample(3); withFiles.images[1]!.file_name = 'present.png';
    assert.deepEqual(await findMissingImages(withFiles, t.dir), [1, 3]);
    const v = doc.validate({ checkFiles: true });
    assert.equal(v.errors, 0);
    assert.ok(v.problems.some((p) => p.code === 'missing-file' && p.line !== undefined && p.file === file));
    const broken = join(t.dir, 'broken.json');
    writeFileSync(broken, '{\n"pointbox": {"schema_version": 1},\n"images": [\n{"id": 1 "x": 2}\n]}');
    assert.throws(() => DatasetDocument.load(broken), (e: unknown) => e instanceof DatasetError && e.code === 'json-syntax' && e.line === 4);
    writeFileSync(broken, JSON.stringify({ pointbox: { schema_version: 2 }, images: [], annotations: [], categories: [] }));
    assert.throws(() => DatasetDocument.load(broken), (e: unknown) => e instanceof DatasetError && e.code === 'schema-version');
  } finally { t.cleanup(); }
});

test('a process killed mid-save leaves the old or the new file whole, never a torn one', async () => {
  const t = tmpDir();
  try {
    const file = join(t.dir, 'big.pointbox.json');
    const d = sample(20000);
    writeFileSync(file, serializeDataset(d));
    const script = join(t.dir, 'saver.ts');
    writeFileSync(script, `import { DatasetDocument } from ${JSON.stringify(resolve(repoRoot, 'src/core/dataset/DatasetDocument'))};
const doc = DatasetDocument.load(${JSON.stringify(file)});
(async () => { for (let i = 0; ; i++) { doc.setImage(1 + (i % 20000), { split: 'val' }); await doc.save(); process.stdout.write('.'); } })();
`);
    for (const delay of [150, 400, 900]) {
      const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
      let saves = 0;
      let killScheduled = false;
      await new Promise<void>((res) => {
        child.stdout.on('data', (b: Buffer) => {
          saves += b.length;
          // Several dots can arrive in one chunk on a busy machine: schedule the kill once, on the first.
          if (!killScheduled) { killScheduled = true; setTimeout(() => child.kill('SIGKILL'), delay % 97); }
        });
        child.on('exit', () => res());
      });
      assert.ok(saves >= 1, 'the child saved at least once before it was killed');
      const back = saved(file); // throws if torn
      assert.equal(back.images.length, 20000);
    }
    DatasetDocument.load(file);
    assert.deepEqual(readdirSync(t.dir).filter((n) => n.endsWith('.tmp')), [], 'load removes temp files of killed saves');
  } finally { t.cleanup(); }
});

function bigDataset(images: number, perImage = 2): DatasetFile {
  const d = emptyDataset('big');
  d.categories.push({ id: 1, name: 'nodule' });
  let aid = 1;
  for (let i = 1; i <= images; i++) {
    d.images.push({ id: i, file_name: `img/${String(i).padStart(6, '0')}.dcm`, width: 1024, height: 1024, split: 'train', label_level: i % 5 ? 'points' : 'boxes' });
    for (let k = 0; k < perImage; k++) d.annotations.push({ id: aid++, image_id: i, category_id: 1, point: [10 + k, 10], ...(i % 5 ? {} : { bbox: [1, 1, 20, 20] as [number, number, number, number] }) });
  }
  return d;
}

test('bulk deletes and reviews are linear: 20,000 of 60,000 pseudo-boxes deleted and restored byte for byte in well under a second', () => {
  const t = tmpDir();
  try {
    const file = join(t.dir, 'd.pointbox.json');
    writeFileSync(file, serializeDataset(bigDataset(30_000, 1)));
    const doc = DatasetDocument.load(file);
    const ids = doc.addPseudoBoxes(doc.data.images.flatMap((im) => [0, 1].map((k) => ({ image_id: im.id, category_id: 1, bbox: [k, 1, 5, 5] as [number, number, number, number], provenance: { model_id: 'm', time: 't' }, review: 'pending' as const }))));
    const before = serializeDataset(doc.data);
    const victims = ids.filter((_, i) => i % 3 === 0);
    const seen: number[][] = [];
    doc.onDidChange((c) => seen.push(c.imageIds));
    let t0 = performance.now();
    doc.setReview(victims, 'accepted');
    const tReview = performance.now() - t0;
    t0 = performance.now();
    doc.deletePseudoBoxes(victims);
    const tDelete = performance.now() - t0;
    assert.equal(doc.data.pseudo_boxes.length, ids.length - victims.length);
    assert.equal(doc.pseudoBox(victims[0]!), undefined);
    assert.equal(doc.pseudoBoxesOf(1).length, 1, 'the per-image index follows the delete');
    assert.equal(seen.at(-1)!.length, new Set(victims.map((id) => Math.ceil(id / 2))).size, 'the change names every touched image once');
    t0 = performance.now();
    doc.undo(); doc.undo();
    const tUndo = performance.now() - t0;
    assert.equal(serializeDataset(doc.data), before, 'undo puts every record back at its index');
    assert.equal(doc.pseudoBoxesOf(1).length, 2);
    doc.redo();
    assert.equal(doc.pseudoBox(victims[1]!)?.review, 'accepted');
    // k x n would be 20,000 x 60,000 = 1.2e9 steps (minutes); linear is milliseconds. Generous bound for a loaded machine.
    assert.ok(tReview < 1500 && tDelete < 1500 && tUndo < 1500, `review ${tReview.toFixed(0)} ms, delete ${tDelete.toFixed(0)} ms, undo ${tUndo.toFixed(0)} ms`);
  } finally { t.cleanup(); }
});

test('annotationsOf / pseudoBoxesOf follow every edit, undo and reload; a change names the images it touched', async () => {
  const t = tmpDir();
  try {
    const file = join(t.dir, 'd.pointbox.json');
    writeFileSync(file, serializeDataset(sample()));
    const doc = DatasetDocument.load(file);
    const changes: { ids: number[]; meta?: boolean }[] = [];
    doc.onDidChange((c) => changes.push({ ids: c.imageIds, meta: c.meta }));
    const a = doc.addPoint(2, 1, [5, 5]);
    assert.deepEqual(doc.annotationsOf(2).map((x) => x.id), [a]);
    doc.deleteAnnotation(a);
    assert.deepEqual(doc.annotationsOf(2), []);
    doc.undo();
    assert.deepEqual(doc.annotationsOf(2).map((x) => x.id), [a]);
    doc.addCategory('mass2');
    assert.deepEqual(changes.map((c) => c.ids), [[2], [2], [2], []]);
    assert.equal(changes.at(-1)!.meta, true, 'a new class is a meta change');
    writeFileSync(file, serializeDataset(sample(4)));
    await doc.reloadAsync();
    assert.deepEqual(doc.annotationsOf(1).map((x) => x.id), [1]);
    assert.deepEqual(doc.annotationsOf(2), []);
    assert.deepEqual(changes.at(-1)!.ids, [1, 2, 3, 4]);
  } finally { t.cleanup(); }
});

test('loadAsync reads what load reads (sliced parse of a large file in our layout, other layouts, errors with lines)', async () => {
  const t = tmpDir();
  try {
    const file = join(t.dir, 'd.pointbox.json');
    const big = bigDataset(12_000, 2);
    big.pseudo_boxes.push({ id: 1, image_id: 3, category_id: 1, bbox: [1, 2, 3, 4], provenance: { model_id: 'm', time: 't' }, review: 'pending' });
    (big as unknown as Record<string, unknown>).extra_key = { kept: true };
    writeFileSync(file, serializeDataset(big));
    assert.ok(statSync(file).size > 1 << 20, 'large enough for the sliced path');
    let yields = 0;
    const a = await DatasetDocument.loadAsync(file, { yieldNow: () => { yields++; return new Promise((r) => setImmediate(r)); }, budgetMs: 1 });
    assert.ok(yields > 3, `parsed in slices (${yields} yields)`);
    assert.equal(serializeDataset(a.data), serializeDataset(DatasetDocument.load(file).data));
    assert.equal(await a.hasChangedOnDisk(), false, 'the fingerprint is the file\'s');
    // Minified JSON: one parse, same content.
    writeFileSync(file, JSON.stringify(big));
    assert.equal(serializeDataset((await DatasetDocument.loadAsync(file)).data), serializeDataset(big));
    // A broken record in our layout: the error names its line, as load's does.
    const text = serializeDataset(big).split('\n');
    text[5000] = text[5000]!.replace('"id"', '"id" 1');
    writeFileSync(file, text.join('\n'));
    await assert.rejects(DatasetDocument.loadAsync(file), (e: unknown) => e instanceof DatasetError && e.code === 'json-syntax' && e.line === 5001);
    await assert.rejects(DatasetDocument.loadAsync(join(t.dir, 'absent.json')), (e: unknown) => e instanceof DatasetError && e.code === 'io');
  } finally { t.cleanup(); }
});
