/**
 * The CXR viewer's geometry, kept out of the DOM code so it runs (and is unit-tested) in plain Node:
 * the screen<->image transform for zoom and pan, hit testing of boxes, handles and points, box drag and
 * resize with clamping, and the window/level drag mapping.
 *
 * Coordinates: image coordinates are continuous pixels with the origin at the top-left corner of the
 * top-left pixel (pixel (i, j) covers [i, i+1) x [j, j+1)), the convention of COCO boxes [x, y, w, h].
 * Screen coordinates are CSS pixels relative to the canvas element. screen = image * scale + (tx, ty).
 */

export interface ViewTransform {
  /** Screen pixels per image pixel. */
  scale: number;
  tx: number;
  ty: number;
}

export type Vec2 = [number, number];
/** [x, y, width, height] in image pixels, as COCO. */
export type Box = [number, number, number, number];

export const MIN_SCALE = 1 / 64;
export const MAX_SCALE = 64;

export function screenToImage(v: ViewTransform, sx: number, sy: number): Vec2 {
  return [(sx - v.tx) / v.scale, (sy - v.ty) / v.scale];
}

export function imageToScreen(v: ViewTransform, ix: number, iy: number): Vec2 {
  return [ix * v.scale + v.tx, iy * v.scale + v.ty];
}

/** The whole image in the view, centred, with `margin` screen pixels around it. */
export function fitTransform(imageW: number, imageH: number, viewW: number, viewH: number, margin = 8): ViewTransform {
  const availW = Math.max(1, viewW - 2 * margin);
  const availH = Math.max(1, viewH - 2 * margin);
  const scale = clampScale(Math.min(availW / Math.max(1, imageW), availH / Math.max(1, imageH)));
  return { scale, tx: (viewW - imageW * scale) / 2, ty: (viewH - imageH * scale) / 2 };
}

/** One image pixel per screen pixel, keeping the image point under the view centre where it is. */
export function oneToOneTransform(v: ViewTransform, viewW: number, viewH: number): ViewTransform {
  return zoomAround(v, viewW / 2, viewH / 2, 1 / v.scale);
}

export function clampScale(s: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, s));
}

/** Zoom by `factor` keeping the image point under (sx, sy) fixed on screen (wheel zoom around the cursor). */
export function zoomAround(v: ViewTransform, sx: number, sy: number, factor: number): ViewTransform {
  const scale = clampScale(v.scale * factor);
  const [ix, iy] = screenToImage(v, sx, sy);
  return { scale, tx: sx - ix * scale, ty: sy - iy * scale };
}

/** Wheel delta (pixels, as WheelEvent.deltaY with deltaMode 0) to a zoom factor: smooth for trackpads, ~1.16x per mouse notch. */
export function wheelZoomFactor(deltaY: number): number {
  return Math.exp(-Math.max(-500, Math.min(500, deltaY)) * 0.0015);
}

export function panBy(v: ViewTransform, dx: number, dy: number): ViewTransform {
  return { scale: v.scale, tx: v.tx + dx, ty: v.ty + dy };
}

/** Pans so the image point (ix, iy) sits at the centre of the view (used by "next pending"). */
export function centreOn(v: ViewTransform, ix: number, iy: number, viewW: number, viewH: number): ViewTransform {
  return { scale: v.scale, tx: viewW / 2 - ix * v.scale, ty: viewH / 2 - iy * v.scale };
}

export function clampPoint(p: Vec2, imageW: number, imageH: number): Vec2 {
  return [Math.min(imageW, Math.max(0, p[0])), Math.min(imageH, Math.max(0, p[1]))];
}

/** The box spanned by two drag corners, both clamped to the image. */
export function boxFromCorners(a: Vec2, b: Vec2, imageW: number, imageH: number): Box {
  const [ax, ay] = clampPoint(a, imageW, imageH);
  const [bx, by] = clampPoint(b, imageW, imageH);
  return [Math.min(ax, bx), Math.min(ay, by), Math.abs(bx - ax), Math.abs(by - ay)];
}

/** Translates a box, stopping at the image border (the box keeps its size; it never leaves the image). */
export function moveBox(box: Box, dx: number, dy: number, imageW: number, imageH: number): Box {
  const w = Math.min(box[2], imageW);
  const h = Math.min(box[3], imageH);
  const x = Math.min(imageW - w, Math.max(0, box[0] + dx));
  const y = Math.min(imageH - h, Math.max(0, box[1] + dy));
  return [x, y, w, h];
}

export type Corner = 'nw' | 'ne' | 'sw' | 'se';
export const CORNERS: readonly Corner[] = ['nw', 'ne', 'sw', 'se'];

export function cornerOf(box: Box, c: Corner): Vec2 {
  return [c === 'nw' || c === 'sw' ? box[0] : box[0] + box[2], c === 'nw' || c === 'ne' ? box[1] : box[1] + box[3]];
}

/**
 * Drags corner `c` of `box` to image point `p`; the opposite corner stays put. The dragged corner is
 * clamped to the image and cannot cross the opposite corner closer than `minSize` pixels (a resize never
 * flips or collapses the box, so the handle under the cursor stays the same handle).
 */
