/**
 * The inference side of sharded runs (issue 13; shard selection and the partial file: dataset/shards.ts).
 * A shard runs the ordinary pipeline on its images and keeps, next to the pipeline's result, each image's
 * place in the whole run (its first job's index). A merge puts the images back in the order one run would
 * have produced them (images whose points all went to the prior first, as runPointToBox emits them, then
 * the others in job order), so applying the merged result, or scoring it, gives exactly what one run gives.
 */
import type { Category } from '../dataset/schema';
import type { ImageJob, PipelineResult, Prediction } from './pseudoLabelPipeline';

/** The pipeline result a shard stores: everything but the derived rates, plus each image's job index. */
export interface ShardPipelineResult {
  predictions: Prediction[];
  completedImageIds: number[];
  failed: PipelineResult['failed'];
  skippedClasses: PipelineResult['skippedClasses'];
  priorFallbackClasses: PipelineResult['priorFallbackClasses'];
  cancelled: boolean;
  seconds: number;
  stageMs: PipelineResult['stageMs'];
  executionProvider: string;
  /** [image id, index of its first job in the whole run's job list]. */
  jobIndex: [number, number][];
}

/** Distinct image ids of `jobs`, in job order. */
export function jobImageIds(jobs: readonly ImageJob[]): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const j of jobs) if (!seen.has(j.image.id)) { seen.add(j.image.id); out.push(j.image.id); }
  return out;
}

export function toShardResult(r: PipelineResult, allJobs: readonly ImageJob[], shardImages: ReadonlySet<number>): ShardPipelineResult {
  const first = new Map<number, number>();
  allJobs.forEach((j, i) => { if (shardImages.has(j.image.id) && !first.has(j.image.id)) first.set(j.image.id, i); });
  return {
    predictions: r.predictions, completedImageIds: r.completedImageIds, failed: r.failed, skippedClasses: r.skippedClasses,
    priorFallbackClasses: r.priorFallbackClasses, cancelled: r.cancelled, seconds: r.seconds, stageMs: r.stageMs,
    executionProvider: r.executionProvider, jobIndex: [...first],
  };
}

/** Combines the shards' results into the result one run over all their jobs gives. */
export function mergeShardResults(parts: readonly ShardPipelineResult[], categories: readonly Category[]): PipelineResult {
  const jobIndex = new Map<number, number>();
  for (const p of parts) for (const [id, i] of p.jobIndex) jobIndex.set(id, i);
  const predsOf = new Map<number, Prediction[]>();
  for (const p of parts) {
    for (const q of p.predictions) {
      let a = predsOf.get(q.imageId);
      if (!a) predsOf.set(q.imageId, (a = []));
      a.push(q);
    }
  }
  // runPointToBox answers images whose points are all of classes the model does not know (prior fallbacks
  // only, no pixels) before the batches; every other image has at least one model box.
  const priorOnly = (id: number) => { const a = predsOf.get(id); return !!a && a.length > 0 && a.every((q) => q.priorFallback); };
  const key = (id: number): [number, number] => [priorOnly(id) ? 0 : 1, jobIndex.get(id) ?? Number.MAX_SAFE_INTEGER];
  const byKey = (a: number, b: number) => { const ka = key(a); const kb = key(b); return ka[0] - kb[0] || ka[1] - kb[1]; };
  const imageIds = [...predsOf.keys()].sort(byKey);
  const predictions = imageIds.flatMap((id) => predsOf.get(id)!);
  const completedImageIds = parts.flatMap((p) => p.completedImageIds).sort(byKey);
  const failed = parts.flatMap((p) => p.failed.map((f, k) => ({ f, k, i: jobIndex.get(f.imageId) ?? Number.MAX_SAFE_INTEGER })))
    .sort((a, b) => a.i - b.i || a.k - b.k).map((x) => x.f);
  const rank = (name: string) => { const i = categories.findIndex((c) => c.name === name); return i < 0 ? categories.length : i; };
  const sumBy = <T extends { name: string; points: number }>(lists: T[][]): T[] => {
    const m = new Map<string, T>();
    for (const l of lists) for (const e of l) { const o = m.get(e.name); if (o) o.points += e.points; else m.set(e.name, { ...e }); }
    return [...m.values()].sort((a, b) => rank(a.name) - rank(b.name));
  };
  const seconds = Math.max(0, ...parts.map((p) => p.seconds));
  const stageMs = { read: 0, decode: 0, prepare: 0, infer: 0, post: 0 };
  for (const p of parts) for (const k of Object.keys(stageMs) as (keyof typeof stageMs)[]) stageMs[k] += p.stageMs[k];
  return {
    predictions, completedImageIds, failed,
    skippedClasses: sumBy(parts.map((p) => p.skippedClasses)),
    priorFallbackClasses: sumBy(parts.map((p) => p.priorFallbackClasses)),
    cancelled: parts.some((p) => p.cancelled),
    // The shards run side by side: the run took as long as its slowest shard.
    seconds,
    imagesPerSecond: seconds > 0 ? completedImageIds.length / seconds : 0,
    stageMs,
    executionProvider: [...new Set(parts.map((p) => p.executionProvider))].join('+'),
  };
}
