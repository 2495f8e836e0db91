import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { deflateSync, inflateSync } from 'node:zlib';
import { decodePngFast } from '../../../src/core/imaging/decodePngFast';
import { decodePngBytes } from '../../../src/core/imaging/decodeRaster';

const inflate = (d: Uint8Array, max: number) => new Uint8Array(inflateSync(d, { maxOutputLength: max }));
const shared = resolve(__dirname, '..', '..', '..', '..', 'shared', 'data', 'cxr-png', 'images');

function same(file: string, bytes: Uint8Array, expectFast = true) {
  const fast = decodePngFast(bytes, inflate, file);
  const ref = decodePngBytes(bytes, file);
  if (!expectFast) { assert.equal(fast, undefined, `${file}: should fall back to fast-png`); return; }
  assert.ok(fast, `${file}: fast path declined`);
  assert.deepEqual([fast.width, fast.height, fast.samplesPerPixel, fast.bitsStored, fast.photometric], [ref.width, ref.height, ref.samplesPerPixel, ref.bitsStored, ref.photometric], file);
  assert.equal(fast.data.constructor, ref.data.constructor, file);
  assert.ok(Buffer.from(fast.data.buffer, fast.data.byteOffset, fast.data.byteLength).equals(Buffer.from(ref.data.buffer, ref.data.byteOffset, ref.data.byteLength)), `${file}: pixels differ from fast-png`);
}

test('the native-zlib PNG path gives fast-png\'s pixels on the real NIH PNGs (grey and RGBA)', { skip: existsSync(shared) ? false : `skipped: ${shared} absent` }, () => {
  const files = readdirSync(shared).filter((f) => f.endsWith('.png'));
  assert.ok(files.length >= 30);
  for (const f of files) same(f, readFileSync(join(shared, f)));
});

// Decided when the file loads so a missing PIL shows as a skip, not as a pass that ran nothing.
const noPil = spawnSync('/usr/bin/python3', ['-c', 'import PIL, numpy'], { encoding: 'utf8' }).status !== 0 && 'python3-pil / numpy missing';

