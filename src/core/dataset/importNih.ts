import { readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DatasetBuilder, type ImportResult } from './DatasetBuilder';
import { DatasetError } from './DatasetError';
import { csvNumber, readCsvTable } from './readCsvTable';
import type { ImageRecord } from './schema';

export interface NihImportOptions {
  /** BBox_List_2017.csv. */
  bbox: string;
  /** Folder of the PNGs. */
  images: string;
  out: string;
  /** Also add the folder's images that have no row in the CSV, as unlabeled. */
  allImages?: boolean;
}

/** NIH ChestX-ray14 images are 1024x1024; used when a PNG is absent (reported as missing). */
export const NIH_IMAGE_SIZE: [number, number] = [1024, 1024];

/**
 * NIH ChestX-ray14 `BBox_List_2017.csv`. Its header is malformed (`Image Index,Finding Label,Bbox [x,y,w,h],,,`:
 * six columns under three odd names), so the columns are taken by position: image, finding, x, y, w, h
 * (x, y = top-left, floats, pixels of the 1024x1024 image).
 */
export function importNih(o: NihImportOptions): ImportResult {
  const t = readCsvTable(o.bbox);
  if (!/^image\s*index$/i.test(t.header[0] ?? '') || !/finding/i.test(t.header[1] ?? '')) {
    throw new DatasetError('missing-column', `not an NIH BBox list: expected 'Image Index,Finding Label,Bbox [x,y,w,h],,,', got '${t.header.join(',')}'`, o.bbox, 1);
  }
  const b = new DatasetBuilder(o.out, basename(o.bbox).replace(/\.csv$/i, ''), { format: 'nih', files: [resolve(o.bbox), resolve(o.images)] });
  const imagesDir = resolve(o.images);
  b.useImagesDir(imagesDir);
  const byName = new Map<string, ImageRecord>();
  for (let i = 0; i < t.rows.length; i++) {
    const r = t.rows[i]!;
    const ref = { file: o.bbox, line: t.lines[i] };
    const name = (r[0] ?? '').trim();
    const finding = (r[1] ?? '').trim();
    if (!name || !finding) { b.log.error('bad-row', 'row needs an image name and a finding label (skipped)', ref); continue; }
    const [x, y, w, h] = [2, 3, 4, 5].map((k) => csvNumber(r[k]));
    if (x === undefined || y === undefined || w === undefined || h === undefined) { b.log.error('bad-row', `row needs 4 numbers x,y,w,h after the label, got '${r.slice(2, 6).join(',')}' (skipped)`, ref); continue; }
    let img = byName.get(name);
    if (!img) {
      img = b.addImage(join(imagesDir, name), { level: 'boxes', fallbackSize: NIH_IMAGE_SIZE, ref });
      if (!img) continue; // a name that leaves the image folder: skipped
      byName.set(name, img);
    }
    const box = b.checkBox(img, [x, y, w, h], ref);
    if (box) b.addAnnotation({ image_id: img.id, category_id: b.category(finding), bbox: box });
  }
  if (o.allImages) {
    let names: string[] = [];
    try { names = readdirSync(imagesDir).filter((n) => /\.png$/i.test(n)).sort(); } catch (e) {
      b.log.warn('missing-file', `cannot list ${imagesDir}: ${(e as Error).message}`);
    }
    for (const n of names) if (!byName.has(n)) b.addImage(join(imagesDir, n), { level: 'unlabeled' });
  }
  return b.result();
}
