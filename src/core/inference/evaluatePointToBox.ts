/**
 * "How good are the pseudo-boxes?" on images that have ground-truth boxes: every GT box gets a click, the
 * predictor turns the clicks into boxes, and the boxes are scored against the GT with the predicted IoU as
 * the detection score: per class (box count, AP50, AP75, mAP@[.5:.95], mean IoU), overall box-weighted
 * (micro) and class-averaged (macro) with bootstrap 95 % intervals over images, and the calibration of
 * the score against the IoU each box reached.
 *
 * Click protocol: with one seed (default 0), a box's stored click when it has one, otherwise a uniform
 * point inside the box; with several seeds (`seeds`), one uniform click per box per seed, each replicate a
 * query of its own (matching stays within (image, seed)) and the bootstrap resamples whole images. A
 * box's click depends only on (seed, annotation id), so evaluating a subset of the images (k-fold) gives
 * the same clicks as evaluating all of them.
 *
 * The raw per-click predictions come back with the figures, and `evaluatePooledPredictions` scores any
 * concatenation of them (k-fold: each fold's model predicts only its held-out images) as one set.
 */
import type { DatasetFile } from '../dataset/schema';
import { imageRootsOf, type ImageRoots } from '../dataset/imagePaths';
import { effectiveAnnotationsByImage } from '../dataset/datasetQueries';
import { mixSeed, mulberry32 } from '../dataset/seededRandom';
import { evaluatePointBoxPredictions, type Estimate, type PointBoxMetrics, type PointBoxPrediction } from '../eval/boxEvaluation';
import { scoreCalibration, type ScoreCalibration } from '../eval/scoreCalibration';
import { iouXyxy, xywhToXyxy } from '../../shared/geometry';
import { PriorBoxPredictor, type PriorFrom, type PriorReport } from './PriorBoxPredictor';
import { runPointToBox, type ImageJob, type PipelineOptions, type PipelineResult, type Predictor } from './pseudoLabelPipeline';
import type { PointBoxModelInfo } from './modelContract';

export interface ClickProtocol {
  kind: 'stored' | 'uniform' | 'mixed';
  seeds: number[];
  description: string;
}

export interface PerClassEvaluation {
  /** Distinct ground-truth boxes scored. */
  boxes: number;
  /** Clicks scored (boxes x seeds). */
  queries: number;
  images: number;
  ap50: number;
  /** Bootstrap 95 % interval of the class's AP50 over images (null without resamples). */
  ap50Ci95: [number, number] | null;
  ap75: number;
  map: number;
  meanIou: number;
  /** Clicks answered by the prior because the model does not know the class. */
  priorFallback: number;
  /** Prior boxes only: how many clicks took their size from the table, the class's own boxes, or the all-class median. */
  priorFrom?: Partial<Record<PriorFrom, number>>;
}

/** The figures of a set of point->box predictions (one run, or several pooled). */
export interface PooledEvaluation {
  /** Clicks scored. */
  points: number;
  boxes: number;
  images: number;
  /** Micro (box-weighted) figures: the headline. */
  ap50: number;
  ap75: number;
  map: number;
  meanIou: number;
  /** Mean IoU of each GT with the best same-class box of its (image, seed): the older diagnostic. */
  meanBestIou: number;
  micro: { ap50: Estimate; ap75: Estimate; map: Estimate; meanIou: Estimate };
  macro: { ap50: Estimate; ap75: Estimate; map: Estimate; classes: number };
  perClass: Record<string, PerClassEvaluation>;
  /** Null when the scores carry no confidence (the prior's constant score), with the reason. */
  calibration: ScoreCalibration | null;
  calibrationNote?: string;
  bootstrap: PointBoxMetrics['bootstrap'];
  seeds: number[];
}

