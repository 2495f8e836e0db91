/** The grey-level pipeline against values worked by hand from PS3.3 C.11 (no decoder involved). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toDisplay8, modalityValues, voiWindow, chooseVoi } from '../../../src/core/imaging';
import { storedValues } from '../../../src/core/imaging/storedValues';
import { greyImage as grey } from './imagingTestHelpers';


test('LINEAR window follows C.11.2.1.2.1 (c - 0.5, w - 1) including the edges', () => {
  // c=2048 w=4096: lower edge x <= 2048-0.5-2047.5 = 0 -> 0; x=2048 -> (0.5/4095+0.5)*255 = 127.53 -> 128; x=4095 -> 255
  const img = grey(new Uint16Array([0, 1, 2048, 4095]), { voi: { windows: [{ center: 2048, width: 4096 }], function: 'LINEAR', luts: [] } });
  const d = toDisplay8(img);
  assert.deepEqual([...d], [0, 0, 128, 255]);
  // x=1: (1-2047.5)/4095+0.5 = 0.00024 -> 0.06 -> 0
  assert.equal(Math.round(voiWindow(1, 2048, 4096, 'LINEAR') * 255), 0);
});

test('LINEAR_EXACT and SIGMOID follow C.11.2.1.3', () => {
  // c=100 w=50: x<=75 -> 0; x=100 -> 0.5 -> 128 (127.5 rounds up); x=110 -> 0.7 -> 178.5 -> 179; x>125 -> 255
  const img = grey(new Uint16Array([75, 100, 110, 126]), { voi: { windows: [{ center: 100, width: 50 }], function: 'LINEAR_EXACT', luts: [] } });
  assert.deepEqual([...toDisplay8(img)], [0, 128, 179, 255]);
  // SIGMOID c=0 w=4: y = 1/(1+exp(-4x/4)); x=0 -> 0.5 -> 128; x=1 -> 0.7311 -> 186.4 -> 186; x=-1 -> 0.2689 -> 68.6 -> 69
  const s = grey(new Int16Array([0, 1, -1]), { isSigned: true, voi: { windows: [{ center: 0, width: 4 }], function: 'SIGMOID', luts: [] } });
  assert.deepEqual([...toDisplay8(s)], [128, 186, 69]);
});

test('several windows: the first by default, another by index, an explicit one overrides', () => {
  const img = grey(new Uint16Array([100, 300]), { voi: { windows: [{ center: 200, width: 201 }, { center: 1000, width: 101 }], function: 'LINEAR', luts: [] } });
  // window 0: x=100 -> (100-199.5)/200+0.5 = 0.0025 -> 1; x=300 -> > 299.5 -> 255
  assert.deepEqual([...toDisplay8(img)], [1, 255]);
  assert.deepEqual([...toDisplay8(img, { voiIndex: 1 })], [0, 0]);
  // w=1 is a threshold at c - 0.5: 100 -> 0, 300 > 299.5 -> 255
  assert.deepEqual([...toDisplay8(img, { window: { center: 300, width: 1 } })], [0, 255]);
});

test('MONOCHROME1 is inverted after the VOI, and invert can be forced either way', () => {
  const img = grey(new Uint16Array([0, 4095]), { photometric: 'MONOCHROME1', voi: { windows: [{ center: 2048, width: 4096 }], function: 'LINEAR', luts: [] } });
  assert.deepEqual([...toDisplay8(img)], [255, 0]);
  assert.deepEqual([...toDisplay8(img, { invert: false })], [0, 255]);
});

test('Modality LUT: rescale slope/intercept, and a LUT sequence clamps outside its range', () => {
  const img = grey(new Int16Array([-1000, 0, 1000]), { isSigned: true, bitsStored: 16, modality: { kind: 'rescale', slope: 2, intercept: -1024 } });
  assert.deepEqual([...modalityValues(img)], [-3024, -1024, 976]);
  const lut = grey(new Uint16Array([0, 10, 11, 12, 500]), { modality: { kind: 'lut', lut: { firstMapped: 10, bits: 16, data: new Uint16Array([100, 200, 300]) } } });
  assert.deepEqual([...modalityValues(lut)], [100, 100, 200, 300, 300]);
});

test('VOI LUT sequence maps modality values and scales its bit depth to 8 bits', () => {
  const data = new Uint16Array([5, 6, 7, 8]);
  const img = grey(data, { voi: { windows: [{ center: 0, width: 10 }], function: 'LINEAR', luts: [{ firstMapped: 6, bits: 10, data: new Uint16Array([0, 1023, 511]) }] } });
  // The window is preferred unless asked; with preferVoiLut: 5 clamps to entry 0 -> 0; 7 -> 1023 -> 255; 8 -> 511/1023*255 = 127.4 -> 127
  assert.deepEqual([...toDisplay8(img, { preferVoiLut: true })], [0, 0, 255, 127]);
  assert.equal(chooseVoi(grey(data, { voi: { windows: [], function: 'LINEAR', luts: img.voi.luts } })).kind, 'lut');
});

test('no VOI in the file: the full modality range is shown', () => {
  const img = grey(new Uint16Array([1000, 1500, 2000]));
  const d = toDisplay8(img);
  assert.equal(d[0], 0); assert.equal(d[2], 255);
  assert.ok(Math.abs(d[1]! - 128) <= 1);
});

test('stored values: BitsStored masking, HighBit shift and sign extension', () => {
  // 12 bits stored in 16 with garbage in the top nibble
  assert.deepEqual([...storedValues(new Uint16Array([0xf123, 0x0fff, 0x8000]), 16, 12, 11, false)], [0x123, 0xfff, 0]);
  // signed 12-bit: 0x0800 is -2048, 0x0fff is -1, 0x07ff is 2047
  assert.deepEqual([...storedValues(new Uint16Array([0x0800, 0x0fff, 0x07ff, 0xf001]), 16, 12, 11, true)], [-2048, -1, 2047, 1]);
  // HighBit 15 with 12 bits stored: the value sits in the top 12 bits
  assert.deepEqual([...storedValues(new Uint16Array([0xfff0, 0x0010]), 16, 12, 15, false)], [0xfff, 1]);
  // odd 2-byte alignment of the input (pixel data at an offset of 4k+2) keeps the fast path correct
  const buf = new Uint16Array(7); buf.set([0, 0xffff, 0x7fff, 0x8001, 5, 0xc000, 3]);
  assert.deepEqual([...storedValues(buf.subarray(1), 16, 15, 14, false)], [0x7fff, 0x7fff, 1, 5, 0x4000, 3]);
  // 8-bit signed, 7 bits stored
  assert.deepEqual([...storedValues(new Uint8Array([0x40, 0x3f, 0xff]), 8, 7, 6, true)], [-64, 63, -1]);
});
