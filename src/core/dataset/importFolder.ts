import { readdirSync, openSync, readSync, closeSync } from 'node:fs';
import { basename, join, resolve, extname } from 'node:path';
import { DatasetBuilder, type ImportResult } from './DatasetBuilder';
import { DatasetError } from './DatasetError';

export interface FolderImportOptions { images: string; out: string }

const IMAGE_EXTS = new Set(['.dcm', '.dicom', '.png', '.jpg', '.jpeg']);

/** Every DICOM/PNG/JPEG under a folder (recursively, sorted), as unlabeled images. Extension-less files count when they have the DICOM 'DICM' magic. */
export function importFolder(o: FolderImportOptions): ImportResult {
  const root = resolve(o.images);
  const b = new DatasetBuilder(o.out, basename(root), { format: 'folder', files: [root] });
  b.useImagesDir(root);
  const files: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch (e) {
      if (dir === root) throw new DatasetError('io', `cannot list the image folder: ${(e as Error).message}`, dir);
      b.log.warn('unreadable-image', `cannot list ${dir}: ${(e as Error).message}`); return;
    }
    for (const e of entries.sort((p, q) => (p.name < q.name ? -1 : p.name > q.name ? 1 : 0))) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (IMAGE_EXTS.has(extname(e.name).toLowerCase()) || (extname(e.name) === '' && hasDicomMagic(p)))) files.push(p);
    }
  };
  walk(root);
  for (const f of files) b.addImage(f, { level: 'unlabeled', ref: { file: f } });
  return b.result();
}

function hasDicomMagic(file: string): boolean {
  try {
    const fd = openSync(file, 'r');
    try { const b = Buffer.alloc(132); return readSync(fd, b, 0, 132, 0) === 132 && b.toString('latin1', 128, 132) === 'DICM'; } finally { closeSync(fd); }
  } catch { return false; }
}