export interface PointToBoxEvaluation extends PooledEvaluation {
  /** "prior" or the model file. */
  model: string;
  modelInfo?: { file: string; sha256: string; contractVersion: string; classes: string[]; inputSize: number; boxPrior?: PointBoxModelInfo['boxPrior'] };
  device: string;
  split: string | null;
  clicks: ClickProtocol;
  /** The prior used: the baseline itself, or the fallback for classes the model does not know. */
  prior?: PriorReport & { role: 'baseline' | 'fallback' };
  priorFallbackClasses: { name: string; points: number; priorSource: string }[];
  failedImages: { file: string; error: string }[];
  skippedClasses: { name: string; points: number; reason: string }[];
  seconds: number;
  pointSource: 'annotation' | 'sampled' | 'mixed';
  /** The first seed (the only one unless `seeds` was given). */
  seed: number;
  predictions: PointBoxPrediction[];
}

export interface EvaluateOptions extends PipelineOptions {
  /** Only this split (default: val, falling back to all images with boxes when val has none). */
  split?: string;
  /** One click per box from this seed (default 0); stored clicks are used where they exist. */
  seed?: number;
  /** One uniform click per box per seed, pooled (stored clicks are not used). */
  seeds?: number[];
  /** Ignore stored points and sample new ones inside the boxes. */
  resamplePoints?: boolean;
  /** Only these images (k-fold: a fold's held-out images). */
  imageIds?: readonly number[];
  /** Bootstrap resamples over images for the intervals (default 1000; 0 = none) and their seed. */
  bootstrap?: number;
  bootstrapSeed?: number;
}

/** A uniform point inside a box, from (seed, annotation id) alone. */
export function uniformClick(seed: number, annotationId: number, bbox: readonly number[]): [number, number] {
  const r = mulberry32(mixSeed(seed, annotationId));
  return [bbox[0]! + r() * bbox[2]!, bbox[1]! + r() * bbox[3]!];
}

export interface PooledOptions {
  bootstrap?: number;
  bootstrapSeed?: number;
  /** Why the scores carry no confidence (the prior); calibration is then null with this reason. */
  noConfidence?: string;
}

/**
 * Scores a list of per-click predictions as one set: several seeds, several runs or several k-fold models
 * (each on its held-out images) pooled. Prior-fallback boxes are scored like any other box but left out of
 * the calibration (their score is not a prediction).
 */
