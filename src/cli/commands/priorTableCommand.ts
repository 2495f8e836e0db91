import { basename, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { hasFlag, optString, parseArgs, requireString } from '../args';
import { DatasetDocument } from '../../core/dataset/DatasetDocument';
import { writeFileAtomic } from '../../core/dataset/writeFileAtomic';
import { computePublicPriorTable, rsnaPatientsOf } from '../../core/inference/publicPriorTable';
import { formatPriorTableCsv } from '../../core/inference/priorTable';

export const priorTableCommand: CliCommand = {
  name: 'prior-table',
  summary: 'per-class median box sizes (fraction of the image side) from the public NIH and RSNA box lists, leaving out a dataset\'s images',
  usage: 'pointbox prior-table [--nih BBox_List_2017.csv] [--rsna stage_2_train_labels.csv] [--exclude-dataset x.pointbox.json] ' +
    '[--exclude-rsna-patients <csv with patientId,nih_image>] --out <file.csv> [--json]\n' +
    '  Pneumonia comes from the RSNA Target=1 rows when --rsna is given, every other class from the NIH rows. --exclude-dataset leaves out\n' +
    '  the NIH rows of its images (by file name) and, with --exclude-rsna-patients, the RSNA patients mapped to them; without a dataset,\n' +
    '  every patient listed in that CSV is left out. The CSV (class,width,height,unit,boxes,source) is what --prior-table and the trainer read.',
  async run(argv, io) {
    const p = parseArgs(argv, { values: ['nih', 'rsna', 'exclude-dataset', 'exclude-rsna-patients', 'out'], flags: ['json'] });
    if (p.positionals.length) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
    const nih = optString(p, 'nih');
    const rsna = optString(p, 'rsna');
    if (!nih && !rsna) throw new UsageError('give --nih, --rsna or both');
    const out = resolve(io.cwd, requireString(p, 'out'));
    const ds = optString(p, 'exclude-dataset');
    const excludeImages = ds ? new Set(DatasetDocument.load(resolve(io.cwd, ds)).data.images.map((im) => basename(im.file_name))) : undefined;
    const patients = optString(p, 'exclude-rsna-patients');
    const excludeRsnaPatients = patients ? rsnaPatientsOf(resolve(io.cwd, patients), excludeImages) : undefined;
    const t = computePublicPriorTable({ nih: nih && resolve(io.cwd, nih), rsna: rsna && resolve(io.cwd, rsna), excludeImages, excludeRsnaPatients });
    await writeFileAtomic(out, formatPriorTableCsv(t.entries));
    const summary = {
      out, classes: t.entries.length, nih: t.nih, rsna: t.rsna,
      excludedImages: excludeImages?.size ?? 0, excludedRsnaPatients: excludeRsnaPatients?.size ?? 0,
      entries: t.entries.map((e) => ({ class: e.name, width: e.w, height: e.h, unit: e.unit, boxes: e.boxes, source: e.source })),
    };
    if (hasFlag(p, 'json')) io.out(JSON.stringify(summary) + '\n');
    else {
      io.out(`${out}: ${t.entries.length} classes (NIH rows ${t.nih.rows}, ${t.nih.excluded} left out; RSNA Target=1 rows ${t.rsna.rows}, ${t.rsna.excluded} left out)\n`);
      for (const e of t.entries) io.out(`  ${e.name.padEnd(14)} ${e.w.toFixed(4)} x ${e.h.toFixed(4)} of the side, ${String(e.boxes).padStart(5)} boxes (${e.source})\n`);
    }
    return 0;
  },
};
