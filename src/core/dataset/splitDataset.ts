import { DatasetError } from './DatasetError';
import { effectiveAnnotationsByImage } from './datasetQueries';
import type { Annotation, DatasetFile, ImageRecord, Point } from './schema';
import { mixSeed, mulberry32, shuffleInPlace } from './seededRandom';

export type PointRegion = 'box' | 'center-2/3';

export interface SplitOptions {
  /** Fraction of images for validation (PBC: 0.2). */
  val: number;
  /** Fraction for test (default 0). */
  test?: number;
  /** Fraction of the train images that keep their boxes (PBC: 0.05 ... 0.5); the rest keep one point per lesion. */
  boxRatio: number;
  seed: number;
  /** Where a lesion's point is drawn: uniformly in its box (RSNA protocol) or in the box's central 2/3 (VinDr protocol). */
  pointRegion?: PointRegion;
  /** Also re-sample points that came with the source or were clicked (default: only missing or previously sampled points). */
  resamplePoints?: boolean;
}

export interface SplitSummary {
  train: number; val: number; test: number;
  /** Train images at label level "boxes" (negatives included) and, of those, the ones that have boxes. */
  trainBoxes: number; trainBoxesWithBoxes: number;
  /** Train images at label level "points". */
  trainPoints: number; unlabeled: number;
  pointsSampled: number;
}

/**
 * PBC's benchmark split, deterministic for a seed:
 * 1. Images (in id order) are grouped into strata: positive (has boxes), negative (labeled, no lesion),
 *    point-only-by-nature (has annotations without a box), unlabeled. Each stratum is shuffled with
 *    mulberry32(seed) and cut into val / test / train, so every split has the same positive rate.
 * 2. Within train, each of the positive and negative strata is shuffled again (same generator, continuing)
 *    and the first round(boxRatio * n) images keep label level "boxes"; the others become "points".
 *    Their boxes stay in the file as hidden ground truth for evaluation; training exports leave them out.
 *    Val/test images are "boxes" (full ground truth). Images whose annotations lack boxes stay "points";
 *    unlabeled images stay "unlabeled" (but get a split).
 * 3. Every box gets a point drawn uniformly in `pointRegion` with its own generator
 *    mulberry32(mixSeed(seed, annotation id)), so one lesion's point does not depend on the others.
 *    Clicked or imported points are kept unless `resamplePoints`.
 */
export function splitDataset(d: DatasetFile, o: SplitOptions): SplitSummary {
  const test = o.test ?? 0;
  for (const [k, v] of [['val', o.val], ['test', test], ['box-ratio', o.boxRatio]] as const) {
    if (!(v >= 0 && v <= 1)) throw new DatasetError('usage', `--${k} must be in [0, 1], got ${v}`);
  }
  if (o.val + test > 1) throw new DatasetError('usage', `--val + --test must be <= 1, got ${o.val + test}`);
  if (!Number.isInteger(o.seed)) throw new DatasetError('usage', `--seed must be an integer, got ${o.seed}`);
  const region = o.pointRegion ?? 'box';
  const rand = mulberry32(o.seed);
  const eff = effectiveAnnotationsByImage(d);
  const images = d.images.slice().sort((a, b) => a.id - b.id);
  const strata: Record<'pos' | 'neg' | 'pts' | 'unl', ImageRecord[]> = { pos: [], neg: [], pts: [], unl: [] };
  for (const im of images) {
    const anns = eff.get(im.id) ?? [];
    if (im.label_level === 'unlabeled') strata.unl.push(im);
    else if (anns.some((a) => !a.bbox)) strata.pts.push(im);
    else if (anns.length > 0) strata.pos.push(im);
    else strata.neg.push(im);
  }
  const summary: SplitSummary = { train: 0, val: 0, test: 0, trainBoxes: 0, trainBoxesWithBoxes: 0, trainPoints: 0, unlabeled: strata.unl.length, pointsSampled: 0 };
  const trainOf: Record<string, ImageRecord[]> = { pos: [], neg: [] };
  for (const key of ['pos', 'neg', 'pts', 'unl'] as const) {
    const s = shuffleInPlace(strata[key], rand);
    const nVal = Math.round(s.length * o.val);
    const nTest = Math.min(s.length - nVal, Math.round(s.length * test));
    s.forEach((im, i) => {
      const split = i < nVal ? 'val' : i < nVal + nTest ? 'test' : 'train';
      im.split = split;
      summary[split]++;
      if (key === 'unl') { im.label_level = 'unlabeled'; return; }
      if (key === 'pts') { im.label_level = 'points'; if (split === 'train') summary.trainPoints++; return; }
      if (split === 'train') trainOf[key]!.push(im); else im.label_level = 'boxes';
    });
  }
  for (const key of ['pos', 'neg'] as const) {
    const s = shuffleInPlace(trainOf[key]!, rand);
    const nBox = Math.round(s.length * o.boxRatio);
    s.forEach((im, i) => {
      im.label_level = i < nBox ? 'boxes' : 'points';
      if (i < nBox) { summary.trainBoxes++; if (key === 'pos') summary.trainBoxesWithBoxes++; } else summary.trainPoints++;
    });
  }
  // Points: records are replaced, not mutated, so a DatasetDocument holding the old ones is not confused.
  const replaced = new Map<Annotation, Annotation>();
  for (const anns of eff.values()) {
    for (const a of anns) {
      if (!a.bbox) continue;
      const keep = a.point && !o.resamplePoints && a.point_source !== 'sampled';
      if (keep) continue;
      replaced.set(a, { ...a, point: samplePoint(a.bbox, region, mulberry32(mixSeed(o.seed, a.id))), point_source: 'sampled' });
      summary.pointsSampled++;
    }
  }
  if (replaced.size) d.annotations = d.annotations.map((a) => replaced.get(a) ?? a);
  d.info.split = { seed: o.seed, val: o.val, test, boxRatio: o.boxRatio, pointRegion: region, created: new Date().toISOString() };
  return summary;
}

/** A point uniform in the box, or in its central 2/3 (x in [x + w/6, x + 5w/6], same for y); rounded to 0.01 px. */
export function samplePoint(bbox: [number, number, number, number], region: PointRegion, rand: () => number): Point {
  const [x, y, w, h] = bbox;
  const m = region === 'center-2/3' ? 1 / 6 : 0;
  const px = x + w * (m + (1 - 2 * m) * rand());
  const py = y + h * (m + (1 - 2 * m) * rand());
  return [Math.round(px * 100) / 100, Math.round(py * 100) / 100];
}
