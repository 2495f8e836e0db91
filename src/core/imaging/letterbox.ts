/**
 * Resize a grey float32 image into a square S x S canvas keeping its aspect ratio (the rest padded), and
 * return the transform so model coordinates map back to image pixels:
 *   model = image * scale + offset,   image = (model - offset) / scale   (per axis, in pixels).
 * Resampling is separable with a triangle filter widened by 1/scale when shrinking (like PIL's
 * antialiased bilinear), so a 3000 px radiograph shrunk to 512 keeps fine structures instead of aliasing.
 */
export interface LetterboxResult {
  data: Float32Array;
  size: number;
  scale: number;
  offsetX: number;
  offsetY: number;
  /** Size of the image content inside the canvas. */
  contentWidth: number;
  contentHeight: number;
}

/** Resampling taps of one axis: output i reads `count[i]` source samples from `start[i]` with weights `w[i*taps ..]` (summing to 1). */
export interface Weights { start: Int32Array; count: Int32Array; w: Float32Array; taps: number }

export function weights(srcLen: number, dstLen: number): Weights {
  const scale = dstLen / srcLen;
  const support = scale < 1 ? 1 / scale : 1;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(dstLen); const count = new Int32Array(dstLen); const w = new Float32Array(dstLen * taps);
  for (let i = 0; i < dstLen; i++) {
    const center = (i + 0.5) / scale - 0.5;
    const lo = Math.max(0, Math.floor(center - support) + 1);
    const hi = Math.min(srcLen - 1, Math.ceil(center + support) - 1);
    let sum = 0; let n = 0;
    for (let j = lo; j <= hi && n < taps; j++, n++) {
      const x = Math.abs(j - center) / support;
      const v = x < 1 ? 1 - x : 0;
      w[i * taps + n] = v; sum += v;
    }
    if (n === 0 || sum === 0) {
      // Degenerate (destination sample between the first/last source samples): nearest neighbour.
      const j = Math.min(srcLen - 1, Math.max(0, Math.round(center)));
      start[i] = j; count[i] = 1; w[i * taps] = 1; continue;
    }
    for (let k = 0; k < n; k++) w[i * taps + k]! /= sum;
    start[i] = lo; count[i] = n;
  }
  return { start, count, w, taps };
}

/** Separable resize of a single-channel float image. */
export function resizeGrey(src: Float32Array, width: number, height: number, dstW: number, dstH: number): Float32Array {
  const wx = weights(width, dstW); const wy = weights(height, dstH);
  const tmp = new Float32Array(dstW * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < dstW; x++) {
      const s = wx.start[x]!; const c = wx.count[x]!; const base = x * wx.taps;
      let acc = 0;
      for (let k = 0; k < c; k++) acc += src[row + s + k]! * wx.w[base + k]!;
      tmp[y * dstW + x] = acc;
    }
  }
  const out = new Float32Array(dstW * dstH);
  for (let y = 0; y < dstH; y++) {
    const s = wy.start[y]!; const c = wy.count[y]!; const base = y * wy.taps;
    const o = y * dstW;
    for (let k = 0; k < c; k++) {
      const wk = wy.w[base + k]!; const r = (s + k) * dstW;
      for (let x = 0; x < dstW; x++) out[o + x]! += tmp[r + x]! * wk;
    }
  }
  return out;
}

export function letterbox(src: Float32Array, width: number, height: number, size: number, pad = 0): LetterboxResult {
  if (!(width > 0 && height > 0 && size > 0) || src.length < width * height) throw new RangeError(`letterbox: bad input ${width}x${height} -> ${size}`);
  const scale = size / Math.max(width, height);
  const cw = Math.max(1, Math.round(width * scale)); const ch = Math.max(1, Math.round(height * scale));
  const offsetX = Math.floor((size - cw) / 2); const offsetY = Math.floor((size - ch) / 2);
  const resized = resizeGrey(src, width, height, cw, ch);
  const data = new Float32Array(size * size);
  if (pad !== 0) data.fill(pad);
  for (let y = 0; y < ch; y++) data.set(resized.subarray(y * cw, (y + 1) * cw), (y + offsetY) * size + offsetX);
  return { data, size, scale, offsetX, offsetY, contentWidth: cw, contentHeight: ch };
}

/** Map a point from model-input pixels back to source-image pixels. */
export function modelToImage(lb: Pick<LetterboxResult, 'scale' | 'offsetX' | 'offsetY'>, x: number, y: number): [number, number] {
  return [(x - lb.offsetX) / lb.scale, (y - lb.offsetY) / lb.scale];
}

/** Map a point from source-image pixels to model-input pixels. */
export function imageToModel(lb: Pick<LetterboxResult, 'scale' | 'offsetX' | 'offsetY'>, x: number, y: number): [number, number] {
  return [x * lb.scale + lb.offsetX, y * lb.scale + lb.offsetY];
}
