import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliCommand, CliIo } from '../command';
import { UsageError } from '../command';
import { hasFlag, optString, parseArgs, requireString } from '../args';
import type { ImportResult } from '../../core/dataset/DatasetBuilder';
import { formatProblem } from '../../core/dataset/DatasetError';
import { serializeDataset } from '../../core/dataset/datasetJson';
import { computeStats } from '../../core/dataset/datasetStats';
import { runImport, type ImportRequest } from '../../core/dataset/importDataset';
import type { SplitName } from '../../core/dataset/schema';
import { writeFileAtomicSync } from '../../core/dataset/writeFileAtomic';

const USAGE = `pointbox import <format> <options> --out <dataset.pointbox.json> [--force] [--json] [--verbose]
  coco   --annotations a.json[,b.json...] [--images <dir>] [--split train|val|test]
         (PBC's files too: annotations with a "point"; the split comes from instances_<split>*.json)
  rsna   --labels stage_2_train_labels.csv --images <dir of <patientId>.dcm>   (absent DICOMs: 1024x1024, reported)
  nih    --bbox BBox_List_2017.csv --images <dir of PNGs> [--all-images]
  vindr  --csv train.csv --images <dir> [--fuse wbf] [--iou 0.5]
  folder --images <dir>   (every DICOM/PNG/JPEG, unlabeled)
Problems (bad rows, boxes clamped, missing files) are listed on stderr with file:line; the import goes on.`;

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'import COCO/PBC, RSNA, NIH, VinDr-CXR or a folder of images into a PointBox dataset',
  usage: USAGE,
  async run(argv, io) {
    const p = parseArgs(argv, { values: ['annotations', 'labels', 'bbox', 'csv', 'images', 'fuse', 'iou', 'out', 'split'], flags: ['force', 'json', 'verbose', 'all-images'] });
    const format = p.positionals[0];
    if (!format) throw new UsageError('which format? coco, rsna, nih, vindr or folder');
    if (p.positionals.length > 1) throw new UsageError(`unexpected argument '${p.positionals[1]}'`);
    const abs = (s: string) => resolve(io.cwd, s);
    const out = abs(requireString(p, 'out'));
    if (existsSync(out) && !hasFlag(p, 'force')) throw new UsageError(`${out} exists; pass --force to replace it`);
    let req: ImportRequest;
    switch (format) {
      case 'coco': {
        const split = optString(p, 'split');
        if (split && !['train', 'val', 'test', 'unassigned'].includes(split)) throw new UsageError(`--split must be train, val, test or unassigned`);
        const images = optString(p, 'images');
        req = { format, annotations: requireString(p, 'annotations').split(',').filter(Boolean).map(abs), ...(images ? { images: abs(images) } : {}), ...(split ? { split: split as SplitName } : {}) };
        break;
      }
      case 'rsna': req = { format, labels: abs(requireString(p, 'labels')), images: abs(requireString(p, 'images')) }; break;
      case 'nih': req = { format, bbox: abs(requireString(p, 'bbox')), images: abs(requireString(p, 'images')), allImages: hasFlag(p, 'all-images') }; break;
      case 'vindr': {
        const fuse = optString(p, 'fuse');
        if (fuse !== undefined && fuse !== 'wbf') throw new UsageError(`--fuse supports only 'wbf'`);
        const iou = optString(p, 'iou');
        req = { format, csv: abs(requireString(p, 'csv')), images: abs(requireString(p, 'images')), ...(fuse ? { fuse: 'wbf' as const } : {}), ...(iou ? { iouThreshold: Number(iou) } : {}) };
        break;
      }
      case 'folder': req = { format, images: abs(requireString(p, 'images')) }; break;
      default: throw new UsageError(`unknown format '${format}' (coco, rsna, nih, vindr, folder)`);
    }
    const r = runImport(req, out);
    writeFileAtomicSync(out, serializeDataset(r.data));
    reportProblems(io, r, hasFlag(p, 'verbose'));
    const s = computeStats(r.data);
    const summary = { dataset: out, images: s.images, annotations: r.data.annotations.length, categories: r.data.categories.length, imagesWithBoxes: s.imagesWithBoxes, negativeImages: s.negativeImages, boxes: s.boxes, missingFiles: r.missingFiles, errors: r.log.errors, warnings: r.log.warnings, imagesRoot: r.data.images_root ?? null };
    if (hasFlag(p, 'json')) io.out(JSON.stringify(summary) + '\n');
    else io.err(`imported ${s.images} images, ${r.data.annotations.length} annotations, ${r.data.categories.length} classes into ${out}` +
      ` (${r.missingFiles} image files missing, ${r.log.errors} errors, ${r.log.warnings} warnings)\n` +
      (r.data.images_root ? `images_root: ${r.data.images_root} (the image folder is outside the dataset's folder; file names are relative to it)\n` : ''));
    return 0;
  },
};

export function reportProblems(io: CliIo, r: { log: ImportResult['log'] }, verbose: boolean): void {
  const max = verbose ? Infinity : 20;
  // Errors first, then warnings; missing files last (they can be thousands and say the least).
  const rank = (x: { severity: string; code: string }) => (x.severity === 'error' ? 0 : x.code === 'missing-file' ? 2 : 1);
  const ps = r.log.problems.slice().sort((a, b) => rank(a) - rank(b));
  for (const pr of ps.slice(0, max)) io.err(formatProblem(pr) + '\n');
  const hidden = ps.length - Math.min(ps.length, max) + [...r.log.dropped.values()].reduce((a, b) => a + b, 0);
  if (hidden > 0) io.err(`... and ${hidden} more problem(s)${verbose ? '' : ' (--verbose lists them)'}\n`);
}
