import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import * as jpegJs from 'jpeg-js';
import { decodeImage, decodeImageFile, nodeImagingPlatform, toDisplay8, toGreyFloat32, letterbox, modelToImage, imageToModel, RasterDecodeError } from '../../../src/core/imaging';
import { sharedData } from './imagingTestHelpers';

test('16-bit grey PNG keeps all 16 bits; RGBA drops alpha and keeps colour', async () => {
  const w = 5; const h = 3;
  const g16 = Uint16Array.from({ length: w * h }, (_, i) => i * 4000 + 7);
  const img = await decodeImage(encodePng({ width: w, height: h, data: g16, depth: 16, channels: 1 }), nodeImagingPlatform);
  assert.equal(img.source, 'png'); assert.equal(img.bitsStored, 16); assert.equal(img.samplesPerPixel, 1);
  assert.deepEqual([...img.data], [...g16]);
  const rgba = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 13) % 256));
  const c = await decodeImage(encodePng({ width: w, height: h, data: rgba, depth: 8, channels: 4 }), nodeImagingPlatform);
  assert.equal(c.samplesPerPixel, 3); assert.equal(c.photometric, 'RGB');
  for (let i = 0; i < w * h; i++) for (let k = 0; k < 3; k++) assert.equal(c.data[3 * i + k], rgba[4 * i + k]);
  // luminance for the model: 0.299 R + 0.587 G + 0.114 B
  const lum = toGreyFloat32(c);
  assert.ok(Math.abs(lum[0]! * 255 - (0.299 * rgba[0]! + 0.587 * rgba[1]! + 0.114 * rgba[2]!)) < 1e-3);
});

test('NIH RGBA PNGs decode to the same grey as their colour channels', { skip: existsSync(join(sharedData, 'cxr-png')) ? false : 'shared/data absent' }, async () => {
  const dir = join(sharedData, 'cxr-png', 'images');
  const rgbaFile = join(dir, '00000100_000.png');
  const img = await decodeImageFile(rgbaFile);
  assert.equal(img.width, 1024); assert.equal(img.height, 1024); assert.equal(img.samplesPerPixel, 3);
  const greyFile = readdirSync(dir).find((f) => f.endsWith('.png') && f !== '00000100_000.png')!;
  const g = await decodeImageFile(join(dir, greyFile));
  assert.equal(g.samplesPerPixel, 1); assert.equal(g.bitsStored, 8);
  assert.equal(toDisplay8(g).length, 1024 * 1024);
});

test('JPEG files decode (grey stays one channel) and corrupt ones fail typed', async () => {
  const w = 16; const h = 8;
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) { const v = (i * 7) % 256; rgba.set([v, v, v, 255], i * 4); }
  const jpg = jpegJs.encode({ width: w, height: h, data: rgba }, 95).data;
  const img = await decodeImage(new Uint8Array(jpg), nodeImagingPlatform);
  assert.equal(img.source, 'jpeg'); assert.equal(img.width, w); assert.equal(img.height, h);
  const bad = new Uint8Array(jpg.subarray(0, 40));
  await assert.rejects(decodeImage(bad, nodeImagingPlatform, { fileName: 'bad.jpg' }), (e: unknown) => e instanceof RasterDecodeError && e.message.includes('bad.jpg'));
});

test('letterbox keeps aspect, centres the content and maps points both ways', () => {
  const w = 300; const h = 150;
  const src = new Float32Array(w * h).fill(0.5);
  const lb = letterbox(src, w, h, 100, -1);
  assert.equal(lb.scale, 100 / 300);
  assert.equal(lb.contentWidth, 100); assert.equal(lb.contentHeight, 50);
  assert.equal(lb.offsetX, 0); assert.equal(lb.offsetY, 25);
  assert.equal(lb.data[0], -1); // padding
  assert.ok(Math.abs(lb.data[50 * 100 + 50]! - 0.5) < 1e-6); // a constant image stays constant
  const [mx, my] = imageToModel(lb, 150, 75);
  assert.deepEqual([mx, my], [50, 50]);
  const [ix, iy] = modelToImage(lb, mx, my);
  assert.ok(Math.abs(ix - 150) < 1e-9 && Math.abs(iy - 75) < 1e-9);
});

test('letterbox downscaling averages (no aliasing of a 1-pixel checkerboard) and preserves a ramp', () => {
  const w = 64; const h = 64;
  const checker = Float32Array.from({ length: w * h }, (_, i) => ((i % w) + Math.floor(i / w)) % 2);
  const lb = letterbox(checker, w, h, 16);
  for (let i = 0; i < lb.data.length; i++) assert.ok(Math.abs(lb.data[i]! - 0.5) < 0.05, `pixel ${i} = ${lb.data[i]}`);
  const ramp = Float32Array.from({ length: w * h }, (_, i) => i % w);
  const r = letterbox(ramp, w, h, 32).data;
  for (let x = 1; x < 31; x++) assert.ok(Math.abs(r[10 * 32 + x]! - (x * 2 + 0.5)) < 0.6, `ramp at ${x}: ${r[10 * 32 + x]}`);
});

test('PNG bytes that lie about their size fail typed', async () => {
  const png = encodePng({ width: 4, height: 4, data: new Uint8Array(16), depth: 8, channels: 1 });
  const cut = png.slice(0, png.length - 20);
  await assert.rejects(decodeImage(cut, nodeImagingPlatform, { fileName: 'cut.png' }), RasterDecodeError);
});
