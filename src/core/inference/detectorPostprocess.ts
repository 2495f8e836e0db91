/**
 * The detector's post-processing, the TypeScript twin of models/pbc_trainer/detector.py `postprocess` (and of
 * torchvision's FCOS.postprocess_detections): per FPN level, the (location, class) scores above the
 * threshold, the best `topkCandidates` of them (ties: lower index first); then greedy NMS per class over all
 * levels (a box whose IoU with a kept box of its class is > nmsIou is dropped); the best `detectionsPerImage`.
 * The reference I/O the trainer writes beside every exported detector checks that both give the same boxes.
 */
import type { DetectorPostprocessParams } from './detectorContract';

export interface RawDetection {
  /** x1, y1, x2, y2 in [0, 1] of the model input. */
  box: [number, number, number, number];
  score: number;
  /** Index into the model's classes. */
  classIndex: number;
}

function iou(b: Float32Array | number[], i: number, j: number): number {
  const iw = Math.min(b[i * 4 + 2]!, b[j * 4 + 2]!) - Math.max(b[i * 4]!, b[j * 4]!);
  const ih = Math.min(b[i * 4 + 3]!, b[j * 4 + 3]!) - Math.max(b[i * 4 + 1]!, b[j * 4 + 1]!);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const a = Math.max(0, b[i * 4 + 2]! - b[i * 4]!) * Math.max(0, b[i * 4 + 3]! - b[i * 4 + 1]!);
  const c = Math.max(0, b[j * 4 + 2]! - b[j * 4]!) * Math.max(0, b[j * 4 + 3]! - b[j * 4 + 1]!);
  const u = a + c - inter;
  return u > 0 ? inter / u : 0;
}

/**
 * One image's detections from its dense outputs: `boxes` [A*4] and `scores` [A*C] (row-major, this image's
 * slice of the batch). `A` must equal the sum of `p.levels`.
 */
export function postprocessDetections(boxes: Float32Array, scores: Float32Array, numClasses: number, p: DetectorPostprocessParams): RawDetection[] {
  const C = numClasses;
  const A = p.levels.reduce((a, b) => a + b, 0);
  if (boxes.length !== A * 4 || scores.length !== A * C) throw new RangeError(`detector outputs: ${boxes.length / 4} boxes and ${scores.length} scores do not fit ${A} locations x ${C} classes`);
  // Candidates: flat index (location * C + class) within the image, as in the trainer.
  const candLoc: number[] = [];
  const candScore: number[] = [];
  const candClass: number[] = [];
  let start = 0;
  for (const n of p.levels) {
    const idx: number[] = [];
    const base = start * C;
    for (let k = 0; k < n * C; k++) if (scores[base + k]! > p.scoreThreshold) idx.push(k);
    if (idx.length > p.topkCandidates) {
      idx.sort((a, b) => scores[base + b]! - scores[base + a]! || a - b);
      idx.length = p.topkCandidates;
    }
    for (const k of idx) {
      candLoc.push(start + Math.floor(k / C));
      candScore.push(scores[base + k]!);
      candClass.push(k % C);
    }
    start += n;
  }
  const M = candLoc.length;
  const cb = new Float32Array(M * 4);
  for (let i = 0; i < M; i++) cb.set(boxes.subarray(candLoc[i]! * 4, candLoc[i]! * 4 + 4), i * 4);
  // Greedy NMS within each class: by score, ties by candidate order.
  const order = Array.from({ length: M }, (_, i) => i).sort((a, b) => candScore[b]! - candScore[a]! || a - b);
  const suppressed = new Uint8Array(M);
  const keep: number[] = [];
  for (const i of order) {
    if (suppressed[i]) continue;
    keep.push(i);
    for (const j of order) {
      if (!suppressed[j] && j !== i && candClass[j] === candClass[i] && iou(cb, i, j) > p.nmsIou) suppressed[j] = 1;
    }
  }
  // keep is already in descending score order (ties by candidate order), as the trainer sorts it.
  return keep.slice(0, p.detectionsPerImage).map((i) => ({
    box: [cb[i * 4]!, cb[i * 4 + 1]!, cb[i * 4 + 2]!, cb[i * 4 + 3]!] as [number, number, number, number],
    score: candScore[i]!, classIndex: candClass[i]!,
  }));
}
