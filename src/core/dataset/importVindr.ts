import { readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DatasetBuilder, type ImportResult } from './DatasetBuilder';
import { DatasetError } from './DatasetError';
import { csvNumber, readCsvTable } from './readCsvTable';
import type { Annotation, DatasetFile, ImageRecord } from './schema';
import { weightedBoxesFusion } from './weightedBoxesFusion';

export interface VindrImportOptions {
  /** VinDr-CXR train.csv: image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max. */
  csv: string;
  /** Folder of `<image_id>.dicom` (VinDr's extension), `.dcm` or `.png`. */
  images: string;
  out: string;
  /** Fuse the readers' boxes into consensus boxes (weighted boxes fusion at IoU 0.5). */
  fuse?: 'wbf';
  iouThreshold?: number;
}

const NO_FINDING = /^no finding$/i;
const EXTS = ['.dicom', '.dcm', '.png', '.jpg', '.jpeg'];

/**
 * VinDr-CXR: three readers (rad_id R1..R17) per training image, one row per reader box, "No finding" rows
 * (empty coordinates) when a reader saw nothing. Every reader's box is kept as its own annotation with
 * `reader`; with `fuse: 'wbf'` consensus annotations (`reader: "consensus"`, `fused_from`) are added, and
 * training/export/stats use them instead of the readers' boxes on those images. Deleting the consensus
 * annotations (`removeConsensus`) undoes the fusion exactly.
 */
export function importVindr(o: VindrImportOptions): ImportResult {
  const t = readCsvTable(o.csv);
  const need = ['image_id', 'class_name', 'rad_id', 'x_min', 'y_min', 'x_max', 'y_max'] as const;
  const missing = need.filter((n) => !t.header.includes(n));
  if (missing.length) throw new DatasetError('missing-column', `not a VinDr-CXR CSV: missing column(s) ${missing.join(', ')}; header is '${t.header.join(',')}'`, o.csv, 1);
  const c = Object.fromEntries(need.map((n) => [n, t.header.indexOf(n)])) as Record<(typeof need)[number], number>;
  const cClassId = t.header.indexOf('class_id');
  const b = new DatasetBuilder(o.out, basename(o.csv).replace(/\.csv$/i, ''), { format: 'vindr', files: [resolve(o.csv), resolve(o.images)], options: o.fuse ? { fuse: o.fuse, iou: o.iouThreshold ?? 0.5 } : {} });
  const imagesDir = resolve(o.images);
  b.useImagesDir(imagesDir);
  let present = new Set<string>();
  try { present = new Set(readdirSync(imagesDir)); } catch { /* reported per image as missing */ }
  const byId = new Map<string, ImageRecord>();
  const readersOf = new Map<number, Set<string>>();
  for (let i = 0; i < t.rows.length; i++) {
    const r = t.rows[i]!;
    const ref = { file: o.csv, line: t.lines[i] };
    const imageId = (r[c.image_id] ?? '').trim();
    const cls = (r[c.class_name] ?? '').trim();
    const rad = (r[c.rad_id] ?? '').trim();
    if (!imageId || !cls) { b.log.error('bad-row', 'row needs image_id and class_name (skipped)', ref); continue; }
    let img = byId.get(imageId);
    if (!img) {
      const name = EXTS.map((e) => imageId + e).find((n) => present.has(n)) ?? `${imageId}.dicom`;
      img = b.addImage(join(imagesDir, name), { level: 'boxes', ref });
      if (!img) continue; // a name that leaves the image folder: skipped
      byId.set(imageId, img);
      readersOf.set(img.id, new Set());
    }
    if (rad) readersOf.get(img.id)!.add(rad);
    if (NO_FINDING.test(cls)) continue;
    const [x1, y1, x2, y2] = [c.x_min, c.y_min, c.x_max, c.y_max].map((k) => csvNumber(r[k]));
    if (x1 === undefined || y1 === undefined || x2 === undefined || y2 === undefined) { b.log.error('bad-row', `'${cls}' row without a complete box (skipped)`, ref); continue; }
    const classId = cClassId >= 0 ? csvNumber(r[cClassId]) : undefined;
    const box = b.checkBox(img, [x1, y1, x2 - x1, y2 - y1], ref);
    if (!box) continue;
    const a: Omit<Annotation, 'id'> = { image_id: img.id, category_id: b.category(cls, classId !== undefined ? classId + 1 : undefined), bbox: box };
    if (rad) a.reader = rad;
    b.addAnnotation(a);
  }
  if (o.fuse === 'wbf') fuseReaders(b.data, { iouThreshold: o.iouThreshold ?? 0.5, readersPerImage: readersOf });
  return b.result();
}

/**
 * Adds consensus annotations fused from the readers' boxes (existing consensus boxes are replaced).
 * The consensus box's `fused_from` lists the reader annotations it came from; `score` in attributes is not
 * stored on annotations (COCO has no field for it), `fused_from.length` says how many readers agreed.
 */
export function fuseReaders(d: DatasetFile, opts: { iouThreshold?: number; readersPerImage?: Map<number, Set<string>> } = {}): number {
  removeConsensus(d);
  const byImage = new Map<number, Annotation[]>();
  for (const a of d.annotations) {
    if (!a.bbox || !a.reader) continue;
    let l = byImage.get(a.image_id);
    if (!l) byImage.set(a.image_id, l = []);
    l.push(a);
  }
  let nextId = d.annotations.reduce((m, a) => Math.max(m, a.id), 0) + 1;
  let added = 0;
  for (const [imageId, anns] of byImage) {
    const readers = opts.readersPerImage?.get(imageId)?.size || new Set(anns.map((a) => a.reader)).size;
    const fused = weightedBoxesFusion(anns.map((a) => ({ x1: a.bbox![0], y1: a.bbox![1], x2: a.bbox![0] + a.bbox![2], y2: a.bbox![1] + a.bbox![3], score: 1, label: a.category_id, ref: a.id })), { iouThreshold: opts.iouThreshold ?? 0.5, readers });
    for (const f of fused) {
      const bbox: [number, number, number, number] = [round3(f.x1), round3(f.y1), round3(f.x2 - f.x1), round3(f.y2 - f.y1)];
      d.annotations.push({ id: nextId++, image_id: imageId, category_id: f.label, bbox, area: bbox[2] * bbox[3], iscrowd: 0, reader: 'consensus', fused_from: f.members });
      added++;
    }
  }
  return added;
}

/** Removes fused consensus annotations, leaving the readers' own boxes: fusion is reversible. */
export function removeConsensus(d: DatasetFile): number {
  const before = d.annotations.length;
  d.annotations = d.annotations.filter((a) => a.reader !== 'consensus');
  return before - d.annotations.length;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;
