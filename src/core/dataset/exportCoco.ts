import { copyFileSync, existsSync, lstatSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DatasetError, ProblemLog } from './DatasetError';
import { effectiveAnnotationsByImage } from './datasetQueries';
import { imageRootsOf, resolveImagePath } from './imagePaths';
import type { Annotation, Category, DatasetFile, ImageRecord } from './schema';
import { writeFileAtomicSync } from './writeFileAtomic';

export type ExportLayout = 'coco' | 'pbc';
export type ExportImages = 'link' | 'copy' | 'none';

export interface ExportOptions {
  /** Output folder. */
  out: string;
  /** Folder of the dataset file (image paths are relative to it, or to its `images_root`). */
  datasetDir: string;
  /** An image root that replaces the dataset's `images_root` (CLI `--images-root`). */
  imagesRoot?: string;
  layout?: ExportLayout;
  /** How `<out>/images` is made: one symlink to the images' common folder (default), copies, or nothing. */
  images?: ExportImages;
  /** PBC layout: also write the hidden ground-truth boxes of point-only train images, as `gt_bbox` (never `bbox`). */
  keepHiddenBoxes?: boolean;
  /**
   * PBC layout, instances_train_pseudo.json: 'reviewed' (default) = accepted and edited pseudo-boxes;
   * 'all' = pending ones too (never rejected), each with its `review`, for a detector trained on every
   * pseudo-box the teacher made (`pbc_trainer detector --pseudo all`; the benchmark does this).
   */
  pseudoBoxes?: 'reviewed' | 'all';
}

export interface ExportedFile { file: string; subset: string; images: number; annotations: number }
export interface ExportResult { files: ExportedFile[]; imageRoot: string; log: ProblemLog }

interface CocoOut {
  info: Record<string, unknown>;
  pointbox_export: Record<string, unknown>;
  images: Record<string, unknown>[];
  annotations: Record<string, unknown>[];
  categories: Category[];
}

/**
 * COCO export, plain or in PBC's training layout (see docs/dataset-schema.md, "PBC training layout"):
 *
 *   <out>/annotations/instances_train_box.json    train, label level boxes: bbox + point per lesion
 *   <out>/annotations/instances_train_point.json  train, label level points: point + class, no bbox
 *   <out>/annotations/instances_train_pseudo.json train point images' accepted/edited pseudo-boxes as bbox (+ pending with pseudoBoxes 'all')
 *   <out>/annotations/instances_val.json          val: bbox + point
 *   <out>/annotations/instances_test.json         test (only when there are test images)
 *   <out>/images -> symlink to the images' common root (or copies; or absent with --images none)
 *   <out>/pbc_layout.json                          manifest: files, counts, split parameters
 *
 * Plain COCO writes <out>/annotations/instances.json with every image and its effective annotations.
 * In both, `file_name` is relative to `<out>/images` and also to `pointbox_export.image_root` (absolute).
 *
 * Paths stay home (issue 12): every image must resolve inside the dataset folder or its image root
 * (imagePaths.ts); if any does not, nothing is exported (DatasetError 'path-outside' naming the images), so
 * no such file is ever linked or copied. The `images` link points at the deepest folder holding the images,
 * which lies inside a root, never above it and never at `/`. Images under both the dataset folder and the
 * image root get one link per root inside a real `<out>/images` folder (`root1/...`, `root2/...`).
 */