export function resizeBox(box: Box, c: Corner, p: Vec2, imageW: number, imageH: number, minSize = 2): Box {
  const left = c === 'nw' || c === 'sw';
  const top = c === 'nw' || c === 'ne';
  const fixedX = left ? box[0] + box[2] : box[0];
  const fixedY = top ? box[1] + box[3] : box[1];
  let [px, py] = clampPoint(p, imageW, imageH);
  if (left) px = Math.min(px, fixedX - minSize); else px = Math.max(px, fixedX + minSize);
  if (top) py = Math.min(py, fixedY - minSize); else py = Math.max(py, fixedY + minSize);
  // minSize may push the corner past the border of a tiny image: clamp again, keeping what fits.
  [px, py] = clampPoint([px, py], imageW, imageH);
  return [Math.min(px, fixedX), Math.min(py, fixedY), Math.abs(fixedX - px), Math.abs(fixedY - py)];
}

// ---- hit testing ----

export interface HitBox { id: number; box: Box }
export interface HitPoint { id: number; point: Vec2 }

export type Hit =
  | { kind: 'handle'; id: number; corner: Corner }
  | { kind: 'point'; id: number }
  | { kind: 'box'; id: number; part: 'edge' | 'inside' }
  | { kind: 'pseudo'; id: number; part: 'edge' | 'inside' };

export interface HitTestInput {
  /** Annotation boxes. */
  boxes: readonly HitBox[];
  /** Annotation points (clicks), including those that belong to a box. */
  points: readonly HitPoint[];
  /** Pseudo-boxes (as shown: the edited box when there is one). */
  pseudo: readonly HitBox[];
  /** The selected annotation box, whose corner handles are live. */
  selectedBoxId?: number;
}

function distToBoxEdge(b: Box, x: number, y: number): number {
  const [x0, y0, w, h] = b;
  const x1 = x0 + w; const y1 = y0 + h;
  const inside = x >= x0 && x <= x1 && y >= y0 && y <= y1;
  if (inside) return Math.min(x - x0, x1 - x, y - y0, y1 - y);
  const dx = Math.max(x0 - x, 0, x - x1);
  const dy = Math.max(y0 - y, 0, y - y1);
  return Math.hypot(dx, dy);
}

function insideBox(b: Box, x: number, y: number): boolean {
  return x >= b[0] && x <= b[0] + b[2] && y >= b[1] && y <= b[1] + b[3];
}

/**
 * What is under image point (x, y). Tolerances are in screen pixels (converted with `scale`), so handles
 * and points are as easy to grab zoomed out as zoomed in. Priority: handles of the selected box, then
 * points (they sit inside boxes and would be unreachable otherwise), then box edges, then the smallest
 * box containing the point (nested lesions), then pseudo-boxes the same way.
 */
export function hitTest(input: HitTestInput, x: number, y: number, scale: number, tolerancePx = 6): Hit | undefined {
  const tol = tolerancePx / scale;
  if (input.selectedBoxId !== undefined) {
    const sel = input.boxes.find((b) => b.id === input.selectedBoxId);
    if (sel) {
      for (const c of CORNERS) {
        const [cx, cy] = cornerOf(sel.box, c);
        if (Math.abs(cx - x) <= tol && Math.abs(cy - y) <= tol) return { kind: 'handle', id: sel.id, corner: c };
      }
    }
  }
  let best: { id: number; d: number } | undefined;
  for (const p of input.points) {
    const d = Math.hypot(p.point[0] - x, p.point[1] - y);
    if (d <= tol && (!best || d < best.d)) best = { id: p.id, d };
  }
  if (best) return { kind: 'point', id: best.id };
  const boxHit = (list: readonly HitBox[]): { id: number; part: 'edge' | 'inside' } | undefined => {
    let edge: { id: number; d: number } | undefined;
    for (const b of list) {
      const d = distToBoxEdge(b.box, x, y);
      if (d <= tol && (!edge || d < edge.d)) edge = { id: b.id, d };
    }
    if (edge) return { id: edge.id, part: 'edge' };
    let inner: { id: number; area: number } | undefined;
    for (const b of list) {
      if (!insideBox(b.box, x, y)) continue;
      const area = b.box[2] * b.box[3];
      if (!inner || area < inner.area) inner = { id: b.id, area };
    }
    return inner ? { id: inner.id, part: 'inside' } : undefined;
  };
  const a = boxHit(input.boxes);
  if (a) return { kind: 'box', ...a };
  const p = boxHit(input.pseudo);
  if (p) return { kind: 'pseudo', ...p };
  return undefined;
}

// ---- window / level ----

export interface WindowLevel { center: number; width: number }

/**
 * Right-drag window/level, the radiology convention: horizontal drag changes the width (right = wider,
 * less contrast), vertical drag the level (down = higher centre, darker image). `range` is the span of
 * modality values in the image, so a drag across a 512-pixel view covers about the whole range whatever
 * the bit depth.
 */
export function windowLevelDrag(start: WindowLevel, dx: number, dy: number, range: number): WindowLevel {
  const perPx = Math.max(range, 1) / 512;
  return { center: start.center + dy * perPx, width: Math.max(1, start.width + dx * perPx) };
}

/** The id after `current` in `ids` (wrapping), or the first id when `current` is not among them. */
export function nextInCycle(ids: readonly number[], current: number | undefined): number | undefined {
  if (ids.length === 0) return undefined;
  const i = current === undefined ? -1 : ids.indexOf(current);
  return ids[(i + 1) % ids.length];
}
