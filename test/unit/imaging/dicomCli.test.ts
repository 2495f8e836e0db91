/**
 * `pointbox dicom info|decode` in-process, checked against pydicom+GDCM output on the same file.
 * The built bundle (dist/cli.js) is tested in builtBundles.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runCli } from '../../../src/cli/main';
import { corpusDir, cxrDir, diffStats, hasReference, hasSharedData, referenceDecode } from './imagingTestHelpers';

function capture() {
  let out = ''; let err = '';
  return { io: { out: (t: string) => { out += t; }, err: (t: string) => { err += t; }, cwd: process.cwd() }, get out() { return out; }, get err() { return err; } };
}
const skip = hasSharedData() ? false : 'shared/data absent';

test('dicom info --json reports the header fields, incl. multi-valued windows and invalid spacing', { skip }, async () => {
  const c = capture();
  assert.equal(await runCli(['dicom', 'info', join(cxrDir, 'RG1_J2KI.dcm'), '--json'], c.io), 0, c.err);
  const j = JSON.parse(c.out);
  assert.deepEqual(
    [j.rows, j.columns, j.samplesPerPixel, j.bitsAllocated, j.bitsStored, j.pixelRepresentation, j.photometricInterpretation, j.transferSyntaxUID, j.frames, j.rescaleSlope, j.rescaleIntercept, j.windowCenter, j.windowWidth, j.pixelSpacing],
    [1955, 1841, 1, 16, 15, 0, 'MONOCHROME1', '1.2.840.10008.1.2.4.91', 1, 1, 0, 15000, 30000, null],
  );
  const c2 = capture();
  assert.equal(await runCli(['dicom', 'info', join(corpusDir, 'pydicom-data/emri_small.dcm'), '--json'], c2.io), 0);
  assert.equal(JSON.parse(c2.out).frames, 10);
  const c3 = capture();
  assert.equal(await runCli(['dicom', 'info', join(corpusDir, 'pydicom/CT_small.dcm'), '--json'], c3.io), 0);
  const ct = JSON.parse(c3.out);
  assert.equal(ct.pixelRepresentation, 1);
  assert.ok(Array.isArray(ct.pixelSpacing) && ct.pixelSpacing[0] > 0);
});

test('dicom decode writes stored int32 / modality float32 / display uint8 matching the reference', { skip: skip || (!hasReference() && 'pydicom/gdcm absent'), timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-cli-'));
  const file = join(corpusDir, 'pydicom/CT_small.dcm');
  const [ref] = referenceDecode([file]);
  for (const [stage, Ctor, refArr] of [['stored', Int32Array, ref!.stored], ['modality', Float32Array, ref!.modality], ['display', Uint8Array, ref!.display]] as const) {
    const c = capture();
    const out = join(dir, `${stage}.bin`);
    assert.equal(await runCli(['dicom', 'decode', file, '--out', out, '--stage', stage, '--json'], c.io), 0, c.err);
    const j = JSON.parse(c.out);
    const b = readFileSync(out);
    const arr = new Ctor(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    assert.equal(arr.length, 128 * 128);
    assert.equal(diffStats(arr, refArr!).maxAbs, 0, stage);
    assert.equal(typeof j.decodeMs, 'number');
    assert.equal(j.min, Math.min(...arr)); assert.equal(j.max, Math.max(...arr));
  }
});

test('dicom decode: bad input exits 1 with one line; bad usage exits 2', { skip }, async () => {
  const c = capture();
  assert.equal(await runCli(['dicom', 'decode', join(corpusDir, 'pydicom/MR_truncated.dcm'), '--out', join(tmpdir(), 'x.bin')], c.io), 1);
  assert.equal(c.err.trim().split('\n').length, 1);
  assert.match(c.err, /TRUNCATED/);
  const c2 = capture();
  assert.equal(await runCli(['dicom', 'decode', join(corpusDir, 'pydicom-data/emri_small.dcm'), '--out', join(tmpdir(), 'x.bin'), '--frame', '10'], c2.io), 1);
  assert.match(c2.err, /BAD_FRAME/);
  const c3 = capture();
  assert.equal(await runCli(['dicom', 'decode', 'f.dcm', '--stage', 'nope', '--out', 'x'], c3.io), 2);
});

test('dicom header hides identifying values unless asked; decode accepts PNG', { skip }, async () => {
  const c = capture();
  assert.equal(await runCli(['dicom', 'header', join(corpusDir, 'pydicom/CT_small.dcm'), '--json'], c.io), 0, c.err);
  const hidden = JSON.parse(c.out) as { keyword: string; value: string }[];
  assert.equal(hidden.find((e) => e.keyword === 'PatientName')?.value, '(hidden)');
  assert.equal(hidden.find((e) => e.keyword === 'Modality')?.value, 'CT');
  const c2 = capture();
  assert.equal(await runCli(['dicom', 'header', join(corpusDir, 'pydicom/CT_small.dcm'), '--json', '--show-identifying'], c2.io), 0);
  assert.equal((JSON.parse(c2.out) as { keyword: string; value: string }[]).find((e) => e.keyword === 'PatientName')?.value, 'CompressedSamples^CT1');
  const png = join(corpusDir, '..', 'cxr-png', 'images', '00000100_000.png');
  const out = join(mkdtempSync(join(tmpdir(), 'pb-cli-')), 'p.bin');
  const c3 = capture();
  assert.equal(await runCli(['dicom', 'decode', png, '--out', out, '--stage', 'display', '--json'], c3.io), 0, c3.err);
  const j = JSON.parse(c3.out);
  assert.deepEqual([j.rows, j.columns, j.samplesPerPixel, j.transferSyntax], [1024, 1024, 3, 'PNG']);
  assert.equal(readFileSync(out).length, 1024 * 1024 * 3);
});
