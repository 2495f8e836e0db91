/**
 * Turns a decoded image into the model's input exactly as the trainer does (models/pbc_trainer/data.py,
 * documented in models/README.md): grey values after the Modality LUT (RGB -> luma), MONOCHROME1 inverted
 * so lesions are bright, per-image min-max to [0, 1], antialiased bilinear resize by s = S / max(w, h)
 * into an S x S canvas (top-left, zero padding), then (v - mean) / std over the whole canvas.
 *
 * Fast path (issue 13): for grey images with a linear Modality LUT (rescale slope/intercept: every CR/DX
 * and every grey PNG/JPEG) everything after the resize is affine per pixel, and the resize weights sum to
 * one, so rescale, inversion, min-max and mean/std commute with the resize. `prepareModelImage` therefore
 * resizes the stored values straight from the decoder's integer array (horizontal pass, with the min/max
 * taken from the same row while it is in cache), then the small vertical pass, and applies the one affine
 * map to the S x S result: the full-resolution pixels are read once and no full-size float copy is made.
 * Same taps as before (`weights` of imaging/letterbox), sums in double precision: the output matches the
 * step-by-step reference (`prepareModelImageReference`) to float rounding (test/unit/inference/modelInputFast.test.ts).
 * LUT modality transforms and colour images take the reference path.
 */
import type { DecodedImage } from '../imaging/DecodedImage';
import { modalityValues } from '../imaging/greyPipeline';
import { resizeGrey, weights, type Weights } from '../imaging/letterbox';
import { letterbox, type Letterbox } from '../../shared/geometry';
import type { ModelNormalization } from './modelContract';

export interface ModelImage {
  /** S*S float32, normalized. */
  data: Float32Array;
  lb: Letterbox;
}

