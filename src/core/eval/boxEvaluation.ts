/**
 * COCO-style box evaluation for point->box models: AP at IoU 0.5 (PBC's headline number) and mAP over
 * IoU 0.50:0.05:0.95, per class and overall. `evaluateBoxes` is the plain detection form (overall = mean
 * over classes); `evaluatePointBoxPredictions` scores point->box queries (one click, one ground truth, one
 * box) with both a box-weighted (micro) and a class-averaged (macro) figure and bootstrap intervals over
 * images, because on real data one class (RSNA's Pneumonia) holds most boxes and a class with one box
 * would otherwise weigh as much as it.
 *
 * Follows pycocotools' protocol (it is not installable here, so the algorithm is re-implemented and tested
 * on cases whose AP can be worked out by hand): per class, detections sorted by score (stable), each
 * matched greedily to the unmatched ground-truth box of the same image with the highest IoU >= threshold;
 * precision made monotone, then sampled at 101 recall points.
 */
import { iouXyxy } from '../../shared/geometry';
import { mulberry32 } from '../dataset/seededRandom';

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

// ---- point->box queries: micro / macro AP, mean IoU, bootstrap intervals over images ----

/**
 * One click on one ground-truth box and what a predictor made of it: the raw record of a point->box
 * evaluation. Every query has exactly one ground-truth box and one predicted box, so lists of these from
 * different runs (k-fold: each fold's model on its held-out images) can be concatenated and evaluated as
 * one set by `evaluatePointBoxPredictions`.
 */
export interface PointBoxPrediction {
  /** Image id in the dataset; pooled lists must come from the same dataset (ids are the matching key). */
  imageId: number;
  /** The image's file name, for reports. */
  file?: string;
  className: string;
  annotationId?: number;
  /** Click replicate: the seed of the click (0 for a stored click). Matching stays within (image, seed). */
  seed: number;
  point: [number, number];
  /** Ground-truth box, corner form, source pixels. */
  gtBox: number[];
  /** Predicted box, corner form, source pixels. */
  box: number[];
  /** The model's predicted IoU (the prior's constant 1; 0 for a prior fallback box). */
  score: number;
  /** The box is the prior's because the model does not know this class. */
  priorFallback?: boolean;
}

/** A point estimate with its bootstrap 95 % percentile interval (null when there is nothing to resample). */
export interface Estimate {
  value: number;
  ci95: [number, number] | null;
}

export interface QueryClassMetrics {
  /** Distinct ground-truth boxes of the class. */
  boxes: number;
  /** Clicks scored (boxes x click replicates). */
  queries: number;
  images: number;
  ap50: number;
  /**
   * Bootstrap 95 % interval of the class's AP50 over images (resamples that drew none of its images are
   * skipped), so "is this class worse than the prior?" can be read against what its few boxes can tell.
   */
  ap50Ci95: [number, number] | null;
  ap75: number;
  map: number;
  /** Mean IoU of each click's predicted box with its own ground-truth box. */
  meanIou: number;
  meanScore: number;
  /** Clicks whose box came from the prior because the model does not know the class. */
  priorFallback: number;
}

export interface PointBoxMetrics {
  queries: number;
  boxes: number;
  images: number;
  /** Click replicates present (seeds). */
  seeds: number[];
  /**
   * Box-weighted: every detection of every class ranked by score in one list, a detection matching only a
   * ground truth of its own class in its own (image, seed); recall over all ground-truth clicks.
   */
  micro: { ap50: Estimate; ap75: Estimate; map: Estimate; meanIou: Estimate };
  /** Class-averaged: mean of the per-class figures over the classes that have ground truth. */
  macro: { ap50: Estimate; ap75: Estimate; map: Estimate; classes: number };
  perClass: Record<string, QueryClassMetrics>;
  bootstrap: { resamples: number; seed: number; unit: 'image'; interval: 'percentile 2.5-97.5' };
}

export interface PointBoxMetricsOptions {
  /** Bootstrap resamples over images (0 = no intervals). Default 1000. */
  bootstrap?: number;
  /** Seed of the resampling PRNG; the intervals are identical for a given seed. Default 0. */
  bootstrapSeed?: number;
}

