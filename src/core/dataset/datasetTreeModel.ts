import { effectiveAnnotationsByImage } from './datasetQueries';
import type { DatasetFile, LabelLevel, ReviewState, SplitName } from './schema';
import { SPLIT_NAMES } from './schema';

/**
 * The Datasets sidebar as plain data, with no 'vscode' import: the extension's TreeDataProvider maps each
 * node to a TreeItem one to one (id, label, description, tooltip, icon from `kind`, collapsible state).
 *
 *   dataset
 *   └ split (train / val / test / unassigned)
 *     └ group: Boxes | Points only | Unlabeled | Pseudo-boxes: pending | accepted | edited | rejected
 *       └ images, sorted by file name; groups over `pageSize` children are bucketed ("1-500", ...,
 *         nested when there are more than pageSize buckets), so VS Code never renders thousands of rows.
 *
 * An image sits in the group of its label level, and also in each pseudo-box group it has pseudo-boxes in.
 * Everything the tree shows is indexed once per load (file-name order, per-group image lists, per-class
 * counts), so the first level and every expand are O(children) and take well under a millisecond on RSNA's
 * 26,684 images (see bench/dataset.bench.ts). A class filter and a file-name search narrow every level;
 * counts then show the matching images.
 *
 * Node ids encode their path ("s:train/g:boxes/b:0-500/i:42"), so `parentOf` (for TreeView.reveal) is
 * string work and `getNode` rebuilds any node from its id. Ids depend on the filter (bucket ranges move),
 * so refresh the whole tree when the filter changes.
 */

export type TreeNodeType = 'dataset' | 'split' | 'group' | 'bucket' | 'image';
export type GroupKey = 'boxes' | 'points' | 'unlabeled' | 'pending' | 'accepted' | 'edited' | 'rejected';
export const GROUP_KEYS: readonly GroupKey[] = ['boxes', 'points', 'unlabeled', 'pending', 'accepted', 'edited', 'rejected'];
const GROUP_LABEL: Record<GroupKey, string> = {
  boxes: 'Boxes', points: 'Points only', unlabeled: 'Unlabeled',
  pending: 'Pseudo-boxes: pending', accepted: 'Pseudo-boxes: accepted', edited: 'Pseudo-boxes: edited', rejected: 'Pseudo-boxes: rejected',
};
const PSEUDO_GROUPS = new Set<GroupKey>(['pending', 'accepted', 'edited', 'rejected']);

/**
 * Icon kinds: 'dataset', 'split', 'group-<key>', 'bucket', and for images 'image-boxes', 'image-negative'
 * (boxes level, no lesion), 'image-points', 'image-unlabeled', 'image-pseudo-<review>' (inside a pseudo
 * group), 'image-missing' (file not on disk, when the host reported it via setMissing).
 */
export type TreeIconKind = string;

export interface ClassCount { boxes: number; points: number; pseudo: number }

export interface DatasetTreeNode {
  id: string;
  type: TreeNodeType;
  label: string;
  description: string;
  tooltip: string;
  /** Icon kind (see TreeIconKind). */
  kind: TreeIconKind;
  collapsible: 'none' | 'collapsed' | 'expanded';
  /** Images under the node (matching the filter); 1 for an image. */
  count: number;
  imageId?: number;
  split?: SplitName;
  group?: GroupKey;
  /** Per-class counts under the node (class name -> counts), for tooltips. */
  classCounts: Record<string, ClassCount>;
}

export interface TreeFilter {
  /** Category ids: keep images with at least one annotation or pseudo-box of these classes. */
  categoryIds?: number[];
  /** Case-insensitive substring of the file name. */
  search?: string;
}

export interface DatasetTreeOptions {
  /** Max children per level (default 500). */
  pageSize?: number;
  /** Show pseudo-box groups and splits that are empty (default false: hidden). Label-level groups always show. */
  showEmpty?: boolean;
}

interface ImgInfo {
  id: number;
  name: string;
  lower: string;
  split: SplitName;
  level: LabelLevel;
  boxes: number;
  points: number;
  /** category id -> [boxes, points, pseudo] */
  cls: Map<number, [number, number, number]>;
  pseudo: Partial<Record<ReviewState, number>>;
}

