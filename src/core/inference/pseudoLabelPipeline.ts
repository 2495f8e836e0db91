/**
 * Point -> box over many images: decode + letterbox in worker threads (prefetched while the previous batch
 * runs), batches through onnxruntime, boxes mapped back to source pixels and clamped. One bad image is
 * reported and skipped; cancellation stops between batches and returns what was finished. The prior-box
 * baseline goes through the same entry point without touching pixels, and points of classes the model does
 * not know get the prior's box (`fallbackPrior`), marked as such, instead of nothing.
 */
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Category, DatasetFile, ImageRecord, PseudoBox } from '../dataset/schema';
import { effectiveAnnotationsByImage } from '../dataset/datasetQueries';
import { imageRootsOf, resolveImagePath, type ImageRoots } from '../dataset/imagePaths';
import type { DatasetDocument } from '../dataset/DatasetDocument';
import { boxFromModel, pointToModel, xyxyToXywh, type XYXY } from '../../shared/geometry';
import { InferenceError } from './InferenceError';
import type { ModelOutput, PointToBoxModel } from './PointToBoxModel';
import { pipelineDefaults } from './pipelineDefaults';

export { pipelineDefaults } from './pipelineDefaults';
import { PriorBoxPredictor, type PriorFrom } from './PriorBoxPredictor';
import { WorkerPool } from '../workers/WorkerPool';
import { resolveWorkerScript } from '../workers/workerScripts';
import type { PrepareReply, PrepareRequest } from './modelInputMessages';

export type Predictor = PointToBoxModel | PriorBoxPredictor;

export interface PointQuery {
  annotationId?: number;
  categoryId: number;
  point: [number, number];
  /** Click replicate (evaluation: the seed of the click); passed through to the prediction. */
  replicate?: number;
}

export interface ImageJob {
  image: ImageRecord;
  queries: PointQuery[];
}

export interface Prediction {
  imageId: number;
  annotationId?: number;
  categoryId: number;
  point: [number, number];
  /** Corner form, source pixels, clamped to the image. */
  box: XYXY;
  score: number;
  replicate?: number;
  /** The box is the prior's because the model does not know the class (score 0: it has no confidence). */
  priorFallback?: boolean;
  /** Prior boxes (the prior predictor or a fallback): where the size came from, and the prior's source. */
  priorFrom?: PriorFrom;
  priorSource?: string;
}

