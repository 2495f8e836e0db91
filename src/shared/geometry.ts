/**
 * Box and point geometry shared by host, CLI and webview. Two box conventions meet here:
 * COCO [x, y, w, h] (dataset files) and corner form [x1, y1, x2, y2] (models, IoU, drawing).
 */

export type XYWH = [number, number, number, number];
export type XYXY = [number, number, number, number];

export function xywhToXyxy(b: readonly number[]): XYXY {
  return [b[0]!, b[1]!, b[0]! + b[2]!, b[1]! + b[3]!];
}

export function xyxyToXywh(b: readonly number[]): XYWH {
  return [b[0]!, b[1]!, b[2]! - b[0]!, b[3]! - b[1]!];
}

/** Intersection over union of two corner-form boxes; 0 when either is empty. */
export function iouXyxy(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!);
  const ih = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const ua = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return ua > 0 ? inter / ua : 0;
}

/** Clamps a corner-form box to [0, width] x [0, height]. */
export function clampXyxy(b: readonly number[], width: number, height: number): XYXY {
  const c = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return [c(b[0]!, width), c(b[1]!, height), c(b[2]!, width), c(b[3]!, height)];
}

/**
 * Letterboxing: an image of srcWidth x srcHeight is scaled by one factor s = size / max(w, h) to fit a
 * size x size square, the rest padded. The model sees the square; points go in and boxes come out in its
 * [0, 1] space. PointBox's trainer (models/README.md) puts the image at the top-left corner, so that is
 * the default; 'center' is there for models trained the other way.
 */
export interface Letterbox {
  srcWidth: number;
  srcHeight: number;
  size: number;
  /** Model pixels per source pixel. */
  scale: number;
  /** Left/top padding in model pixels. */
  padX: number;
  padY: number;
}

export function letterbox(srcWidth: number, srcHeight: number, size: number, align: 'top-left' | 'center' = 'top-left'): Letterbox {
  if (!(srcWidth > 0 && srcHeight > 0 && size > 0)) throw new RangeError(`letterbox: bad sizes ${srcWidth}x${srcHeight} -> ${size}`);
  const scale = size / Math.max(srcWidth, srcHeight);
  if (align === 'top-left') return { srcWidth, srcHeight, size, scale, padX: 0, padY: 0 };
  return { srcWidth, srcHeight, size, scale, padX: (size - srcWidth * scale) / 2, padY: (size - srcHeight * scale) / 2 };
}

/** Source-pixel point -> normalized [0, 1] model coordinates. */
export function pointToModel(lb: Letterbox, x: number, y: number): [number, number] {
  return [(x * lb.scale + lb.padX) / lb.size, (y * lb.scale + lb.padY) / lb.size];
}

/** Normalized [0, 1] model corner box -> source-pixel corner box, clamped to the image. */
export function boxFromModel(lb: Letterbox, b: readonly number[]): XYXY {
  const f = (v: number, pad: number) => (v * lb.size - pad) / lb.scale;
  return clampXyxy([f(b[0]!, lb.padX), f(b[1]!, lb.padY), f(b[2]!, lb.padX), f(b[3]!, lb.padY)], lb.srcWidth, lb.srcHeight);
}
