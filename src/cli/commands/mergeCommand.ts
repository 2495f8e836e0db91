/**
 * `pointbox merge <dataset> <partials...>`: combines the partial files of a sharded `pseudo-label` or `eval`
 * run (issue 13). Refuses, naming the files, unless the partials are exactly shards 1..n of one run made from
 * the dataset as it is now (core/dataset/shards.ts). Pseudo-label partials become pending pseudo-boxes in
 * the dataset, written atomically in one save, exactly as one unsharded run writes them; eval partials are
 * scored together, exactly as one unsharded evaluation scores them.
 */
import { resolve } from 'node:path';
import { UsageError, type CliCommand } from '../command';
import { hasFlag, optString, parseArgs } from '../args';
import { DatasetDocument } from '../../core/dataset/DatasetDocument';
import { writeFileAtomic } from '../../core/dataset/writeFileAtomic';
import { checkShardSet, readPartial, sha256File, ShardError, type PartialFile } from '../../core/dataset/shards';
import { applyPseudoBoxes, collectJobs } from '../../core/inference/pseudoLabelPipeline';
import { finishEvaluation, planEvaluation, type PredictorSummary } from '../../core/inference/evaluatePointToBox';
import { jobImageIds, mergeShardResults, type ShardPipelineResult } from '../../core/inference/shardedRuns';
import { formatEvaluation } from './evalCommand';

type PseudoPartial = PartialFile<ShardPipelineResult & { provenance: { modelId: string; sha256?: string } }>;
type EvalPartial = PartialFile<ShardPipelineResult & { predictor: PredictorSummary }>;

export const mergeCommand: CliCommand = {
  name: 'merge',
  summary: 'combine the partial files of a sharded pseudo-label or eval run (--shard i/n) into the dataset / one evaluation',
  usage: 'pointbox merge <dataset.pointbox.json> <partial.json>... [--out result.json] [--predictions clicks.json] [--json]\n' +
    '  pseudo-label partials: their pseudo-boxes are applied to the dataset in one atomic save, as one unsharded run would.\n' +
    '  eval partials: scored together (the figures one unsharded eval gives), printed, and written to --out / --predictions.\n' +
    '  Refused unless the partials are shards 1..n of one run (same options) of the dataset as it is now, each exactly once.',
  async run(argv, io) {
    const p = parseArgs(argv, { values: ['out', 'predictions'], flags: ['json'] });
    const [datasetArg, ...partialArgs] = p.positionals;
    if (!datasetArg || partialArgs.length === 0) throw new UsageError('give the dataset file, then the partial files of every shard');
    const path = resolve(io.cwd, datasetArg);
    if (/\.shard-\d+-of-\d+\.json$/.test(path)) throw new UsageError(`${datasetArg} is a partial file: give the dataset file first`);
    const parts = partialArgs.map((f) => ({ file: f, partial: readPartial(resolve(io.cwd, f)) }));
    const sha = sha256File(path);
    const doc = DatasetDocument.load(path);
    const kind = parts[0]!.partial.kind;
    const opts = parts[0]!.partial.options;

    if (kind === 'pseudo-label') {
      if (optString(p, 'out') !== undefined || optString(p, 'predictions') !== undefined) throw new UsageError('--out / --predictions are for eval partials; pseudo-label partials go into the dataset');
      const expected = jobImageIds(collectJobs(doc.data, { split: (opts.split as string | null) ?? undefined }));
      checkShardSet(parts, path, sha, expected);
      const ps = parts.map((x) => x.partial as PseudoPartial);
      const r = mergeShardResults(ps.map((x) => x.result), doc.data.categories);
      const prov = ps[0]!.result.provenance;
      for (const f of r.failed) io.err(`skipped ${f.file}: ${f.error}\n`);
      for (const s of r.skippedClasses) io.err(`skipped ${s.points} point(s) of class '${s.name}': ${s.reason}\n`);
      for (const f of r.priorFallbackClasses) io.err(`class '${f.name}' is unknown to the model: its ${f.points} point(s) got the prior box (${f.priorSource})\n`);
      const applied = applyPseudoBoxes(doc, r, { modelId: prov.modelId, sha256: prov.sha256, executionProvider: r.executionProvider });
      await doc.save();
      const summary = { shards: parts.length, images: r.completedImageIds.length, failedImages: r.failed.length, boxes: applied.added, replacedPending: applied.replaced, device: r.executionProvider };
      if (hasFlag(p, 'json')) io.out(JSON.stringify(summary) + '\n');
      else io.out(`merged ${parts.length} shards: ${summary.images} images, ${summary.boxes} pending pseudo-boxes (${applied.replaced} earlier pending replaced) -> ${path}\n`);
      return 0;
    }
    if (kind === 'eval') {
      const plan = planEvaluation(doc.data, {
        split: (opts.split as string | null) ?? undefined, seed: opts.seed as number, seeds: (opts.seeds as number[] | null) ?? undefined, resamplePoints: !!opts.resamplePoints,
      });
      checkShardSet(parts, path, sha, plan.images.map((im) => im.id));
      const ps = parts.map((x) => x.partial as EvalPartial);
      const r = mergeShardResults(ps.map((x) => x.result), doc.data.categories);
      const ev = finishEvaluation(plan, r, ps[0]!.result.predictor, { bootstrap: opts.bootstrap as number, bootstrapSeed: opts.bootstrapSeed as number });
      for (const f of ev.failedImages) io.err(`skipped ${f.file}: ${f.error}\n`);
      for (const s of ev.skippedClasses) io.err(`skipped ${s.points} point(s) of class '${s.name}': ${s.reason}\n`);
      const { predictions, ...summary } = ev;
      const out = optString(p, 'out');
      if (out) await writeFileAtomic(resolve(io.cwd, out), JSON.stringify(summary, null, 2) + '\n');
      const predOut = optString(p, 'predictions');
      if (predOut) await writeFileAtomic(resolve(io.cwd, predOut), JSON.stringify(predictions) + '\n');
      if (hasFlag(p, 'json')) io.out(JSON.stringify(summary) + '\n');
      else io.out(`merged ${parts.length} shards\n` + formatEvaluation(ev));
      return 0;
    }
    throw new ShardError(`${parts[0]!.file}: unknown partial kind '${String(kind)}'`);
  },
};
