import { effectiveAnnotations } from './datasetQueries';
import type { Annotation, DatasetFile, ImageRecord, LabelLevel, PseudoBox, ReviewState, SplitName } from './schema';
import { SPLIT_NAMES } from './schema';

/**
 * The Datasets sidebar as plain data, with no 'vscode' import: the extension's TreeDataProvider maps each
 * node to a TreeItem one to one (id, label, description, tooltip, icon from `kind`, collapsible state).
 *
 *   dataset
 *   └ split (train / val / test / unassigned)
 *     └ group: Box-level | Point-level | Unlabeled | Pseudo-boxes: pending | accepted | edited | rejected
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
 *
 * Edits do not rebuild the index: `update(data, imageIds)` re-reads only the touched images, moves them
 * between the split/group lists they left or joined, drops only the caches those lists feed, and says which
 * node ids changed, so the view refreshes those nodes and not the whole tree (see DatasetChange).
 */

export type TreeNodeType = 'dataset' | 'split' | 'group' | 'bucket' | 'image';
export type GroupKey = 'boxes' | 'points' | 'unlabeled' | 'pending' | 'accepted' | 'edited' | 'rejected';
export const GROUP_KEYS: readonly GroupKey[] = ['boxes', 'points', 'unlabeled', 'pending', 'accepted', 'edited', 'rejected'];
const GROUP_LABEL: Record<GroupKey, string> = {
  boxes: 'Box-level', points: 'Point-level', unlabeled: 'Unlabeled',
  pending: 'Pseudo-boxes: pending', accepted: 'Pseudo-boxes: accepted', edited: 'Pseudo-boxes: edited', rejected: 'Pseudo-boxes: rejected',
};
const PSEUDO_GROUPS = new Set<GroupKey>(['pending', 'accepted', 'edited', 'rejected']);

/** What `update` changed, for a view that refreshes only those nodes. */
export interface TreeUpdate {
  /** The index was rebuilt (many images, added/removed/renamed images): refresh the dataset node's whole subtree. */
  rebuilt: boolean;
  /**
   * Node ids whose label, description or children changed: images in place, their bucket/group/split/dataset
   * ancestors, and groups whose membership changed (their buckets shift).
   */
  nodeIds: string[];
}

