/**
 * Issue 13, sharded runs: `pseudo-label --shard i/n` and `eval --shard i/n` on 4 shards, merged with
 * `pointbox merge`, give exactly what one unsharded run gives (the dataset's pseudo-boxes; the evaluation's
 * figures and per-click predictions), through the real CLI and the shipped ONNX model. The data has what
 * reorders a naive merge: images whose points are all of a class the model does not know (answered by the
 * prior, before the batches), a missing image file, several clicks per box. And merge refuses, naming the
 * files, a missing shard, an overlapping one, partials of another run, and a dataset that changed since.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main';
import { generatePhantomDataset } from '../../../src/core/phantom/generatePhantomDataset';
import { parseShard, shardImageIds, ShardError } from '../../../src/core/dataset/shards';
import type { DatasetFile } from '../../../src/core/dataset/schema';

const model = join(__dirname, '..', '..', '..', 'models', 'pointbox-pbc-v1.onnx');
const skip = existsSync(model) ? false : `the shipped model ${model} is absent`;

function io() {
  let out = ''; let err = '';
  return { io: { out: (t: string) => { out += t; }, err: (t: string) => { err += t; }, cwd: process.cwd() }, get out() { return out; }, get err() { return err; } };
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = io();
  const code = await runCli(args, c.io);
  return { code, out: c.out, err: c.err };
}

/** A phantom dataset with a class the model does not know (two point images of it only, one box of it) and a missing image file. */
async function makeDataset(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pointbox-shards-'));
  await generatePhantomDataset({ out: dir, images: 22, seed: 11, size: 128, format: 'png', boxRatio: 0.3, workers: 0 });
  const file = join(dir, 'dataset.pointbox.json');
  const d = JSON.parse(readFileSync(file, 'utf8')) as DatasetFile;
  const hernia = Math.max(...d.categories.map((c) => c.id)) + 1;
  d.categories.push({ id: hernia, name: 'Hernia' });
  const withPoints = (level: string) => d.images.filter((im) => im.label_level === level && d.annotations.some((a) => a.image_id === im.id && a.point));
  const pts = withPoints('points');
  for (const im of [pts[1]!, pts[4]!]) for (const a of d.annotations) if (a.image_id === im.id) a.category_id = hernia;
  // The prior learns from the train split's box-level images: give it one Hernia box there.
  const boxAnn = d.annotations.find((a) => { const im = d.images.find((i) => i.id === a.image_id); return a.bbox && im?.label_level === 'boxes' && im.split === 'train'; })!;
  boxAnn.category_id = hernia;
  unlinkSync(join(dir, pts[6]!.file_name));
  writeFileSync(file, JSON.stringify(d));
  return file;
}

function copyDataset(file: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pointbox-shards-copy-'));
  cpSync(join(file, '..'), dir, { recursive: true });
  return join(dir, 'dataset.pointbox.json');
}

const partials = (ds: string, kind: string, n: number) => Array.from({ length: n }, (_, i) => ds.replace(/\.pointbox\.json$/, `.${kind}.shard-${i + 1}-of-${n}.json`));
const withoutTime = (d: DatasetFile) => ({ ...d, pseudo_boxes: d.pseudo_boxes.map((p) => ({ ...p, provenance: { ...p.provenance, time: '' } })) });

test('shards: i/n parsing, and every image in exactly one of n near-equal shards', () => {
  assert.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  for (const bad of ['0/4', '5/4', '1/0', '2', 'a/b', '-1/3']) assert.throws(() => parseShard(bad), ShardError, bad);
  const ids = Array.from({ length: 103 }, (_, i) => 1000 - 7 * i);
  const shards = [1, 2, 3, 4].map((index) => shardImageIds([...ids, ids[0]!], { index, count: 4 }));
  assert.deepEqual(shards.map((s) => s.size), [26, 26, 26, 25]);
  assert.deepEqual(shards.flatMap((s) => [...s]).sort((a, b) => a - b), [...ids].sort((a, b) => a - b));
});

