/**
 * COCO-style box evaluation for point->box models: AP at IoU 0.5 (PBC's headline number) and mAP over
 * IoU 0.50:0.05:0.95, overall (mean over classes that have ground truth) and per class.
 *
 * Follows pycocotools' protocol (it is not installable here, so the algorithm is re-implemented and tested
 * on cases whose AP can be worked out by hand): per class, detections sorted by score (stable), each
 * matched greedily to the unmatched ground-truth box of the same image with the highest IoU >= threshold;
 * precision made monotone, then sampled at 101 recall points.
 */
import { iouXyxy } from '../../shared/geometry';

export interface EvalGroundTruth {
  imageId: number;
  classId: number;
  /** Corner form, pixels. */
  box: readonly number[];
}

export interface EvalDetection extends EvalGroundTruth {
  score: number;
}

export interface ClassResult {
  classId: number;
  ap50: number;
  ap75: number;
  map: number;
  groundTruth: number;
  detections: number;
}

export interface EvaluationResult {
  ap50: number;
  ap75: number;
  /** COCO mAP@[.5:.95]. */
  map: number;
  perClass: ClassResult[];
  /** Mean IoU of each ground truth with its best detection of the same class and image (a point->box diagnostic). */
  meanBestIou: number;
}

export const COCO_IOU_THRESHOLDS = Array.from({ length: 10 }, (_, i) => (50 + 5 * i) / 100);
const RECALL_POINTS = Array.from({ length: 101 }, (_, i) => i / 100);

/** AP of one class at one IoU threshold. Returns NaN when the class has no ground truth. */
export function averagePrecision(gts: readonly EvalGroundTruth[], dets: readonly EvalDetection[], iouThreshold: number): number {
  if (gts.length === 0) return NaN;
  const byImage = new Map<number, { box: readonly number[]; used: boolean }[]>();
  for (const g of gts) {
    let list = byImage.get(g.imageId);
    if (!list) byImage.set(g.imageId, (list = []));
    list.push({ box: g.box, used: false });
  }
  const order = dets.map((d, i) => i).sort((a, b) => dets[b]!.score - dets[a]!.score || a - b);
  const tp = new Float64Array(order.length);
  order.forEach((di, k) => {
    const d = dets[di]!;
    const cands = byImage.get(d.imageId);
    if (!cands) return;
    let best = -1;
    let bestIou = Math.min(iouThreshold, 1 - 1e-10);
    cands.forEach((g, gi) => {
      if (g.used) return;
      const iou = iouXyxy(d.box, g.box);
      if (iou >= bestIou) { bestIou = iou; best = gi; }
    });
    if (best >= 0) { cands[best]!.used = true; tp[k] = 1; }
  });
  const precision: number[] = [];
  const recall: number[] = [];
  let ctp = 0;
  for (let k = 0; k < order.length; k++) {
    ctp += tp[k]!;
    precision.push(ctp / (k + 1));
    recall.push(ctp / gts.length);
  }
  for (let k = precision.length - 2; k >= 0; k--) precision[k] = Math.max(precision[k]!, precision[k + 1]!);
  let sum = 0;
  let k = 0;
  for (const r of RECALL_POINTS) {
    while (k < recall.length && recall[k]! < r) k++;
    sum += k < precision.length ? precision[k]! : 0;
  }
  return sum / RECALL_POINTS.length;
}

export function evaluateBoxes(gts: readonly EvalGroundTruth[], dets: readonly EvalDetection[]): EvaluationResult {
  const classes = [...new Set(gts.map((g) => g.classId))].sort((a, b) => a - b);
  const perClass: ClassResult[] = classes.map((c) => {
    const g = gts.filter((x) => x.classId === c);
    const d = dets.filter((x) => x.classId === c);
    const aps = COCO_IOU_THRESHOLDS.map((t) => averagePrecision(g, d, t));
    return { classId: c, ap50: aps[0]!, ap75: aps[5]!, map: aps.reduce((a, b) => a + b, 0) / aps.length, groundTruth: g.length, detections: d.length };
  });
  const mean = (f: (r: ClassResult) => number) => (perClass.length ? perClass.reduce((a, r) => a + f(r), 0) / perClass.length : NaN);
  const detsByImage = new Map<number, EvalDetection[]>();
  for (const d of dets) {
    let list = detsByImage.get(d.imageId);
    if (!list) detsByImage.set(d.imageId, (list = []));
    list.push(d);
  }
  let iouSum = 0;
  for (const g of gts) {
    let best = 0;
    for (const d of detsByImage.get(g.imageId) ?? []) if (d.classId === g.classId) best = Math.max(best, iouXyxy(d.box, g.box));
    iouSum += best;
  }
  return { ap50: mean((r) => r.ap50), ap75: mean((r) => r.ap75), map: mean((r) => r.map), perClass, meanBestIou: gts.length ? iouSum / gts.length : NaN };
}
