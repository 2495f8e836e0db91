import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { inflateSync } from 'node:zlib';
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
