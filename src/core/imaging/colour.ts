/**
 * Colour conversions for secondary-capture style images (PS3.3 C.7.6.3.1.2, YBR_FULL with the JFIF/ITU
 * BT.601 full-range equations). Output is always interleaved 8-bit RGB.
 */
function clamp8(v: number): number { return v < 0 ? 0 : v > 255 ? 255 : Math.round(v); }

export function ybrFullToRgb(src: Uint8Array | Uint16Array | Int16Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const y = src[3 * i]!; const cb = src[3 * i + 1]! - 128; const cr = src[3 * i + 2]! - 128;
    out[3 * i] = clamp8(y + 1.402 * cr);
    out[3 * i + 1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
    out[3 * i + 2] = clamp8(y + 1.772 * cb);
  }
  return out;
}

/** Native YBR_FULL_422: each pair of pixels is stored Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2). */
export function ybr422ToYbrFull(src: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  let s = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x += 2) {
      const y1 = src[s]!; const y2 = src[s + 1]!; const cb = src[s + 2]!; const cr = src[s + 3]!;
      s += 4;
      const o = (y * width + x) * 3;
      out[o] = y1; out[o + 1] = cb; out[o + 2] = cr;
      if (x + 1 < width) { out[o + 3] = y2; out[o + 4] = cb; out[o + 5] = cr; }
    }
  }
  return out;
}

/** Colour-by-plane (PlanarConfiguration 1, or a codec's planar output) to pixel-interleaved samples. */
export function planarToInterleaved<T extends Uint8Array | Uint16Array | Int16Array>(src: T, pixels: number, spp: number): T {
  const out = new (src.constructor as { new (n: number): T })(pixels * spp);
  for (let c = 0; c < spp; c++) {
    const base = c * pixels;
    for (let i = 0; i < pixels; i++) out[i * spp + c] = src[base + i]!;
  }
  return out;
}