export class DatasetTreeModel {
  private readonly pageSize: number;
  private readonly showEmpty: boolean;
  private imgs: ImgInfo[] = [];
  private allList: number[] | undefined;
  private byId = new Map<number, number>();
  private catName = new Map<number, string>();
  /** split -> image indices in file-name order */
  private splitLists = new Map<SplitName, number[]>();
  /** `${split}/${group}` -> image indices in file-name order */
  private groupLists = new Map<string, number[]>();
  private filter: TreeFilter = {};
  private filtered = new Map<string, number[]>();
  private positions = new Map<string, Map<number, number>>();
  private missing = new Set<number>();
  /** Totals of split and group nodes (the big lists), per filter; buckets are small and computed on demand. */
  private totalsCache = new Map<string, ReturnType<DatasetTreeModel['totals']>>();
  private name = 'dataset';

  constructor(data: DatasetFile, opts: DatasetTreeOptions = {}) {
    this.pageSize = Math.max(2, opts.pageSize ?? 500);
    this.showEmpty = opts.showEmpty ?? false;
    this.rebuild(data);
  }

  /** Re-index after the dataset changed (cheap: tens of ms for 26k images). Keeps the filter. */
  rebuild(data: DatasetFile): void {
    this.name = data.info?.name || 'dataset';
    this.catName = new Map(data.categories.map((c) => [c.id, c.name]));
    const eff = effectiveAnnotationsByImage(data);
    const pseudoByImage = new Map<number, DatasetFile['pseudo_boxes']>();
    for (const p of data.pseudo_boxes) {
      let l = pseudoByImage.get(p.image_id);
      if (!l) pseudoByImage.set(p.image_id, l = []);
      l.push(p);
    }
    const seen = new Set<number>();
    const imgs: ImgInfo[] = [];
    for (const im of data.images) {
      if (seen.has(im.id)) continue; // duplicate ids: first wins (validate reports it)
      seen.add(im.id);
      const info: ImgInfo = { id: im.id, name: im.file_name, lower: im.file_name.toLowerCase(), split: im.split, level: im.label_level, boxes: 0, points: 0, cls: new Map(), pseudo: {} };
      for (const a of eff.get(im.id) ?? []) {
        let c = info.cls.get(a.category_id);
        if (!c) info.cls.set(a.category_id, c = [0, 0, 0]);
        if (a.bbox && im.label_level !== 'points') { info.boxes++; c[0]++; } else { info.points++; c[1]++; }
      }
      for (const p of pseudoByImage.get(im.id) ?? []) {
        info.pseudo[p.review] = (info.pseudo[p.review] ?? 0) + 1;
        let c = info.cls.get(p.category_id);
        if (!c) info.cls.set(p.category_id, c = [0, 0, 0]);
        c[2]++;
      }
      imgs.push(info);
    }
    // File-name order: plain code-unit comparison (stable and 10x faster than localeCompare on 26k names).
    imgs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
    this.imgs = imgs;
    this.allList = undefined;
    this.byId = new Map(imgs.map((im, i) => [im.id, i]));
    this.splitLists = new Map();
    this.groupLists = new Map();
    for (let i = 0; i < imgs.length; i++) {
      const im = imgs[i]!;
      push(this.splitLists, im.split, i);
      push(this.groupLists, `${im.split}/${im.level}`, i);
      for (const r of Object.keys(im.pseudo)) push(this.groupLists, `${im.split}/${r}`, i);
    }
    this.filtered.clear();
    this.positions.clear();
    this.totalsCache.clear();
  }

  setFilter(f: TreeFilter): void {
    this.filter = { ...(f.categoryIds?.length ? { categoryIds: [...f.categoryIds] } : {}), ...(f.search ? { search: f.search } : {}) };
    this.filtered.clear();
    this.positions.clear();
    this.totalsCache.clear();
  }
  getFilter(): TreeFilter { return { ...this.filter }; }

  /** Images whose files are missing (the host checks files off the UI path and reports them here). */
  setMissing(imageIds: Iterable<number>): void { this.missing = new Set(imageIds); }