/** Quantile of sorted values, linear interpolation between order statistics (R's type 7). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * AP of a ranked list where detection `order[k]` carries weight w (it counts as w consecutive copies: an
 * image drawn w times by the bootstrap). `tp[i]` says whether detection i matched at this threshold; it does
 * not depend on the weights because matching never crosses an (image, seed, class) group, and copies of an
 * image are whole copies of its groups. COCO's 101-point interpolation, as `averagePrecision`.
 */
function weightedAp(order: readonly number[], tp: Uint8Array, weight: Float64Array | undefined, prec: Float64Array, rec: Float64Array): number {
  let total = 0;
  for (const i of order) total += weight ? weight[i]! : 1;
  if (total === 0) return NaN;
  let n = 0;
  let ctp = 0;
  let cum = 0;
  for (const i of order) {
    const w = weight ? weight[i]! : 1;
    for (let c = 0; c < w; c++) {
      cum++; ctp += tp[i]!;
      prec[n] = ctp / cum; rec[n] = ctp / total; n++;
    }
  }
  for (let k = n - 2; k >= 0; k--) if (prec[k + 1]! > prec[k]!) prec[k] = prec[k + 1]!;
  let sum = 0;
  let k = 0;
  for (const r of RECALL_POINTS) {
    while (k < n && rec[k]! < r) k++;
    sum += k < n ? prec[k]! : 0;
  }
  return sum / RECALL_POINTS.length;
}

/**
 * Micro and macro AP50 / AP75 / mAP@[.5:.95], mean IoU and per-class figures of point->box queries, each
 * overall figure with a bootstrap 95 % interval over images (images resampled with replacement, all click
 * replicates of an image together, percentile interval; deterministic for a given seed).
 *
 * The protocol is COCO's (as `averagePrecision`), with the ground truth of a query being its own box: per
 * (image, seed, class) group the detections, in descending score order (ties: input order), each take the
 * unmatched ground truth with the highest IoU >= threshold.
 */
