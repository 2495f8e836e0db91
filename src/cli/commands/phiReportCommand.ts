import { dirname, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { hasFlag, optString, parseArgs } from '../args';
import { DatasetDocument } from '../../core/dataset/DatasetDocument';
import { writeFileAtomicSync } from '../../core/dataset/writeFileAtomic';
import { phiReport, phiReportMarkdown } from '../../core/deidentify/phiReport';
import { parseProfile } from '../../core/deidentify/profile';

export const phiReportCommand: CliCommand = {
  name: 'phi-report',
  summary: 'which attributes that identify patients are in a dataset, in how many files (table or JSON)',
  usage: 'pointbox phi-report <dataset.pointbox.json> [--profile basic|basic+retain-dates|basic+retain-device] [--images-root DIR] [--json] [--out FILE.md|FILE.json]',
  async run(argv, io) {
    const p = parseArgs(argv, { values: ['profile', 'images-root', 'out'], flags: ['json'] });
    const [file, extra] = p.positionals;
    if (!file || extra) throw new UsageError('give one dataset file');
    let profile;
    try { profile = parseProfile(optString(p, 'profile')); } catch (e) { throw new UsageError((e as Error).message); }
    const path = resolve(io.cwd, file);
    const doc = DatasetDocument.load(path);
    const imagesRoot = optString(p, 'images-root');
    const r = phiReport(doc.data, { datasetDir: dirname(path), profile, ...(imagesRoot ? { imagesRoot: resolve(io.cwd, imagesRoot) } : {}) });
    const out = optString(p, 'out');
    const json = JSON.stringify(r, null, 1) + '\n';
    if (out) {
      const target = resolve(io.cwd, out);
      writeFileAtomicSync(target, target.endsWith('.json') ? json : phiReportMarkdown(r));
      io.err(`wrote ${target}\n`);
    }
    if (hasFlag(p, 'json')) io.out(json);
    else if (!out) io.out(phiReportMarkdown(r));
    return 0;
  },
};
