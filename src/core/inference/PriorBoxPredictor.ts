/**
 * The "prior box" baseline: for each class a typical box size, centred on the click (or offset from it, as
 * a table may say) and clamped to the image. It needs no pixels, so it shows how much a model adds over
 * knowing only the class and where the click is; every evaluation reports it beside the model, and it is
 * the fallback for classes a model does not know.
 *
 * It never learns from the boxes it is scored on. Where the sizes come from, in order:
 *   1. a prior table (`--prior-table`, pointbox.inference.priorTable), for the classes it lists;
 *   2. learned from the dataset: the per-class median width and height of
 *      - the images given by the caller (k-fold: the other folds' images), or else
 *      - the train split's box-level images, when the dataset is split and they have boxes, or else
 *      - every other image (leave-one-image-out: a click on image i uses the boxes of all images but i);
 *      the image being predicted is always left out of the pool, whichever it is;
 *   3. a class with no box to learn from (fewer than `minBoxes`, default 1) uses the median over all classes
 *      of the same pool (reported as such). A class learned from fewer than 5 boxes is listed in the report
 *      as thin: its size comes from other images' boxes (never the scored one), so it is honest, but noisy.
 *      Falling back to the all-class median there instead would hand the baseline a size dominated by
 *      another class (e.g. a pneumonia-sized box for a nodule) and flatter every model compared with it.
 */
import type { DatasetFile } from '../dataset/schema';
import { effectiveAnnotationsByImage } from '../dataset/datasetQueries';
import { clampXyxy, type XYXY } from '../../shared/geometry';
import { InferenceError } from './InferenceError';
import type { PriorTable, PriorTableEntry } from './priorTable';

export type PriorSourceKind = 'train-split' | 'leave-one-image-out' | 'images' | 'table';
/** Where one prediction's size came from. */
export type PriorFrom = 'table' | 'learned' | 'global';

export interface PriorResolution {
  /** Box size in pixels of the image and centre offset from the click in units of w, h. */
  w: number;
  h: number;
  dx: number;
  dy: number;
  from: PriorFrom;
  /** Boxes of this class the size could be learned from (pool minus this image), or the table's count. */
  classBoxes: number;
}

export interface PriorOptions {
  table?: PriorTable;
  /** Classes with fewer boxes to learn from use the all-class median. Default 1 (see the rules above). */
  minBoxes?: number;
  /** Learn only from the boxes of these images (e.g. the other folds of a k-fold split). */
  learnFrom?: { imageIds: Iterable<number>; label: string };
}

export interface PriorClassReport {
  name: string;
  /** Boxes of the class in the learning pool (an image's own boxes are still left out when it is predicted). */
  boxes: number;
  /** Where the size of this class comes from for an image that holds none of its boxes. */
  from: PriorFrom | 'none';
  /** Pool median in pixels (learned classes), or the table row. */
  width?: number;
  height?: number;
  unit?: 'px' | 'frac';
  tableBoxes?: number;
  tableSource?: string;
}

export interface PriorReport {
  source: PriorSourceKind;
  /** Short name: "leave-one-image-out", "train split", "table models/priors/x.csv", the caller's label. */
  label: string;
  description: string;
  table?: string;
  /** How classes the table lacks are learned (when there is a table). */
  learned: { kind: Exclude<PriorSourceKind, 'table'>; label: string; boxes: number; images: number };
  minBoxes: number;
  classes: PriorClassReport[];
  /** Classes with fewer than minBoxes boxes to learn from and no table row: they use the all-class median. */
  fewBoxClasses: { name: string; boxes: number; fallback: 'global' }[];
  /** Classes learned from 1-4 boxes (no table row): their own median, noisy. */
  thinClasses: { name: string; boxes: number }[];
}

/** A class learned from fewer boxes than this is reported as thin. */
export const THIN_PRIOR_BOXES = 5;

function lowerBound(s: Float64Array, x: number): number {
  let lo = 0; let hi = s.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (s[mid]! < x) lo = mid + 1; else hi = mid; }
  return lo;
}

/** The j-th smallest (0-based) of sorted `s` without the values `removed` (sorted, each present in s). */
function kthWithout(s: Float64Array, removed: readonly number[], j: number): number {
  let p = j;
  let prev = NaN; let dup = 0;
  for (const r of removed) {
    dup = r === prev ? dup + 1 : 0; prev = r;
    if (lowerBound(s, r) + dup <= p) p++; else break;
  }
  return s[p]!;
}

/** Median of sorted `s` without `removed`, in O(k log n) so leave-one-image-out stays cheap on 30k images. */
function medianWithout(s: Float64Array, removed: readonly number[]): number {
  const m = s.length - removed.length;
  if (m <= 0) return NaN;
  return m % 2 ? kthWithout(s, removed, (m - 1) / 2) : (kthWithout(s, removed, m / 2 - 1) + kthWithout(s, removed, m / 2)) / 2;
}

