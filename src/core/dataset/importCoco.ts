import { existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve, isAbsolute } from 'node:path';
import { DatasetBuilder, type ImportResult } from './DatasetBuilder';
import { DatasetError } from './DatasetError';
import { parseJsonWithLines, recordLines } from './datasetJson';
import { SPLIT_NAMES, type Annotation, type CocoBox, type ImageRecord, type LabelLevel, type Point, type SplitName } from './schema';

const LEVELS = new Set(['boxes', 'points', 'unlabeled']);

export interface CocoImportOptions {
  /** One or more COCO instances files (PBC: instances_train*.json, instances_val.json, ...). */
  annotations: string[];
  /** Folder that the files' `file_name`s are relative to. Default: `<annotations folder>/../images` if it exists, else the annotations folder. */
  images?: string;
  out: string;
  /** Force every image into this split; default: from the file name (train/val/test), else "unassigned". */
  split?: SplitName;
}

/** Split named by a COCO file name: instances_train*.json -> train, *val* -> val, *test* -> test. */
export function splitFromFileName(f: string): SplitName {
  const n = basename(f).toLowerCase();
  if (/(^|[_\-.])train/.test(n)) return 'train';
  if (/(^|[_\-.])val/.test(n)) return 'val';
  if (/(^|[_\-.])test/.test(n)) return 'test';
  return 'unassigned';
}

interface CocoImage { id?: unknown; file_name?: unknown; width?: unknown; height?: unknown; [k: string]: unknown }
interface CocoAnn { id?: unknown; image_id?: unknown; category_id?: unknown; bbox?: unknown; point?: unknown; iscrowd?: unknown; [k: string]: unknown }

/**
 * COCO instances JSON, including PBC's own files (each annotation may carry `point: [x, y]`, the click).
 * Images whose annotations have no bbox, or that come from a file whose name says "point" (PBC's
 * point-only training subset), get label level "points"; any boxes such a file still carries are kept as
 * hidden ground truth. Images without annotations are negatives (label level "boxes", no boxes).
 * Ids are kept when free; ids colliding with an earlier file are renumbered (warned once per file).
 * Annotations with an unknown category keep their class as a new category "unknown-<id>" (warned).
 */