test('every PNG filter type, 8/16-bit grey, grey+alpha, RGB, RGBA; interlaced and palette files fall back', { skip: noPil }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pointbox-png-'));
  // PIL chooses filters adaptively per row (all five appear on noisy gradients) when optimize=True.
  const py = `
import numpy as np, sys
from PIL import Image
d = sys.argv[1]
rng = np.random.default_rng(0)
y, x = np.mgrid[0:97, 0:131]
g = ((x * 3 + y * 2) % 256 + rng.integers(0, 9, x.shape)).clip(0, 255).astype(np.uint8)
Image.fromarray(g).save(f'{d}/grey8.png', optimize=True)
Image.fromarray((g.astype(np.uint16) * 257 + rng.integers(0, 200, g.shape)).astype(np.uint16)).save(f'{d}/grey16.png')
Image.fromarray(np.dstack([g, 255 - g]), 'LA').save(f'{d}/la.png', optimize=True)
rgb = np.dstack([g, np.roll(g, 7, 1), (g // 2)]).astype(np.uint8)
Image.fromarray(rgb).save(f'{d}/rgb.png', optimize=True)
Image.fromarray(np.dstack([rgb, np.full(g.shape, 255, np.uint8)]), 'RGBA').save(f'{d}/rgba.png', optimize=True)
Image.fromarray(rgb).convert('P').save(f'{d}/palette.png')
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['grey8', 'grey16', 'la', 'rgb', 'rgba']) same(f, readFileSync(join(dir, `${f}.png`)));
  // Check the filters really varied in the 8-bit file (otherwise the test proves little).
  const bytes = readFileSync(join(dir, 'grey8.png'));
  const filters = new Set<number>();
  const ihdrEnd = 8 + 8 + 13 + 4;
  let p = ihdrEnd; const parts: Buffer[] = [];
  while (p < bytes.length) { const len = bytes.readUInt32BE(p); if (bytes.toString('ascii', p + 4, p + 8) === 'IDAT') parts.push(bytes.subarray(p + 8, p + 8 + len)); p += 12 + len; }
  const raw = inflateSync(Buffer.concat(parts));
  for (let yy = 0; yy < 97; yy++) filters.add(raw[yy * (131 + 1)]!);
  assert.ok(filters.size >= 3, `only filters ${[...filters]} used`);
  // Adam7 (PIL cannot write it): mark the IHDR interlaced; the fast path must decline, not mis-decode.
  const inter = Buffer.from(bytes);
  inter[8 + 8 + 12] = 1;
  assert.equal(decodePngFast(inter, inflate, 'interlaced.png'), undefined);
  same('palette', readFileSync(join(dir, 'palette.png')), false);
});

test('a corrupt IDAT declines the fast path so fast-png reports the error', () => {
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000004000000040800000000', 'hex');
  const bad = Buffer.concat([png, Buffer.from([0, 0, 0, 0]), Buffer.from('0000000549444154deadbeef0000000000', 'hex')]);
  assert.equal(decodePngFast(bad, inflate, 'bad.png'), undefined);
});

/** CRC-32 of PNG chunks (fast-png checks it). */
const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
function chunk(type: string, data: Buffer): Buffer {
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  let c = 0xffffffff;
  for (const b of td) c = crcTable[(c ^ b) & 255]! ^ (c >>> 8);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0); td.copy(out, 4); out.writeUInt32BE((c ^ 0xffffffff) >>> 0, 8 + data.length);
  return out;
}

/**
 * A PNG whose row y is filtered with filter (y + first) % 5, written here from the specification (the
 * encoder side, with the spec's own Paeth), so every filter meets the first row, the left edge and every
 * other filter above it, at every bytes-per-pixel the fast path takes.
 */
function pngWithFilters(samples: Uint8Array, width: number, height: number, depth: number, colorType: number, first: number): Buffer {
  const bpp = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colorType]! * depth / 8;
  const stride = width * bpp;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const f = (y + first) % 5;
    raw[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = samples[y * stride + i]!;
      const a = i >= bpp ? samples[y * stride + i - bpp]! : 0;
      const b = y > 0 ? samples[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? samples[(y - 1) * stride + i - bpp]! : 0;
      const p = a + b - c; const pa = Math.abs(p - a); const pb = Math.abs(p - b); const pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f]!;
      raw[y * (stride + 1) + 1 + i] = (x - pred) & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4); ihdr[8] = depth; ihdr[9] = colorType;
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

test('every filter type on every row, the first row included, at 1, 2, 3, 4, 6 and 8 bytes per pixel: the original samples back', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  const W = 13; const H = 11;
  for (const [depth, colorType] of [[8, 0], [16, 0], [8, 4], [8, 2], [8, 6], [16, 2], [16, 6]] as const) {
    const ch = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colorType]!;
    const bpp = ch * depth / 8;
    // Noise (wrap-arounds, every Paeth branch) on top of a ramp (ties between the predictors).
    const samples = Uint8Array.from({ length: W * H * bpp }, (_, k) => (k % 3 === 0 ? rnd() : (k * 7 + (k >> 4)) & 255));
    for (let first = 0; first < 5; first++) {
      const name = `depth ${depth}, colour type ${colorType}, first row filter ${first}`;
      const png = pngWithFilters(samples, W, H, depth, colorType, first);
      same(name, png);
      const img = decodePngFast(png, inflate, name)!;
      const keep = ch === 2 ? 1 : ch === 4 ? 3 : ch;
      for (let px = 0; px < W * H; px++) {
        for (let c = 0; c < keep; c++) {
          const k = (px * ch + c) * (depth / 8);
          const want = depth === 8 ? samples[k]! : (samples[k]! << 8) | samples[k + 1]!;
          if (img.data[px * keep + c] !== want) assert.fail(`${name}: pixel ${px} channel ${c} is ${img.data[px * keep + c]}, was ${want}`);
        }
      }
    }
  }
});

test('a filter type above 4 is an error naming the row, not a silent decode', () => {
  const png = pngWithFilters(new Uint8Array(4 * 4), 4, 4, 8, 0, 0);
  // Rewrite the filter byte of row 2 inside the deflated stream: re-deflate a patched copy.
  const parts: Buffer[] = []; let p = 8;
  while (p < png.length) { const len = png.readUInt32BE(p); if (png.toString('ascii', p + 4, p + 8) === 'IDAT') parts.push(png.subarray(p + 8, p + 8 + len)); p += 12 + len; }
  const raw = inflateSync(Buffer.concat(parts));
  raw[2 * 5] = 5;
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(4, 0); ihdr.writeUInt32BE(4, 4); ihdr[8] = 8; ihdr[9] = 0;
  const bad = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  assert.throws(() => decodePngFast(bad, inflate, 'bad-filter.png'), /bad filter type 5 in row 2/);
  raw[2 * 5] = 0; raw[0] = 5; // on the first row too (which maps its filters before the switch)
  const bad0 = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  assert.throws(() => decodePngFast(bad0, inflate, 'bad-filter.png'), /bad filter type 5 in row 0/);
});