/** The records of one image, for `update` (the document's per-image index, so an edit costs O(that image)). */
export type ImageRecordsLookup = (imageId: number) => { image: ImageRecord | undefined; annotations: Annotation[]; pseudoBoxes: PseudoBox[] };

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
  /** The lower-cased name, made the first time a search needs it. */
  lower?: string;
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
  /**
   * Running totals of the unfiltered split/group lists and the whole dataset ('*', 'split:<s>', '<s>/<g>'),
   * built with the index and kept up to date by `update` image by image: a count on the dataset node after
   * an edit costs O(classes), not a pass over 26k images.
   */
  private accs = new Map<string, Acc>();
  private missing = new Set<number>();
  /** With a filter on: totals of the filtered split and group lists, computed on demand; buckets always are. */
  private totalsCache = new Map<string, Totals>();
  private name = 'dataset';

  constructor(data: DatasetFile, opts: DatasetTreeOptions = {}) {
    this.pageSize = Math.max(2, opts.pageSize ?? 500);
    this.showEmpty = opts.showEmpty ?? false;
    this.rebuild(data);
  }

  /** Re-index after the dataset changed (tens of ms for 26k images). Keeps the filter. */
  rebuild(data: DatasetFile): void {
    for (const _ of this.rebuildSteps(data)) { /* run to the end */ }
  }

  /**
   * `rebuild` for the extension host: the same work, yielding to the event loop whenever a slice took more
   * than `budgetMs`, so indexing a 26,684-image dataset never stalls the host for the whole build. The old
   * index stays in use until the new one is complete.
   */
  async rebuildAsync(data: DatasetFile, o: { budgetMs?: number; yieldNow?: () => Promise<void> } = {}): Promise<void> {
    const budget = o.budgetMs ?? 8;
    const yieldNow = o.yieldNow ?? (() => new Promise<void>((r) => setImmediate(r)));
    let t0 = performance.now();
    for (const _ of this.rebuildSteps(data)) {
      if (performance.now() - t0 > budget) { await yieldNow(); t0 = performance.now(); }
    }
  }

  /** The rebuild, as steps (a yield every 2,000 records): everything goes into locals and is swapped in at the end. */
  private *rebuildSteps(data: DatasetFile): Generator<void> {
    const name = data.info?.name || 'dataset';
    const catName = new Map(data.categories.map((c) => [c.id, c.name]));
    // effectiveAnnotationsByImage, in steps.
    const eff = new Map<number, Annotation[]>();
    const fused = new Set<number>();
    let n = 0;
    for (const a of data.annotations) {
      let l = eff.get(a.image_id);
      if (!l) eff.set(a.image_id, l = []);
      l.push(a);
      if (a.reader === 'consensus') fused.add(a.image_id);
      if (++n % 5000 === 0) yield;
    }
    for (const id of fused) eff.set(id, effectiveAnnotations(eff.get(id)!));
    yield;
    const pseudoByImage = new Map<number, PseudoBox[]>();
    for (const p of data.pseudo_boxes) {
      let l = pseudoByImage.get(p.image_id);
      if (!l) pseudoByImage.set(p.image_id, l = []);
      l.push(p);
    }
    yield;
    const seen = new Set<number>();
    const imgs: ImgInfo[] = [];
    let k = 0;
    for (const im of data.images) {
      if (seen.has(im.id)) continue; // duplicate ids: first wins (validate reports it)
      seen.add(im.id);
      imgs.push(imageInfo(im, eff.get(im.id) ?? [], pseudoByImage.get(im.id) ?? []));
      if (++k % 1000 === 0) yield;
    }
    // File-name order: plain code-unit comparison (stable and 10x faster than localeCompare on 26k names),
    // as a merge sort in steps.
    const sorted: ImgInfo[] = yield* mergeSortSteps(imgs, byName);
    const byId = new Map<number, number>();
    const splitLists = new Map<SplitName, number[]>();
    const groupLists = new Map<string, number[]>();
    const accs = new Map<string, Acc>();
    for (let i = 0; i < sorted.length; i++) {
      const im = sorted[i]!;
      byId.set(im.id, i);
      push(splitLists, im.split, i);
      addImage(accs, '*', im, 1);
      addImage(accs, `split:${im.split}`, im, 1);
      for (const g of groupsOf(im)) { push(groupLists, `${im.split}/${g}`, i); addImage(accs, `${im.split}/${g}`, im, 1, g); }
      if (i % 1000 === 999) yield;
    }
    this.name = name;
    this.catName = catName;
    this.imgs = sorted;
    this.allList = undefined;
    this.byId = byId;
    this.splitLists = splitLists;
    this.groupLists = groupLists;
    this.accs = accs;
    this.filtered.clear();
    this.totalsCache.clear();
  }

  /**
   * Brings the index up to date after an edit that touched `imageIds`, re-reading only those images
   * (through `lookup`, the document's per-image index; without it they are searched in `data`). Falls back
   * to a rebuild when images were added, removed or renamed, or when the edit touched many images.
   */
  update(data: DatasetFile, imageIds: readonly number[], lookup?: ImageRecordsLookup): TreeUpdate {
    this.name = data.info?.name || 'dataset';
    this.catName = new Map(data.categories.map((c) => [c.id, c.name]));
    if (imageIds.length === 0) return { rebuilt: false, nodeIds: [ROOT] };
    const get: ImageRecordsLookup = lookup ?? ((id) => ({
      image: data.images.find((im) => im.id === id),
      annotations: data.annotations.filter((a) => a.image_id === id),
      pseudoBoxes: data.pseudo_boxes.filter((p) => p.image_id === id),
    }));
    const fresh: { i: number; info: ImgInfo }[] = [];
    if (imageIds.length <= Math.max(64, this.imgs.length / 8) && data.images.length === this.imgs.length) {
      for (const id of imageIds) {
        const i = this.byId.get(id);
        const r = get(id);
        if (i === undefined || !r.image || r.image.file_name !== this.imgs[i]!.name) { fresh.length = 0; break; }
        fresh.push({ i, info: imageInfo(r.image, effectiveAnnotations(r.annotations), r.pseudoBoxes) });
      }
    }
    if (fresh.length !== imageIds.length) {
      this.rebuild(data);
      return { rebuilt: true, nodeIds: [ROOT] };
    }
    const nodeIds = new Set<string>([ROOT]);
    const lists = new Set<string>(['*']);
    const filtering = !!(this.filter.categoryIds || this.filter.search);
    const stays: { id: number; split: SplitName; groups: GroupKey[] }[] = [];
    for (const { i, info } of fresh) {
      const old = this.imgs[i]!;
      const oldGroups = new Set(groupsOf(old)); const newGroups = new Set(groupsOf(info));
      const moved = old.split !== info.split;
      addImage(this.accs, '*', old, -1); addImage(this.accs, '*', info, 1);
      addImage(this.accs, `split:${old.split}`, old, -1); addImage(this.accs, `split:${info.split}`, info, 1);
      for (const g of oldGroups) addImage(this.accs, `${old.split}/${g}`, old, -1, g);
      for (const g of newGroups) addImage(this.accs, `${info.split}/${g}`, info, 1, g);
      if (moved) { removeSorted(this.splitLists, old.split, i); insertSorted(this.splitLists, info.split, i); }
      for (const g of oldGroups) {
        lists.add(`${old.split}/${g}`);
        if (moved || !newGroups.has(g)) { removeSorted(this.groupLists, `${old.split}/${g}`, i); nodeIds.add(groupId(old.split, g)); }
      }
      const staying: GroupKey[] = [];
      for (const g of newGroups) {
        lists.add(`${info.split}/${g}`);
        if (moved || !oldGroups.has(g)) { insertSorted(this.groupLists, `${info.split}/${g}`, i); nodeIds.add(groupId(info.split, g)); }
        // With a filter on, the edit may change which images match: the group's buckets may shift.
        else if (filtering) nodeIds.add(groupId(info.split, g));
        else staying.push(g);
      }
      lists.add(`split:${old.split}`); lists.add(`split:${info.split}`);
      nodeIds.add(`${ROOT}/s:${old.split}`); nodeIds.add(`${ROOT}/s:${info.split}`);
      this.imgs[i] = info;
      if (staying.length) stays.push({ id: info.id, split: info.split, groups: staying });
    }
    for (const k of lists) { this.totalsCache.delete(k); this.filtered.delete(k); }
    // The image's own rows in the groups it stayed in, and their buckets: the same ids as before the edit.
    for (const st of stays) {
      for (const g of st.groups) {
        for (let id = this.findImage(st.id, g); id && id !== ROOT; id = this.parentOf(id)) nodeIds.add(id);
      }
    }
    return { rebuilt: false, nodeIds: [...nodeIds] };
  }

  setFilter(f: TreeFilter): void {
    this.filter = { ...(f.categoryIds?.length ? { categoryIds: [...f.categoryIds] } : {}), ...(f.search ? { search: f.search } : {}) };
    this.filtered.clear();
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
    // Lists hold indices ascending (file-name order), so the image's position is a binary search away.
    const list = this.list(im.split, g);
    let lo = 0; let hi = list.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (list[mid]! < i) lo = mid + 1; else hi = mid; }
    if (list[lo] !== i) return undefined;
    const k = lo;
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
    // Level groups say how many of their images carry lesions: a box-level image may be a negative.
    const desc = PSEUDO_GROUPS.has(g) ? `${fmt(list.length)} images · ${fmt(t.pseudo)} pseudo-boxes`
      : g === 'boxes' ? `${fmt(list.length)} images (${fmt(t.withBoxes)} with boxes) · ${plural(t.boxes, 'box', 'boxes')}`
        : g === 'points' ? `${fmt(list.length)} images (${fmt(t.withPoints)} with points) · ${plural(t.points, 'point', 'points')}`
          : describe(list.length, t.boxes, t.points);
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
    const head = `${im.name}\n${im.split} · ${im.level === 'unlabeled' ? 'unlabeled' : `${im.level === 'points' ? 'point' : 'box'}-level`}${this.missing.has(im.id) ? ' · FILE MISSING' : ''}`;
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
      if (q && !(im.lower ??= im.name.toLowerCase()).includes(q)) return false;
      if (cats) { for (const c of im.cls.keys()) if (cats.has(c)) return true; return false; }
      return true;
    });
    this.filtered.set(key, out);
    return out;
  }

  private cachedTotals(key: string, list: number[], g?: GroupKey): Totals {
    if (!this.filter.categoryIds && !this.filter.search) return this.fromAcc(this.accs.get(key));
    let t = this.totalsCache.get(key);
    if (!t) { t = this.totals(list, g); this.totalsCache.set(key, t); }
    return t;
  }

  private fromAcc(a: Acc | undefined): Totals {
    const cls: Record<string, ClassCount> = {};
    if (!a) return { boxes: 0, points: 0, pseudo: 0, withBoxes: 0, withPoints: 0, cls };
    // Classes in the dataset's order, then ids it no longer lists: the same order however the totals were made.
    const put = (c: number, v: [number, number, number]) => { if (v[0] || v[1] || v[2]) cls[this.catName.get(c) ?? `class ${c}`] = { boxes: v[0], points: v[1], pseudo: v[2] }; };
    for (const c of this.catName.keys()) { const v = a.cls.get(c); if (v) put(c, v); }
    for (const [c, v] of a.cls) if (!this.catName.has(c)) put(c, v);
    return { boxes: a.boxes, points: a.points, pseudo: a.pseudo, withBoxes: a.withBoxes, withPoints: a.withPoints, cls };
  }

  private totals(list: number[], g?: GroupKey): Totals {
    const acc = new Map<string, Acc>();
    for (const i of list) addImage(acc, 'k', this.imgs[i]!, 1, g);
    return this.fromAcc(acc.get('k'));
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
/** The id of the dataset node (the top of every dataset's tree). */
export const DATASET_NODE_ID = ROOT;

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

/** Shared by every image without classes or pseudo-boxes (most of RSNA's negatives): never mutated. */
const NO_CLASSES: ImgInfo['cls'] = new Map();
const NO_PSEUDO: ImgInfo['pseudo'] = Object.freeze({});

function imageInfo(im: ImageRecord, anns: readonly Annotation[], pseudo: readonly PseudoBox[]): ImgInfo {
  // Allocation-light: 26k images are indexed on the host in slices, and garbage is what makes slices long.
  const info: ImgInfo = { id: im.id, name: im.file_name, split: im.split, level: im.label_level, boxes: 0, points: 0, cls: NO_CLASSES, pseudo: NO_PSEUDO };
  if (anns.length === 0 && pseudo.length === 0) return info;
  const cls: ImgInfo['cls'] = info.cls = new Map();
  for (const a of anns) {
    let c = cls.get(a.category_id);
    if (!c) cls.set(a.category_id, c = [0, 0, 0]);
    if (a.bbox && im.label_level !== 'points') { info.boxes++; c[0]++; } else { info.points++; c[1]++; }
  }
  if (pseudo.length) {
    const pr: ImgInfo['pseudo'] = info.pseudo = {};
    for (const p of pseudo) {
      pr[p.review] = (pr[p.review] ?? 0) + 1;
      let c = cls.get(p.category_id);
      if (!c) cls.set(p.category_id, c = [0, 0, 0]);
      c[2]++;
    }
  }
  return info;
}

const byName = (a: ImgInfo, b: ImgInfo) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id);

