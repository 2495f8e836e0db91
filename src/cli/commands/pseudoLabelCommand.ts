import { hostname } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { imageRootsOf } from '../../core/dataset/imagePaths';
import { UsageError, type CliCommand } from '../command';
import { hasFlag, optString, parseArgs } from '../args';
import { applyPseudoBoxes, collectJobs, runPointToBox } from '../../core/inference/pseudoLabelPipeline';
import { PriorBoxPredictor } from '../../core/inference/PriorBoxPredictor';
import { defaultPartialPath, parseShard, sha256File, shardImageIds, shardLabel, writePartial, type PartialFile } from '../../core/dataset/shards';
import { jobImageIds, toShardResult, type ShardPipelineResult } from '../../core/inference/shardedRuns';
import { fallbackPriorFor, inferenceValueOptions, loadDatasetArg, loadPredictor, loadPriorTable, parseClassMap, pipelineSizes } from './inferenceOptions';

export const pseudoLabelCommand: CliCommand = {
  name: 'pseudo-label',
  summary: 'turn points into pending pseudo-boxes with an ONNX point->box model (or the prior-box baseline)',
  usage: 'pointbox pseudo-label <dataset.pointbox.json> --model <file.onnx|prior> [--device auto|cpu|cuda|webgpu|dml|coreml] [--batch N] [--workers N] [--threads N] [--split S] [--class-map "Data=Model,..."|map.json] [--prior-table <csv|json|onnx>] [--images-root DIR] [--dry-run] [--json]\n' +
    '       [--shard i/n [--partial FILE]]   one of n shards (1-based): a deterministic 1/n of the images, written to a partial file\n' +
    '                                        (default <dataset>.pseudo-label.shard-i-of-n.json beside it), not to the dataset;\n' +
    '                                        `pointbox merge <dataset> <partials...>` applies all n at once',
  async run(argv, io) {
    const p = parseArgs(argv, { values: [...inferenceValueOptions, 'images-root', 'shard', 'partial'], flags: ['json', 'dry-run'] });
    const shardText = optString(p, 'shard');
    const shard = shardText !== undefined ? parseShard(shardText) : undefined;
    if (!shard && optString(p, 'partial') !== undefined) throw new UsageError('--partial goes with --shard i/n');
    const { path, doc } = loadDatasetArg(p, io.cwd);
    // The bytes the shard reads, so a merge can refuse partials of another version of the dataset.
    const datasetSha = shard ? sha256File(path) : '';
    const table = loadPriorTable(p, io.cwd);
    const predictor = await loadPredictor(p, io.cwd, doc.data, (s) => io.err(s + '\n'), table);
    try {
      const allJobs = collectJobs(doc.data, { split: optString(p, 'split') });
      const mine = shard ? shardImageIds(jobImageIds(allJobs), shard) : undefined;
      const jobs = mine ? allJobs.filter((j) => mine.has(j.image.id)) : allJobs;
      if (shard) io.err(`shard ${shardLabel(shard)}: ${mine!.size} of ${jobImageIds(allJobs).length} images\n`);
      const ac = new AbortController();
      const onSig = () => { io.err('\ncancelling after the current batch...\n'); ac.abort(); };
      process.once('SIGINT', onSig);
      // Images are read only inside the dataset folder and its image root (an image whose path leaves them fails, unread).
      const imagesRoot = optString(p, 'images-root');
      const r = await runPointToBox(imageRootsOf(doc.data, dirname(path), imagesRoot ? resolve(io.cwd, imagesRoot) : undefined), doc.data.categories, jobs, predictor, {
        ...pipelineSizes(p), classMap: parseClassMap(p, io.cwd), signal: ac.signal, runJobs: allJobs,
        // Points of classes the model does not know get the prior's box (marked as such) instead of none.
        fallbackPrior: predictor instanceof PriorBoxPredictor ? undefined : fallbackPriorFor(doc.data, table),
        onProgress: (pr) => { if (!hasFlag(p, 'json')) io.err(`\r${pr.done}/${pr.total} images, ${pr.boxes} boxes, ${pr.imagesPerSecond.toFixed(1)} img/s, ETA ${Number.isFinite(pr.etaSeconds) ? pr.etaSeconds.toFixed(0) + ' s' : '-'}   `); },
      });
      process.off('SIGINT', onSig);
      for (const f of r.failed) io.err(`\nskipped ${f.file}: ${f.error}`);
      for (const s of r.skippedClasses) io.err(`\nskipped ${s.points} point(s) of class '${s.name}': ${s.reason} (use --class-map or --prior-table)`);
      for (const f of r.priorFallbackClasses) io.err(`\nclass '${f.name}' is unknown to the model: its ${f.points} point(s) got the prior box (${f.priorSource}), marked prior_fallback in their provenance`);
      io.err('\n');
      const model = predictor instanceof PriorBoxPredictor ? undefined : predictor;
      const modelId = model ? model.info.file.split(/[\\/]/).pop()! : 'prior';
      if (shard) {
        const partialFile = resolve(io.cwd, optString(p, 'partial') ?? defaultPartialPath(path, 'pseudo-label', shard));
        const partial: PartialFile<ShardPipelineResult & { provenance: { modelId: string; sha256?: string } }> = {
          format: 'pointbox-partial', version: 1, kind: 'pseudo-label', shard, dataset: { file: basename(path), sha256: datasetSha },
          options: { model: modelId, modelSha256: model?.info.sha256 ?? null, split: optString(p, 'split') ?? null, classMap: parseClassMap(p, io.cwd), priorTable: optString(p, 'prior-table') ?? null },
          imageIds: [...mine!], created: new Date().toISOString(), host: hostname(),
          result: { ...toShardResult(r, allJobs, mine!), provenance: { modelId, ...(model?.info.sha256 ? { sha256: model.info.sha256 } : {}) } },
        };
        if (!r.cancelled) await writePartial(partialFile, partial);
        const summary = { shard: shardLabel(shard), partial: r.cancelled ? null : partialFile, images: r.completedImageIds.length, failedImages: r.failed.length, predictions: r.predictions.length, imagesPerSecond: r.imagesPerSecond, seconds: r.seconds, device: r.executionProvider, cancelled: r.cancelled };
        if (hasFlag(p, 'json')) io.out(JSON.stringify(summary) + '\n');
        else io.out(r.cancelled ? `shard ${shardLabel(shard)} cancelled: no partial file written\n` : `shard ${shardLabel(shard)}: ${summary.images} images, ${summary.predictions} boxes -> ${partialFile} (merge with pointbox merge)\n`);
        return r.cancelled ? 130 : 0;
      }
      let applied = { added: 0, replaced: 0 };
      if (!hasFlag(p, 'dry-run')) {
        applied = applyPseudoBoxes(doc, r, { modelId, sha256: model?.info.sha256, executionProvider: r.executionProvider });
        await doc.save();
      }
      const summary = {
        images: r.completedImageIds.length, failedImages: r.failed.length, boxes: applied.added, replacedPending: applied.replaced,
        predictions: r.predictions.length, imagesPerSecond: r.imagesPerSecond, seconds: r.seconds, device: r.executionProvider,
        cancelled: r.cancelled, skippedClasses: r.skippedClasses, priorFallbackClasses: r.priorFallbackClasses, stageMs: r.stageMs, dryRun: hasFlag(p, 'dry-run'),
      };
      if (hasFlag(p, 'json')) io.out(JSON.stringify(summary) + '\n');
      else io.out(`${summary.images} images, ${summary.boxes} pending pseudo-boxes (${applied.replaced} earlier pending replaced), ${r.imagesPerSecond.toFixed(1)} images/s on ${r.executionProvider}${r.cancelled ? ' (cancelled)' : ''}\n`);
      return r.cancelled ? 130 : 0;
    } finally {
      if (!(predictor instanceof PriorBoxPredictor)) await predictor.dispose();
    }
  },
};