export function evaluatePooledPredictions(preds: readonly PointBoxPrediction[], opts: PooledOptions = {}): PooledEvaluation {
  const m = evaluatePointBoxPredictions(preds, { bootstrap: opts.bootstrap, bootstrapSeed: opts.bootstrapSeed });
  const scored = preds.filter((p) => !p.priorFallback);
  let calibration: ScoreCalibration | null = null;
  let calibrationNote: string | undefined;
  const distinct = new Set(scored.map((p) => p.score));
  if (opts.noConfidence) calibrationNote = opts.noConfidence;
  else if (preds.length === 0) calibrationNote = 'nothing was scored';
  else if (scored.length === 0) calibrationNote = 'no model boxes to calibrate (every box came from the prior)';
  else if (distinct.size === 1) calibrationNote = `every box has the same score (${[...distinct][0]}): it carries no confidence to calibrate`;
  else {
    calibration = scoreCalibration(scored.map((p) => p.score), scored.map((p) => iouXyxy(p.box, p.gtBox)));
    if (scored.length < preds.length) calibrationNote = `${preds.length - scored.length} prior-fallback boxes left out (their score is not a prediction)`;
  }
  // Best same-class IoU per ground truth within its (image, seed): the figure older reports gave.
  const groups = new Map<string, PointBoxPrediction[]>();
  for (const p of preds) {
    const k = `${p.imageId}\u0000${p.seed}\u0000${p.className}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(p);
  }
  let best = 0;
  for (const g of groups.values()) for (const p of g) best += Math.max(...g.map((d) => iouXyxy(d.box, p.gtBox)));
  const perClass: Record<string, PerClassEvaluation> = {};
  for (const [name, c] of Object.entries(m.perClass)) {
    const from: Partial<Record<PriorFrom, number>> = {};
    for (const p of preds) if (p.className === name && 'priorFrom' in p && (p as PriorTagged).priorFrom) { const f = (p as PriorTagged).priorFrom!; from[f] = (from[f] ?? 0) + 1; }
    perClass[name] = { boxes: c.boxes, queries: c.queries, images: c.images, ap50: c.ap50, ap50Ci95: c.ap50Ci95, ap75: c.ap75, map: c.map, meanIou: c.meanIou, priorFallback: c.priorFallback, ...(Object.keys(from).length ? { priorFrom: from } : {}) };
  }
  return {
    points: m.queries, boxes: m.boxes, images: m.images,
    ap50: m.micro.ap50.value, ap75: m.micro.ap75.value, map: m.micro.map.value, meanIou: m.micro.meanIou.value,
    meanBestIou: preds.length ? best / preds.length : NaN,
    micro: m.micro, macro: m.macro, perClass,
    calibration, ...(calibrationNote ? { calibrationNote } : {}),
    bootstrap: m.bootstrap, seeds: m.seeds,
  };
}

/** A prediction record that also says where a prior box's size came from (kept in the raw output). */
type PriorTagged = PointBoxPrediction & { priorFrom?: PriorFrom };

/** The images, click jobs and ground truth of an evaluation: a function of the dataset and the options alone. */
export interface EvaluationPlan {
  images: DatasetFile['images'];
  jobs: ImageJob[];
  gtOf: Map<number, { box: number[]; className: string; file: string }>;
  split: string | undefined;
  seeds: number[];
  multi: boolean;
  sampled: number;
  stored: number;
}

export function planEvaluation(d: DatasetFile, opts: EvaluateOptions = {}): EvaluationPlan {
  const multi = opts.seeds !== undefined && opts.seeds.length > 0;
  const seeds = multi ? [...new Set(opts.seeds)] : [opts.seed ?? 0];
  const byImage = effectiveAnnotationsByImage(d);
  const only = opts.imageIds ? new Set(opts.imageIds) : undefined;
  const hasBox = (im: DatasetFile['images'][number]) => (byImage.get(im.id) ?? []).some((a) => a.bbox && a.bbox[2] > 0 && a.bbox[3] > 0);
  const pick = (split: string | undefined) => d.images.filter((im) => (!only || only.has(im.id)) && (split === undefined || im.split === split) && hasBox(im));
  let split: string | undefined = only && opts.split === undefined ? undefined : opts.split ?? 'val';
  let images = pick(split);
  if (images.length === 0 && opts.split === undefined) { split = undefined; images = pick(undefined); }

  const jobs: ImageJob[] = [];
  const gtOf = new Map<number, { box: number[]; className: string; file: string }>();
  const className = (id: number) => d.categories.find((c) => c.id === id)?.name ?? String(id);
  let sampled = 0;
  let stored = 0;
  // Image-major order, so the pipeline decodes each image once for all of its click replicates.
  for (const image of images) {
    for (const seed of seeds) {
      const queries = [];
      for (const a of byImage.get(image.id) ?? []) {
        if (!a.bbox || a.bbox[2] <= 0 || a.bbox[3] <= 0) continue;
        let point: [number, number];
        if (a.point && !opts.resamplePoints && !multi) { point = [a.point[0], a.point[1]]; stored++; }
        else { point = uniformClick(seed, a.id, a.bbox); sampled++; }
        queries.push({ annotationId: a.id, categoryId: a.category_id, point, replicate: seed });
        gtOf.set(a.id, { box: xywhToXyxy(a.bbox), className: className(a.category_id), file: image.file_name });
      }
      jobs.push({ image, queries });
    }
  }
  return { images, jobs, gtOf, split, seeds, multi, sampled, stored };
}

/** What an evaluation needs to know about its predictor besides its boxes (so a merge of shards can finish one without loading it). */
export interface PredictorSummary {
  /** "prior" or the model file. */
  model: string;
  isPrior: boolean;
  modelInfo?: PointToBoxEvaluation['modelInfo'];
  prior?: PointToBoxEvaluation['prior'];
}

export function summarizePredictor(predictor: Predictor, fallbackPrior?: PriorBoxPredictor): PredictorSummary {
  const isPrior = predictor instanceof PriorBoxPredictor;
  const priorUsed = isPrior ? predictor : fallbackPrior;
  const model = isPrior ? undefined : predictor;
  return {
    model: isPrior ? 'prior' : predictor.info.file,
    isPrior,
    ...(model ? { modelInfo: { file: model.info.file, sha256: model.info.sha256, contractVersion: model.info.contractVersion, classes: model.info.classes, inputSize: model.info.inputSize, ...(model.info.boxPrior ? { boxPrior: model.info.boxPrior } : {}) } } : {}),
    ...(priorUsed ? { prior: { ...priorUsed.report, role: isPrior ? 'baseline' as const : 'fallback' as const } } : {}),
  };
}

export async function evaluatePointToBox(d: DatasetFile, datasetDir: string | ImageRoots, predictor: Predictor, opts: EvaluateOptions = {}): Promise<PointToBoxEvaluation> {
  const plan = planEvaluation(d, opts);
  const r = await runPointToBox(typeof datasetDir === 'string' ? imageRootsOf(d, datasetDir) : datasetDir, d.categories, plan.jobs, predictor, opts);
  return finishEvaluation(plan, r, summarizePredictor(predictor, opts.fallbackPrior), opts);
}

/** Scores a pipeline result of `plan`'s jobs (one run, or the merge of its shards). */
export function finishEvaluation(plan: EvaluationPlan, r: Pick<PipelineResult, 'predictions' | 'failed' | 'executionProvider' | 'priorFallbackClasses' | 'skippedClasses' | 'seconds'>, pred: PredictorSummary, opts: Pick<EvaluateOptions, 'bootstrap' | 'bootstrapSeed'> = {}): PointToBoxEvaluation {
  const { gtOf, seeds, multi, sampled, stored, split } = plan;
  // Images that failed to decode and points nothing could answer are reported, and left out of the score
  // rather than counted as misses (the number would otherwise measure the data, not the model).
  const failed = new Set(r.failed.map((f) => f.imageId));
  const predictions: PriorTagged[] = r.predictions
    .filter((p) => p.annotationId !== undefined && gtOf.has(p.annotationId) && !failed.has(p.imageId))
    .map((p) => {
      const g = gtOf.get(p.annotationId!)!;
      return {
        imageId: p.imageId, file: g.file, className: g.className, annotationId: p.annotationId, seed: p.replicate ?? seeds[0]!,
        point: p.point, gtBox: g.box, box: p.box, score: p.score,
        ...(p.priorFallback ? { priorFallback: true } : {}), ...(p.priorFrom ? { priorFrom: p.priorFrom } : {}),
      };
    });
  const isPrior = pred.isPrior;
  const pooled = evaluatePooledPredictions(predictions, {
    bootstrap: opts.bootstrap, bootstrapSeed: opts.bootstrapSeed,
    ...(isPrior ? { noConfidence: 'the prior has no confidence: every prior box scores 1' } : {}),
  });
  const clickCount = predictions.length;
  const clicks: ClickProtocol = multi
    ? { kind: 'uniform', seeds, description: `one uniform click inside each box per seed, seeds ${seeds.join(',')} pooled (${clickCount} clicks on ${pooled.boxes} boxes); matching within (image, seed), bootstrap over images` }
    : sampled && stored
      ? { kind: 'mixed', seeds, description: `the stored click where a box has one (${stored}), else one uniform click inside the box (${sampled}, seed ${seeds[0]})` }
      : sampled
        ? { kind: 'uniform', seeds, description: `one uniform click inside each box (seed ${seeds[0]})` }
        : { kind: 'stored', seeds, description: 'the stored click of each box' };
  return {
    model: pred.model,
    ...(pred.modelInfo ? { modelInfo: pred.modelInfo } : {}),
    device: r.executionProvider,
    split: split ?? null,
    ...pooled,
    clicks,
    ...(pred.prior ? { prior: pred.prior } : {}),
    priorFallbackClasses: r.priorFallbackClasses,
    failedImages: [...new Map(r.failed.map((f) => [f.imageId, { file: f.file, error: f.error }])).values()],
    skippedClasses: r.skippedClasses,
    seconds: r.seconds,
    pointSource: sampled && stored ? 'mixed' : sampled ? 'sampled' : 'annotation',
    seed: seeds[0]!,
    predictions,
  };
}