interface Totals { boxes: number; points: number; pseudo: number; withBoxes: number; withPoints: number; cls: Record<string, ClassCount> }
/** A list's running totals: counts and category id -> [boxes, points, pseudo]. */
interface Acc { boxes: number; points: number; pseudo: number; withBoxes: number; withPoints: number; cls: Map<number, [number, number, number]> }

/** Adds (sign 1) or removes (sign -1) one image's counts to the totals of `key` (pseudo-boxes of group `g` only). */
function addImage(accs: Map<string, Acc>, key: string, im: ImgInfo, sign: 1 | -1, g?: GroupKey): void {
  let a = accs.get(key);
  if (!a) accs.set(key, a = { boxes: 0, points: 0, pseudo: 0, withBoxes: 0, withPoints: 0, cls: new Map() });
  a.boxes += sign * im.boxes; a.points += sign * im.points;
  if (im.boxes) a.withBoxes += sign;
  if (im.points) a.withPoints += sign;
  if (g && PSEUDO_GROUPS.has(g)) a.pseudo += sign * (im.pseudo[g as ReviewState] ?? 0);
  for (const [c, v] of im.cls) {
    let x = a.cls.get(c);
    if (!x) a.cls.set(c, x = [0, 0, 0]);
    x[0] += sign * v[0]; x[1] += sign * v[1]; x[2] += sign * v[2];
  }
}

