/**
 * A reduced-resolution copy of a decoded image, for the viewer's first paint of a big file (issue 13): the
 * host decodes the file in a worker while the webview starts, and posts this copy (about 1 MB for a
 * 2500x3000 radiograph instead of 15 MB of stored values) before the full bytes.
 *
 * It stays a DecodedImage (stored values, same Modality LUT, VOI windows and LUTs, photometric), so the
 * viewer's own display pipeline renders it and its default window is the one the full image gets: the
 * switch to full resolution changes sharpness, not brightness. Stored values are box means over f x f
 * blocks (f an integer, the edge blocks over the pixels they have), rounded to the nearest integer, which
 * is the area reduction of the values, not of the windowed display.
 */
import type { DecodedImage, StoredArray } from './DecodedImage';

export interface ReducedImage {
  /** The reduced image; width and height are ceil(full / factor). */
  image: DecodedImage;
  /** Integer reduction factor (1: the image was already small enough and is returned as it is). */
  factor: number;
  fullWidth: number;
  fullHeight: number;
}

/** The smallest integer factor that brings the longer side to at most `maxSide`. */
export function reductionFactor(width: number, height: number, maxSide: number): number {
  if (!(maxSide >= 1)) throw new RangeError(`maxSide must be >= 1 (got ${maxSide})`);
  return Math.max(1, Math.ceil(Math.max(width, height) / maxSide));
}

/** Box-mean reduction of `img` (first frame as decoded) so that its longer side is at most `maxSide`. */
export function reduceImage(img: DecodedImage, maxSide: number): ReducedImage {
  const f = reductionFactor(img.width, img.height, maxSide);
  const full = { fullWidth: img.width, fullHeight: img.height };
  if (f === 1) return { image: img, factor: 1, ...full };
  const spp = img.samplesPerPixel;
  const w = Math.ceil(img.width / f);
  const h = Math.ceil(img.height / f);
  const src = img.data;
  const out = new (src.constructor as new (n: number) => StoredArray)(w * h * spp);
  // One row of sums per output row: reads the source once, in order.
  const sums = new Float64Array(w * spp);
  for (let oy = 0; oy < h; oy++) {
    sums.fill(0);
    const y0 = oy * f;
    const y1 = Math.min(img.height, y0 + f);
    for (let y = y0; y < y1; y++) {
      let i = y * img.width * spp;
      for (let x = 0; x < img.width; x++) {
        const o = Math.floor(x / f) * spp;
        for (let s = 0; s < spp; s++) sums[o + s]! += src[i++]!;
      }
    }
    const rows = y1 - y0;
    for (let ox = 0; ox < w; ox++) {
      const n = rows * (Math.min(img.width, (ox + 1) * f) - ox * f);
      for (let s = 0; s < spp; s++) out[(oy * w + ox) * spp + s] = Math.round(sums[ox * spp + s]! / n);
    }
  }
  return {
    image: { ...img, width: w, height: h, data: out, frames: 1, frameIndex: 0, header: undefined, pixelSpacing: img.pixelSpacing ? [img.pixelSpacing[0] * f, img.pixelSpacing[1] * f] : null },
    factor: f,
    ...full,
  };
}
