/**
 * Issue 13: the one-pass letterbox (`prepareModelImage`: resize straight from the stored values, integer-factor
 * reduction, one affine map at the end) must give the model the same input as the step-by-step path it
 * replaced (`prepareModelImageReference`: full-size float grey image, min-max, resize, normalize), on real
 * radiographs and on generated images of every shape the fast path treats differently.
 *
 * Tolerance: 1e-5 of the [0, 1] grey range, i.e. less than one grey level of a 16-bit image (1/65535) and far
 * less than one of an 8-bit one; the two differ only by float rounding (sums in another order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImageFile } from '../../../src/core/imaging';
import type { DecodedImage, StoredArray } from '../../../src/core/imaging/DecodedImage';
import { prepareModelImage, prepareModelImageReference } from '../../../src/core/inference/modelInput';
import type { ModelNormalization } from '../../../src/core/inference/modelContract';
import { sharedData } from '../imaging/imagingTestHelpers';

const TOL = 1e-5;
const norms: ModelNormalization[] = [{ mean: 0.5, std: 0.25, letterbox: 'top-left' }, { mean: 0.449, std: 0.226, letterbox: 'center' }];

/** Largest difference of the two model inputs, in [0, 1] grey units (the inputs are (grey - mean) / std). */
function maxGreyDiff(img: DecodedImage, size: number, norm: ModelNormalization): number {
  const fast = prepareModelImage(img, size, norm);
  const ref = prepareModelImageReference(img, size, norm);
  assert.deepEqual(fast.lb, ref.lb);
  assert.equal(fast.data.length, ref.data.length);
  let m = 0;
  for (let i = 0; i < ref.data.length; i++) m = Math.max(m, Math.abs(fast.data[i]! - ref.data[i]!) * norm.std);
  return m;
}

function synthetic(width: number, height: number, o: { data?: (x: number, y: number) => number; array?: 'u8' | 'u16' | 'i16'; slope?: number; intercept?: number; photometric?: 'MONOCHROME1' | 'MONOCHROME2' } = {}): DecodedImage {
  const n = width * height;
  const Ctor = o.array === 'u8' ? Uint8Array : o.array === 'i16' ? Int16Array : Uint16Array;
  const data: StoredArray = new Ctor(n);
  // Smooth anatomy-like structure, a sharp collimator edge and per-pixel noise (what defeats naive shortcuts).
  const f = o.data ?? ((x: number, y: number) => 1800 + 900 * Math.sin(x / 37) * Math.cos(y / 53) + (x > width * 0.8 ? 1500 : 0) + ((x * 7919 + y * 104729) % 211));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y);
  return {
    source: 'dicom', width, height, samplesPerPixel: 1, photometric: o.photometric ?? 'MONOCHROME2', sourcePhotometric: o.photometric ?? 'MONOCHROME2',
    bitsAllocated: o.array === 'u8' ? 8 : 16, bitsStored: o.array === 'u8' ? 8 : 12, isSigned: o.array === 'i16', data,
    modality: { kind: 'rescale', slope: o.slope ?? 1, intercept: o.intercept ?? 0 }, voi: { windows: [], function: 'LINEAR', luts: [] },
    frames: 1, frameIndex: 0, pixelSpacing: null, pixelSpacingSource: null, warnings: [], decodeMs: 0,
  };
}

