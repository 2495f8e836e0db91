import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PointBoxModel } from '../../../src/core/inference/PointBoxModel';
import { InferenceError } from '../../../src/core/inference/InferenceError';
import { readOnnxMetadata } from '../../../src/core/inference/readOnnxMetadata';
import { boxPriorSummary } from '../../../src/core/inference/boxPrior';
import { readPriorTable } from '../../../src/core/inference/priorTable';
import { onnxFixtures } from './onnxFixtures';
import { withOnnxMetadata } from './onnxMetadataFixture';

const fx = onnxFixtures();
const skip = fx.reason ? `skipped: ${fx.reason}` : false;

// good.onnx's classes are Nodule, Mass, Effusion.
const BOX_PRIOR = {
  parameterization: 'prior-residual', unit: 'frac',
  classes: {
    Nodule: { w: 0.05, h: 0.05, dx: 0, dy: 0, learned: true, boxes: 79, source: 'NIH' },
    Mass: { w: 0.1, h: 0.1, dx: 0, dy: 0, learned: true, boxes: 85, source: 'NIH' },
    Effusion: { w: 0.2, h: 0.3, dx: 0, dy: 0.1, learned: false, boxes: 3, source: 'NIH', reason: 'fewer than 5 boxes in training' },
  },
};

/** A copy of good.onnx with its metadata changed; returns the path. */
function variant(name: string, props: Record<string, string | null>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pointbox-v2-'));
  const file = join(dir, name);
  writeFileSync(file, withOnnxMetadata(readFileSync(join(fx.dir!, 'good.onnx')), props));
  return file;
}

async function rejectsContract(file: string, ...patterns: RegExp[]) {
  await assert.rejects(PointBoxModel.load(file, { device: 'cpu' }), (e: unknown) => {
    assert.ok(e instanceof InferenceError, String(e));
    assert.equal(e.code, 'model-contract', e.message);
    assert.ok(e.message.includes(file), `the message names the file: ${e.message}`);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

test('the metadata fixture helper replaces entries instead of adding a second one', { skip }, () => {
  const bytes = withOnnxMetadata(readFileSync(join(fx.dir!, 'good.onnx')), { 'pointbox.contract_version': '2', 'pointbox.x': 'y' });
  const md = readOnnxMetadata(bytes, 'v.onnx').metadata;
  assert.equal(md['pointbox.contract_version'], '2');
  assert.equal(md['pointbox.x'], 'y');
  const text = new TextDecoder('latin1').decode(bytes);
  assert.equal(text.split('pointbox.contract_version').length - 1, 1);
});

test('contract v1 loads as before, without a box prior', { skip }, async () => {
  const m = await PointBoxModel.load(join(fx.dir!, 'good.onnx'), { device: 'cpu' });
  assert.equal(m.info.contractVersion, '1');
  assert.equal(m.info.boxPrior, undefined);
  assert.equal(boxPriorSummary(m.info.contractVersion, m.info.boxPrior), 'v1, no box prior');
  await m.dispose();
});

test('contract v2 with a box prior loads; the prior is on the model info and is usable as a prior table', { skip }, async () => {
  const file = variant('v2.onnx', { 'pointbox.contract_version': '2', 'pointbox.box_prior': JSON.stringify(BOX_PRIOR) });
  const m = await PointBoxModel.load(file, { device: 'cpu' });
  try {
    assert.equal(m.info.contractVersion, '2');
    assert.equal(m.info.boxPrior?.parameterization, 'prior-residual');
    assert.deepEqual(m.info.boxPrior?.classes.Effusion, BOX_PRIOR.classes.Effusion);
    assert.equal(boxPriorSummary('2', m.info.boxPrior), 'v2, prior-residual; prior-only classes: Effusion');
    // Inputs and outputs are unchanged: it runs like v1.
    const out = await m.run({ batch: 1, points: 1, image: new Float32Array(32 * 32), pointsXY: Float32Array.from([0.5, 0.5]), labels: BigInt64Array.from([0n]), mask: Uint8Array.from([1]) });
    assert.equal(out.boxes.length, 4);
  } finally {
    await m.dispose();
  }
  const t = readPriorTable(file);
  assert.equal(t.format, 'onnx');
  assert.deepEqual(t.entries.find((e) => e.name === 'Effusion'), { name: 'Effusion', w: 0.2, h: 0.3, unit: 'frac', dx: 0, dy: 0.1, boxes: 3, source: 'NIH' });
  // A v1 model has no prior to give.
  assert.throws(() => readPriorTable(join(fx.dir!, 'good.onnx')), /good\.onnx: this model has no 'pointbox\.box_prior'/);
});

test('contract v2 without a valid box prior, and unknown versions, fail with the file and the problem', { skip }, async () => {
  await rejectsContract(variant('v2-none.onnx', { 'pointbox.contract_version': '2' }), /'pointbox\.box_prior' is missing/);
  const lacking = { ...BOX_PRIOR, classes: { Nodule: BOX_PRIOR.classes.Nodule } };
  await rejectsContract(variant('v2-lacking.onnx', { 'pointbox.contract_version': '2', 'pointbox.box_prior': JSON.stringify(lacking) }), /lacks the model class\(es\) 'Mass', 'Effusion'/);
  await rejectsContract(variant('v2-json.onnx', { 'pointbox.contract_version': '2', 'pointbox.box_prior': '{"classes": ' }), /'pointbox\.box_prior' is not valid JSON/);
  const bad = { ...BOX_PRIOR, unit: 'px', classes: { ...BOX_PRIOR.classes, Mass: { w: 0, h: 0.1, learned: 'yes' }, Effusion: { ...BOX_PRIOR.classes.Effusion, reason: undefined } } };
  await rejectsContract(variant('v2-bad.onnx', { 'pointbox.contract_version': '2', 'pointbox.box_prior': JSON.stringify(bad) }),
    /unit must be "frac"/, /class 'Mass': w must be a number in \(0, 1\] \(got 0\); learned must be true or false/, /class 'Effusion': learned is false but there is no "reason"/);
  await rejectsContract(variant('v3.onnx', { 'pointbox.contract_version': '3' }), /'pointbox\.contract_version' is "3"; this PointBox reads versions 1 and 2/);
});