export function exportCoco(d: DatasetFile, o: ExportOptions): ExportResult {
  const layout = o.layout ?? 'coco';
  const log = new ProblemLog(100);
  const out = resolve(o.out);
  const annDir = join(out, 'annotations');
  const roots = imageRootsOf(d, o.datasetDir, o.imagesRoot);
  const abs = new Map<number, string>();
  const refused: string[] = [];
  for (const im of d.images) {
    const r = resolveImagePath(roots, im);
    if (r.ok) abs.set(im.id, r.path); else refused.push(`id=${im.id}: ${r.reason}`);
  }
  if (refused.length) {
    throw new DatasetError('path-outside', `${refused.length} image path(s) lead outside the dataset folder and image root, so nothing was exported (no file read, linked or copied): ${refused.slice(0, 3).join('; ')}${refused.length > 3 ? '; ...' : ''} (pointbox validate lists them all)`);
  }
  // Images grouped by the root they lie in (the image root first), each group under its deepest common folder.
  const groups = roots.roots.map((root) => ({ root, paths: [] as string[], common: root }))
    .filter((g) => [...abs.values()].some((p) => rootOf(roots.roots, p) === g.root));
  for (const p of abs.values()) groups.find((g) => g.root === rootOf(roots.roots, p))!.paths.push(p);
  for (const g of groups) g.common = commonDir(g.paths) ?? g.root;
  const multi = groups.length > 1;
  if (multi && o.images === 'none') throw new DatasetError('usage', `the images lie under both ${groups.map((g) => g.root).join(' and ')}: export them with --images link or copy`);
  const imageRoot = multi ? join(out, 'images') : groups[0]?.common ?? roots.base;
  const relOf = new Map<number, string>();
  for (const [id, p] of abs) {
    const k = multi ? groups.findIndex((g) => g.root === rootOf(roots.roots, p)) : 0;
    const r = toPosix(relative(multi ? groups[k]!.common : imageRoot, p));
    relOf.set(id, multi ? `root${k + 1}/${r}` : r);
  }
  mkdirSync(annDir, { recursive: true });
  const rel = (im: ImageRecord) => relOf.get(im.id)!;
  const eff = effectiveAnnotationsByImage(d);
  const categories = d.categories.map((c) => ({ ...c }));
  const created = new Date().toISOString();

  const imageOut = (im: ImageRecord) => ({ id: im.id, file_name: rel(im), width: im.width, height: im.height, split: im.split, label_level: im.label_level });
  const annOut = (a: Annotation, withBox: boolean, withPoint: boolean): Record<string, unknown> => {
    const r: Record<string, unknown> = { id: a.id, image_id: a.image_id, category_id: a.category_id };
    if (withBox && a.bbox) { r.bbox = a.bbox; r.area = a.bbox[2] * a.bbox[3]; r.iscrowd = a.iscrowd ?? 0; }
    else { r.area = 0; r.iscrowd = 0; }
    if (withPoint && a.point) r.point = a.point;
    return r;
  };
  const files: ExportedFile[] = [];
  const write = (name: string, subset: string, images: ImageRecord[], anns: Record<string, unknown>[]) => {
    const doc: CocoOut = {
      info: { description: `${d.info.name}: ${subset}`, date_created: created, ...(d.info.split ? { split: d.info.split } : {}) },
      pointbox_export: { layout, subset, image_root: imageRoot, dataset_name: d.info.name, created },
      images: images.map(imageOut), annotations: anns, categories,
    };
    const file = join(annDir, name);
    writeFileAtomicSync(file, JSON.stringify(doc));
    files.push({ file, subset, images: images.length, annotations: anns.length });
  };

  if (layout === 'coco') {
    const anns: Record<string, unknown>[] = [];
    for (const im of d.images) for (const a of eff.get(im.id) ?? []) anns.push(annOut(a, true, true));
    write('instances.json', 'all', d.images, anns);
  } else {
    const sel = (pred: (im: ImageRecord) => boolean) => d.images.filter(pred);
    const trainBox = sel((im) => im.split === 'train' && im.label_level === 'boxes');
    const trainPoint = sel((im) => im.split === 'train' && im.label_level === 'points');
    let noPoint = 0; let boxOnPointImg = 0;
    const boxAnns: Record<string, unknown>[] = [];
    for (const im of trainBox) for (const a of eff.get(im.id) ?? []) {
      if (!a.bbox) continue;
      if (!a.point) noPoint++;
      boxAnns.push(annOut(a, true, true));
    }
    write('instances_train_box.json', 'train_box', trainBox, boxAnns);
    const pointAnns: Record<string, unknown>[] = [];
    for (const im of trainPoint) for (const a of eff.get(im.id) ?? []) {
      if (!a.point) { boxOnPointImg++; continue; }
      const r = annOut(a, false, true);
      if (o.keepHiddenBoxes && a.bbox) r.gt_bbox = a.bbox;
      pointAnns.push(r);
    }
    write('instances_train_point.json', 'train_point', trainPoint, pointAnns);
    const pseudo: Record<string, unknown>[] = [];
    const trainPointIds = new Set(trainPoint.map((im) => im.id));
    const pseudoImgs = new Set<number>();
    for (const p of d.pseudo_boxes) {
      const wanted = p.review === 'accepted' || p.review === 'edited' || (o.pseudoBoxes === 'all' && p.review === 'pending');
      if (!trainPointIds.has(p.image_id) || !wanted) continue;
      const bbox = p.review === 'edited' && p.edited_bbox ? p.edited_bbox : p.bbox;
      const r: Record<string, unknown> = { id: p.id, image_id: p.image_id, category_id: p.category_id, bbox, area: bbox[2] * bbox[3], iscrowd: 0, review: p.review, model_id: p.provenance.model_id };
      if (p.annotation_id !== undefined) r.annotation_id = p.annotation_id;
      if (p.point) r.point = p.point;
      if (p.score !== undefined) r.score = p.score;
      pseudo.push(r);
      pseudoImgs.add(p.image_id);
    }
    write('instances_train_pseudo.json', 'train_pseudo', trainPoint.filter((im) => pseudoImgs.has(im.id)), pseudo);
    for (const split of ['val', 'test'] as const) {
      const imgs = sel((im) => im.split === split && im.label_level !== 'unlabeled');
      if (split === 'test' && imgs.length === 0) continue;
      const anns: Record<string, unknown>[] = [];
      for (const im of imgs) for (const a of eff.get(im.id) ?? []) { if (!a.point && a.bbox) noPoint++; anns.push(annOut(a, true, true)); }
      write(`instances_${split}.json`, split, imgs, anns);
    }
    if (noPoint) log.warn('bad-value', `${noPoint} box(es) have no point (run \`pointbox split\` first to sample them)`);
    if (boxOnPointImg) log.warn('label-level', `${boxOnPointImg} annotation(s) on point-only train images have no point and were left out`);
    const skipped = d.images.filter((im) => im.split === 'unassigned' || im.label_level === 'unlabeled').length;
    if (skipped) log.warn('label-level', `${skipped} unassigned or unlabeled image(s) are not part of the PBC layout`);
    writeFileAtomicSync(join(out, 'pbc_layout.json'), JSON.stringify({
      layout: 'pbc', version: 1, created, dataset_name: d.info.name, split: d.info.split ?? null, image_root: imageRoot, images_dir: 'images',
      categories, files: files.map((f) => ({ file: toPosix(relative(out, f.file)), subset: f.subset, images: f.images, annotations: f.annotations })),
    }, null, 2) + '\n');
  }
  const mode = o.images ?? 'link';
  if (mode === 'link') {
    if (multi) {
      mkdirSync(join(out, 'images'), { recursive: true });
      groups.forEach((g, k) => linkFolder(join(out, 'images', `root${k + 1}`), g.common));
    } else linkFolder(join(out, 'images'), imageRoot);
  } else if (mode === 'copy') {
    let missing = 0;
    for (const im of d.images) {
      const src = abs.get(im.id)!;
      if (!existsSync(src)) { missing++; continue; }
      const t = join(out, 'images', rel(im));
      mkdirSync(dirname(t), { recursive: true });
      copyFileSync(src, t);
    }
    if (missing) log.warn('missing-file', `${missing} image file(s) missing, not copied`);
  }
  return { files, imageRoot, log };
}

/** The root (of `roots`, in order) that holds `p`. */
function rootOf(roots: string[], p: string): string | undefined {
  return roots.find((r) => { const q = relative(r, p); return q === '' || (!q.startsWith('..') && !isAbsolute(q)); });
}

/**
 * `dst` becomes one symlink to `target` (not one per image: instant for 30k images, and file_name resolves the
 * same through it as through image_root). `target` is a folder inside a root (checked by the caller).
 */
function linkFolder(dst: string, target: string): void {
  let st;
  try { st = lstatSync(dst); } catch { /* absent */ }
  if (st?.isSymbolicLink()) {
    if (resolve(dirname(dst), readlinkSync(dst)) === target) return;
    unlinkSync(dst);
  } else if (st) throw new DatasetError('io', `${dst} exists and is not a symlink; remove it or use --images none/copy`, dst);
  symlinkSync(target, dst, 'dir');
}

function commonDir(paths: string[]): string | undefined {
  if (paths.length === 0) return undefined;
  let parts = dirname(paths[0]!).split(sep);
  for (const p of paths) {
    const q = dirname(p).split(sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    if (i < parts.length) parts = parts.slice(0, i);
  }
  return parts.join(sep) || sep;
}

const toPosix = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));