test('pseudo-label on 4 shards + merge writes exactly the pseudo-boxes of one run', { skip }, async () => {
  const ds = await makeDataset();
  const single = copyDataset(ds);
  const one = await cli(['pseudo-label', single, '--model', model, '--device', 'cpu', '--batch', '3', '--json']);
  assert.equal(one.code, 0, one.err);
  const oneSummary = JSON.parse(one.out);
  assert.equal(oneSummary.failedImages, 1, 'the missing file fails in both runs');
  assert.ok(oneSummary.priorFallbackClasses.some((c: { name: string }) => c.name === 'Hernia'), 'the unknown class gets the prior');

  for (let i = 1; i <= 4; i++) {
    const r = await cli(['pseudo-label', ds, '--model', model, '--device', 'cpu', '--batch', '3', '--shard', `${i}/4`, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).partial, partials(ds, 'pseudo-label', 4)[i - 1]);
  }
  const before = readFileSync(ds, 'utf8');
  assert.equal(JSON.parse(before).pseudo_boxes.length, 0, 'a shard writes its partial file, never the dataset');

  // Refusals, each naming what is wrong, and leaving the dataset untouched.
  const [p1, p2, p3, p4] = partials(ds, 'pseudo-label', 4) as [string, string, string, string];
  const missing = await cli(['merge', ds, p1, p2, p4]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /missing shard 3\/4/);
  assert.ok(missing.err.includes(p4), 'names the files it was given');
  const dup = p2.replace('.json', '.copy.json');
  cpSync(p2, dup);
  const overlap = await cli(['merge', ds, p1, p2, p3, p4, dup]);
  assert.equal(overlap.code, 1);
  assert.ok(overlap.err.includes(`overlapping shards: ${p2} and ${dup} are both shard 2/4`), overlap.err);
  assert.equal(readFileSync(ds, 'utf8'), before);

  const merged = await cli(['merge', ds, p1, p2, p3, p4, '--json']);
  assert.equal(merged.code, 0, merged.err);
  const a = JSON.parse(readFileSync(ds, 'utf8')) as DatasetFile;
  const b = JSON.parse(readFileSync(single, 'utf8')) as DatasetFile;
  assert.ok(a.pseudo_boxes.length > 10);
  assert.deepEqual(withoutTime(a), withoutTime(b));
  assert.equal(JSON.parse(merged.out).boxes, oneSummary.boxes);

  // Merging again (the dataset now holds the boxes) is refused: the partials were made from the older version.
  const again = await cli(['merge', ds, p1, p2, p3, p4]);
  assert.equal(again.code, 1);
  assert.ok(again.err.includes(p1) && /different version of dataset\.pointbox\.json/.test(again.err), again.err);
  rmSync(join(ds, '..'), { recursive: true, force: true });
  rmSync(join(single, '..'), { recursive: true, force: true });
});

test('eval on 4 shards + merge gives exactly the figures and predictions of one run (model and prior)', { skip }, async () => {
  const ds = await makeDataset();
  const dir = join(ds, '..');
  for (const m of [model, 'prior']) {
    const common = ['--model', m, '--device', 'cpu', '--batch', '4', '--split', 'train', '--seeds', '0-2', '--bootstrap', '200'];
    const one = await cli(['eval', ds, ...common, '--out', join(dir, 'one.json'), '--predictions', join(dir, 'one-p.json')]);
    assert.equal(one.code, 0, one.err);
    for (let i = 1; i <= 4; i++) {
      const r = await cli(['eval', ds, ...common, '--shard', `${i}/4`]);
      assert.equal(r.code, 0, r.err);
    }
    const merged = await cli(['merge', ds, ...partials(ds, 'eval', 4), '--out', join(dir, 'merged.json'), '--predictions', join(dir, 'merged-p.json')]);
    assert.equal(merged.code, 0, merged.err);
    const a = JSON.parse(readFileSync(join(dir, 'one.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8'));
    // The missing image fails the model (it needs pixels), not the prior.
    assert.ok(a.points > 20 && a.failedImages.length === (m === 'prior' ? 0 : 1), `${a.points} clicks, ${a.failedImages.length} failed images`);
    delete a.seconds; delete b.seconds; // wall time: one run vs the slowest shard
    assert.deepEqual(b, a, m);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'merged-p.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'one-p.json'), 'utf8')), m);
  }
  // Shards of different runs (another split) do not mix.
  const other = await cli(['eval', ds, '--model', 'prior', '--split', 'val', '--seeds', '0-2', '--bootstrap', '200', '--shard', '2/4', '--partial', join(dir, 'val-2.json')]);
  assert.equal(other.code, 0, other.err);
  const [e1, , e3, e4] = partials(ds, 'eval', 4) as [string, string, string, string];
  const mixed = await cli(['merge', ds, e1, join(dir, 'val-2.json'), e3, e4]);
  assert.equal(mixed.code, 1);
  assert.ok(mixed.err.includes(join(dir, 'val-2.json')) && /different options \(split: "val" vs "train"\)/.test(mixed.err), mixed.err);
  rmSync(dir, { recursive: true, force: true });
});
