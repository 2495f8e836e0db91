/**
 * Scores a detector (detectorContract.ts) on a dataset split with full ground truth: COCO mAP@[.5:.95], AP50
 * and AP75 per class and their mean over the classes with ground truth (boxEvaluation.ts `evaluateBoxes`,
 * pycocotools' protocol), with 95 % bootstrap intervals over images (images resampled with replacement, all
 * their boxes and detections together; deterministic for a seed). Negatives (images without lesions) are
 * scored too: their detections are false positives.
 *
 * Images are read only inside the dataset's roots (issue 12); one that cannot be read is reported and left
 * out of the scores (named in `failed`), the rest go on.
 */
import { performance } from 'node:perf_hooks';
import { effectiveAnnotationsByImage } from '../dataset/datasetQueries';
import { resolveImagePath, type ImageRoots } from '../dataset/imagePaths';
import type { DatasetFile, ImageRecord } from '../dataset/schema';
import { mulberry32 } from '../dataset/seededRandom';
import type { FileDetections, ImageDetector } from '../inference/DetectorModel';
import { xywhToXyxy } from '../../shared/geometry';
import { evaluateBoxes, quantileSorted, type EvalDetection, type EvalGroundTruth } from './boxEvaluation';

export interface DetectorClassResult {
  name: string;
  ap50: number;
  ap75: number;
  map: number;
  groundTruth: number;
  detections: number;
}

export interface DetectorEvaluation {
  model: string;
  sha256: string;
  executionProvider: string;
  split: string;
  images: number;
  groundTruthBoxes: number;
  ap50: number;
  ap75: number;
  /** COCO mAP@[.5:.95]: the PBC paper's headline metric for the detector. */
  map: number;
  /** 95 % bootstrap intervals over images, [low, high]. */
  ci: { ap50: [number, number]; map: [number, number]; resamples: number };
  perClass: DetectorClassResult[];
  /** Dataset classes the detector does not know (their boxes can only be missed). */
  unknownClasses: string[];
  failed: { imageId: number; file: string; error: string }[];
  seconds: number;
  imagesPerSecond: number;
}

