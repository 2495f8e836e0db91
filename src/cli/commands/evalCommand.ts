import { dirname, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { hasFlag, optNumber, optString, parseArgs } from '../args';
import { evaluatePointToBox } from '../../core/inference/evaluatePointToBox';
import { PriorBoxPredictor } from '../../core/inference/PriorBoxPredictor';
import { writeFileAtomic } from '../../core/dataset/writeFileAtomic';
import { inferenceValueOptions, loadDatasetArg, loadPredictor, parseClassMap } from './inferenceOptions';

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'AP50 and COCO mAP of a point->box model (or prior) on images with boxes, overall and per class',
  usage: 'pointbox eval <dataset.pointbox.json> --model <file.onnx|prior> [--split val] [--seed K] [--resample-points] [--device ...] [--batch N] [--class-map ...] [--out result.json] [--json]',
  async run(argv, io) {
    const p = parseArgs(argv, { values: [...inferenceValueOptions, 'seed', 'out'], flags: ['json', 'resample-points'] });
    const { path, doc } = loadDatasetArg(p, io.cwd);
    const predictor = await loadPredictor(p, io.cwd, doc.data, (s) => io.err(s + '\n'));
    try {
      const r = await evaluatePointToBox(doc.data, dirname(path), predictor, {
        split: optString(p, 'split'), seed: optNumber(p, 'seed', 0), resamplePoints: hasFlag(p, 'resample-points'),
        batchSize: optNumber(p, 'batch', 4), classMap: parseClassMap(p, io.cwd),
      });
      for (const f of r.failedImages) io.err(`skipped ${f.file}: ${f.error}\n`);
      for (const s of r.skippedClasses) io.err(`skipped ${s.points} point(s) of class '${s.name}': unknown to the model\n`);
      const out = optString(p, 'out');
      if (out) await writeFileAtomic(resolve(io.cwd, out), JSON.stringify(r, null, 2) + '\n');
      if (hasFlag(p, 'json')) io.out(JSON.stringify(r) + '\n');
      else {
        io.out(`${r.model} on ${r.device}: AP50 ${(100 * r.ap50).toFixed(1)}, mAP ${(100 * r.map).toFixed(1)} over ${r.points} boxes in ${r.images} images (split ${r.split ?? 'all'})\n`);
        for (const [k, v] of Object.entries(r.perClass)) io.out(`  ${k.padEnd(20)} AP50 ${(100 * v.ap50).toFixed(1).padStart(5)}  mAP ${(100 * v.map).toFixed(1).padStart(5)}  (${v.boxes} boxes)\n`);
      }
      return 0;
    } finally {
      if (!(predictor instanceof PriorBoxPredictor)) await predictor.dispose();
    }
  },
};
