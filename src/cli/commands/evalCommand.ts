import { hostname } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { hasFlag, optNumber, optString, parseArgs } from '../args';
import { evaluatePointToBox, planEvaluation, summarizePredictor, type EvaluateOptions, type PointToBoxEvaluation, type PredictorSummary } from '../../core/inference/evaluatePointToBox';
import { runPointToBox } from '../../core/inference/pseudoLabelPipeline';
import { defaultPartialPath, parseShard, sha256File, shardImageIds, shardLabel, writePartial, type PartialFile } from '../../core/dataset/shards';
import { toShardResult, type ShardPipelineResult } from '../../core/inference/shardedRuns';
import { PriorBoxPredictor } from '../../core/inference/PriorBoxPredictor';
import { writeFileAtomic } from '../../core/dataset/writeFileAtomic';
import { imageRootsOf } from '../../core/dataset/imagePaths';
import type { Estimate } from '../../core/eval/boxEvaluation';
import { fallbackPriorFor, inferenceValueOptions, loadDatasetArg, loadPredictor, loadPriorTable, parseClassMap, pipelineSizes } from './inferenceOptions';

const pct = (v: number) => (Number.isFinite(v) ? (100 * v).toFixed(1) : '-');
const withCi = (e: Estimate) => `${pct(e.value)} [${e.ci95 ? `${pct(e.ci95[0])}, ${pct(e.ci95[1])}` : '-'}]`;

/** `--seeds 0,1,2,3,4` (or a range `0-4`) */
export function parseSeeds(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const range = /^(\d+)-(\d+)$/.exec(v.trim());
  const seeds = range ? Array.from({ length: Math.max(0, Number(range[2]) - Number(range[1]) + 1) }, (_, i) => Number(range[1]) + i) : v.split(',').map((s) => Number(s.trim()));
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new UsageError(`--seeds must be whole numbers >= 0 like 0,1,2,3,4 or 0-4, got '${v}'`);
  return seeds;
}