/** Grey values in [0, 1] the way the trainer reads them. */
export function greyUnit(img: DecodedImage): Float32Array {
  const n = img.width * img.height;
  let grey: Float32Array;
  if (img.samplesPerPixel === 3) {
    grey = new Float32Array(n);
    const d = img.data;
    for (let i = 0; i < n; i++) grey[i] = 0.299 * d[3 * i]! + 0.587 * d[3 * i + 1]! + 0.114 * d[3 * i + 2]!;
  } else {
    grey = modalityValues(img);
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) { const v = grey[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
  const invert = img.photometric === 'MONOCHROME1';
  if (!(hi > lo)) return new Float32Array(n);
  const k = 1 / (hi - lo);
  for (let i = 0; i < n; i++) grey[i] = invert ? (hi - grey[i]!) * k : (grey[i]! - lo) * k;
  return grey;
}

/** The step-by-step path: full-size grey float image, min-max, resize, normalize. Reference for the fast path, and the path for LUT / colour images. */
export function prepareModelImageReference(img: DecodedImage, size: number, norm: ModelNormalization): ModelImage {
  const lb = letterbox(img.width, img.height, size, norm.letterbox);
  const grey = greyUnit(img);
  const cw = Math.max(1, Math.round(img.width * lb.scale));
  const ch = Math.max(1, Math.round(img.height * lb.scale));
  const resized = resizeGrey(grey, img.width, img.height, cw, ch);
  const ox = Math.round(lb.padX);
  const oy = Math.round(lb.padY);
  const data = new Float32Array(size * size).fill((0 - norm.mean) / norm.std);
  const inv = 1 / norm.std;
  for (let y = 0; y < ch; y++) {
    const o = (y + oy) * size + ox;
    const r = y * cw;
    for (let x = 0; x < cw; x++) data[o + x] = (resized[r + x]! - norm.mean) * inv;
  }
  return { data, lb };
}

const weightCache = new Map<string, Weights>();
function cachedWeights(src: number, dst: number): Weights {
  const k = `${src}>${dst}`;
  let w = weightCache.get(k);
  if (!w) {
    if (weightCache.size > 64) weightCache.clear();
    weightCache.set(k, (w = weights(src, dst)));
  }
  return w;
}

export function prepareModelImage(img: DecodedImage, size: number, norm: ModelNormalization): ModelImage {
  if (img.samplesPerPixel !== 1 || img.modality.kind !== 'rescale') return prepareModelImageReference(img, size, norm);
  const W = img.width; const H = img.height;
  const d = img.data;
  if (d.length < W * H) return prepareModelImageReference(img, size, norm);
  const lb = letterbox(W, H, size, norm.letterbox);
  const cw = Math.max(1, Math.round(W * lb.scale));
  const ch = Math.max(1, Math.round(H * lb.scale));
  const { tmp: V, ky, lo, hi } = verticalPass(d, W, H, ch);
  const res = new Float64Array(cw * ch);
  const kx = horizontalPass(V, W, ch, cw, res);
  const K = 1 / (ky * kx);
  // One affine map: stored -> modality (slope, intercept) -> [0, 1] (min-max, MONOCHROME1 inverted) -> (v - mean) / std.
  const { slope, intercept } = img.modality;
  const mlo = Math.min(lo * slope + intercept, hi * slope + intercept);
  const mhi = Math.max(lo * slope + intercept, hi * slope + intercept);
  const inv = 1 / norm.std;
  const data = new Float32Array(size * size).fill((0 - norm.mean) * inv);
  if (!(mhi > mlo)) return { data, lb };
  const k = 1 / (mhi - mlo);
  // unit = a * stored + b
  const invert = img.photometric === 'MONOCHROME1';
  const a = (invert ? -slope : slope) * k;
  const b = invert ? (mhi - intercept) * k : (intercept - mlo) * k;
  const ox = Math.round(lb.padX); const oy = Math.round(lb.padY);
  for (let y = 0; y < ch; y++) {
    const o = (y + oy) * size + ox; const r = y * cw;
    for (let x = 0; x < cw; x++) data[o + x] = (a * (res[r + x]! * K) + b - norm.mean) * inv;
  }
  return { data, lb };
}

/**
 * The even integer factor f when `src` = f * `dst` (the antialiased triangle's taps are then the same for every
 * inner output: 1, 3, ..., 2f-1, 2f-1, ..., 3, 1 over 2f samples, divided by 2f^2), else 0.
 */
function evenFactor(src: number, dst: number): number {
  const f = src / dst;
  return Number.isInteger(f) && f >= 2 && f % 2 === 0 && dst >= 3 ? f : 0;
}

/*
 * Exact integer-factor reduction. Split the source into groups of f samples, group g = [f*g - f/2, f*g + f/2).
 * With S_g = sum of the group and R_g = sum of j * x_j (j = 0..f-1 inside the group), inner output i is
 *   sum_j (2j+1) x_{g=i, j} + sum_j (2f-1-2j) x_{g=i+1, j} = (2 R_i + S_i) + ((2f-1) S_{i+1} - 2 R_{i+1}),
 * i.e. an area reduction (S) and its first moment (R), then a two-tap filter: each sample is read once and
 * costs two additions instead of two multiply-adds per output it touches. Outputs 0 and n-1 (whose taps are
 * cut by the border and renormalized) use the general weights, scaled to the same units (x 2f^2).
 */

/** Vertical pass from the stored values, with the min/max of every sample. Returns ch x W rows in units of 1/ky. */
function verticalPass(d: ArrayLike<number>, W: number, H: number, ch: number): { tmp: Float64Array; ky: number; lo: number; hi: number } {
  const tmp = new Float64Array(W * ch);
  // Start from a sample (not +-Infinity) so the comparisons stay on small integers.
  let lo = d[0]!; let hi = lo;
  const f = evenFactor(H, ch);
  if (f) {
    const half = f / 2; const twoF1 = 2 * f - 1; const ky = 2 * f * f;
    for (let g = 1; g < ch; g++) {
      const r0 = (f * g - half) * W;
      const oa = g * W; const ob = (g - 1) * W;
      const toA = g < ch - 1; const toB = g > 1;
      if (f === 4) {
        // The common case (1024 -> 256, 2048 -> 512) unrolled: suffix sums give S and R in five additions.
        const r1 = r0 + W; const r2 = r1 + W; const r3 = r2 + W;
        for (let x = 0; x < W; x++) {
          const x0 = d[r0 + x]!; const x1 = d[r1 + x]!; const x2 = d[r2 + x]!; const x3 = d[r3 + x]!;
          // One predictable branch per sample and bound (comparing samples with each other mispredicts on noise).
          if (x0 < lo) lo = x0;
          if (x0 > hi) hi = x0;
          if (x1 < lo) lo = x1;
          if (x1 > hi) hi = x1;
          if (x2 < lo) lo = x2;
          if (x2 > hi) hi = x2;
          if (x3 < lo) lo = x3;
          if (x3 > hi) hi = x3;
          const a = x3; const b = a + x2; const c = b + x1; const S = c + x0; const R = a + b + c;
          if (toA) tmp[oa + x] = tmp[oa + x]! + 2 * R + S;
          if (toB) tmp[ob + x] = tmp[ob + x]! + 7 * S - 2 * R;
        }
        continue;
      }
      for (let x = 0; x < W; x++) {
        let S = 0; let R = 0;
        for (let j = 0, i = r0 + x; j < f; j++, i += W) {
          const v = d[i]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
          S += v; R += j * v;
        }
        if (toA) tmp[oa + x] = tmp[oa + x]! + 2 * R + S;
        if (toB) tmp[ob + x] = tmp[ob + x]! + twoF1 * S - 2 * R;
      }
    }
    // The first and last half groups: only the border outputs read them.
    for (const [a, b] of [[0, half * W], [(H - half) * W, H * W]] as const) {
      for (let i = a; i < b; i++) { const v = d[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
    }
    const wy = cachedWeights(H, ch);
    for (const y of [0, ch - 1]) {
      const s = wy.start[y]!; const c = wy.count[y]!; const base = y * wy.taps; const o = y * W;
      for (let k = 0; k < c; k++) {
        const wk = wy.w[base + k]! * ky; const r = (s + k) * W;
        for (let x = 0; x < W; x++) tmp[o + x] = tmp[o + x]! + d[r + x]! * wk;
      }
    }
    return { tmp, ky, lo, hi };
  }
  // General scale: each output row is a weighted sum of a few whole source rows (a contiguous multiply-add,
  // the tightest loop V8 makes); min/max over all rows in the same sweep order, each row once.
  const wy = cachedWeights(H, ch);
  let scanned = 0;
  for (let y = 0; y < ch; y++) {
    const s = wy.start[y]!; const c = wy.count[y]!; const base = y * wy.taps; const o = y * W;
    for (let k = 0; k < c; k++) {
      const r = (s + k) * W;
      for (; scanned <= s + k; scanned++) {
        for (let i = scanned * W, e = i + W; i < e; i++) { const v = d[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
      }
      const wk = wy.w[base + k]!;
      for (let x = 0; x < W; x++) tmp[o + x] = tmp[o + x]! + d[r + x]! * wk;
    }
  }
  for (; scanned < H; scanned++) {
    for (let i = scanned * W, e = i + W; i < e; i++) { const v = d[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
  }
  return { tmp, ky: 1, lo, hi };
}

/** Horizontal pass of the ch x W rows into ch x cw (res, zeroed). Returns the units factor kx. */
function horizontalPass(V: Float64Array, W: number, ch: number, cw: number, res: Float64Array): number {
  const wx = cachedWeights(W, cw);
  const f = evenFactor(W, cw);
  const kx = f ? 2 * f * f : 1;
  const half = f / 2; const twoF1 = 2 * f - 1;
  for (let y = 0; y < ch; y++) {
    const row = y * W; const o = y * cw;
    if (f) {
      for (let g = 1; g < cw; g++) {
        let S = 0; let R = 0;
        for (let j = 0, i = row + f * g - half; j < f; j++, i++) { const v = V[i]!; S += v; R += j * v; }
        if (g < cw - 1) res[o + g] = res[o + g]! + 2 * R + S;
        if (g > 1) res[o + g - 1] = res[o + g - 1]! + twoF1 * S - 2 * R;
      }
    }
    for (let x = 0; x < cw; x++) {
      if (f && x !== 0 && x !== cw - 1) continue;
      const s = row + wx.start[x]!; const c = wx.count[x]!; const base = x * wx.taps;
      let acc = 0;
      for (let k = 0; k < c; k++) acc += V[s + k]! * wx.w[base + k]!;
      res[o + x] = acc * kx;
    }
  }
  return kx;
}