interface Sizes { w: number[]; h: number[] }
interface SortedSizes { w: Float64Array; h: Float64Array }

/** Box sizes of a set of images per class, with each image's own boxes kept apart so they can be left out. */
class SizePool {
  private readonly perClass = new Map<number, SortedSizes>();
  private all: SortedSizes = { w: new Float64Array(), h: new Float64Array() };
  private readonly own = new Map<number, Map<number, Sizes>>();
  private readonly ownAll = new Map<number, Sizes>();
  readonly images: number;
  readonly boxes: number;

  constructor(boxes: { imageId: number; categoryId: number; w: number; h: number }[]) {
    const per = new Map<number, Sizes>();
    const all: Sizes = { w: [], h: [] };
    for (const b of boxes) {
      let e = per.get(b.categoryId);
      if (!e) per.set(b.categoryId, (e = { w: [], h: [] }));
      e.w.push(b.w); e.h.push(b.h); all.w.push(b.w); all.h.push(b.h);
      let im = this.own.get(b.imageId);
      if (!im) this.own.set(b.imageId, (im = new Map()));
      let o = im.get(b.categoryId);
      if (!o) im.set(b.categoryId, (o = { w: [], h: [] }));
      o.w.push(b.w); o.h.push(b.h);
      let oa = this.ownAll.get(b.imageId);
      if (!oa) this.ownAll.set(b.imageId, (oa = { w: [], h: [] }));
      oa.w.push(b.w); oa.h.push(b.h);
    }
    const sorted = (s: Sizes): SortedSizes => ({ w: Float64Array.from(s.w).sort(), h: Float64Array.from(s.h).sort() });
    for (const [c, e] of per) this.perClass.set(c, sorted(e));
    this.all = sorted(all);
    for (const m of this.own.values()) for (const s of m.values()) { s.w.sort((a, b) => a - b); s.h.sort((a, b) => a - b); }
    for (const s of this.ownAll.values()) { s.w.sort((a, b) => a - b); s.h.sort((a, b) => a - b); }
    this.images = this.own.size;
    this.boxes = boxes.length;
  }

  count(categoryId: number | 'all', without?: number): number {
    const s = categoryId === 'all' ? this.all : this.perClass.get(categoryId);
    if (!s) return 0;
    const o = without === undefined ? undefined : categoryId === 'all' ? this.ownAll.get(without) : this.own.get(without)?.get(categoryId);
    return s.w.length - (o?.w.length ?? 0);
  }

  /** Median [w, h] of a class (or all classes) without image `without`'s boxes; undefined when none remain. */
  median(categoryId: number | 'all', without?: number): [number, number] | undefined {
    const s = categoryId === 'all' ? this.all : this.perClass.get(categoryId);
    if (!s) return undefined;
    const o = (without === undefined ? undefined : categoryId === 'all' ? this.ownAll.get(without) : this.own.get(without)?.get(categoryId)) ?? { w: [], h: [] };
    const w = medianWithout(s.w, o.w);
    return Number.isNaN(w) ? undefined : [w, medianWithout(s.h, o.h)];
  }
}

export class PriorBoxPredictor {
  readonly id = 'prior';
  readonly executionProvider = 'none';

  private constructor(
    private readonly pool: SizePool,
    private readonly tableByCategory: Map<number, PriorTableEntry>,
    private readonly minBoxes: number,
    readonly report: PriorReport,
  ) {}

  /** Short name of where the sizes come from ("leave-one-image-out", "train split", "table <file>", ...). */
  get sourceLabel(): string { return this.report.label; }

  /**
   * The prior for a dataset by the rules at the top of this file. Throws when it has nothing at all to
   * learn from (no boxes and no table); `tryFromDataset` returns undefined instead.
   */
  static fromDataset(d: DatasetFile, opts: PriorOptions = {}): PriorBoxPredictor {
    const p = PriorBoxPredictor.tryFromDataset(d, opts);
    if (!p) throw new InferenceError('class-mismatch', 'prior-box baseline: the dataset has no boxes to learn box sizes from (give a prior table: --prior-table or the setting pointbox.inference.priorTable)');
    return p;
  }

