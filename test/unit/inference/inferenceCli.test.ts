import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main';
import { generatePhantomDataset } from '../../../src/core/phantom/generatePhantomDataset';
import { onnxFixtures } from './onnxFixtures';

const fx = onnxFixtures();
const skip = fx.reason ? `skipped: ${fx.reason}` : false;

function io() {
  let out = ''; let err = '';
  return { io: { out: (t: string) => { out += t; }, err: (t: string) => { err += t; }, cwd: process.cwd() }, get out() { return out; }, get err() { return err; } };
}

async function phantom(images: number, seed: number): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'pointbox-cli-inf-'));
  await generatePhantomDataset({ out, images, seed, size: 128, format: 'png', boxRatio: 0.25, workers: 0 });
  return join(out, 'dataset.pointbox.json');
}

const classMap = 'Atelectasis=Effusion,Cardiomegaly=Mass,Infiltrate=Effusion,Pneumonia=Effusion,Pneumothorax=Effusion';

test('pointbox pseudo-label --json prints images, boxes, imagesPerSecond and device, and writes pending boxes', { skip }, async () => {
  const ds = await phantom(12, 4);
  const c = io();
  const code = await runCli(['pseudo-label', ds, '--model', join(fx.dir!, 'good.onnx'), '--device', 'cpu', '--batch', '3', '--class-map', classMap, '--json'], c.io);
  assert.equal(code, 0, c.err);
  const r = JSON.parse(c.out);
  const data = JSON.parse(readFileSync(ds, 'utf8'));
  const pointImages = data.images.filter((i: any) => i.label_level === 'points' && data.annotations.some((a: any) => a.image_id === i.id && a.point));
  assert.equal(r.images, pointImages.length);
  assert.equal(r.device, 'cpu');
  assert.ok(r.imagesPerSecond > 0);
  assert.equal(r.boxes, data.pseudo_boxes.length);
  assert.ok(data.pseudo_boxes.every((p: any) => p.review === 'pending' && p.provenance.model_id === 'good.onnx'));
});

test('pointbox eval --json prints ap50, map and perClass; the prior baseline works without a model file', { skip }, async () => {
  const ds = await phantom(16, 6);
  const c = io();
  assert.equal(await runCli(['eval', ds, '--model', 'prior', '--split', 'test', '--json'], c.io), 0, c.err);
  const prior = JSON.parse(c.out);
  assert.ok(prior.ap50 >= 0 && prior.ap50 <= 1);
  assert.ok(prior.map <= prior.ap50);
  assert.ok(Object.keys(prior.perClass).length > 0);
  const c2 = io();
  assert.equal(await runCli(['eval', ds, '--model', join(fx.dir!, 'good.onnx'), '--split', 'test', '--class-map', classMap, '--json'], c2.io), 0, c2.err);
  const m = JSON.parse(c2.out);
  assert.equal(m.device, 'cpu');
  assert.equal(m.points, prior.points);
});

test('bad input: a broken model or unknown device exits non-zero with a one-line reason', { skip }, async () => {
  const ds = await phantom(4, 8);
  const c = io();
  assert.equal(await runCli(['pseudo-label', ds, '--model', join(fx.dir!, 'no-metadata.onnx')], c.io), 1);
  assert.match(c.err, /no-metadata\.onnx does not fit the PointBox model contract/);
  const c2 = io();
  assert.equal(await runCli(['pseudo-label', ds, '--model', join(fx.dir!, 'good.onnx'), '--device', 'tpu'], c2.io), 2);
  assert.match(c2.err, /--device must be one of/);
});

test('pointbox eval --seeds pools one uniform click per box per seed; the headline is micro AP50 with its interval, then macro, then the classes', { skip }, async () => {
  const ds = await phantom(16, 6);
  const c = io();
  assert.equal(await runCli(['eval', ds, '--model', join(fx.dir!, 'good.onnx'), '--split', 'test', '--class-map', classMap, '--seeds', '0-2', '--bootstrap', '100', '--json'], c.io), 0, c.err);
  const r = JSON.parse(c.out);
  assert.deepEqual(r.clicks.seeds, [0, 1, 2]);
  assert.equal(r.clicks.kind, 'uniform');
  assert.equal(r.points, 3 * r.boxes);
  assert.equal(r.ap50, r.micro.ap50.value, 'the top-level AP50 is the micro figure');
  assert.equal(r.micro.ap50.ci95.length, 2);
  assert.equal(r.macro.ap50.ci95.length, 2);
  assert.ok(r.calibration === null || (r.calibration.ece >= 0 && r.calibration.bins.length === 10));
  assert.equal(r.predictions, undefined, 'the raw clicks go to --predictions, not to stdout');
  const text = io();
  const predFile = join(mkdtempSync(join(tmpdir(), 'pointbox-preds-')), 'clicks.json');
  assert.equal(await runCli(['eval', ds, '--model', 'prior', '--split', 'test', '--seeds', '0,1', '--bootstrap', '50', '--predictions', predFile], text.io), 0, text.err);
  const lines = text.out.split('\n');
  assert.match(lines[1]!, /^ {2}micro AP50 [\d.]+ \[[\d.]+, [\d.]+\]/);
  assert.match(lines[2]!, /^ {2}macro AP50 [\d.]+ \[[\d.]+, [\d.]+\]/);
  assert.match(text.out, /calibration: none \(the prior has no confidence/);
  assert.match(text.out, /prior: median box size per class of the train split/);
  assert.match(text.out, /class\s+boxes\s+clicks\s+AP50/);
  const preds = JSON.parse(readFileSync(predFile, 'utf8'));
  assert.ok(preds.length > 0 && preds.every((p: any) => [0, 1].includes(p.seed) && p.gtBox.length === 4 && p.box.length === 4 && typeof p.className === 'string'));
});

test('pointbox eval: --seed with --seeds is a usage error; a bad --prior-table names the file and line', { skip }, async () => {
  const ds = await phantom(4, 8);
  const c = io();
  assert.equal(await runCli(['eval', ds, '--model', 'prior', '--seed', '1', '--seeds', '0,1'], c.io), 2);
  assert.match(c.err, /not both/);
  const table = join(mkdtempSync(join(tmpdir(), 'pointbox-table-')), 'bad.csv');
  writeFileSync(table, 'class,width,height,unit\nNodule,0.1,0.1,frac\nMass,12,10,inches\n');
  const c2 = io();
  assert.equal(await runCli(['eval', ds, '--model', 'prior', '--prior-table', table], c2.io), 1);
  assert.match(c2.err, new RegExp(`${table.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: bad prior table: class 'Mass': unit must be px or frac`));
});
