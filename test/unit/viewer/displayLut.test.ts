/** The viewer's display table is the core pipeline's: mapping through it equals toDisplay8 on the whole image. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DecodedImage } from '../../../src/core/imaging/DecodedImage';
import { toDisplay8, type DisplayOptions } from '../../../src/core/imaging/greyPipeline';
import { displayLut, mapToRgba } from '../../../webview/viewer/displayLut';
import { greyImage as grey } from '../imaging/imagingTestHelpers';


function viaTable(img: DecodedImage, opts: DisplayOptions): number[] {
  const lut = displayLut(img, opts);
  assert.ok(lut, 'a table applies');
  const out = new Uint32Array(img.data.length);
  mapToRgba(img.data, lut, out);
  return Array.from(out, (w) => {
    assert.equal(w >>> 24, 255, 'opaque');
    assert.ok((w & 0xff) === ((w >> 8) & 0xff) && (w & 0xff) === ((w >> 16) & 0xff), 'grey');
    return w & 0xff;
  });
}

const rand = (n: number, lo: number, hi: number, seed = 1) => Array.from({ length: n }, (_, i) => lo + Math.floor(((Math.sin(i * 12.9898 + seed) * 43758.5453) % 1 + 1) % 1 * (hi - lo + 1)));

test('unsigned 12-bit, LINEAR, SIGMOID, MONOCHROME1 and inverted: same as toDisplay8', () => {
  const data = Uint16Array.from(rand(5000, 0, 4095));
  for (const [over, opts] of [
    [{}, { window: { center: 1800, width: 900 } }],
    [{ voi: { windows: [], function: 'SIGMOID' as const, luts: [] } }, { window: { center: 2000, width: 3000 } }],
    [{ photometric: 'MONOCHROME1' as const }, { window: { center: 1000, width: 4000 }, invert: true }],
    [{}, { window: { center: 1000, width: 4000 }, invert: true }],
  ] as [Partial<DecodedImage>, DisplayOptions][]) {
    const img = grey(data, over);
    assert.deepEqual(viaTable(img, opts), Array.from(toDisplay8(img, opts)), JSON.stringify(opts));
  }
});

test('signed 16-bit with a rescale (CT-like), and a modality LUT plus a VOI LUT', () => {
  const s = grey(Int16Array.from(rand(4000, -32768, 32767, 3)), { bitsStored: 16, isSigned: true, modality: { kind: 'rescale', slope: 0.5, intercept: -1024 } });
  assert.deepEqual(viaTable(s, { window: { center: 40, width: 400 } }), Array.from(toDisplay8(s, { window: { center: 40, width: 400 } })));
  const modLut = { firstMapped: 100, bits: 12, data: Uint16Array.from({ length: 1000 }, (_, i) => (i * 4) % 4096) };
  const voiLut = { firstMapped: 0, bits: 8, data: Uint16Array.from({ length: 4096 }, (_, i) => Math.floor(i / 16)) };
  const l = grey(Uint16Array.from(rand(3000, 0, 4095, 7)), { modality: { kind: 'lut', lut: modLut }, voi: { windows: [], function: 'LINEAR', luts: [voiLut] } });
  assert.deepEqual(viaTable(l, { preferVoiLut: true }), Array.from(toDisplay8(l, { preferVoiLut: true })));
});

test('no table where it would not be the same: colour, no explicit window (min-max of the pixels)', () => {
  assert.equal(displayLut(grey(new Uint8Array(6), { samplesPerPixel: 3, photometric: 'RGB', width: 2 }), { window: { center: 1, width: 2 } }), undefined);
  assert.equal(displayLut(grey(new Uint16Array(4)), {}), undefined);
});
