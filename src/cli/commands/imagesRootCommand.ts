import { dirname, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { hasFlag, optString, parseArgs } from '../args';
import { DatasetDocument } from '../../core/dataset/DatasetDocument';
import { serializeDataset } from '../../core/dataset/datasetJson';
import { setImagesRoot } from '../../core/dataset/imagePaths';
import { writeFileAtomicSync } from '../../core/dataset/writeFileAtomic';

export const imagesRootCommand: CliCommand = {
  name: 'images-root',
  summary: 'say which folder holds the images (sets images_root, rewrites file names relative to it)',
  usage: 'pointbox images-root <dataset.pointbox.json> <folder> [--out <new.pointbox.json>] [--json]   (for datasets with ../ file names, or images that moved)',
  async run(argv, io) {
    const p = parseArgs(argv, { values: ['out'], flags: ['json'] });
    const [file, folder, extra] = p.positionals;
    if (!file || !folder || extra) throw new UsageError('give the dataset file and the folder that holds its images');
    const path = resolve(io.cwd, file);
    const doc = DatasetDocument.load(path);
    const r = setImagesRoot(doc.data, dirname(path), resolve(io.cwd, folder));
    const out = resolve(io.cwd, optString(p, 'out') ?? file);
    writeFileAtomicSync(out, serializeDataset(r.data));
    if (hasFlag(p, 'json')) io.out(JSON.stringify({ dataset: out, imagesRoot: r.data.images_root, rewritten: r.rewritten, outside: r.outside }) + '\n');
    else {
      io.err(`${out}: images_root ${r.data.images_root}; ${r.rewritten} file name(s) rewritten\n`);
      for (const o of r.outside.slice(0, 20)) io.err(`image id=${o.id} '${o.file_name}' is in neither that folder nor the dataset's: left as is (still refused)\n`);
      if (r.outside.length > 20) io.err(`... and ${r.outside.length - 20} more\n`);
    }
    return r.outside.length ? 1 : 0;
  },
};
