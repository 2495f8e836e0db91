import { dirname, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { hasFlag, optString, parseArgs, requireString } from '../args';
import { DatasetDocument } from '../../core/dataset/DatasetDocument';
import { exportCoco, type ExportImages } from '../../core/dataset/exportCoco';
import { reportProblems } from './importCommand';
import { checkDeidFlags, DEID_FLAGS, DEID_USAGE, DEID_VALUES, runDeidentifiedExport } from './deidentifyExport';

export const exportCommand: CliCommand = {
  name: 'export',
  summary: "export COCO JSON, or PBC's training layout (one COCO file per split/level)",
  usage: 'pointbox export coco <dataset.pointbox.json> --out <dir> [--layout pbc] [--images link|copy|none] [--keep-hidden-boxes] [--pseudo-boxes reviewed|all] [--images-root DIR] [--json] ' + DEID_USAGE,
  async run(argv, io) {
    const p = parseArgs(argv, { values: ['out', 'layout', 'images', 'images-root', 'pseudo-boxes', ...DEID_VALUES], flags: ['keep-hidden-boxes', 'json', ...DEID_FLAGS] });
    const [format, file, extra] = p.positionals;
    if (format !== 'coco') throw new UsageError(`the export format is 'coco' (got '${format ?? ''}')`);
    if (!file || extra) throw new UsageError('give one dataset file');
    const layout = optString(p, 'layout') ?? 'coco';
    if (layout !== 'coco' && layout !== 'pbc') throw new UsageError('--layout must be coco or pbc');
    const images = optString(p, 'images') ?? 'link';
    if (!['link', 'copy', 'none'].includes(images)) throw new UsageError('--images must be link, copy or none');
    const pseudoBoxes = optString(p, 'pseudo-boxes') ?? 'reviewed';
    if (pseudoBoxes !== 'reviewed' && pseudoBoxes !== 'all') throw new UsageError('--pseudo-boxes must be reviewed (accepted + edited) or all (pending too)');
    const path = resolve(io.cwd, file);
    const doc = DatasetDocument.load(path);
    const imagesRoot = optString(p, 'images-root');
    if (checkDeidFlags(p)) {
      return runDeidentifiedExport(io, p, doc.data, { out: resolve(io.cwd, requireString(p, 'out')), datasetDir: dirname(path), layout, keepHiddenBoxes: hasFlag(p, 'keep-hidden-boxes'), ...(imagesRoot ? { imagesRoot: resolve(io.cwd, imagesRoot) } : {}) });
    }
    const r = exportCoco(doc.data, { out: resolve(io.cwd, requireString(p, 'out')), datasetDir: dirname(path), layout, images: images as ExportImages, keepHiddenBoxes: hasFlag(p, 'keep-hidden-boxes'), pseudoBoxes, ...(imagesRoot ? { imagesRoot: resolve(io.cwd, imagesRoot) } : {}) });
    reportProblems(io, r, false);
    if (hasFlag(p, 'json')) io.out(JSON.stringify({ imageRoot: r.imageRoot, files: r.files }) + '\n');
    else for (const f of r.files) io.err(`wrote ${f.file}: ${f.images} images, ${f.annotations} annotations\n`);
    return 0;
  },
};
