/**
 * The benchmark's per-cell datasets. Val and test stay the dataset's own (or one seed-0 split when it has
 * none), the same images for every ratio, seed and method, so the rows of the table are comparable. Within
 * train, each (ratio, seed) redraws which images keep their boxes with PBC's stratified rule (positives and
 * negatives separately, as `pointbox split`), and every lesion gets a click drawn uniformly in its box with
 * its own seeded stream. Boxes of point-level images stay in the file as hidden ground truth: the training
 * export leaves them out; the benchmark uses them only to say how good the pseudo-boxes were.
 */
import { isAbsolute, resolve } from 'node:path';
import { effectiveAnnotationsByImage } from '../dataset/datasetQueries';
import { imageRootsOf } from '../dataset/imagePaths';
import type { Annotation, DatasetFile, ImageRecord } from '../dataset/schema';
import { mixSeed, mulberry32, shuffleInPlace } from '../dataset/seededRandom';
import { samplePoint, splitDataset } from '../dataset/splitDataset';
import type { BenchmarkSpec } from './benchmarkSpec';

export interface CellSummary {
  trainImages: number;
  boxImages: number;
  boxImagesWithBoxes: number;
  pointImages: number;
  pointImagesWithLesions: number;
  val: number;
  test: number;
  evalSplit: 'test' | 'val';
}

/**
 * A copy of `source` (from `sourceDir`) labelled for one (ratio, seed) cell, with `images_root` pointing at
 * the source's image folder so the copy can live in the benchmark folder. Pseudo-boxes of the source are
 * dropped (every method makes its own).
 */
export function makeCellDataset(source: DatasetFile, sourceDir: string, ratio: number, seed: number, spec: Pick<BenchmarkSpec, 'val' | 'test' | 'pointRegion' | 'evalSplit'>): { data: DatasetFile; summary: CellSummary } {
  const d = JSON.parse(JSON.stringify(source)) as DatasetFile;
  const roots = imageRootsOf(source, sourceDir);
  d.images_root = roots.base;
  d.pseudo_boxes = [];
  const wantTest = spec.evalSplit === 'test';
  const hasVal = d.images.some((im) => im.split === 'val');
  const hasTest = d.images.some((im) => im.split === 'test');
  if (!hasVal || (wantTest && !hasTest) || d.images.every((im) => im.split !== 'train')) {
    // No usable split yet: one split with seed 0 (every cell then shares it), all train images boxed for now.
    splitDataset(d, { val: spec.val, test: spec.test, boxRatio: 1, seed: 0, pointRegion: spec.pointRegion });
  }
  const eff = effectiveAnnotationsByImage(d);
  const train = d.images.filter((im) => im.split === 'train' && im.label_level !== 'unlabeled').sort((a, b) => a.id - b.id);
  const pos: ImageRecord[] = [];
  const neg: ImageRecord[] = [];
  const pointsOnly: ImageRecord[] = [];
  for (const im of train) {
    const anns = eff.get(im.id) ?? [];
    if (anns.some((a) => !a.bbox)) pointsOnly.push(im);
    else (anns.length ? pos : neg).push(im);
  }
  const rand = mulberry32(mixSeed(seed, 0x15b0));
  let boxImages = 0;
  let boxImagesWithBoxes = 0;
  for (const [list, isPos] of [[pos, true], [neg, false]] as const) {
    const s = shuffleInPlace(list.slice(), rand);
    const n = Math.round(s.length * ratio);
    s.forEach((im, i) => {
      im.label_level = i < n ? 'boxes' : 'points';
      if (i < n) { boxImages++; if (isPos) boxImagesWithBoxes++; }
    });
  }
  for (const im of pointsOnly) im.label_level = 'points';
  // Val/test: full ground truth.
  for (const im of d.images) if ((im.split === 'val' || im.split === 'test') && im.label_level === 'points' && (eff.get(im.id) ?? []).every((a) => a.bbox)) im.label_level = 'boxes';
  // A fresh click per box, seeded per (seed, annotation), for every cell.
  const replaced = new Map<Annotation, Annotation>();
  for (const anns of eff.values()) {
    for (const a of anns) {
      if (!a.bbox) continue;
      replaced.set(a, { ...a, point: samplePoint(a.bbox, spec.pointRegion, mulberry32(mixSeed(seed + 7919, a.id))), point_source: 'sampled' });
    }
  }
  if (replaced.size) d.annotations = d.annotations.map((a) => replaced.get(a) ?? a);
  d.info = { ...d.info, name: `${d.info.name} (benchmark: ${Math.round(ratio * 1000) / 10} % boxes, seed ${seed})`, split: { seed, val: spec.val, test: spec.test, boxRatio: ratio, pointRegion: spec.pointRegion, created: new Date().toISOString() } };
  const pointImages = train.filter((im) => im.label_level === 'points');
  const evalSplit = spec.evalSplit === 'auto' ? (d.images.some((im) => im.split === 'test') ? 'test' : 'val') : spec.evalSplit;
  return {
    data: d,
    summary: {
      trainImages: train.length, boxImages, boxImagesWithBoxes, pointImages: pointImages.length,
      pointImagesWithLesions: pointImages.filter((im) => (eff.get(im.id) ?? []).length > 0).length,
      val: d.images.filter((im) => im.split === 'val').length, test: d.images.filter((im) => im.split === 'test').length, evalSplit,
    },
  };
}

/** The absolute dataset path a spec names, resolved against `cwd`. */
export function absDataset(p: string, cwd: string): string {
  return isAbsolute(p) ? p : resolve(cwd, p);
}
