import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readImageSize, sizeFromBytes } from '../../../src/core/dataset/readImageSize';
import { SKIP_NO_SHARED, sharedData, tinyDicom, tinyPng, tmpDir, writeFiles } from './datasetFixtures';

test('reads PNG and generated DICOM sizes from headers; non-images give undefined; missing files throw ENOENT', () => {
  const t = tmpDir();
  try {
    writeFiles(t.dir, { 'a.png': tinyPng(300, 200), 'b.dcm': tinyDicom(64, 48), 'c.txt': 'hello' });
    assert.deepEqual(readImageSize(join(t.dir, 'a.png')), { width: 300, height: 200, format: 'png' });
    assert.deepEqual(readImageSize(join(t.dir, 'b.dcm')), { width: 64, height: 48, format: 'dicom' });
    assert.equal(readImageSize(join(t.dir, 'c.txt')), undefined);
    assert.throws(() => readImageSize(join(t.dir, 'nope.dcm')), /ENOENT/);
  } finally { t.cleanup(); }
});

test('reads a JPEG SOF after an APP segment', () => {
  // SOI, APP0 (16 bytes), SOF0 with height 480 / width 640.
  const app0 = [0xff, 0xe0, 0x00, 0x10, ...Array(14).fill(0)];
  const sof = [0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0xe0, 0x02, 0x80, 0x01, 0x01, 0x11, 0x00, 0, 0, 0, 0, 0, 0];
  assert.deepEqual(sizeFromBytes(new Uint8Array([0xff, 0xd8, ...app0, ...sof])), { width: 640, height: 480, format: 'jpeg' });
});

test('real DICOMs in ../shared/data: CR chest (no preamble), J2K, JPEG baseline, deflated, big endian', { skip: SKIP_NO_SHARED }, () => {
  const cases: [string, number, number][] = [
    ['dicom-cxr/CR-MONO1-10-chest', 440, 440],
    ['dicom-cxr/RG1_J2KI.dcm', 1841, 1955],
    ['dicom-cxr/siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm', 1024, 1024],
    ['dicom-corpus/pydicom/image_dfl.dcm', 512, 512],
    ['dicom-corpus/pydicom/MR_small_bigendian.dcm', 64, 64],
    ['dicom-corpus/pydicom/MR_truncated.dcm', 64, 64],
    ['dicom-corpus/fo-dicom/GH133.dcm', 2394, 3062],
    ['cxr-png/images/00000100_000.png', 1024, 1024],
  ];
  for (const [f, w, h] of cases) {
    const s = readImageSize(join(sharedData, f));
    assert.equal(s?.width, w, f); assert.equal(s?.height, h, f);
  }
});