export function evaluatePointBoxPredictions(preds: readonly PointBoxPrediction[], opts: PointBoxMetricsOptions = {}): PointBoxMetrics {
  const resamples = Math.max(0, Math.floor(opts.bootstrap ?? 1000));
  const bootSeed = opts.bootstrapSeed ?? 0;
  const n = preds.length;
  const classes = [...new Set(preds.map((p) => p.className))].sort();
  const classIdx = new Map(classes.map((c, i) => [c, i]));
  const order = preds.map((_, i) => i).sort((a, b) => preds[b]!.score - preds[a]!.score || a - b);
  const orderByClass: number[][] = classes.map(() => []);
  for (const i of order) orderByClass[classIdx.get(preds[i]!.className)!]!.push(i);
  const ious = new Float64Array(n);
  preds.forEach((p, i) => { ious[i] = iouXyxy(p.box, p.gtBox); });

  // Match once per threshold: groups are (image, seed, class), so the TP flags hold for every resample.
  const groups = new Map<string, number[]>();
  preds.forEach((p, i) => {
    const key = `${p.imageId}\u0000${p.seed}\u0000${p.className}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  });
  const groupOf = new Map<number, number[]>();
  for (const g of groups.values()) for (const i of g) groupOf.set(i, g);
  const tps = COCO_IOU_THRESHOLDS.map((t) => {
    const tp = new Uint8Array(n);
    const used = new Uint8Array(n);
    const thr = Math.min(t, 1 - 1e-10);
    for (const di of order) {
      let best = -1;
      let bestIou = thr;
      for (const gi of groupOf.get(di)!) {
        if (used[gi]) continue;
        const iou = iouXyxy(preds[di]!.box, preds[gi]!.gtBox);
        if (iou >= bestIou) { bestIou = iou; best = gi; }
      }
      if (best >= 0) { used[best] = 1; tp[di] = 1; }
    }
    return tp;
  });

  const prec = new Float64Array(n);
  const rec = new Float64Array(n);
  // With bootstrap weights a detection is expanded into w copies, so the buffers grow to the resample size.
  let buf = { prec, rec };
  const ensure = (size: number) => { if (buf.prec.length < size) buf = { prec: new Float64Array(size), rec: new Float64Array(size) }; };
  const figures = (weight?: Float64Array) => {
    let size = n;
    if (weight) { size = 0; for (let i = 0; i < n; i++) size += weight[i]!; }
    ensure(size);
    const micro = tps.map((tp) => weightedAp(order, tp, weight, buf.prec, buf.rec));
    const perClass = orderByClass.map((o) => tps.map((tp) => weightedAp(o, tp, weight, buf.prec, buf.rec)));
    const present = perClass.filter((aps) => Number.isFinite(aps[0]!));
    const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
    let iouSum = 0; let wSum = 0;
    for (let i = 0; i < n; i++) { const w = weight ? weight[i]! : 1; iouSum += w * ious[i]!; wSum += w; }
    return {
      microAp50: micro[0]!, microAp75: micro[5]!, microMap: mean(micro), meanIou: wSum ? iouSum / wSum : NaN,
      macroAp50: mean(present.map((a) => a[0]!)), macroAp75: mean(present.map((a) => a[5]!)), macroMap: mean(present.map(mean)),
      perClass,
    };
  };
  const point = figures();

  const imageIds = [...new Set(preds.map((p) => p.imageId))].sort((a, b) => a - b);
  const imageIdx = new Map(imageIds.map((id, i) => [id, i]));
  const keys = ['microAp50', 'microAp75', 'microMap', 'meanIou', 'macroAp50', 'macroAp75', 'macroMap'] as const;
  const samples: Record<(typeof keys)[number], number[]> = { microAp50: [], microAp75: [], microMap: [], meanIou: [], macroAp50: [], macroAp75: [], macroMap: [] };
  const classSamples: number[][] = classes.map(() => []);
  if (resamples > 0 && imageIds.length > 0) {
    const rand = mulberry32(bootSeed);
    const draws = new Float64Array(imageIds.length);
    const weight = new Float64Array(n);
    const imageOf = Int32Array.from(preds, (p) => imageIdx.get(p.imageId)!);
    for (let b = 0; b < resamples; b++) {
      draws.fill(0);
      for (let k = 0; k < imageIds.length; k++) draws[Math.floor(rand() * imageIds.length)]!++;
      for (let i = 0; i < n; i++) weight[i] = draws[imageOf[i]!]!;
      const f = figures(weight);
      for (const k of keys) if (Number.isFinite(f[k])) samples[k].push(f[k]);
      f.perClass.forEach((aps, ci) => { if (Number.isFinite(aps[0]!)) classSamples[ci]!.push(aps[0]!); });
    }
  }
  const est = (k: (typeof keys)[number]): Estimate => {
    const s = samples[k].sort((a, b) => a - b);
    return { value: point[k], ci95: s.length ? [quantileSorted(s, 0.025), quantileSorted(s, 0.975)] : null };
  };

  const perClass: Record<string, QueryClassMetrics> = {};
  classes.forEach((c, ci) => {
    const idx = orderByClass[ci]!;
    const aps = point.perClass[ci]!;
    const boxKeys = new Set(idx.map((i) => boxKey(preds[i]!)));
    const cs = classSamples[ci]!.sort((a, b) => a - b);
    perClass[c] = {
      boxes: boxKeys.size, queries: idx.length, images: new Set(idx.map((i) => preds[i]!.imageId)).size,
      ap50: aps[0]!, ap50Ci95: cs.length ? [quantileSorted(cs, 0.025), quantileSorted(cs, 0.975)] : null,
      ap75: aps[5]!, map: aps.reduce((a, b) => a + b, 0) / aps.length,
      meanIou: idx.reduce((a, i) => a + ious[i]!, 0) / idx.length,
      meanScore: idx.reduce((a, i) => a + preds[i]!.score, 0) / idx.length,
      priorFallback: idx.filter((i) => preds[i]!.priorFallback).length,
    };
  });
  return {
    queries: n,
    boxes: new Set(preds.map(boxKey)).size,
    images: imageIds.length,
    seeds: [...new Set(preds.map((p) => p.seed))].sort((a, b) => a - b),
    micro: { ap50: est('microAp50'), ap75: est('microAp75'), map: est('microMap'), meanIou: est('meanIou') },
    macro: { ap50: est('macroAp50'), ap75: est('macroAp75'), map: est('macroMap'), classes: classes.length },
    perClass,
    bootstrap: { resamples, seed: bootSeed, unit: 'image', interval: 'percentile 2.5-97.5' },
  };
}

/** A ground-truth box's identity across click replicates: its annotation, else its image and coordinates. */
function boxKey(p: PointBoxPrediction): string {
  return p.annotationId !== undefined ? `${p.imageId}:a${p.annotationId}` : `${p.imageId}:${p.className}:${p.gtBox.join(',')}`;
}
