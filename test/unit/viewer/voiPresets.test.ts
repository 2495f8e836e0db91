/** The viewer's W/L presets come from the core grey pipeline's own VOI choice (webview/viewer/voiPresets.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultVoi, fullRange, voiPresets, windowOf } from '../../../webview/viewer/voiPresets';
import { greyImage as grey } from '../imaging/imagingTestHelpers';


test('presets list the file windows, its VOI LUTs and the full range; the default is the first file window', () => {
  const lut = { firstMapped: 0, bits: 8, data: new Uint16Array([0, 255]), explanation: 'soft' };
  const img = grey(new Uint16Array([100, 300, 4000]), { voi: { windows: [{ center: 600, width: 1200, explanation: 'LUNG' }, { center: 40, width: 400 }], function: 'LINEAR', luts: [lut] } });
  const p = voiPresets(img);
  assert.deepEqual(p.map((x) => x.label), ['File 1: W 1200 L 600 (LUNG)', 'File 2: W 400 L 40', 'File VOI LUT 1 (soft)', 'Full range']);
  assert.deepEqual(defaultVoi(img), { kind: 'window', center: 600, width: 1200 });
  assert.deepEqual(p[3]!.voi, { kind: 'window', center: (100 + 4000 + 1) / 2, width: 3901 });
});

test('no VOI in the file: the default is the full range of modality values (rescale applied)', () => {
  const img = grey(new Uint16Array([10, 20, 30]), { modality: { kind: 'rescale', slope: 2, intercept: -100 } });
  assert.deepEqual(defaultVoi(img), { kind: 'window', center: (-80 + -40 + 1) / 2, width: 41 });
  assert.deepEqual(fullRange(img), defaultVoi(img));
  assert.deepEqual(windowOf(img, { kind: 'lut', index: 0 }), { center: fullRange(img).center, width: fullRange(img).width });
});

test('a file with only a VOI LUT defaults to it; colour images have no presets', () => {
  const lut = { firstMapped: 0, bits: 8, data: new Uint16Array([0, 255]) };
  assert.deepEqual(defaultVoi(grey(new Uint16Array([1, 2]), { voi: { windows: [], function: 'LINEAR', luts: [lut] } })), { kind: 'lut', index: 0 });
  assert.deepEqual(voiPresets(grey(new Uint8Array([1, 2, 3]), { samplesPerPixel: 3, photometric: 'RGB', width: 1 })), []);
});