/** The human-readable report: micro AP50 with its interval first, then macro, then the per-class table. */
export function formatEvaluation(r: PointToBoxEvaluation): string {
  const lines: string[] = [];
  lines.push(`${r.model} on ${r.device}: ${r.points} clicks on ${r.boxes} boxes in ${r.images} images (split ${r.split ?? 'all'})`);
  lines.push(`  micro AP50 ${withCi(r.micro.ap50)}   (box-weighted; 95 % bootstrap interval over images, ${r.bootstrap.resamples} resamples)`);
  lines.push(`  macro AP50 ${withCi(r.macro.ap50)}   (mean over ${r.macro.classes} classes)`);
  lines.push(`  micro AP75 ${withCi(r.micro.ap75)}, mAP ${withCi(r.micro.map)}; macro mAP ${withCi(r.macro.map)}; mean IoU ${Number.isFinite(r.micro.meanIou.value) ? r.micro.meanIou.value.toFixed(3) : '-'}`);
  lines.push(r.calibration
    ? `  calibration of the score (predicted IoU): ECE ${r.calibration.ece.toFixed(3)}, Pearson ${r.calibration.pearson.toFixed(2)}, Spearman ${r.calibration.spearman.toFixed(2)}${r.calibrationNote ? ` (${r.calibrationNote})` : ''}`
    : `  calibration: none (${r.calibrationNote})`);
  lines.push(`  clicks: ${r.clicks.description}`);
  if (r.prior) lines.push(`  prior${r.prior.role === 'fallback' ? ' (fallback for unknown classes)' : ''}: ${r.prior.description}`);
  lines.push(`  ${'class'.padEnd(20)} ${'boxes'.padStart(5)} ${'clicks'.padStart(6)}  ${'AP50'.padStart(5)}  ${'AP75'.padStart(5)}  ${'mAP'.padStart(5)}  ${'IoU'.padStart(5)}`);
  for (const [k, v] of Object.entries(r.perClass)) {
    const notes = [v.priorFallback ? `prior fallback: ${v.priorFallback} clicks` : '', v.priorFrom?.global ? `all-class median: ${v.priorFrom.global} clicks` : ''].filter(Boolean).join('; ');
    lines.push(`  ${k.padEnd(20)} ${String(v.boxes).padStart(5)} ${String(v.queries).padStart(6)}  ${pct(v.ap50).padStart(5)}  ${pct(v.ap75).padStart(5)}  ${pct(v.map).padStart(5)}  ${v.meanIou.toFixed(3).padStart(5)}${notes ? `  (${notes})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'point->box model (or prior) on images with boxes: micro/macro AP50, AP75, mAP, mean IoU with bootstrap intervals, per class, score calibration',
  usage: 'pointbox eval <dataset.pointbox.json> --model <file.onnx|prior> [--split val] [--seed K | --seeds 0,1,2,3,4] [--resample-points] [--prior-table <csv|json|onnx>] ' +
    '[--bootstrap 1000] [--bootstrap-seed 0] [--device ...] [--batch N] [--workers N] [--threads N] [--class-map ...] [--out result.json] [--predictions clicks.json] [--images-root DIR] [--json]\n' +
    '       [--shard i/n [--partial FILE]]   one of n shards (1-based): a deterministic 1/n of the images, their raw predictions written to a\n' +
    '                                        partial file (default <dataset>.eval.shard-i-of-n.json beside it); `pointbox merge <dataset>\n' +
    '                                        <partials...> [--out result.json]` scores all n together, exactly as one run would',
  async run(argv, io) {
    const p = parseArgs(argv, { values: [...inferenceValueOptions, 'seed', 'seeds', 'out', 'bootstrap', 'bootstrap-seed', 'predictions', 'images-root', 'shard', 'partial'], flags: ['json', 'resample-points'] });
    const shardText = optString(p, 'shard');
    const shard = shardText !== undefined ? parseShard(shardText) : undefined;
    if (!shard && optString(p, 'partial') !== undefined) throw new UsageError('--partial goes with --shard i/n');
    if (shard && (optString(p, 'out') !== undefined || optString(p, 'predictions') !== undefined)) throw new UsageError('a shard writes only its partial file (--partial); give --out / --predictions to pointbox merge');
    if (optString(p, 'seed') !== undefined && optString(p, 'seeds') !== undefined) throw new UsageError('give --seed K (one click per box) or --seeds A,B,... (one uniform click per box per seed, pooled), not both');
    const seeds = parseSeeds(optString(p, 'seeds'));
    const bootstrap = optNumber(p, 'bootstrap', 1000)!;
    if (!Number.isInteger(bootstrap) || bootstrap < 0) throw new UsageError(`--bootstrap must be a whole number >= 0, got ${bootstrap}`);
    const { path, doc } = loadDatasetArg(p, io.cwd);
    const table = loadPriorTable(p, io.cwd);
    const predictor = await loadPredictor(p, io.cwd, doc.data, (s) => io.err(s + '\n'), table);
    try {
      const imagesRoot = optString(p, 'images-root');
      const roots = imageRootsOf(doc.data, dirname(path), imagesRoot ? resolve(io.cwd, imagesRoot) : undefined);
      const evalOpts: EvaluateOptions = {
        split: optString(p, 'split'), seed: optNumber(p, 'seed', 0), seeds, resamplePoints: hasFlag(p, 'resample-points'),
        ...pipelineSizes(p), classMap: parseClassMap(p, io.cwd),
        bootstrap, bootstrapSeed: optNumber(p, 'bootstrap-seed', 0),
        fallbackPrior: predictor instanceof PriorBoxPredictor ? undefined : fallbackPriorFor(doc.data, table),
      };
      if (shard) {
        const datasetSha = sha256File(path);
        const plan = planEvaluation(doc.data, evalOpts);
        const mine = shardImageIds(plan.images.map((im) => im.id), shard);
        const jobs = plan.jobs.filter((j) => mine.has(j.image.id));
        io.err(`shard ${shardLabel(shard)}: ${mine.size} of ${plan.images.length} images\n`);
        const r = await runPointToBox(roots, doc.data.categories, jobs, predictor, { ...evalOpts, runJobs: plan.jobs });
        const partialFile = resolve(io.cwd, optString(p, 'partial') ?? defaultPartialPath(path, 'eval', shard));
        const partial: PartialFile<ShardPipelineResult & { predictor: PredictorSummary }> = {
          format: 'pointbox-partial', version: 1, kind: 'eval', shard, dataset: { file: basename(path), sha256: datasetSha },
          options: {
            model: predictor instanceof PriorBoxPredictor ? 'prior' : basename(predictor.info.file), modelSha256: predictor instanceof PriorBoxPredictor ? null : predictor.info.sha256,
            split: evalOpts.split ?? null, seed: evalOpts.seed ?? 0, seeds: seeds ?? null, resamplePoints: !!evalOpts.resamplePoints,
            bootstrap, bootstrapSeed: evalOpts.bootstrapSeed ?? 0, classMap: evalOpts.classMap ?? {}, priorTable: optString(p, 'prior-table') ?? null,
          },
          imageIds: [...mine], created: new Date().toISOString(), host: hostname(),
          result: { ...toShardResult(r, plan.jobs, mine), predictor: summarizePredictor(predictor, evalOpts.fallbackPrior) },
        };
        if (!r.cancelled) await writePartial(partialFile, partial);
        const summary = { shard: shardLabel(shard), partial: partialFile, images: mine.size, failedImages: r.failed.length, predictions: r.predictions.length, seconds: r.seconds, device: r.executionProvider };
        if (hasFlag(p, 'json')) io.out(JSON.stringify(summary) + '\n');
        else io.out(`shard ${shardLabel(shard)}: ${summary.images} images, ${summary.predictions} clicks answered -> ${partialFile} (score with pointbox merge)\n`);
        return 0;
      }
      const r = await evaluatePointToBox(doc.data, roots, predictor, evalOpts);
      for (const f of r.failedImages) io.err(`skipped ${f.file}: ${f.error}\n`);
      for (const s of r.skippedClasses) io.err(`skipped ${s.points} point(s) of class '${s.name}': ${s.reason}\n`);
      for (const f of r.priorFallbackClasses) io.err(`class '${f.name}' is unknown to the model: its ${f.points} point(s) got the prior box (${f.priorSource})\n`);
      const { predictions, ...summary } = r;
      const out = optString(p, 'out');
      if (out) await writeFileAtomic(resolve(io.cwd, out), JSON.stringify(summary, null, 2) + '\n');
      const predOut = optString(p, 'predictions');
      if (predOut) await writeFileAtomic(resolve(io.cwd, predOut), JSON.stringify(predictions) + '\n');
      if (hasFlag(p, 'json')) io.out(JSON.stringify(summary) + '\n');
      else io.out(formatEvaluation(r));
      return 0;
    } finally {
      if (!(predictor instanceof PriorBoxPredictor)) await predictor.dispose();
    }
  },
};
