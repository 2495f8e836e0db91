/**
 * Turns a decoded image into the model's input exactly as the trainer does (models/pbc_trainer/data.py,
 * documented in models/README.md): grey values after the Modality LUT (RGB -> luma), MONOCHROME1 inverted
 * so lesions are bright, per-image min-max to [0, 1], antialiased bilinear resize by s = S / max(w, h)
 * into an S x S canvas (top-left, zero padding), then (v - mean) / std over the whole canvas.
 */
import type { DecodedImage } from '../imaging/DecodedImage';
import { modalityValues } from '../imaging/greyPipeline';
import { resizeGrey } from '../imaging/letterbox';
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

export function prepareModelImage(img: DecodedImage, size: number, norm: ModelNormalization): ModelImage {
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