  /** Children of a node; `undefined` = the top level (the dataset node). */
  getChildren(id?: string): DatasetTreeNode[] {
    if (id === undefined) return [this.datasetNode()];
    const p = parseId(id);
    if (!p) return [];
    if (p.image !== undefined) return [];
    if (p.split === undefined) {
      return SPLIT_NAMES.filter((s) => this.showEmpty || this.matching(this.splitLists.get(s) ?? [], `split:${s}`).length > 0).map((s) => this.splitNode(s));
    }
    if (p.group === undefined) {
      return GROUP_KEYS.filter((g) => !PSEUDO_GROUPS.has(g) || this.showEmpty || this.list(p.split!, g).length > 0).map((g) => this.groupNode(p.split!, g));
    }
    const list = this.list(p.split, p.group);
    const range = p.ranges.at(-1) ?? [0, list.length];
    return this.rangeChildren(id, list, range[0], Math.min(range[1], list.length), p.group);
  }

  /** The node for an id (for getTreeItem after a refresh, or reveal). */
  getNode(id: string): DatasetTreeNode | undefined {
    const p = parseId(id);
    if (!p) return undefined;
    if (p.split === undefined) return this.datasetNode();
    if (p.group === undefined) return this.splitNode(p.split);
    if (p.image !== undefined) {
      const i = this.byId.get(p.image);
      return i === undefined ? undefined : this.imageNode(id.slice(0, id.lastIndexOf('/')), i, p.group);
    }
    if (p.ranges.length === 0) return this.groupNode(p.split, p.group);
    const [s, e] = p.ranges.at(-1)!;
    return this.bucketNode(id.slice(0, id.lastIndexOf('/')), this.list(p.split, p.group), s, e);
  }

  /** Parent id (for TreeView.reveal); undefined for the top node. */
  parentOf(id: string): string | undefined {
    const k = id.lastIndexOf('/');
    if (k >= 0) return id.slice(0, k);
    return id === ROOT ? undefined : ROOT;
  }

  /**
   * Where an image is in the tree under the current filter: the id of its node in its label-level group
   * (or in `group`, e.g. 'pending'), bucket path included. Undefined when the filter hides it.
   */
  findImage(imageId: number, group?: GroupKey): string | undefined {
    const i = this.byId.get(imageId);
    if (i === undefined) return undefined;
    const im = this.imgs[i]!;
    const g = group ?? im.level;
    const key = `${im.split}/${g}`;
    let pos = this.positions.get(key);
    if (!pos) {
      pos = new Map(this.list(im.split, g).map((ix, k) => [ix, k]));
      this.positions.set(key, pos);
    }
    const k = pos.get(i);
    if (k === undefined) return undefined;
    const list = this.list(im.split, g);
    let id = `${ROOT}/s:${im.split}/g:${g}`;
    let s = 0; let e = list.length;
    while (e - s > this.pageSize) {
      const size = this.bucketSize(e - s);
      const bs = s + Math.floor((k - s) / size) * size;
      const be = Math.min(e, bs + size);
      id += `/b:${bs}-${be}`;
      s = bs; e = be;
    }
    return `${id}/i:${imageId}`;
  }

  // ---- nodes ----

  private datasetNode(): DatasetTreeNode {
    const all = this.matching(this.allList ??= this.imgs.map((_, i) => i), '*');
    const t = this.cachedTotals('*', all);
    return {
      id: ROOT, type: 'dataset', label: this.name, kind: 'dataset', collapsible: 'expanded', count: all.length,
      description: describe(all.length, t.boxes, t.points) + this.filterNote(),
      tooltip: this.tooltip(`${this.name}: ${fmt(all.length)} images`, t.cls), classCounts: t.cls,
    };
  }

  private splitNode(s: SplitName): DatasetTreeNode {
    const list = this.matching(this.splitLists.get(s) ?? [], `split:${s}`);
    const t = this.cachedTotals(`split:${s}`, list);
    return {
      id: `${ROOT}/s:${s}`, type: 'split', split: s, label: s, kind: 'split', collapsible: list.length ? 'collapsed' : 'none', count: list.length,
      description: describe(list.length, t.boxes, t.points),
      tooltip: this.tooltip(`${s}: ${fmt(list.length)} images`, t.cls), classCounts: t.cls,
    };
  }