/** A stable merge sort that yields between runs (26k file names sort in steps of about 2,000 comparisons' work). */
function* mergeSortSteps<T>(items: T[], cmp: (a: T, b: T) => number, run = 2048): Generator<void, T[]> {
  let a = items.slice();
  for (let i = 0; i < a.length; i += run) {
    const part = a.slice(i, i + run).sort(cmp);
    for (let k = 0; k < part.length; k++) a[i + k] = part[k]!;
    yield;
  }
  let b = new Array<T>(a.length);
  for (let width = run; width < a.length; width *= 2) {
    let steps = 0;
    for (let lo = 0; lo < a.length; lo += 2 * width) {
      const mid = Math.min(lo + width, a.length); const hi = Math.min(lo + 2 * width, a.length);
      let i = lo; let j = mid; let k = lo;
      while (i < mid && j < hi) b[k++] = cmp(a[j]!, a[i]!) < 0 ? a[j++]! : a[i++]!;
      while (i < mid) b[k++] = a[i++]!;
      while (j < hi) b[k++] = a[j++]!;
      if ((steps += hi - lo) >= 8192) { steps = 0; yield; }
    }
    [a, b] = [b, a];
  }
  return a;
}

/** The groups an image is listed in: its label level, and each review state it has pseudo-boxes in. */
function groupsOf(im: ImgInfo): GroupKey[] {
  return [im.level as GroupKey, ...(Object.keys(im.pseudo) as GroupKey[])];
}

const groupId = (s: SplitName, g: GroupKey) => `${ROOT}/s:${s}/g:${g}`;

/** Lists hold image indices ascending (= file-name order): binary search keeps them so. */
function insertSorted<K>(m: Map<K, number[]>, k: K, v: number): void {
  const l = m.get(k);
  if (!l) { m.set(k, [v]); return; }
  let lo = 0; let hi = l.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (l[mid]! < v) lo = mid + 1; else hi = mid; }
  if (l[lo] !== v) l.splice(lo, 0, v);
}

function removeSorted<K>(m: Map<K, number[]>, k: K, v: number): void {
  const l = m.get(k);
  if (!l) return;
  let lo = 0; let hi = l.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (l[mid]! < v) lo = mid + 1; else hi = mid; }
  if (l[lo] === v) l.splice(lo, 1);
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
