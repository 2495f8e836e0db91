import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
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