  private groupNode(s: SplitName, g: GroupKey): DatasetTreeNode {
    const list = this.list(s, g);
    const t = this.cachedTotals(`${s}/${g}`, list, g);
    const desc = PSEUDO_GROUPS.has(g) ? `${fmt(list.length)} images · ${fmt(t.pseudo)} pseudo-boxes` : describe(list.length, t.boxes, t.points);
    return {
      id: `${ROOT}/s:${s}/g:${g}`, type: 'group', split: s, group: g, label: GROUP_LABEL[g], kind: `group-${g}`,
      collapsible: list.length ? 'collapsed' : 'none', count: list.length, description: desc,
      tooltip: this.tooltip(`${s} / ${GROUP_LABEL[g]}: ${fmt(list.length)} images`, t.cls), classCounts: t.cls,
    };
  }

  private bucketNode(parentId: string, list: number[], s: number, e: number): DatasetTreeNode {
    const t = this.totals(list.slice(s, e));
    const first = this.imgs[list[s]!]?.name ?? ''; const last = this.imgs[list[e - 1]!]?.name ?? '';
    return {
      id: `${parentId}/b:${s}-${e}`, type: 'bucket', label: `${fmt(s + 1)}-${fmt(e)}`, kind: 'bucket', collapsible: 'collapsed', count: e - s,
      description: `${baseName(first)} … ${baseName(last)}`,
      tooltip: this.tooltip(`images ${fmt(s + 1)}-${fmt(e)} of ${fmt(list.length)}\n${first}\n…\n${last}`, t.cls), classCounts: t.cls,
    };
  }

  private imageNode(parentId: string, i: number, g: GroupKey): DatasetTreeNode {
    const im = this.imgs[i]!;
    const cls: Record<string, ClassCount> = {};
    for (const [c, v] of im.cls) cls[this.catName.get(c) ?? `class ${c}`] = { boxes: v[0], points: v[1], pseudo: v[2] };
    let kind: string;
    if (this.missing.has(im.id)) kind = 'image-missing';
    else if (PSEUDO_GROUPS.has(g)) kind = `image-pseudo-${g}`;
    else if (im.level === 'boxes') kind = im.boxes ? 'image-boxes' : 'image-negative';
    else kind = `image-${im.level}`;
    const bits: string[] = [];
    if (im.level === 'boxes') bits.push(im.boxes ? plural(im.boxes, 'box', 'boxes') : 'negative');
    else if (im.level === 'points') bits.push(im.points ? plural(im.points, 'point', 'points') : 'negative');
    for (const r of ['pending', 'accepted', 'edited', 'rejected'] as const) if (im.pseudo[r]) bits.push(`${im.pseudo[r]} ${r}`);
    const head = `${im.name}\n${im.split} · ${im.level === 'points' ? 'points only' : im.level}${this.missing.has(im.id) ? ' · FILE MISSING' : ''}`;
    return {
      id: `${parentId}/i:${im.id}`, type: 'image', imageId: im.id, split: im.split, group: g, label: baseName(im.name), kind, collapsible: 'none', count: 1,
      description: bits.join(' · '), tooltip: this.tooltip(head, cls), classCounts: cls,
    };
  }

  private rangeChildren(parentId: string, list: number[], s: number, e: number, g: GroupKey): DatasetTreeNode[] {
    const n = e - s;
    if (n <= this.pageSize) {
      const out: DatasetTreeNode[] = new Array(Math.max(0, n));
      for (let k = s; k < e; k++) out[k - s] = this.imageNode(parentId, list[k]!, g);
      return out;
    }
    const size = this.bucketSize(n);
    const out: DatasetTreeNode[] = [];
    for (let b = s; b < e; b += size) out.push(this.bucketNode(parentId, list, b, Math.min(e, b + size)));
    return out;
  }

  /** Smallest pageSize^k bucket size that gives at most pageSize buckets. */
  private bucketSize(n: number): number {
    let size = this.pageSize;
    while (Math.ceil(n / size) > this.pageSize) size *= this.pageSize;
    return size;
  }

  // ---- filtering and counting ----

  private list(s: SplitName, g: GroupKey): number[] {
    return this.matching(this.groupLists.get(`${s}/${g}`) ?? [], `${s}/${g}`);
  }