test('one-pass letterbox matches the step-by-step path on generated images of every kind the fast path distinguishes', () => {
  const cases: [string, DecodedImage, number][] = [
    ['1024x1024 -> 256 (factor 4, the common case)', synthetic(1024, 1024), 256],
    ['2048x1536 -> 256 (factor 8)', synthetic(2048, 1536), 256],
    ['1536x2048 -> 512 (factor 4, portrait)', synthetic(1536, 2048), 512],
    ['1200x1200 -> 200 (factor 6)', synthetic(1200, 1200), 200],
    ['768x768 -> 256 (factor 3, odd: general taps)', synthetic(768, 768), 256],
    ['2500x3000 -> 256 (no integer factor)', synthetic(2500, 3000), 256],
    ['1000x999 -> 256', synthetic(1000, 999), 256],
    ['200x100 -> 256 (enlarging)', synthetic(200, 100), 256],
    ['12x8 -> 4 (tiny, border taps only)', synthetic(12, 8), 4],
    ['8-bit 1024x1024', synthetic(1024, 1024, { array: 'u8', data: (x, y) => (x * 3 + y * 5 + ((x * y) % 17)) & 255 }), 256],
    ['signed 16-bit with rescale', synthetic(1024, 768, { array: 'i16', slope: 0.5, intercept: -1024, data: (x, y) => -900 + ((x * 13 + y * 7) % 2000) }), 256],
    ['negative slope', synthetic(512, 512, { slope: -2, intercept: 100 }), 128],
    ['MONOCHROME1', synthetic(1024, 1024, { photometric: 'MONOCHROME1', intercept: -1000 }), 256],
    ['constant image', synthetic(1024, 1024, { data: () => 1234 }), 256],
    ['pure noise', synthetic(1024, 1024, { data: (x, y) => ((x * 2654435761 + y * 40503) >>> 20) & 4095 }), 256],
  ];
  for (const [name, img, size] of cases) {
    for (const norm of norms) {
      const d = maxGreyDiff(img, size, norm);
      assert.ok(d <= TOL, `${name}, ${norm.letterbox}: differs by ${d} of the grey range (limit ${TOL})`);
    }
  }
});

test('one-pass letterbox keeps the content where the model expects it (padding, a bright edge stays at its place)', () => {
  // A 1024x512 image, left half dark, right half bright: top-left letterbox to 256 puts content in rows 0..127.
  const img = synthetic(1024, 512, { data: (x) => (x < 512 ? 100 : 3000) });
  const norm: ModelNormalization = { mean: 0, std: 1, letterbox: 'top-left' };
  const m = prepareModelImage(img, 256, norm);
  assert.equal(m.data[10 * 256 + 10], 0); // dark content -> 0 after min-max
  assert.equal(m.data[10 * 256 + 250], 1); // bright content -> 1
  assert.equal(m.data[200 * 256 + 10], 0); // padding (value 0 before normalization)
  // The edge (source column 511.5) falls between model columns 127 and 128: the triangle's taps 1,3,5,7,7,5,3,1 / 32
  // give 4/32 of the bright side to column 127 and 28/32 to column 128.
  assert.ok(Math.abs(m.data[10 * 256 + 127]! - 4 / 32) < 1e-6, `column 127: ${m.data[10 * 256 + 127]}`);
  assert.ok(Math.abs(m.data[10 * 256 + 128]! - 28 / 32) < 1e-6, `column 128: ${m.data[10 * 256 + 128]}`);
});

const realFiles = (): string[] => {
  const out: string[] = [];
  const dcm = join(sharedData, 'dicom-cxr');
  if (existsSync(dcm)) for (const f of readdirSync(dcm)) if (statSync(join(dcm, f)).isFile()) out.push(join(dcm, f));
  const png = join(sharedData, 'cxr-png', 'images');
  if (existsSync(png)) out.push(...readdirSync(png).filter((f) => f.endsWith('.png')).sort().slice(0, 8).map((f) => join(png, f)));
  return out;
};

test('one-pass letterbox matches the step-by-step path on real radiographs (DICOM CR/DX, NIH PNGs)',
  { skip: realFiles().length ? false : `no real images in ${sharedData} (dicom-cxr/, cxr-png/images/): run where ../shared/data exists` }, async () => {
    let fastPath = 0;
    for (const file of realFiles()) {
      const img = await decodeImageFile(file);
      if (img.samplesPerPixel === 1 && img.modality.kind === 'rescale') fastPath++;
      for (const size of [256, 512]) {
        for (const norm of norms) {
          const d = maxGreyDiff(img, size, norm);
          assert.ok(d <= TOL, `${file} (${img.width}x${img.height}, ${img.photometric}) -> ${size}, ${norm.letterbox}: differs by ${d} of the grey range`);
        }
      }
    }
    assert.ok(fastPath >= 3, `the fast path was exercised on ${fastPath} real images`);
  });
