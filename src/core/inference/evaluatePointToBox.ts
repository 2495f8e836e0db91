/**
 * "How good are the pseudo-boxes?" on images that have ground-truth boxes: every GT box gets a click (its
 * own point when the annotation has one, otherwise a point sampled uniformly inside the box with a seeded
 * PRNG, as PBC does on val), the predictor turns the clicks into boxes, and COCO AP50 / mAP@[.5:.95] are
 * computed overall and per class against the GT boxes, with the predicted IoU as the detection score.
 */
import type { DatasetFile } from '../dataset/schema';
import { effectiveAnnotationsByImage } from '../dataset/datasetQueries';
import { mulberry32 } from '../dataset/seededRandom';
import { evaluateBoxes } from '../eval/boxEvaluation';
import { xywhToXyxy } from '../../shared/geometry';
import { PriorBoxPredictor } from './PriorBoxPredictor';
import { runPointToBox, type ImageJob, type PipelineOptions, type Predictor } from './pseudoLabelPipeline';

export interface PointToBoxEvaluation {
  model: string;
  device: string;
  split: string | null;
  images: number;
  points: number;
  ap50: number;
  ap75: number;
  map: number;
  meanBestIou: number;
  perClass: Record<string, { ap50: number; ap75: number; map: number; boxes: number }>;
  failedImages: { file: string; error: string }[];
  skippedClasses: { name: string; points: number }[];
  seconds: number;
  pointSource: 'annotation' | 'sampled' | 'mixed';
  seed: number;
}

export interface EvaluateOptions extends PipelineOptions {
  /** Only this split (default: val, falling back to all images with boxes when val has none). */
  split?: string;
  seed?: number;
  /** Ignore stored points and sample new ones inside the boxes. */
  resamplePoints?: boolean;
}

export async function evaluatePointToBox(d: DatasetFile, datasetDir: string, predictor: Predictor, opts: EvaluateOptions = {}): Promise<PointToBoxEvaluation> {
  const seed = opts.seed ?? 0;
  const rand = mulberry32(seed);
  const byImage = effectiveAnnotationsByImage(d);
  const pick = (split: string | undefined) => d.images.filter((im) => (split === undefined || im.split === split) && (byImage.get(im.id) ?? []).some((a) => a.bbox && a.bbox[2] > 0 && a.bbox[3] > 0));
  let split: string | undefined = opts.split ?? 'val';
  let images = pick(split);
  if (images.length === 0 && opts.split === undefined) { split = undefined; images = pick(undefined); }
  const jobs: ImageJob[] = [];
  const gts: { imageId: number; classId: number; box: number[]; annotationId: number }[] = [];
  let sampled = 0;
  let stored = 0;
  for (const image of images) {
    const queries = [];
    for (const a of byImage.get(image.id) ?? []) {
      if (!a.bbox || a.bbox[2] <= 0 || a.bbox[3] <= 0) continue;
      let point: [number, number];
      if (a.point && !opts.resamplePoints) { point = [a.point[0], a.point[1]]; stored++; }
      else { point = [a.bbox[0] + rand() * a.bbox[2], a.bbox[1] + rand() * a.bbox[3]]; sampled++; }
      queries.push({ annotationId: a.id, categoryId: a.category_id, point });
      gts.push({ imageId: image.id, classId: a.category_id, box: xywhToXyxy(a.bbox), annotationId: a.id });
    }
    jobs.push({ image, queries });
  }
  const r = await runPointToBox(datasetDir, d.categories, jobs, predictor, opts);
  // Images that failed to decode or classes the model lacks are reported, and left out of the score
  // rather than counted as misses (the number would otherwise measure the data, not the model).
  const done = new Set(r.completedImageIds);
  const predicted = new Set(r.predictions.map((p) => p.annotationId));
  const evalGts = gts.filter((g) => done.has(g.imageId) && predicted.has(g.annotationId));
  const ev = evaluateBoxes(evalGts, r.predictions.map((p) => ({ imageId: p.imageId, classId: p.categoryId, box: p.box, score: p.score })));
  const name = (id: number) => d.categories.find((c) => c.id === id)?.name ?? String(id);
  return {
    model: predictor instanceof PriorBoxPredictor ? 'prior' : predictor.info.file,
    device: r.executionProvider,
    split: split ?? null,
    images: done.size,
    points: evalGts.length,
    ap50: ev.ap50, ap75: ev.ap75, map: ev.map, meanBestIou: ev.meanBestIou,
    perClass: Object.fromEntries(ev.perClass.map((c) => [name(c.classId), { ap50: c.ap50, ap75: c.ap75, map: c.map, boxes: c.groundTruth }])),
    failedImages: r.failed.map((f) => ({ file: f.file, error: f.error })),
    skippedClasses: r.skippedClasses,
    seconds: r.seconds,
    pointSource: sampled && stored ? 'mixed' : sampled ? 'sampled' : 'annotation',
    seed,
  };
}
