import { encode } from 'fast-png';
import type { PhantomImage } from './generatePhantomImage';

/**
 * PNG for a phantom. A PNG has no photometric interpretation, so PNGs are always display-ready (bright =
 * dense, as MONOCHROME2): 8-bit through the image's VOI window (like the NIH PNGs), or 16-bit with the
 * 12-bit data scaled to the full 0..65535 range (v * 16 + v >> 8, lossless and invertible).
 */
export function encodePhantomPng(img: PhantomImage, bitDepth: 8 | 16 = 8, zlibLevel: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 1): Uint8Array {
  const n = img.width * img.height;
  const invert = img.photometric === 'MONOCHROME1';
  const src = img.pixels;
  if (bitDepth === 16) {
    const data = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const v = invert ? 4095 - src[i]! : src[i]!;
      data[i] = (v << 4) | (v >>> 8);
    }
    return encode({ width: img.width, height: img.height, data, depth: 16, channels: 1 }, { zlib: { level: zlibLevel } });
  }
  const center = invert ? 4095 - img.window.center : img.window.center;
  const lo = center - img.window.width / 2, scale = 255 / img.window.width;
  const lut = new Uint8Array(4096);
  for (let v = 0; v < 4096; v++) {
    const d = ((invert ? 4095 - v : v) - lo) * scale;
    lut[v] = d <= 0 ? 0 : d >= 255 ? 255 : Math.round(d);
  }
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = lut[src[i]!]!;
  return encode({ width: img.width, height: img.height, data, depth: 8, channels: 1 }, { zlib: { level: zlibLevel } });
}
