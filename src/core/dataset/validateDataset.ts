import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatasetError, type DatasetProblem, ProblemLog } from './DatasetError';
import { imageRootsOf, resolveImagePath } from './imagePaths';
import { recordLines } from './datasetJson';
import { DATASET_SCHEMA_VERSION, SPLIT_NAMES, type DatasetFile } from './schema';

const LEVELS = new Set(['boxes', 'points', 'unlabeled']);
const REVIEWS = new Set(['pending', 'accepted', 'rejected', 'edited']);
const SPLITS = new Set<string>(SPLIT_NAMES);

/**
 * Checks that parsed JSON is a PointBox dataset at all (fatal: throws DatasetError) and fills in the
 * optional top-level parts an older or hand-written file may lack, so the rest of the code can rely on them.
 */
export function checkDatasetShape(obj: unknown, file?: string): DatasetFile {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new DatasetError('schema', 'not a PointBox dataset: the top level is not a JSON object', file, 1);
  const o = obj as Record<string, unknown>;
  const pb = o.pointbox as { schema_version?: unknown } | undefined;
  if (!pb || typeof pb !== 'object') {
    const hint = Array.isArray(o.images) && Array.isArray(o.annotations) ? ' (it looks like a plain COCO file: use `pointbox import coco`)' : '';
    throw new DatasetError('schema', `not a PointBox dataset: no "pointbox" header${hint}`, file, 1);
  }
  if (typeof pb.schema_version !== 'number') throw new DatasetError('schema', '"pointbox.schema_version" must be a number', file);
  if (pb.schema_version > DATASET_SCHEMA_VERSION) {
    throw new DatasetError('schema-version', `schema version ${pb.schema_version} was written by a newer PointBox (this one reads ${DATASET_SCHEMA_VERSION})`, file);
  }
  for (const k of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(o[k])) throw new DatasetError('schema', `"${k}" must be an array`, file);
  }
  if (o.pseudo_boxes === undefined) o.pseudo_boxes = [];
  if (!Array.isArray(o.pseudo_boxes)) throw new DatasetError('schema', '"pseudo_boxes" must be an array', file);
  if (!o.info || typeof o.info !== 'object') o.info = { name: 'dataset' };
  return obj as DatasetFile;
}

