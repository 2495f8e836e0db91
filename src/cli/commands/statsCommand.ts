import { dirname, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { hasFlag, optString, parseArgs } from '../args';
import { DatasetDocument } from '../../core/dataset/DatasetDocument';
import { computeStats } from '../../core/dataset/datasetStats';

export const statsCommand: CliCommand = {
  name: 'stats',
  summary: 'count images, boxes, points, pseudo-boxes per class and split',
  usage: 'pointbox stats <dataset.pointbox.json> [--json] [--no-files] [--images-root DIR]   (--no-files: skip the missing-file check)',
  async run(argv, io) {
    const p = parseArgs(argv, { values: ['images-root'], flags: ['json', 'no-files'] });
    const file = p.positionals[0];
    if (!file || p.positionals.length !== 1) throw new UsageError('give one dataset file');
    const path = resolve(io.cwd, file);
    const doc = DatasetDocument.load(path);
    const imagesRoot = optString(p, 'images-root');
    const s = computeStats(doc.data, hasFlag(p, 'no-files') ? {} : { datasetDir: dirname(path), ...(imagesRoot ? { imagesRoot: resolve(io.cwd, imagesRoot) } : {}) });
    if (hasFlag(p, 'json')) { io.out(JSON.stringify(s) + '\n'); return 0; }
    const lines = [
      `${doc.data.info.name}: ${s.images} images: ${s.boxLevelImages} box-level (${s.imagesWithBoxes} with boxes), ${s.pointLevelImages} point-level (${s.imagesWithPointsOnly} with points), ${s.unlabeled} unlabeled; ${s.negativeImages} negative (no lesion)`,
      `${s.boxes} boxes, ${s.points} points, ${s.hiddenBoxes} hidden boxes, ${s.pseudoBoxes} pseudo-boxes (${Object.entries(s.pseudoBoxesByReview).map(([k, v]) => `${v} ${k}`).join(', ')})`,
      `missing image files: ${s.missingFiles ?? 'not checked'}`,
      'splits:', ...Object.entries(s.splits).map(([k, v]) => `  ${k.padEnd(11)} ${v.images} images: ${v.boxLevelImages} box-level (${v.imagesWithBoxes} with boxes), ${v.pointLevelImages} point-level (${v.imagesWithPointsOnly} with points); ${v.boxes} boxes, ${v.points} points`),
      'classes:', ...Object.entries(s.classes).map(([k, v]) => `  ${k.padEnd(20)} ${v.boxes} boxes, ${v.points} points, ${v.pseudoBoxes} pseudo`),
    ];
    io.out(lines.join('\n') + '\n');
    return 0;
  },
};
