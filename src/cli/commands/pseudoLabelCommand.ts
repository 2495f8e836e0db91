import { dirname, resolve } from 'node:path';
import { imageRootsOf } from '../../core/dataset/imagePaths';
import type { CliCommand } from '../command';
import { hasFlag, optString, parseArgs } from '../args';
import { applyPseudoBoxes, collectJobs, runPointToBox } from '../../core/inference/pseudoLabelPipeline';
import { PriorBoxPredictor } from '../../core/inference/PriorBoxPredictor';
import { fallbackPriorFor, inferenceValueOptions, loadDatasetArg, loadPredictor, loadPriorTable, parseClassMap, pipelineSizes } from './inferenceOptions';

export const pseudoLabelCommand: CliCommand = {
  name: 'pseudo-label',
  summary: 'turn points into pending pseudo-boxes with an ONNX point->box model (or the prior-box baseline)',
  usage: 'pointbox pseudo-label <dataset.pointbox.json> --model <file.onnx|prior> [--device auto|cpu|cuda|webgpu|dml|coreml] [--batch N] [--workers N] [--threads N] [--split S] [--class-map "Data=Model,..."|map.json] [--prior-table <csv|json|onnx>] [--images-root DIR] [--dry-run] [--json]',
  async run(argv, io) {
    const p = parseArgs(argv, { values: [...inferenceValueOptions, 'images-root'], flags: ['json', 'dry-run'] });
    const { path, doc } = loadDatasetArg(p, io.cwd);
    const table = loadPriorTable(p, io.cwd);
    const predictor = await loadPredictor(p, io.cwd, doc.data, (s) => io.err(s + '\n'), table);
    try {
      const jobs = collectJobs(doc.data, { split: optString(p, 'split') });
      const ac = new AbortController();
      const onSig = () => { io.err('\ncancelling after the current batch...\n'); ac.abort(); };
      process.once('SIGINT', onSig);
      // Images are read only inside the dataset folder and its image root (an image whose path leaves them fails, unread).
      const imagesRoot = optString(p, 'images-root');
      const r = await runPointToBox(imageRootsOf(doc.data, dirname(path), imagesRoot ? resolve(io.cwd, imagesRoot) : undefined), doc.data.categories, jobs, predictor, {
        ...pipelineSizes(p), classMap: parseClassMap(p, io.cwd), signal: ac.signal,
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
      let applied = { added: 0, replaced: 0 };
      if (!hasFlag(p, 'dry-run')) {
        applied = applyPseudoBoxes(doc, r, { modelId: model ? model.info.file.split(/[\\/]/).pop()! : 'prior', sha256: model?.info.sha256, executionProvider: r.executionProvider });
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