export function importCoco(o: CocoImportOptions): ImportResult {
  if (o.annotations.length === 0) throw new DatasetError('usage', 'no COCO annotation file given');
  const b = new DatasetBuilder(o.out, basename(o.annotations[0]!).replace(/\.json$/i, ''), { format: 'coco', files: o.annotations.map((f) => resolve(f)) });
  b.useImagesDir(resolve(o.images ?? defaultImagesDir(o.annotations[0]!)));
  const usedImageIds = new Set<number>();
  const usedAnnIds = new Set<number>();
  for (const file of o.annotations) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch (e) { throw new DatasetError('io', `cannot read: ${(e as Error).message}`, file); }
    const j = parseJsonWithLines(text, file) as { images?: unknown; annotations?: unknown; categories?: unknown };
    if (!j || typeof j !== 'object' || !Array.isArray(j.images) || !Array.isArray(j.categories)) {
      throw new DatasetError('schema', 'not a COCO instances file: needs "images" and "categories" arrays', file, 1);
    }
    const anns = (Array.isArray(j.annotations) ? j.annotations : []) as CocoAnn[];
    let lines: Map<string, number[]> | undefined;
    const ref = (table: string, i: number, id?: unknown) => {
      lines ??= recordLines(text);
      return { file, line: lines.get(table)?.[i], record: `${table}[${i}]${id !== undefined ? ` id=${String(id)}` : ''}` };
    };
    const imagesDir = resolve(o.images ?? defaultImagesDir(file));
    const split = o.split ?? splitFromFileName(file);
    const pointFile = /point/i.test(basename(file));

    // Categories: by name across files; a file's own ids map onto ours.
    const catMap = new Map<number, number>();
    (j.categories as { id?: unknown; name?: unknown; supercategory?: unknown }[]).forEach((c, i) => {
      if (!c || typeof c.name !== 'string' || !Number.isInteger(c.id)) { b.log.error('bad-value', 'category needs an integer id and a name (skipped)', ref('categories', i)); return; }
      if (catMap.has(c.id as number)) { b.log.error('duplicate-id', `duplicate category id ${String(c.id)} (the first is used)`, ref('categories', i, c.id)); return; }
      const id = b.category(c.name, c.id as number);
      if (typeof c.supercategory === 'string') { const cat = b.data.categories.find((x) => x.id === id); if (cat && !cat.supercategory) cat.supercategory = c.supercategory; }
      catMap.set(c.id as number, id);
    });

    // Images.
    const imgMap = new Map<unknown, ImageRecord>();
    const declaredLevel = new Map<number, LabelLevel>();
    let renumbered = 0;
    (j.images as CocoImage[]).forEach((im, i) => {
      if (!im || typeof im.file_name !== 'string' || im.file_name === '') { b.log.error('bad-value', 'image needs a file_name (skipped)', ref('images', i, im?.id)); return; }
      if (imgMap.has(im.id)) { b.log.error('duplicate-id', `duplicate image id ${String(im.id)} in this file (skipped; its annotations go to the first)`, ref('images', i, im.id)); return; }
      let id = Number.isInteger(im.id) && (im.id as number) >= 0 ? im.id as number : undefined;
      if (id === undefined || usedImageIds.has(id)) { if (id !== undefined) renumbered++; id = b.freshImageId(); }
      usedImageIds.add(id);
      const abs = isAbsolute(im.file_name) ? im.file_name : join(imagesDir, im.file_name);
      const w = Number(im.width); const h = Number(im.height);
      const known = Number.isFinite(w) && Number.isFinite(h) && w > 0 && h > 0;
      const attributes: ImageRecord['attributes'] = {};
      if (id !== im.id && im.id !== undefined) attributes.coco_id = String(im.id);
      // Our own exports (and PointBox-aware tools) say split and label level per image: honour them.
      const ownSplit = !o.split && typeof im.split === 'string' && (SPLIT_NAMES as readonly string[]).includes(im.split) ? im.split as SplitName : split;
      if (typeof im.label_level === 'string' && LEVELS.has(im.label_level)) declaredLevel.set(id, im.label_level as LabelLevel);
      const rec = b.addImage(abs, { id, split: ownSplit, level: 'boxes', ref: ref('images', i, im.id), attributes, ...(known ? { size: [w, h] as [number, number] } : {}) });
      if (!rec) return; // outside the image folder: skipped (and so are its annotations, as for any unknown image)
      if (known && !existsSync(abs)) { b.missingFiles++; b.log.warn('missing-file', `image file not found: ${abs}`, ref('images', i, im.id)); }
      imgMap.set(im.id, rec);
    });
    if (renumbered) b.log.warn('duplicate-id', `${renumbered} image id(s) were already used by an earlier file and were renumbered (old id kept in attributes.coco_id)`, { file });

    // Annotations.
    const hasBoxless = new Set<number>();
    const hasAnn = new Set<number>();
    anns.forEach((a, i) => {
      if (!a) return;
      const img = imgMap.get(a.image_id);
      if (!img) { b.log.error('unknown-image', `image_id ${String(a.image_id)} is not in "images" (skipped)`, ref('annotations', i, a.id)); return; }
      let cat = catMap.get(a.category_id as number);
      if (cat === undefined) {
        cat = b.category(`unknown-${String(a.category_id)}`);
        catMap.set(a.category_id as number, cat);
        b.log.warn('unknown-category', `category_id ${String(a.category_id)} is not in "categories"; kept as class 'unknown-${String(a.category_id)}'`, ref('annotations', i, a.id));
      }
      const r = ref('annotations', i, a.id);
      let bbox: CocoBox | undefined;
      // `gt_bbox` is how our PBC export keeps hidden ground truth on point-only images (never as `bbox`).
      const rawBox = a.bbox ?? a.gt_bbox;
      if (rawBox !== undefined && rawBox !== null) {
        if (!Array.isArray(rawBox) || rawBox.length !== 4) { b.log.error('bad-value', `bbox must be [x, y, w, h], got ${JSON.stringify(rawBox)}`, r); }
        else bbox = b.checkBox(img, rawBox.map(Number) as CocoBox, r);
      }
      let point: Point | undefined;
      if (a.point !== undefined && a.point !== null) point = b.checkPoint(img, (Array.isArray(a.point) ? a.point.map(Number) : a.point) as Point, r);
      if (!bbox && !point) { if (a.bbox === undefined && a.point === undefined) b.log.error('bad-value', 'annotation has neither bbox nor point (skipped)', r); return; }
      let id = Number.isInteger(a.id) ? a.id as number : undefined;
      if (id === undefined || usedAnnIds.has(id)) { if (id !== undefined && !renumbered) b.log.warn('duplicate-id', `annotation id ${id} already used; renumbered`, r); id = b.freshAnnotationId(); }
      usedAnnIds.add(id); b.reserveAnnotationId(id);
      const rec: Omit<Annotation, 'id'> & { id: number } = { id, image_id: img.id, category_id: cat };
      if (bbox) { rec.bbox = bbox; rec.area = bbox[2] * bbox[3]; rec.iscrowd = a.iscrowd === 1 ? 1 : 0; }
      if (point) { rec.point = point; rec.point_source = 'import'; }
      if (typeof a.reader === 'string') rec.reader = a.reader;
      b.addAnnotation(rec);
      hasAnn.add(img.id);
      if (!bbox) hasBoxless.add(img.id);
      if (a.bbox == null && a.gt_bbox != null) hasBoxless.add(img.id);
    });
    for (const img of imgMap.values()) {
      let level: LabelLevel = 'boxes';
      if (hasBoxless.has(img.id) || (pointFile && hasAnn.has(img.id))) level = 'points';
      const declared = declaredLevel.get(img.id);
      // A declared level is kept unless the annotations contradict it ("boxes" with bbox-less annotations).
      if (declared && !(declared === 'boxes' && hasBoxless.has(img.id))) level = declared;
      img.label_level = level;
    }
  }
  return b.result();
}

function defaultImagesDir(file: string): string {
  const d = dirname(resolve(file));
  const sib = join(d, '..', 'images');
  return existsSync(sib) ? sib : d;
}