export interface DetectOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Runs the detector over images (sequentially: the detector's own worker decodes and runs). */
export async function detectImages(roots: ImageRoots, images: readonly ImageRecord[], detector: ImageDetector, o: DetectOptions = {}): Promise<{ results: Map<number, FileDetections>; failed: DetectorEvaluation['failed']; cancelled: boolean }> {
  const results = new Map<number, FileDetections>();
  const failed: DetectorEvaluation['failed'] = [];
  let done = 0;
  for (const im of images) {
    if (o.signal?.aborted) return { results, failed, cancelled: true };
    const at = resolveImagePath(roots, im);
    if (!at.ok) failed.push({ imageId: im.id, file: im.file_name, error: `${at.reason}; refused (not read)` });
    else {
      try { results.set(im.id, await detector.detectFile(at.path)); } catch (e) { failed.push({ imageId: im.id, file: im.file_name, error: e instanceof Error ? e.message : String(e) }); }
    }
    o.onProgress?.(++done, images.length);
  }
  return { results, failed, cancelled: false };
}

export interface EvaluateDetectorOptions extends DetectOptions {
  /** Split to score (default 'test' when the dataset has test images, else 'val'). */
  split?: string;
  bootstrap?: number;
  bootstrapSeed?: number;
}

/** The split a detector is scored on by default: test when there is one (val may have been looked at), else val. */
export function defaultEvalSplit(d: DatasetFile): string {
  return d.images.some((im) => im.split === 'test' && im.label_level === 'boxes') ? 'test' : 'val';
}

export async function evaluateDetector(d: DatasetFile, roots: ImageRoots, detector: ImageDetector, o: EvaluateDetectorOptions = {}): Promise<DetectorEvaluation> {
  const t0 = performance.now();
  const split = o.split ?? defaultEvalSplit(d);
  const eff = effectiveAnnotationsByImage(d);
  // Full ground truth only: box-level images whose every annotation has a box.
  const images = d.images.filter((im) => im.split === split && im.label_level === 'boxes' && (eff.get(im.id) ?? []).every((a) => a.bbox));
  if (images.length === 0) throw new Error(`no ${split} images with full ground-truth boxes to evaluate on (split the dataset first)`);
  const modelClass = new Map(detector.info.classes.map((c, i) => [c.toLowerCase(), i]));
  const catToModel = new Map<number, number>();
  const unknownClasses: string[] = [];
  for (const c of d.categories) {
    const i = modelClass.get(c.name.toLowerCase());
    if (i === undefined) unknownClasses.push(c.name); else catToModel.set(c.id, i);
  }
  // Class ids for scoring: the model's class index; dataset classes it does not know get ids after them.
  const extraId = new Map(unknownClasses.map((n, k) => [n, detector.info.classes.length + k]));
  const classIdOf = (categoryId: number) => catToModel.get(categoryId) ?? extraId.get(d.categories.find((c) => c.id === categoryId)?.name ?? '') ?? -1;
  const { results, failed } = await detectImages(roots, images, detector, o);
  if (o.signal?.aborted) throw new Error('cancelled');
  const scored = images.filter((im) => results.has(im.id));
  const gtOf = new Map<number, EvalGroundTruth[]>();
  const detOf = new Map<number, EvalDetection[]>();
  for (const im of scored) {
    gtOf.set(im.id, (eff.get(im.id) ?? []).map((a) => ({ imageId: im.id, classId: classIdOf(a.category_id), box: xywhToXyxy(a.bbox!) })));
    detOf.set(im.id, results.get(im.id)!.detections.map((x) => ({ imageId: im.id, classId: x.classIndex, box: x.box, score: x.score })));
  }
  const all = (ids: readonly number[]) => {
    const g: EvalGroundTruth[] = [];
    const dd: EvalDetection[] = [];
    ids.forEach((id, k) => {
      // a resampled image appears as its own copy: matching never crosses copies
      for (const x of gtOf.get(id)!) g.push({ ...x, imageId: k });
      for (const x of detOf.get(id)!) dd.push({ ...x, imageId: k });
    });
    return evaluateBoxes(g, dd);
  };
  const ids = scored.map((im) => im.id);
  const main = all(ids);
  const resamples = Math.max(0, Math.floor(o.bootstrap ?? 200));
  const rand = mulberry32(o.bootstrapSeed ?? 0);
  const bm: number[] = [];
  const b50: number[] = [];
  for (let r = 0; r < resamples && ids.length; r++) {
    const pick = ids.map(() => ids[Math.floor(rand() * ids.length)]!);
    const e = all(pick);
    if (Number.isFinite(e.map)) bm.push(e.map);
    if (Number.isFinite(e.ap50)) b50.push(e.ap50);
  }
  bm.sort((a, b) => a - b);
  b50.sort((a, b) => a - b);
  const nameOf = (classId: number) => detector.info.classes[classId] ?? unknownClasses[classId - detector.info.classes.length] ?? String(classId);
  const seconds = (performance.now() - t0) / 1000;
  return {
    model: detector.info.file, sha256: detector.info.sha256, executionProvider: detector.executionProvider, split,
    images: scored.length, groundTruthBoxes: [...gtOf.values()].reduce((a, g) => a + g.length, 0),
    ap50: main.ap50, ap75: main.ap75, map: main.map,
    ci: { ap50: [quantileSorted(b50, 0.025), quantileSorted(b50, 0.975)], map: [quantileSorted(bm, 0.025), quantileSorted(bm, 0.975)], resamples },
    perClass: main.perClass.map((c) => ({ name: nameOf(c.classId), ap50: c.ap50, ap75: c.ap75, map: c.map, groundTruth: c.groundTruth, detections: c.detections })),
    unknownClasses, failed, seconds, imagesPerSecond: seconds > 0 ? scored.length / seconds : 0,
  };
}