  static tryFromDataset(d: DatasetFile, opts: PriorOptions = {}): PriorBoxPredictor | undefined {
    const minBoxes = opts.minBoxes ?? 1;
    const byImage = effectiveAnnotationsByImage(d);
    const collect = (pred: (img: DatasetFile['images'][number]) => boolean) => {
      const out: { imageId: number; categoryId: number; w: number; h: number }[] = [];
      for (const img of d.images) {
        if (!pred(img)) continue;
        for (const a of byImage.get(img.id) ?? []) if (a.bbox && a.bbox[2] > 0 && a.bbox[3] > 0) out.push({ imageId: img.id, categoryId: a.category_id, w: a.bbox[2], h: a.bbox[3] });
      }
      return out;
    };
    let kind: Exclude<PriorSourceKind, 'table'>;
    let label: string;
    let boxes: ReturnType<typeof collect>;
    if (opts.learnFrom) {
      const ids = new Set(opts.learnFrom.imageIds);
      boxes = collect((im) => ids.has(im.id)); kind = 'images'; label = opts.learnFrom.label;
    } else {
      boxes = collect((im) => im.split === 'train' && im.label_level === 'boxes');
      kind = 'train-split'; label = 'train split';
      if (boxes.length === 0) { boxes = collect(() => true); kind = 'leave-one-image-out'; label = 'leave-one-image-out'; }
    }
    const pool = new SizePool(boxes);
    const tableByCategory = new Map<number, PriorTableEntry>();
    if (opts.table) {
      const byName = new Map(opts.table.entries.map((e) => [e.name.toLowerCase(), e]));
      for (const c of d.categories) { const e = byName.get(c.name.toLowerCase()); if (e) tableByCategory.set(c.id, e); }
    }
    if (pool.boxes === 0 && tableByCategory.size === 0) return undefined;

    const learnedDesc = kind === 'leave-one-image-out'
      ? `leave-one-image-out over ${pool.boxes} boxes on ${pool.images} images: a click on an image uses the median box size of its class on every other image`
      : kind === 'train-split'
        ? `median box size per class of the train split's box-level images (${pool.boxes} boxes on ${pool.images} images; the predicted image's own boxes left out)`
        : `median box size per class of ${label} (${pool.boxes} boxes on ${pool.images} images)`;
    const classes: PriorClassReport[] = d.categories.map((c) => {
      const t = tableByCategory.get(c.id);
      const n = pool.count(c.id);
      if (t) return { name: c.name, boxes: n, from: 'table', width: t.w, height: t.h, unit: t.unit, ...(t.boxes !== undefined ? { tableBoxes: t.boxes } : {}), ...(t.source ? { tableSource: t.source } : {}) };
      const m = n >= minBoxes ? pool.median(c.id) : pool.median('all');
      return { name: c.name, boxes: n, from: m ? (n >= minBoxes ? 'learned' : 'global') : 'none', ...(m ? { width: m[0], height: m[1], unit: 'px' as const } : {}) };
    });
    const fewBoxClasses = classes.filter((c) => c.from === 'global').map((c) => ({ name: c.name, boxes: c.boxes, fallback: 'global' as const }));
    const thinClasses = classes.filter((c) => c.from === 'learned' && c.boxes < THIN_PRIOR_BOXES).map((c) => ({ name: c.name, boxes: c.boxes }));
    const report: PriorReport = opts.table
      ? {
        source: 'table', label: `table ${opts.table.file}`, table: opts.table.file,
        description: `per-class sizes from ${opts.table.file} (${tableByCategory.size} of the dataset's ${d.categories.length} classes); other classes: ${learnedDesc}`,
        learned: { kind, label, boxes: pool.boxes, images: pool.images }, minBoxes, classes, fewBoxClasses, thinClasses,
      }
      : { source: kind, label, description: learnedDesc, learned: { kind, label, boxes: pool.boxes, images: pool.images }, minBoxes, classes, fewBoxClasses, thinClasses };
    return new PriorBoxPredictor(pool, tableByCategory, minBoxes, report);
  }

  /** The prior size for a click of a class on an image of the given size, or undefined when there is none. */
  resolve(imageId: number, categoryId: number, width: number, height: number): PriorResolution | undefined {
    const t = this.tableByCategory.get(categoryId);
    if (t) {
      const s = t.unit === 'frac' ? Math.max(width, height) : 1;
      return { w: t.w * s, h: t.h * s, dx: t.dx, dy: t.dy, from: 'table', classBoxes: t.boxes ?? this.pool.count(categoryId, imageId) };
    }
    const n = this.pool.count(categoryId, imageId);
    const own = n >= this.minBoxes ? this.pool.median(categoryId, imageId) : undefined;
    if (own) return { w: own[0], h: own[1], dx: 0, dy: 0, from: 'learned', classBoxes: n };
    const g = this.pool.median('all', imageId);
    return g ? { w: g[0], h: g[1], dx: 0, dy: 0, from: 'global', classBoxes: n } : undefined;
  }

  /** Corner box in pixels for a click, clamped to the image; undefined when there is no prior for it. */
  predict(imageId: number, categoryId: number, x: number, y: number, width: number, height: number): XYXY | undefined {
    const r = this.resolve(imageId, categoryId, width, height);
    return r && PriorBoxPredictor.box(r, x, y, width, height);
  }

  static box(r: PriorResolution, x: number, y: number, width: number, height: number): XYXY {
    const cx = x + r.dx * r.w;
    const cy = y + r.dy * r.h;
    return clampXyxy([cx - r.w / 2, cy - r.h / 2, cx + r.w / 2, cy + r.h / 2], width, height);
  }
}
