import { existsSync } from 'node:fs';
import { effectiveAnnotationsByImage } from './datasetQueries';
import type { DatasetFile, LabelLevel, ReviewState } from './schema';
import { imageRootsOf, resolveImagePath } from './imagePaths';

export interface ClassStats { boxes: number; points: number; hiddenBoxes: number; pseudoBoxes: number }
export interface SplitStats {
  images: number; boxLevelImages: number; imagesWithBoxes: number; pointLevelImages: number; imagesWithPointsOnly: number;
  unlabeled: number; negativeImages: number; boxes: number; points: number; pseudoBoxes: number;
}

/**
 * The numbers `pointbox stats --json` prints. Definitions (also in docs/dataset-schema.md):
 * - boxLevelImages / pointLevelImages: images at label_level "boxes" / "points", whatever they hold.
 * - imagesWithBoxes: box-level images with at least one box; imagesWithPointsOnly: point-level images with
 *   at least one point (PBC's point-only images: one click per lesion, no box).
 * - negativeImages: box- or point-level images without any lesion (RSNA Target=0, VinDr "No finding", a
 *   point-level image nobody clicked), at whatever level. Unlabeled images are never negatives: nobody
 *   looked at them. unlabeled: label_level "unlabeled".
 * - boxes: annotations with a bbox on "boxes" images (what box training sees); hiddenBoxes: bboxes kept on
 *   "points" images for evaluation only; points: annotations with a point on "points" images (PBC's
 *   one click per lesion); pointsOnBoxImages: points on "boxes" images (used by the point->box teacher).
 * - Counts use each image's effective annotations (fused consensus instead of readers when fused);
 *   readerBoxes counts the readers' own boxes.
 */
export interface DatasetStats {
  images: number;
  boxLevelImages: number;
  imagesWithBoxes: number;
  pointLevelImages: number;
  imagesWithPointsOnly: number;
  unlabeled: number;
  negativeImages: number;
  boxes: number;
  points: number;
  hiddenBoxes: number;
  pointsOnBoxImages: number;
  readerBoxes: number;
  pseudoBoxes: number;
  pseudoBoxesByReview: Record<ReviewState, number>;
  /** Images whose file is not on disk; null when files were not checked. */
  missingFiles: number | null;
  classes: Record<string, ClassStats>;
  splits: Record<string, SplitStats>;
}

export function computeStats(d: DatasetFile, opts: { datasetDir?: string; imagesRoot?: string } = {}): DatasetStats {
  const catName = new Map(d.categories.map((c) => [c.id, c.name]));
  const classes: Record<string, ClassStats> = {};
  for (const c of d.categories) classes[c.name] = { boxes: 0, points: 0, hiddenBoxes: 0, pseudoBoxes: 0 };
  const cls = (id: number) => {
    const n = catName.get(id) ?? `unknown-${id}`;
    return classes[n] ??= { boxes: 0, points: 0, hiddenBoxes: 0, pseudoBoxes: 0 };
  };
  const splits: Record<string, SplitStats> = {};
  const sp = (name: string) => splits[name] ??= { images: 0, boxLevelImages: 0, imagesWithBoxes: 0, pointLevelImages: 0, imagesWithPointsOnly: 0, unlabeled: 0, negativeImages: 0, boxes: 0, points: 0, pseudoBoxes: 0 };
  const s: DatasetStats = {
    images: d.images.length, boxLevelImages: 0, imagesWithBoxes: 0, pointLevelImages: 0, imagesWithPointsOnly: 0, unlabeled: 0, negativeImages: 0,
    boxes: 0, points: 0, hiddenBoxes: 0, pointsOnBoxImages: 0, readerBoxes: 0, pseudoBoxes: d.pseudo_boxes.length,
    pseudoBoxesByReview: { pending: 0, accepted: 0, rejected: 0, edited: 0 }, missingFiles: null, classes, splits,
  };
  const eff = effectiveAnnotationsByImage(d);
  const level = new Map<number, LabelLevel>();
  const splitOf = new Map<number, string>();
  for (const im of d.images) {
    level.set(im.id, im.label_level); splitOf.set(im.id, im.split);
    const ss = sp(im.split);
    ss.images++;
    const anns = eff.get(im.id) ?? [];
    if (im.label_level !== 'unlabeled' && anns.length === 0) { s.negativeImages++; ss.negativeImages++; }
    if (im.label_level === 'boxes') {
      s.boxLevelImages++; ss.boxLevelImages++;
      if (anns.some((a) => a.bbox)) { s.imagesWithBoxes++; ss.imagesWithBoxes++; }
      for (const a of anns) {
        if (a.bbox) { s.boxes++; ss.boxes++; cls(a.category_id).boxes++; }
        if (a.point) s.pointsOnBoxImages++;
      }
    } else if (im.label_level === 'points') {
      s.pointLevelImages++; ss.pointLevelImages++;
      if (anns.some((a) => a.point)) { s.imagesWithPointsOnly++; ss.imagesWithPointsOnly++; }
      for (const a of anns) {
        if (a.point) { s.points++; ss.points++; cls(a.category_id).points++; }
        if (a.bbox) { s.hiddenBoxes++; cls(a.category_id).hiddenBoxes++; }
      }
    } else { s.unlabeled++; ss.unlabeled++; }
  }
  for (const a of d.annotations) if (a.reader && a.reader !== 'consensus' && a.bbox) s.readerBoxes++;
  for (const p of d.pseudo_boxes) {
    s.pseudoBoxesByReview[p.review] = (s.pseudoBoxesByReview[p.review] ?? 0) + 1;
    cls(p.category_id).pseudoBoxes++;
    const sn = splitOf.get(p.image_id);
    if (sn) sp(sn).pseudoBoxes++;
  }
  if (opts.datasetDir !== undefined) {
    // Paths that leave the dataset folder and image root are never looked at: they count as missing.
    const roots = imageRootsOf(d, opts.datasetDir, opts.imagesRoot);
    let missing = 0;
    for (const im of d.images) { const r = resolveImagePath(roots, im, { checkLinks: false }); if (!r.ok || !existsSync(r.path)) missing++; }
    s.missingFiles = missing;
  }
  return s;
}