export interface PipelineProgress {
  done: number;
  total: number;
  failed: number;
  boxes: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

export interface PipelineOptions {
  /** Images per model batch; 0 or undefined: `pipelineDefaults().batchSize`. */
  batchSize?: number;
  /** Decode workers when the pipeline makes its own pool; 0 or undefined: `pipelineDefaults().workers`. */
  workers?: number;
  signal?: AbortSignal;
  onProgress?: (p: PipelineProgress) => void;
  /** Dataset class name -> model class name, tried before the case-insensitive name match. */
  classMap?: Record<string, string>;
  /** Reuse a pool across runs (the extension keeps one); otherwise one is made for this run. */
  pool?: WorkerPool<PrepareRequest, PrepareReply>;
  /**
   * The whole run's jobs when `jobs` is one shard of it (default: `jobs`): they decide the class-mismatch
   * error and the point slots per batch, so a shard computes exactly what one run computes.
   */
  runJobs?: readonly ImageJob[];
  /** Per-image decode time limit. */
  imageTimeoutMs?: number;
  /**
   * Prior for the points of classes the model does not know (after classMap): they get its box, marked as
   * a prior fallback. Without it, or for a class it has no size for either, those points are skipped.
   */
  fallbackPrior?: PriorBoxPredictor;
}

export interface PipelineResult {
  predictions: Prediction[];
  /** Images whose points all got a prediction. */
  completedImageIds: number[];
  failed: { imageId: number; file: string; error: string }[];
  /** Points left without a box, per class, and why (the model does not know the class and no prior has it). */
  skippedClasses: { name: string; points: number; reason: string }[];
  /** Classes the model does not know whose points got the fallback prior's box instead. */
  priorFallbackClasses: { name: string; points: number; priorSource: string }[];
  cancelled: boolean;
  seconds: number;
  imagesPerSecond: number;
  /** Summed time per stage (ms); read/decode/prepare are summed over worker threads. */
  stageMs: { read: number; decode: number; prepare: number; infer: number; post: number };
  executionProvider: string;
}

/** Matches dataset categories to model class indices: classMap first, then case-insensitive names. */
export function mapClasses(categories: readonly Category[], modelClasses: readonly string[], classMap: Record<string, string> = {}): { toModel: Map<number, number>; unknown: Category[] } {
  const idx = new Map(modelClasses.map((c, i) => [c.toLowerCase(), i]));
  const toModel = new Map<number, number>();
  const unknown: Category[] = [];
  const mapLower = new Map(Object.entries(classMap).map(([k, v]) => [k.toLowerCase(), v.toLowerCase()]));
  for (const c of categories) {
    const target = mapLower.get(c.name.toLowerCase()) ?? c.name.toLowerCase();
    const i = idx.get(target);
    if (i === undefined) unknown.push(c); else toModel.set(c.id, i);
  }
  return { toModel, unknown };
}

/**
 * The images and points to pseudo-label: annotations with a point on point-only images (PBC's setting),
 * restricted to `imageIds` or `split` when given. Annotations that already have an accepted or edited
 * pseudo-box are left alone (a reviewer decided); pending and rejected ones are predicted again.
 */
export function collectJobs(d: DatasetFile, sel: { imageIds?: number[]; split?: string; includeBoxImages?: boolean } = {}): ImageJob[] {
  const wanted = sel.imageIds ? new Set(sel.imageIds) : undefined;
  const decided = new Set(d.pseudo_boxes.filter((p) => p.review === 'accepted' || p.review === 'edited').map((p) => p.annotation_id));
  const byImage = effectiveAnnotationsByImage(d);
  const jobs: ImageJob[] = [];
  for (const image of d.images) {
    if (wanted && !wanted.has(image.id)) continue;
    if (sel.split && image.split !== sel.split) continue;
    if (image.label_level !== 'points' && !(sel.includeBoxImages && image.label_level === 'boxes')) continue;
    const queries = (byImage.get(image.id) ?? [])
      .filter((a) => a.point && !decided.has(a.id))
      .map((a) => ({ annotationId: a.id, categoryId: a.category_id, point: [a.point![0], a.point![1]] as [number, number] }));
    if (queries.length) jobs.push({ image, queries });
  }
  return jobs;
}

export async function runPointToBox(datasetDir: string | ImageRoots, categories: readonly Category[], jobs: ImageJob[], predictor: Predictor, opts: PipelineOptions = {}): Promise<PipelineResult> {
  // Where images may be read from (issue 12): a dataset's roots, or just a folder. A path that leaves them fails that image, unread.
  const roots = typeof datasetDir === 'string' ? imageRootsOf(undefined, datasetDir) : datasetDir;
  const t0 = performance.now();
  const res: PipelineResult = {
    predictions: [], completedImageIds: [], failed: [], skippedClasses: [], priorFallbackClasses: [], cancelled: false, seconds: 0, imagesPerSecond: 0,
    stageMs: { read: 0, decode: 0, prepare: 0, infer: 0, post: 0 }, executionProvider: predictor.executionProvider,
  };
  const total = jobs.length;
  let done = 0;
  const progress = () => {
    const s = (performance.now() - t0) / 1000;
    const rate = s > 0 ? done / s : 0;
    opts.onProgress?.({ done, total, failed: res.failed.length, boxes: res.predictions.length, imagesPerSecond: rate, etaSeconds: rate > 0 ? (total - done) / rate : Infinity });
  };
  const finish = () => {
    res.seconds = (performance.now() - t0) / 1000;
    res.imagesPerSecond = res.seconds > 0 ? res.completedImageIds.length / res.seconds : 0;
    return res;
  };

  const catName = (id: number) => categories.find((c) => c.id === id)?.name ?? String(id);
  const catRank = (id: number) => { const i = categories.findIndex((c) => c.id === id); return i < 0 ? categories.length : i; };
  const skipped = new Map<number, { points: number; reason: string }>();
  const skip = (categoryId: number, reason: string) => {
    const e = skipped.get(categoryId);
    if (e) e.points++; else skipped.set(categoryId, { points: 1, reason });
  };
  const finishSkips = () => {
    // In the dataset's category order, so a merge of shards lists them as one run does.
    res.skippedClasses = [...skipped].sort(([a], [b]) => catRank(a) - catRank(b)).map(([id, e]) => ({ name: catName(id), points: e.points, reason: e.reason }));
  };

  if (predictor instanceof PriorBoxPredictor) {
    for (const job of jobs) {
      if (opts.signal?.aborted) { res.cancelled = true; break; }
      for (const q of job.queries) {
        const r = predictor.resolve(job.image.id, q.categoryId, job.image.width, job.image.height);
        if (!r) { skip(q.categoryId, `the prior (${predictor.sourceLabel}) has no box size for it: no other image has boxes to learn from`); continue; }
        const box = PriorBoxPredictor.box(r, q.point[0], q.point[1], job.image.width, job.image.height);
        res.predictions.push({ imageId: job.image.id, annotationId: q.annotationId, categoryId: q.categoryId, point: q.point, box, score: 1, replicate: q.replicate, priorFrom: r.from, priorSource: predictor.sourceLabel });
      }
      res.completedImageIds.push(job.image.id);
      done++;
      if (done % 256 === 0) progress();
    }
    finishSkips();
    progress();
    return finish();
  }

  const model = predictor;
  const { toModel, unknown } = mapClasses(categories, model.info.classes, opts.classMap);
  const unknownIds = new Set(unknown.map((c) => c.id));
  const fallback = opts.fallbackPrior;
  const modelName = basename(model.info.file);
  /**
   * Prior boxes for the unknown-class points of a job (the prior needs no pixels, so this runs up front);
   * points it cannot answer are counted as skipped. A class gets the fallback only where the prior knows
   * something about it (a table row, or at least one box of it to learn from): the all-class median alone
   * would be a box of no particular class.
   */
  const fallbackFor = (job: ImageJob): Prediction[] => {
    const out: Prediction[] = [];
    for (const q of job.queries) {
      if (!unknownIds.has(q.categoryId)) continue;
      if (!fallback) { skip(q.categoryId, `unknown to model ${modelName}, and there is no prior to fall back to (the dataset has no boxes and no prior table is set)`); continue; }
      const r = fallback.resolve(job.image.id, q.categoryId, job.image.width, job.image.height);
      if (!r || (r.from === 'global' && r.classBoxes === 0)) { skip(q.categoryId, `unknown to model ${modelName}, and the prior (${fallback.sourceLabel}) has no box of this class either`); continue; }
      const box = PriorBoxPredictor.box(r, q.point[0], q.point[1], job.image.width, job.image.height);
      out.push({ imageId: job.image.id, annotationId: q.annotationId, categoryId: q.categoryId, point: q.point, box, score: 0, replicate: q.replicate, priorFallback: true, priorFrom: r.from, priorSource: fallback.sourceLabel });
    }
    return out;
  };
  const fallbackCount = new Map<number, number>();
  const emitFallbacks = (fb: Prediction[]) => {
    for (const p of fb) { res.predictions.push(p); fallbackCount.set(p.categoryId, (fallbackCount.get(p.categoryId) ?? 0) + 1); }
  };

  const usable: (ImageJob & { fallbacks: Prediction[] })[] = [];
  const pixelFree: { job: ImageJob; fallbacks: Prediction[] }[] = [];
  for (const j of jobs) {
    const known = j.queries.filter((q) => toModel.has(q.categoryId));
    const fallbacks = fallbackFor(j);
    if (known.length) usable.push({ image: j.image, queries: known, fallbacks });
    else if (fallbacks.length) pixelFree.push({ job: j, fallbacks });
  }
  // A shard decides this on the whole run's jobs, as one run would (its own images may all be of unknown classes).
  const classJobs = opts.runJobs ?? jobs;
  if (classJobs.length > 0 && !classJobs.some((j) => j.queries.some((q) => toModel.has(q.categoryId)))) {
    throw new InferenceError('class-mismatch', `none of the dataset's classes (${[...new Set(classJobs.flatMap((j) => j.queries.map((q) => categories.find((c) => c.id === q.categoryId)?.name ?? q.categoryId)))].join(', ')}) ` +
      `is known to model ${model.info.file} (classes: ${model.info.classes.join(', ')}); set pointbox.inference.classMap / --class-map`);
  }
  // Images whose points are all of classes the model does not know need no pixels: the prior answers them.
  for (const { job, fallbacks } of pixelFree) {
    emitFallbacks(fallbacks);
    res.completedImageIds.push(job.image.id);
    done++;
  }
  let lastModelEnd = 0;
  const finishModelRun = () => {
    finishSkips();
    res.priorFallbackClasses = [...fallbackCount].sort(([a], [b]) => catRank(a) - catRank(b)).map(([id, points]) => ({ name: catName(id), points, priorSource: fallback!.sourceLabel }));
    return finish();
  };

  const S = model.info.inputSize;
  // Every batch has as many point slots as the run's busiest image (unused ones masked), so an image's model
  // input does not depend on which images share its batch: a shard computes exactly what one run computes.
  let runPoints = 0;
  for (const j of opts.runJobs ?? jobs) runPoints = Math.max(runPoints, j.queries.reduce((n, q) => n + (toModel.has(q.categoryId) ? 1 : 0), 0));
  const auto = pipelineDefaults();
  const B = Math.max(1, Math.floor(opts.batchSize || auto.batchSize));
  const ownPool = !opts.pool;
  const pool = opts.pool ?? new WorkerPool<PrepareRequest, PrepareReply>(resolveWorkerScript('preprocess', join(__dirname, 'preprocess.worker.ts')), { size: opts.workers || auto.workers });
  // Decodes in flight ahead of the batch being assembled: the next batch plus one image per worker, so the
  // workers never run dry while a batch is in the model, and memory stays a few model inputs (S*S floats each).
  const ahead = B + Math.max(B, 2 * pool.size);
  // Several jobs may share an image (evaluation: one job per click replicate): decode it once, and keep the
  // decoded input until its last job has been batched.
  const jobsLeft = new Map<number, number>();
  for (const j of usable) jobsLeft.set(j.image.id, (jobsLeft.get(j.image.id) ?? 0) + 1);
  const decoded = new Map<number, Promise<PrepareReply>>();
  const started = new Map<number, Promise<PrepareReply>>();
  const start = (i: number) => {
    if (i >= usable.length || started.has(i)) return;
    const job = usable[i]!;
    let p = decoded.get(job.image.id);
    if (!p) {
      const at = resolveImagePath(roots, job.image);
      p = !at.ok ? Promise.resolve({ ok: false as const, error: `image id=${job.image.id}: ${at.reason}; refused (not read)` })
        : pool.run({ file: at.path, size: S, normalization: model.info.normalization }, [], { timeoutMs: opts.imageTimeoutMs ?? 60_000, signal: opts.signal })
          .catch((e: Error) => ({ ok: false as const, error: e.name === 'AbortError' ? 'cancelled' : e.message }));
      decoded.set(job.image.id, p);
    }
    started.set(i, p);
  };
  // At most two batches in the model at once: while one runs, the next is already queued in its thread, so
  // the model never waits for this thread to assemble a batch, and decoding goes on meanwhile. Results are
  // taken in submission order.
  const inModel: Promise<void>[] = [];
  const queue = (p: Promise<void>) => {
    // Handled here so a failure of a later batch while an earlier one is awaited is not an unhandled rejection;
    // the awaits below still see it.
    p.catch(() => undefined);
    inModel.push(p);
  };
  try {
    for (let b0 = 0; b0 < usable.length; b0 += B) {
      if (opts.signal?.aborted) { res.cancelled = true; break; }
      for (let i = b0; i < Math.min(usable.length, b0 + ahead); i++) start(i);
      const idx = Array.from({ length: Math.min(B, usable.length - b0) }, (_, k) => b0 + k);
      const replies = await Promise.all(idx.map((i) => started.get(i)!));
      for (const i of idx) {
        started.delete(i);
        const id = usable[i]!.image.id;
        const left = jobsLeft.get(id)! - 1;
        jobsLeft.set(id, left);
        if (left === 0) decoded.delete(id);
      }
      if (opts.signal?.aborted) { res.cancelled = true; break; }
      const ok: { job: (typeof usable)[number]; r: Extract<PrepareReply, { ok: true }> }[] = [];
      const counted = new Set<PrepareReply>();
      const failedHere: PipelineResult['failed'] = [];
      replies.forEach((r, k) => {
        const job = usable[idx[k]!]!;
        if (r.ok) {
          ok.push({ job, r });
          // A shared decode counts once.
          if (!counted.has(r)) { counted.add(r); res.stageMs.read += r.readMs; res.stageMs.decode += r.decodeMs; res.stageMs.prepare += r.prepareMs; }
        } else {
          failedHere.push({ imageId: job.image.id, file: job.image.file_name, error: r.error });
        }
      });
      const previous = inModel[inModel.length - 1];
      const settle = async (out?: ModelOutput, N = 0) => {
        // Keep the order of a sequential run: batches settle one after the other.
        if (previous) await previous;
        for (const f of failedHere) { res.failed.push(f); done++; }
        if (out) {
          const tq = performance.now();
          ok.forEach(({ job, r }, bi) => {
            job.queries.forEach((q, qi) => {
              const o = (bi * N + qi) * 4;
              const box = boxFromModel(r.lb, [out.boxes[o]!, out.boxes[o + 1]!, out.boxes[o + 2]!, out.boxes[o + 3]!]);
              const score = Math.min(1, Math.max(0, out.scores[bi * N + qi]!));
              res.predictions.push({ imageId: job.image.id, annotationId: q.annotationId, categoryId: q.categoryId, point: q.point, box, score, replicate: q.replicate });
            });
            emitFallbacks(job.fallbacks);
            res.completedImageIds.push(job.image.id);
            done++;
          });
          res.stageMs.post += performance.now() - tq;
        }
        progress();
      };
      if (ok.length) {
        const N = Math.max(runPoints, ...ok.map((o) => o.job.queries.length));
        const image = new Float32Array(ok.length * S * S);
        const pointsXY = new Float32Array(ok.length * N * 2);
        const labels = new BigInt64Array(ok.length * N);
        const mask = new Uint8Array(ok.length * N);
        ok.forEach(({ job, r }, bi) => {
          image.set(r.data, bi * S * S);
          job.queries.forEach((q, qi) => {
            const [mx, my] = pointToModel(r.lb, q.point[0], q.point[1]);
            pointsXY[(bi * N + qi) * 2] = mx; pointsXY[(bi * N + qi) * 2 + 1] = my;
            labels[bi * N + qi] = BigInt(toModel.get(q.categoryId)!);
            mask[bi * N + qi] = 1;
          });
        });
        const ti = performance.now();
        queue(model.run({ batch: ok.length, points: N, image, pointsXY, labels, mask }).then((o) => {
          const tp = performance.now();
          // Time in the model, counted from when it could start (the previous batch's end), not from submission.
          res.stageMs.infer += tp - Math.max(ti, lastModelEnd);
          lastModelEnd = tp;
          return settle(o, N);
        }));
      } else {
        queue(settle());
      }
      while (inModel.length > 2) await inModel.shift();
    }
    await Promise.all(inModel);
  } finally {
    if (ownPool) await pool.close();
  }
  return finishModelRun();
}

export interface Provenance {
  modelId: string;
  sha256?: string;
  executionProvider: string;
}

/**
 * Writes a run's predictions as pending pseudo-boxes in ONE undo step: on every completed image the
 * earlier *pending* pseudo-boxes for the same points are replaced; accepted, edited and rejected ones stay.
 * Ground-truth annotations are never touched.
 */
export function applyPseudoBoxes(doc: DatasetDocument, result: PipelineResult, prov: Provenance, now = new Date()): { added: number; replaced: number } {
  const completed = new Set(result.completedImageIds);
  const annIds = new Set(result.predictions.map((p) => p.annotationId).filter((x) => x !== undefined));
  const stale = doc.data.pseudo_boxes.filter((p) => p.review === 'pending' && completed.has(p.image_id) && (p.annotation_id === undefined || annIds.has(p.annotation_id))).map((p) => p.id);
  const time = now.toISOString();
  const boxes: Omit<PseudoBox, 'id'>[] = result.predictions.filter((p) => completed.has(p.imageId) && p.box[2] > p.box[0] && p.box[3] > p.box[1]).map((p) => ({
    image_id: p.imageId,
    category_id: p.categoryId,
    bbox: xyxyToXywh(p.box).map((v) => Math.round(v * 100) / 100) as [number, number, number, number],
    ...(p.annotationId !== undefined ? { annotation_id: p.annotationId } : {}),
    point: p.point,
    score: Math.round(p.score * 10000) / 10000,
    // A fallback box is the prior's, not the model's: say so, and which model it stood in for.
    provenance: p.priorFallback
      ? { model_id: 'prior', execution_provider: 'none', time, prior_fallback: { model_id: prov.modelId, ...(prov.sha256 ? { model_sha256: prov.sha256 } : {}), prior_source: p.priorSource ?? 'prior', reason: `class unknown to ${prov.modelId}` } }
      : { model_id: prov.modelId, ...(prov.sha256 ? { model_sha256: prov.sha256 } : {}), execution_provider: prov.executionProvider, time },
    review: 'pending',
  }));
  doc.transact(`Pseudo-boxes from ${prov.modelId}`, () => {
    if (stale.length) doc.deletePseudoBoxes(stale);
    if (boxes.length) doc.addPseudoBoxes(boxes);
  });
  return { added: boxes.length, replaced: stale.length };
}
