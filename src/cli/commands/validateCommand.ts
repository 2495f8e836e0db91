import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { hasFlag, optString, parseArgs } from '../args';
import { DatasetError, formatProblem } from '../../core/dataset/DatasetError';
import { parseJsonWithLines } from '../../core/dataset/datasetJson';
import { checkDatasetShape, validateDataset } from '../../core/dataset/validateDataset';

export const validateCommand: CliCommand = {
  name: 'validate',
  summary: 'check a dataset: every problem with file:line; exit code 1 when there are errors',
  usage: 'pointbox validate <dataset.pointbox.json> [--json] [--no-files] [--all] [--images-root DIR]   (--all: no cap of 1000 problems per kind; --images-root: the folder that replaces the file\'s images_root)',
  async run(argv, io) {
    const p = parseArgs(argv, { values: ['images-root'], flags: ['json', 'no-files', 'all'] });
    const file = p.positionals[0];
    if (!file || p.positionals.length !== 1) throw new UsageError('give one dataset file');
    const path = resolve(io.cwd, file);
    let text: string;
    try { text = readFileSync(path, 'utf8'); } catch (e) { throw new DatasetError('io', `cannot read: ${(e as Error).message}`, path); }
    let r;
    try {
      const d = checkDatasetShape(parseJsonWithLines(text, path), path);
      const imagesRoot = optString(p, 'images-root');
      r = validateDataset(d, { file: path, text, ...(hasFlag(p, 'no-files') ? {} : { datasetDir: dirname(path) }), ...(imagesRoot ? { imagesRoot: resolve(io.cwd, imagesRoot) } : {}), maxPerCode: hasFlag(p, 'all') ? Infinity : 1000 });
    } catch (e) {
      if (!(e instanceof DatasetError)) throw e;
      if (hasFlag(p, 'json')) io.out(JSON.stringify({ ok: false, errors: 1, warnings: 0, problems: [{ severity: 'error', code: e.code, message: e.message, file: e.file, line: e.line }] }) + '\n');
      else io.err(`${e.message}\n`);
      return 1;
    }
    if (hasFlag(p, 'json')) io.out(JSON.stringify({ ok: r.errors === 0, errors: r.errors, warnings: r.warnings, problems: r.problems }) + '\n');
    else {
      for (const pr of r.problems) io.out(formatProblem(pr) + '\n');
      const dropped = [...r.dropped.values()].reduce((a, b) => a + b, 0);
      if (dropped) io.out(`... ${dropped} more problem(s) not listed (--all lists them)\n`);
      io.err(`${path}: ${r.errors} error(s), ${r.warnings} warning(s)\n`);
    }
    return r.errors > 0 ? 1 : 0;
  },
};
