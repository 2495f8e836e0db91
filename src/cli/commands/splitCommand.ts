import { resolve } from 'node:path';
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { hasFlag, optNumber, optString, parseArgs } from '../args';
import { DatasetDocument } from '../../core/dataset/DatasetDocument';
import { serializeDataset } from '../../core/dataset/datasetJson';
import { splitDataset, type PointRegion } from '../../core/dataset/splitDataset';
import { writeFileAtomicSync } from '../../core/dataset/writeFileAtomic';

export const splitCommand: CliCommand = {
  name: 'split',
  summary: "PBC's seeded train/val(/test) split and box ratio (the rest keep one point per lesion)",
  usage: 'pointbox split <dataset.pointbox.json> --val 0.2 [--test F] --box-ratio 0.2 --seed 0 [--point-region box|center-2/3] [--resample-points] [--out <new.pointbox.json>] [--json]',
  async run(argv, io) {
    const p = parseArgs(argv, { values: ['val', 'test', 'box-ratio', 'seed', 'point-region', 'out'], flags: ['resample-points', 'json'] });
    const file = p.positionals[0];
    if (!file || p.positionals.length !== 1) throw new UsageError('give one dataset file');
    const region = optString(p, 'point-region') ?? 'box';
    if (region !== 'box' && region !== 'center-2/3') throw new UsageError(`--point-region must be box or center-2/3`);
    const val = optNumber(p, 'val'); const boxRatio = optNumber(p, 'box-ratio');
    if (val === undefined) throw new UsageError('--val is required (PBC: 0.2)');
    if (boxRatio === undefined) throw new UsageError('--box-ratio is required (PBC: 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)');
    const path = resolve(io.cwd, file);
    const doc = DatasetDocument.load(path);
    const s = splitDataset(doc.data, { val, test: optNumber(p, 'test', 0)!, boxRatio, seed: optNumber(p, 'seed', 0)!, pointRegion: region as PointRegion, resamplePoints: hasFlag(p, 'resample-points') });
    const out = resolve(io.cwd, optString(p, 'out') ?? file);
    writeFileAtomicSync(out, serializeDataset(doc.data));
    if (hasFlag(p, 'json')) io.out(JSON.stringify(s) + '\n');
    else io.err(`split ${out}: train ${s.train} (${s.trainBoxes} box-level images (${s.trainBoxesWithBoxes} with boxes), ${s.trainPoints} point-level), val ${s.val}, test ${s.test}, unlabeled ${s.unlabeled}; ${s.pointsSampled} points sampled\n`);
    return 0;
  },
};