export interface ValidateOptions {
  /** The dataset file path, for messages. */
  file?: string;
  /** The file's text, to give each problem its line. */
  text?: string;
  /**
   * The dataset file's folder; when set, the image files are checked on disk: missing files (warnings) and
   * symlinks that lead outside the roots (errors). Without it (nor `file`) only the text of the paths is checked.
   */
  datasetDir?: string;
  /** An image root that replaces the file's `images_root` (CLI `--images-root`, a setting). */
  imagesRoot?: string;
  /** Max problems kept per code (all are counted). */
  maxPerCode?: number;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isInteger(v);
const isBox = (v: unknown): v is [number, number, number, number] => Array.isArray(v) && v.length === 4 && v.every(isNum);
const isPt = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every(isNum);

/** Every record-level problem, each with the table, index, id and (when `text` is given) line. */
export function validateDataset(d: DatasetFile, opts: ValidateOptions = {}): { problems: DatasetProblem[]; errors: number; warnings: number; dropped: Map<string, number> } {
  const log = new ProblemLog(opts.maxPerCode ?? 1000);
  let lines: Map<string, number[]> | undefined;
  const where = (table: string, i: number, id?: unknown) => {
    if (opts.text !== undefined && !lines) lines = recordLines(opts.text);
    return { file: opts.file, line: lines?.get(table)?.[i], record: `${table}[${i}]${id !== undefined ? ` id=${String(id)}` : ''}` };
  };

  const catIds = new Set<number>();
  const catNames = new Set<string>();
  d.categories.forEach((c, i) => {
    if (!c || !isInt(c.id)) return log.error('bad-value', 'category id must be an integer', where('categories', i));
    if (catIds.has(c.id)) log.error('duplicate-id', `duplicate category id ${c.id}`, where('categories', i, c.id));
    catIds.add(c.id);
    if (typeof c.name !== 'string' || !c.name) log.error('bad-value', 'category name must be a non-empty string', where('categories', i, c.id));
    else if (catNames.has(c.name)) log.warn('duplicate-id', `duplicate category name '${c.name}'`, where('categories', i, c.id));
    else catNames.add(c.name);
  });

  const images = new Map<number, { w: number; h: number; level: string }>();
  const fileNames = new Set<string>();
  // Paths that stay home: every file_name must resolve inside the dataset folder or its image root. The
  // text is always checked (no disk access); with `datasetDir` also where existing files' symlinks lead.
  const dir = opts.datasetDir ?? (opts.file !== undefined ? dirname(resolve(opts.file)) : undefined);
  const roots = dir !== undefined ? imageRootsOf(d, dir, opts.imagesRoot) : undefined;
  const rootProblem = roots?.rootError ?? (d.images_root !== undefined && typeof d.images_root !== 'string' ? 'images_root must be a string' : undefined);
  if (rootProblem) log.error('path-outside', `${rootProblem}; no image of this dataset will be read`, { file: opts.file, record: 'images_root' });
  d.images.forEach((im, i) => {
    if (!im || !isInt(im.id)) return log.error('bad-value', 'image id must be an integer', where('images', i));
    if (images.has(im.id)) return log.error('duplicate-id', `duplicate image id ${im.id} (this record is ignored by the tree and exports)`, where('images', i, im.id));
    images.set(im.id, { w: im.width, h: im.height, level: im.label_level });
    if (typeof im.file_name !== 'string' || !im.file_name) log.error('bad-value', 'file_name must be a non-empty string', where('images', i, im.id));
    else {
      if (fileNames.has(im.file_name)) log.warn('duplicate-id', `file_name '${im.file_name}' is used by more than one image`, where('images', i, im.id));
      fileNames.add(im.file_name);
      if (roots && !roots.rootError) {
        const r = resolveImagePath(roots, im, { checkLinks: opts.datasetDir !== undefined });
        if (!r.ok) log.error('path-outside', `${r.reason}: refused (PointBox will not read, link or copy it)`, where('images', i, im.id));
        else if (opts.datasetDir && !existsSync(r.path)) log.warn('missing-file', `image file not found: ${im.file_name}`, where('images', i, im.id));
      }
    }
    if (!isNum(im.width) || !isNum(im.height) || im.width < 0 || im.height < 0) log.error('bad-value', `width/height must be numbers >= 0, got ${String(im.width)}x${String(im.height)}`, where('images', i, im.id));
    else if (im.width === 0 || im.height === 0) log.warn('unknown-size', 'image size unknown (0): boxes cannot be checked against it', where('images', i, im.id));
    if (!SPLITS.has(im.split)) log.error('bad-value', `split must be one of ${SPLIT_NAMES.join('/')}, got '${String(im.split)}'`, where('images', i, im.id));
    if (!LEVELS.has(im.label_level)) log.error('bad-value', `label_level must be boxes/points/unlabeled, got '${String(im.label_level)}'`, where('images', i, im.id));
  });

  const checkGeom = (table: string, i: number, id: unknown, imageId: number, bbox: unknown, point: unknown, needBox: boolean) => {
    const img = images.get(imageId);
    if (bbox !== undefined || needBox) {
      if (!isBox(bbox)) log.error('bad-value', 'bbox must be [x, y, width, height] (4 finite numbers)', where(table, i, id));
      else if (bbox[2] <= 0 || bbox[3] <= 0) log.error('negative-size', `box has width/height <= 0: [${bbox.join(', ')}]`, where(table, i, id));
      else if (img && img.w > 0 && img.h > 0) {
        const [x, y, w, h] = bbox;
        if (x >= img.w || y >= img.h || x + w <= 0 || y + h <= 0) log.error('box-outside', `box [${bbox.join(', ')}] is entirely outside the ${img.w}x${img.h} image`, where(table, i, id));
        else if (x < 0 || y < 0 || x + w > img.w + 1e-6 || y + h > img.h + 1e-6) log.warn('box-clamped', `box [${bbox.join(', ')}] extends outside the ${img.w}x${img.h} image`, where(table, i, id));
      }
    }
    if (point !== undefined) {
      if (!isPt(point)) log.error('bad-value', 'point must be [x, y] (2 finite numbers)', where(table, i, id));
      else if (img && img.w > 0 && img.h > 0 && (point[0] < 0 || point[1] < 0 || point[0] > img.w || point[1] > img.h)) {
        log.warn('point-outside', `point [${point.join(', ')}] is outside the ${img.w}x${img.h} image`, where(table, i, id));
      }
    }
  };

  const annIds = new Set<number>();
  d.annotations.forEach((a, i) => {
    if (!a || !isInt(a.id)) return log.error('bad-value', 'annotation id must be an integer', where('annotations', i));
    if (annIds.has(a.id)) log.error('duplicate-id', `duplicate annotation id ${a.id}`, where('annotations', i, a.id));
    annIds.add(a.id);
    const img = images.get(a.image_id);
    if (!img) log.error('unknown-image', `image_id ${String(a.image_id)} is not in "images"`, where('annotations', i, a.id));
    if (!catIds.has(a.category_id)) log.error('unknown-category', `category_id ${String(a.category_id)} is not in "categories"`, where('annotations', i, a.id));
    if (a.bbox === undefined && a.point === undefined) log.error('bad-value', 'annotation has neither bbox nor point', where('annotations', i, a.id));
    checkGeom('annotations', i, a.id, a.image_id, a.bbox, a.point, false);
    if (img?.level === 'boxes' && a.bbox === undefined) log.error('label-level', `image ${a.image_id} has label_level "boxes" but this annotation has no bbox`, where('annotations', i, a.id));
    if (img?.level === 'unlabeled') log.warn('label-level', `image ${a.image_id} is "unlabeled" but has annotations (they are ignored by training exports)`, where('annotations', i, a.id));
  });

  const pbIds = new Set<number>();
  d.pseudo_boxes.forEach((p, i) => {
    if (!p || !isInt(p.id)) return log.error('bad-value', 'pseudo-box id must be an integer', where('pseudo_boxes', i));
    if (pbIds.has(p.id)) log.error('duplicate-id', `duplicate pseudo-box id ${p.id}`, where('pseudo_boxes', i, p.id));
    pbIds.add(p.id);
    if (!images.has(p.image_id)) log.error('unknown-image', `image_id ${String(p.image_id)} is not in "images"`, where('pseudo_boxes', i, p.id));
    if (!catIds.has(p.category_id)) log.error('unknown-category', `category_id ${String(p.category_id)} is not in "categories"`, where('pseudo_boxes', i, p.id));
    checkGeom('pseudo_boxes', i, p.id, p.image_id, p.bbox, p.point, true);
    if (!REVIEWS.has(p.review)) log.error('bad-value', `review must be pending/accepted/rejected/edited, got '${String(p.review)}'`, where('pseudo_boxes', i, p.id));
    if (p.review === 'edited' && !isBox(p.edited_bbox)) log.error('bad-value', 'review "edited" needs edited_bbox', where('pseudo_boxes', i, p.id));
    if (!p.provenance || typeof p.provenance.model_id !== 'string' || typeof p.provenance.time !== 'string') {
      log.error('bad-value', 'provenance needs model_id and time', where('pseudo_boxes', i, p.id));
    }
    if (p.score !== undefined && (!isNum(p.score) || p.score < 0 || p.score > 1)) log.warn('bad-value', `score should be in [0, 1], got ${String(p.score)}`, where('pseudo_boxes', i, p.id));
  });

  return { problems: log.problems, errors: log.errors, warnings: log.warnings, dropped: log.dropped };
}