  private matching(list: number[], key: string): number[] {
    if (!this.filter.categoryIds && !this.filter.search) return list;
    const hit = this.filtered.get(key);
    if (hit) return hit;
    const cats = this.filter.categoryIds ? new Set(this.filter.categoryIds) : undefined;
    const q = this.filter.search?.toLowerCase();
    const out = list.filter((i) => {
      const im = this.imgs[i]!;
      if (q && !im.lower.includes(q)) return false;
      if (cats) { for (const c of im.cls.keys()) if (cats.has(c)) return true; return false; }
      return true;
    });
    this.filtered.set(key, out);
    return out;
  }

  private cachedTotals(key: string, list: number[], g?: GroupKey): ReturnType<DatasetTreeModel['totals']> {
    let t = this.totalsCache.get(key);
    if (!t) { t = this.totals(list, g); this.totalsCache.set(key, t); }
    return t;
  }

  private totals(list: number[], g?: GroupKey): { boxes: number; points: number; pseudo: number; cls: Record<string, ClassCount> } {
    let boxes = 0; let points = 0; let pseudo = 0;
    const acc = new Map<number, [number, number, number]>();
    for (const i of list) {
      const im = this.imgs[i]!;
      boxes += im.boxes; points += im.points;
      if (g && PSEUDO_GROUPS.has(g)) pseudo += im.pseudo[g as ReviewState] ?? 0;
      for (const [c, v] of im.cls) {
        const a = acc.get(c);
        if (a) { a[0] += v[0]; a[1] += v[1]; a[2] += v[2]; } else acc.set(c, [v[0], v[1], v[2]]);
      }
    }
    const cls: Record<string, ClassCount> = {};
    for (const [c, v] of acc) cls[this.catName.get(c) ?? `class ${c}`] = { boxes: v[0], points: v[1], pseudo: v[2] };
    return { boxes, points, pseudo, cls };
  }

  private tooltip(head: string, cls: Record<string, ClassCount>): string {
    const lines = Object.entries(cls).sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([n, c]) => {
      const parts: string[] = [];
      if (c.boxes) parts.push(plural(c.boxes, 'box', 'boxes'));
      if (c.points) parts.push(plural(c.points, 'point', 'points'));
      if (c.pseudo) parts.push(`${fmt(c.pseudo)} pseudo`);
      return `${n}: ${parts.join(', ') || '0'}`;
    });
    return lines.length ? `${head}\n${lines.join('\n')}` : head;
  }

  private filterNote(): string {
    const f: string[] = [];
    if (this.filter.categoryIds) f.push(this.filter.categoryIds.map((c) => this.catName.get(c) ?? String(c)).join(', '));
    if (this.filter.search) f.push(`"${this.filter.search}"`);
    return f.length ? ` · filtered: ${f.join(' ')}` : '';
  }
}

const ROOT = 'ds';

interface ParsedId { split?: SplitName; group?: GroupKey; ranges: [number, number][]; image?: number }

function parseId(id: string): ParsedId | undefined {
  const parts = id.split('/');
  if (parts[0] !== ROOT) return undefined;
  const r: ParsedId = { ranges: [] };
  for (const seg of parts.slice(1)) {
    const k = seg.slice(0, 2); const v = seg.slice(2);
    if (k === 's:' && (SPLIT_NAMES as readonly string[]).includes(v)) r.split = v as SplitName;
    else if (k === 'g:' && (GROUP_KEYS as readonly string[]).includes(v)) r.group = v as GroupKey;
    else if (k === 'b:') { const m = /^(\d+)-(\d+)$/.exec(v); if (!m) return undefined; r.ranges.push([Number(m[1]), Number(m[2])]); }
    else if (k === 'i:') r.image = Number(v);
    else return undefined;
  }
  return r;
}

function push<K>(m: Map<K, number[]>, k: K, v: number): void {
  const l = m.get(k);
  if (l) l.push(v); else m.set(k, [v]);
}

// One formatter for all nodes: Number#toLocaleString builds a new Intl.NumberFormat per call (slow for 500 rows).
const NF = new Intl.NumberFormat('en-US');
const fmt = (n: number) => NF.format(n);
const plural = (n: number, one: string, many: string) => `${fmt(n)} ${n === 1 ? one : many}`;
const describe = (images: number, boxes: number, points: number) => `${fmt(images)} images · ${plural(boxes, 'box', 'boxes')} · ${plural(points, 'point', 'points')}`;
const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);
