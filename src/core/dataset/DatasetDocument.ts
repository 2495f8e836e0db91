import { promises as fsp, readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { DatasetError, type DatasetProblem } from './DatasetError';
import { parseJsonWithLines, serializeDataset, serializeDatasetChunks } from './datasetJson';
import { checkDatasetShape, validateDataset, type ValidateOptions } from './validateDataset';
import { writeFileAtomic, writeFileAtomicSync } from './writeFileAtomic';
import { imageRootsOf, requireImagePath, resolveImagePath, type ImagePathResult, type ImageRoots } from './imagePaths';
import { parseDatasetTextSliced, type SliceOptions } from './parseDatasetSliced';
import type { Annotation, Category, CocoBox, DatasetFile, ImageRecord, LabelLevel, Point, PseudoBox, ReviewState, SplitName } from './schema';

type Table = 'images' | 'annotations' | 'pseudo_boxes' | 'categories';
type AnyRecord = ImageRecord | Annotation | PseudoBox | Category;
const TABLES: readonly Table[] = ['categories', 'images', 'annotations', 'pseudo_boxes'];

/**
 * One record change: insert (before undefined), delete (after undefined) or replace; many deletions from
 * one table in one pass (`removed`, ascending indices of the array before the deletion, so a bulk delete
 * and its undo are linear in the table, not k x n); or `info` replaced.
 */
type RecordPatch = { table: Table; id: number; index: number; before?: AnyRecord; after?: AnyRecord };
type RemoveManyPatch = { table: Table; removed: { index: number; rec: AnyRecord }[] };
type Patch = RecordPatch | RemoveManyPatch | { table: 'info'; before: DatasetFile['info']; after: DatasetFile['info'] };
interface Step { seq: number; label: string; patches: Patch[] }

/** What changed, so views can refresh only what they show. */
export interface DatasetChange {
  version: number;
  /** 'edit' | 'undo' | 'redo' | 'reload' */
  cause: 'edit' | 'undo' | 'redo' | 'reload';
  label: string;
  /** Images whose records, annotations or pseudo-boxes changed (all on reload). */
  imageIds: number[];
  /** Categories or `info` changed too (class names, dataset name): views that show them refresh. */
  meta?: boolean;
}

/** What a saved or loaded file looked like, to tell an external change (git checkout, DVC pull) from our own write. */
interface DiskFingerprint { mtimeMs: number; size: number; sha256: string }

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/**
 * An open dataset: the records, an undo/redo stack of edits, atomic saves and external-change detection.
 *
 * Records are treated as immutable: every edit replaces a record object rather than mutating it, so a
 * save can serialize a cheap snapshot (four array copies) on later event-loop turns while edits go on.
 * Edits are commands recorded as patches (before/after of each touched record), so undo/redo is exact,
 * a batch (e.g. 5,000 pseudo-boxes from one inference run) is one step, and nothing needs deep copies.
 * `data` is for reading; change it only through the edit methods.
 */
export class DatasetDocument {
  private undoStack: Step[] = [];
  private redoStack: Step[] = [];
  private seq = 0;
  /** seq of the top undo step when last saved/loaded (0 = the loaded state). */
  private savedSeq = 0;
  private fingerprint: DiskFingerprint | undefined;
  private readonly byId = { images: new Map<number, AnyRecord>(), annotations: new Map<number, AnyRecord>(), pseudo_boxes: new Map<number, AnyRecord>(), categories: new Map<number, AnyRecord>() };
  private readonly nextId = { images: 1, annotations: 1, pseudo_boxes: 1, categories: 1 };
  /** Annotations and pseudo-boxes per image id, kept up to date by every patch (viewer snapshots, tree updates). */
  private readonly byImage = { annotations: new Map<number, Set<AnyRecord>>(), pseudo_boxes: new Map<number, Set<AnyRecord>>() };
  /** id -> array index per table, built on demand and dropped when a splice shifts the array (so k replaces cost O(n + k)). */
  private readonly positions: Record<Table, Map<number, number> | undefined> = { images: undefined, annotations: undefined, pseudo_boxes: undefined, categories: undefined };
  private listeners = new Set<(c: DatasetChange) => void>();
  private saving: Promise<void> = Promise.resolve();
  private pending: Step[] | undefined;
  /** Increases on every change (edit, undo, redo, reload). */
  version = 0;
  /** Problems found when the file was loaded (the document still opens; see `validate` for all checks). */
  problems: DatasetProblem[] = [];
  readonly maxUndo: number;

  private constructor(readonly file: string, public data: DatasetFile, opts: { maxUndo?: number } = {}, index = true) {
    this.maxUndo = opts.maxUndo ?? 500;
    if (index) this.reindex();
  }

  /**
   * `load` for the extension host: reads asynchronously, hashes and parses in slices (yielding to the event
   * loop between them), so opening a 26,684-image dataset never blocks it for one whole parse. Throws
   * DatasetError like `load`; `problems` stays empty (validation is a worker job there, see datasetJobs).
   */
  static async loadAsync(file: string, opts: { maxUndo?: number } & SliceOptions = {}): Promise<DatasetDocument> {
    const { data, fp } = await readDatasetAsync(file, opts);
    await removeStaleTempsAsync(file);
    const doc = new DatasetDocument(file, data, opts, false);
    // The id and per-image indexes in slices too (tens of ms for 26k images and their annotations).
    const budget = opts.budgetMs ?? 8;
    const yieldNow = opts.yieldNow ?? (() => new Promise<void>((r) => setImmediate(r)));
    let t0 = performance.now();
    for (const _ of doc.reindexSteps()) if (performance.now() - t0 > budget) { await yieldNow(); t0 = performance.now(); }
    doc.fingerprint = fp;
    return doc;
  }

  /** Loads and checks a dataset file. Throws DatasetError for unreadable/non-dataset files; record problems go to `problems`. */
  static load(file: string, opts: { maxUndo?: number } = {}): DatasetDocument {
    const { data, fp, problems } = readDataset(file);
    removeStaleTemps(file);
    const doc = new DatasetDocument(file, data, opts);
    doc.fingerprint = fp;
    doc.problems = problems;
    return doc;
  }

  /** A new, not yet saved document (importers). */
  static create(file: string, data: DatasetFile, opts: { maxUndo?: number } = {}): DatasetDocument {
    const doc = new DatasetDocument(file, data, opts);
    doc.savedSeq = -1; // dirty until saved
    return doc;
  }

  get datasetDir(): string { return dirname(this.file); }
  /** An image root that replaces the file's `images_root` (a host setting); undefined: the file's own. */
  imagesRootOverride: string | undefined;
  /** Where this dataset's images may be read from: its folder and its image root (imagePaths.ts). */
  imageRoots(): ImageRoots { return imageRootsOf(this.data, this.datasetDir, this.imagesRootOverride); }
  /** The image's absolute path, or why it may not be read (a path that leaves the roots). */
  resolveImage(image: ImageRecord): ImagePathResult { return resolveImagePath(this.imageRoots(), image); }
  /** The image's absolute path; DatasetError('path-outside') naming the image when it leaves the roots. */
  imagePath(image: ImageRecord): string { return requireImagePath(this.imageRoots(), image, { file: this.file }); }
  private pathIndex: { version: number; root: string; ids: Map<string, number> } | undefined;
  /**
   * The image stored at an absolute path (the viewer asks which dataset lists a file it opened), or
   * undefined; images whose paths leave the roots are never found. Indexed once per dataset version.
   */
  imageIdAt(absPath: string): number | undefined {
    const roots = this.imageRoots();
    if (!this.pathIndex || this.pathIndex.version !== this.version || this.pathIndex.root !== roots.base) {
      const ids = new Map<string, number>();
      for (const im of this.data.images) {
        const r = resolveImagePath(roots, im, { checkLinks: false });
        if (r.ok && !ids.has(r.path)) ids.set(r.path, im.id);
      }
      this.pathIndex = { version: this.version, root: roots.base, ids };
    }
    const id = this.pathIndex.ids.get(resolve(absPath));
    const im = id !== undefined ? this.image(id) : undefined;
    return im && resolveImagePath(roots, im).ok ? id : undefined;
  }
  get isDirty(): boolean { return this.topSeq() !== this.savedSeq; }
  get canUndo(): boolean { return this.undoStack.length > 0; }
  get canRedo(): boolean { return this.redoStack.length > 0; }
  get undoLabel(): string | undefined { return this.undoStack.at(-1)?.label; }
  get redoLabel(): string | undefined { return this.redoStack.at(-1)?.label; }

  image(id: number): ImageRecord | undefined { return this.byId.images.get(id) as ImageRecord | undefined; }
  annotation(id: number): Annotation | undefined { return this.byId.annotations.get(id) as Annotation | undefined; }
  pseudoBox(id: number): PseudoBox | undefined { return this.byId.pseudo_boxes.get(id) as PseudoBox | undefined; }
  category(id: number): Category | undefined { return this.byId.categories.get(id) as Category | undefined; }
  /** The image's annotations (all readers), in id order: O(its annotations), not O(dataset). */
  annotationsOf(imageId: number): Annotation[] { return sortedById(this.byImage.annotations.get(imageId)) as Annotation[]; }
  /** The image's pseudo-boxes, in id order. */
  pseudoBoxesOf(imageId: number): PseudoBox[] { return sortedById(this.byImage.pseudo_boxes.get(imageId)) as PseudoBox[]; }

  onDidChange(listener: (c: DatasetChange) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => { this.listeners.delete(listener); } };
  }

  // ---- edits (each call is one undo step unless inside `transact`) ----

  /** A point-only annotation (a click). Returns its id. */
  addPoint(imageId: number, categoryId: number, point: Point): number {
    this.requireImage(imageId); this.requireCategory(categoryId);
    const id = this.nextId.annotations;
    this.commit('Add point', [this.insert('annotations', { id, image_id: imageId, category_id: categoryId, point: [point[0], point[1]], point_source: 'click' })]);
    return id;
  }

  addBox(imageId: number, categoryId: number, bbox: CocoBox, point?: Point): number {
    this.requireImage(imageId); this.requireCategory(categoryId); checkBox(bbox);
    const id = this.nextId.annotations;
    const a: Annotation = { id, image_id: imageId, category_id: categoryId, bbox: [...bbox], area: bbox[2] * bbox[3], iscrowd: 0 };
    if (point) { a.point = [point[0], point[1]]; a.point_source = 'click'; }
    this.commit('Add box', [this.insert('annotations', a)]);
    return id;
  }

  movePoint(annotationId: number, point: Point): void {
    const a = this.requireAnnotation(annotationId);
    this.commit('Move point', [this.replace('annotations', a, { ...a, point: [point[0], point[1]], point_source: 'click' })]);
  }

  setBox(annotationId: number, bbox: CocoBox): void {
    const a = this.requireAnnotation(annotationId); checkBox(bbox);
    this.commit('Move box', [this.replace('annotations', a, { ...a, bbox: [...bbox], area: bbox[2] * bbox[3] })]);
  }

  setAnnotationCategory(annotationId: number, categoryId: number): void {
    const a = this.requireAnnotation(annotationId); this.requireCategory(categoryId);
    this.commit('Change class', [this.replace('annotations', a, { ...a, category_id: categoryId })]);
  }

  deleteAnnotation(annotationId: number): void {
    const a = this.requireAnnotation(annotationId);
    this.commit(a.bbox ? 'Delete box' : 'Delete point', [this.remove('annotations', a)]);
  }

  setImage(imageId: number, changes: { split?: SplitName; label_level?: LabelLevel }): void {
    const im = this.requireImage(imageId);
    this.commit('Change image', [this.replace('images', im, { ...im, ...changes })]);
  }

  addCategory(name: string, supercategory?: string): number {
    const existing = this.data.categories.find((c) => c.name === name);
    if (existing) return existing.id;
    const id = this.nextId.categories;
    const c: Category = { id, name };
    if (supercategory) c.supercategory = supercategory;
    this.commit('Add class', [this.insert('categories', c)]);
    return id;
  }

  /** Pseudo-boxes from one model run, as one undo step. Returns their ids. */
  addPseudoBoxes(boxes: Omit<PseudoBox, 'id'>[], label = 'Add pseudo-boxes'): number[] {
    const patches: Patch[] = [];
    const ids: number[] = [];
    for (const b of boxes) {
      this.requireImage(b.image_id); this.requireCategory(b.category_id); checkBox(b.bbox);
      const id = this.nextId.pseudo_boxes;
      ids.push(id);
      patches.push(this.insert('pseudo_boxes', { ...b, id } as PseudoBox));
    }
    this.commit(label, patches);
    return ids;
  }

  /** Review one or many pseudo-boxes in one step; `editedBbox` only with 'edited' (and then one id). */
  setReview(pseudoBoxIds: number[], review: ReviewState, editedBbox?: CocoBox): void {
    if (review === 'edited' && (!editedBbox || pseudoBoxIds.length !== 1)) throw new DatasetError('usage', "review 'edited' needs exactly one pseudo-box and its edited box");
    if (editedBbox) checkBox(editedBbox);
    const patches = pseudoBoxIds.map((id) => {
      const p = this.pseudoBox(id);
      if (!p) throw new DatasetError('usage', `no pseudo-box with id ${id}`);
      const next: PseudoBox = { ...p, review };
      if (review === 'edited') next.edited_bbox = [...editedBbox!]; else delete next.edited_bbox;
      return this.replace('pseudo_boxes', p, next);
    });
    this.commit(pseudoBoxIds.length === 1 ? `Mark pseudo-box ${review}` : `Mark ${pseudoBoxIds.length} pseudo-boxes ${review}`, patches);
  }

  /** Deletes pseudo-boxes in one pass over the table (linear, whatever the number of ids). */
  deletePseudoBoxes(ids: number[]): void {
    const recs = new Set<AnyRecord>();
    for (const id of ids) { const p = this.pseudoBox(id); if (p) recs.add(p); }
    const patch = this.removeMany('pseudo_boxes', recs);
    this.commit('Delete pseudo-boxes', patch ? [patch] : []);
  }

  /**
   * Any whole-dataset operation as one undo step: `mutate` gets a deep copy of the data and may change it
   * freely (e.g. `splitDataset`, `fuseReaders`); the differences, record by record, become the step.
   * Returns what `mutate` returned.
   */
  bulkEdit<T>(label: string, mutate: (draft: DatasetFile) => T): T {
    const draft = structuredClone(this.data);
    const result = mutate(draft);
    checkDatasetShape(draft, this.file);
    const patches: Patch[] = [];
    if (JSON.stringify(draft.info) !== JSON.stringify(this.data.info)) {
      const p: Patch = { table: 'info', before: this.data.info, after: draft.info };
      this.applyPatch(p, false);
      patches.push(p);
    }
    for (const t of TABLES) {
      const next = draft[t] as AnyRecord[];
      const nextIds = new Set(next.map((r) => r.id));
      const gone = new Set((this.data[t] as AnyRecord[]).filter((r) => !nextIds.has(r.id)));
      const removal = this.removeMany(t, gone);
      if (removal) patches.push(removal);
      for (const r of next) {
        const old = this.byId[t].get(r.id);
        if (!old) patches.push(this.insert(t, r));
        else if (JSON.stringify(old) !== JSON.stringify(r)) patches.push(this.replace(t, old, r));
      }
    }
    this.commit(label, patches);
    return result;
  }

  /** Runs several edits as one undo step (e.g. "accept all on this image"). */
  transact<T>(label: string, fn: () => T): T {
    if (this.pending) return fn();
    this.pending = [];
    try {
      const r = fn();
      const patches = this.pending.flatMap((s) => s.patches);
      this.pending = undefined;
      if (patches.length) this.pushStep({ seq: ++this.seq, label, patches });
      return r;
    } catch (e) {
      // Roll back what the failed transaction already applied: all or nothing.
      const steps = this.pending ?? [];
      this.pending = undefined;
      for (let i = steps.length - 1; i >= 0; i--) this.applyPatches(steps[i]!.patches, true);
      throw e;
    }
  }

  undo(): boolean {
    const s = this.undoStack.pop();
    if (!s) return false;
    this.applyPatches(s.patches, true);
    this.redoStack.push(s);
    this.emit('undo', s);
    return true;
  }

  redo(): boolean {
    const s = this.redoStack.pop();
    if (!s) return false;
    this.applyPatches(s.patches, false);
    this.undoStack.push(s);
    this.emit('redo', s);
    return true;
  }

  /**
   * All problems of the current (possibly unsaved) state. Line numbers refer to the file as PointBox would
   * save it now (one record per line), which is the file on disk when `isDirty` is false.
   */
  validate(opts: { checkFiles?: boolean; maxPerCode?: number } = {}): ReturnType<typeof validateDataset> {
    const o: ValidateOptions = { file: this.file, text: serializeDataset(this.data) };
    if (opts.checkFiles) o.datasetDir = this.datasetDir;
    if (this.imagesRootOverride !== undefined) o.imagesRoot = this.imagesRootOverride;
    if (opts.maxPerCode !== undefined) o.maxPerCode = opts.maxPerCode;
    return validateDataset(this.data, o);
  }

  // ---- disk ----

  /**
   * True when the file on disk is no longer what we loaded or last saved (edited by git, DVC, another
   * editor) or is gone. Cheap when nothing changed (one stat); hashes the file only when mtime/size moved,
   * so a `touch` or a checkout of identical content is not reported.
   */
  async hasChangedOnDisk(): Promise<boolean> {
    if (!this.fingerprint) return false; // never saved: nothing on disk is ours
    let st;
    try { st = await fsp.stat(this.file); } catch { return true; }
    if (st.mtimeMs === this.fingerprint.mtimeMs && st.size === this.fingerprint.size) return false;
    let buf: Buffer;
    try { buf = await fsp.readFile(this.file); } catch { return true; }
    if (sha256(buf) !== this.fingerprint.sha256) return true;
    this.fingerprint = { ...this.fingerprint, mtimeMs: st.mtimeMs, size: st.size };
    return false;
  }

  /**
   * Replaces the records with the file's current content (after an external change). Undo history is
   * dropped because it refers to records that may no longer exist. The host should ask first when
   * `isDirty` (the unsaved edits are lost; `saveAs` them elsewhere to keep them).
   */
  reload(): void {
    const { data, fp, problems } = readDataset(this.file);
    this.replaceAll(data, fp, problems);
  }

  /**
   * `reload` without blocking the event loop for long (the extension host): the file is read asynchronously
   * and parsed in slices (parseDatasetTextSliced). `problems` is left empty: run validation elsewhere (a
   * worker) when they are wanted.
   */
  async reloadAsync(opts: SliceOptions = {}): Promise<void> {
    const { data, fp } = await readDatasetAsync(this.file, opts);
    this.replaceAll(data, fp, []);
  }

  private replaceAll(data: DatasetFile, fp: DiskFingerprint, problems: DatasetProblem[]): void {
    this.data = data;
    this.fingerprint = fp;
    this.problems = problems;
    this.undoStack = []; this.redoStack = [];
    this.savedSeq = 0; this.seq++;
    this.reindex();
    this.version++;
    const c: DatasetChange = { version: this.version, cause: 'reload', label: 'Reload', imageIds: this.data.images.map((i) => i.id), meta: true };
    for (const l of this.listeners) l(c);
  }

  /**
   * Saves atomically without blocking the event loop for long: the records are snapshotted at once (so the
   * saved content is exactly the state at the call), serialized in slices, written to a temp file, fsynced
   * and renamed. Saves are queued, never interleaved. Refuses (DatasetError 'changed-on-disk') when the
   * file changed on disk since it was loaded, unless `force`, so an external change is never overwritten
   * silently.
   */
  save(opts: { force?: boolean } = {}): Promise<void> {
    const snapshot: DatasetFile = { ...this.data, categories: this.data.categories.slice(), images: this.data.images.slice(), annotations: this.data.annotations.slice(), pseudo_boxes: this.data.pseudo_boxes.slice() };
    const seqAtCall = this.topSeq();
    const run = async () => {
      if (!opts.force && await this.hasChangedOnDisk()) {
        throw new DatasetError('changed-on-disk', 'the dataset file changed on disk since it was loaded; reload it or save with force', this.file);
      }
      // Hash the chunks as they are written: no second pass over (or join of) the whole text.
      const hash = createHash('sha256');
      let size = 0;
      const chunks = serializeDatasetChunks(snapshot);
      await writeFileAtomic(this.file, (async function* () { for await (const c of chunks) { const b = Buffer.from(c, 'utf8'); hash.update(b); size += b.length; yield b; } })());
      // Another program may replace the file between our rename and this stat: trust the stat's mtime only
      // when the size is ours; otherwise the next check hashes the file (and finds the change).
      const st = await fsp.stat(this.file);
      this.fingerprint = { mtimeMs: st.size === size ? st.mtimeMs : NaN, size, sha256: hash.digest('hex') };
      this.savedSeq = seqAtCall;
    };
    const p = this.saving.then(run, run);
    this.saving = p.catch(() => undefined);
    return p;
  }

  /** Synchronous save for the CLI. */
  saveSync(): void {
    const text = serializeDataset(this.data);
    writeFileAtomicSync(this.file, text);
    const st = statSync(this.file);
    this.fingerprint = { mtimeMs: st.mtimeMs, size: st.size, sha256: sha256(text) };
    this.savedSeq = this.topSeq();
  }

  // ---- internals ----

  private topSeq(): number { return this.undoStack.at(-1)?.seq ?? 0; }

  private reindex(): void {
    for (const _ of this.reindexSteps()) { /* run to the end */ }
  }

  /** The indexes, built as steps (a yield every 2,000 records) so loadAsync can slice them. */
  private *reindexSteps(): Generator<void> {
    for (const t of TABLES) this.positions[t] = undefined;
    let n = 0;
    for (const t of ['annotations', 'pseudo_boxes'] as const) {
      const m = this.byImage[t]; m.clear();
      for (const r of this.data[t] as (Annotation | PseudoBox)[]) {
        if (r && typeof r.id === 'number') addTo(m, r.image_id, r);
        if (++n % 2000 === 0) yield;
      }
    }
    for (const t of ['images', 'annotations', 'pseudo_boxes', 'categories'] as const) {
      const m = this.byId[t]; m.clear();
      let max = 0;
      for (const r of this.data[t] as AnyRecord[]) {
        if (++n % 2000 === 0) yield;
        if (!r || typeof r.id !== 'number') continue;
        if (!m.has(r.id)) m.set(r.id, r); // a duplicate id (reported by validate) keeps the first record
        if (r.id > max) max = r.id;
      }
      this.nextId[t] = max + 1;
    }
  }

  private requireImage(id: number): ImageRecord {
    const r = this.image(id); if (!r) throw new DatasetError('usage', `no image with id ${id}`); return r;
  }
  private requireAnnotation(id: number): Annotation {
    const r = this.annotation(id); if (!r) throw new DatasetError('usage', `no annotation with id ${id}`); return r;
  }
  private requireCategory(id: number): Category {
    const r = this.category(id); if (!r) throw new DatasetError('usage', `no category with id ${id}`); return r;
  }

  // Patch builders apply immediately (so ids and lookups stay right within a transaction) and return the patch.
  private insert(table: Table, rec: AnyRecord): Patch {
    const p: Patch & { table: Table } = { table, id: rec.id, index: this.data[table].length, after: rec };
    this.applyPatch(p, false);
    return p;
  }
  private replace(table: Table, before: AnyRecord, after: AnyRecord): Patch {
    const p: RecordPatch = { table, id: before.id, index: this.indexOf(table, before), before, after };
    this.applyPatch(p, false);
    return p;
  }
  private remove(table: Table, before: AnyRecord): Patch {
    const p: RecordPatch = { table, id: before.id, index: this.indexOf(table, before), before };
    this.applyPatch(p, false);
    return p;
  }
  /** One patch deleting every record of `recs` from `table` in a single pass; undefined when there is none. */
  private removeMany(table: Table, recs: Set<AnyRecord>): Patch | undefined {
    if (recs.size === 0) return undefined;
    if (recs.size === 1) return this.remove(table, recs.values().next().value!);
    const removed: RemoveManyPatch['removed'] = [];
    (this.data[table] as AnyRecord[]).forEach((r, index) => { if (recs.has(r)) removed.push({ index, rec: r }); });
    const p: RemoveManyPatch = { table, removed };
    this.applyPatch(p, false);
    return p;
  }

  /** Index of a record in its table: from the position map (rebuilt once after a shift), O(1) amortized. */
  private indexOf(table: Table, rec: AnyRecord): number {
    const arr = this.data[table] as AnyRecord[];
    let m = this.positions[table];
    if (!m) {
      m = new Map();
      for (let i = 0; i < arr.length; i++) { const r = arr[i]; if (r && !m.has(r.id)) m.set(r.id, i); }
      this.positions[table] = m;
    }
    const i = m.get(rec.id);
    return i !== undefined && arr[i] === rec ? i : arr.indexOf(rec); // a duplicate id (validate reports it) falls back to a scan
  }

  private applyPatches(patches: Patch[], inverse: boolean): void {
    if (inverse) for (let i = patches.length - 1; i >= 0; i--) this.applyPatch(patches[i]!, true);
    else for (const p of patches) this.applyPatch(p, false);
  }

  private applyPatch(p: Patch, inverse: boolean): void {
    if (p.table === 'info') { this.data.info = inverse ? p.before : p.after; return; }
    const table = p.table;
    const arr = this.data[table] as AnyRecord[];
    const map = this.byId[table];
    const perImage = table === 'annotations' || table === 'pseudo_boxes' ? this.byImage[table] : undefined;
    if ('removed' in p) {
      if (!inverse) {
        // Delete in one compaction pass.
        const drop = new Set(p.removed.map((x) => x.rec));
        let w = 0;
        for (let r = 0; r < arr.length; r++) { const rec = arr[r]!; if (!drop.has(rec)) arr[w++] = rec; }
        arr.length = w;
        for (const { rec } of p.removed) { if (map.get(rec.id) === rec) map.delete(rec.id); if (perImage) removeFrom(perImage, (rec as Annotation).image_id, rec); }
      } else {
        // Undo: merge back from the end, each record at its old index (byte-identical file after undo).
        const k = p.removed.length;
        let src = arr.length - 1; let dst = arr.length + k - 1; let r = k - 1;
        arr.length += k;
        while (r >= 0) {
          const x = p.removed[r]!;
          if (dst === x.index) { arr[dst--] = x.rec; r--; } else arr[dst--] = arr[src--]!;
        }
        for (const { rec } of p.removed) {
          if (!map.has(rec.id)) map.set(rec.id, rec);
          if (perImage) addTo(perImage, (rec as Annotation).image_id, rec);
          if (rec.id >= this.nextId[table]) this.nextId[table] = rec.id + 1;
        }
      }
      this.positions[table] = undefined;
      return;
    }
    const from = inverse ? p.after : p.before;
    const to = inverse ? p.before : p.after;
    const pos = this.positions[table];
    if (from && to) {
      const i = arr[p.index] === from ? p.index : this.indexOf(table, from);
      arr[i] = to;
      map.set(to.id, to);
      pos?.set(to.id, i);
      if (perImage) { removeFrom(perImage, (from as Annotation).image_id, from); addTo(perImage, (to as Annotation).image_id, to); }
    } else if (to) {
      // Insert (or undo of a delete): back at its old position, so undo restores the file byte for byte.
      if (p.index >= arr.length) { arr.push(to); pos?.set(to.id, arr.length - 1); } else { arr.splice(p.index, 0, to); this.positions[table] = undefined; }
      map.set(to.id, to);
      if (perImage) addTo(perImage, (to as Annotation).image_id, to);
      if (to.id >= this.nextId[table]) this.nextId[table] = to.id + 1;
    } else if (from) {
      const i = arr[p.index] === from ? p.index : this.indexOf(table, from);
      if (i >= 0) {
        arr.splice(i, 1);
        if (i === arr.length) pos?.delete(from.id); else this.positions[table] = undefined;
      }
      map.delete(from.id);
      if (perImage) removeFrom(perImage, (from as Annotation).image_id, from);
    }
  }

  private commit(label: string, patches: Patch[]): void {
    if (patches.length === 0) return;
    if (this.pending) { this.pending.push({ seq: 0, label, patches }); return; }
    this.pushStep({ seq: ++this.seq, label, patches });
  }

  private pushStep(s: Step): void {
    this.undoStack.push(s);
    if (this.undoStack.length > this.maxUndo) {
      this.undoStack.shift();
    }
    this.redoStack = [];
    this.emit('edit', s);
  }

  private emit(cause: DatasetChange['cause'], s: Step): void {
    this.version++;
    if (this.listeners.size === 0) return;
    const ids = new Set<number>();
    let meta = false;
    const touch = (table: Table, r: AnyRecord) => {
      if (table === 'images') ids.add(r.id);
      else if (table === 'categories') meta = true;
      else ids.add((r as Annotation).image_id);
    };
    for (const p of s.patches) {
      if (p.table === 'info') { meta = true; continue; }
      if ('removed' in p) { for (const x of p.removed) touch(p.table, x.rec); continue; }
      // A replace that moved a record to another image touches both.
      if (p.before) touch(p.table, p.before);
      if (p.after) touch(p.table, p.after);
    }
    const c: DatasetChange = { version: this.version, cause, label: s.label, imageIds: [...ids], ...(meta ? { meta } : {}) };
    for (const l of this.listeners) l(c);
  }
}

function addTo(m: Map<number, Set<AnyRecord>>, imageId: number, r: AnyRecord): void {
  let set = m.get(imageId);
  if (!set) m.set(imageId, set = new Set());
  set.add(r);
}

function removeFrom(m: Map<number, Set<AnyRecord>>, imageId: number, r: AnyRecord): void {
  const set = m.get(imageId);
  if (!set) return;
  set.delete(r);
  if (set.size === 0) m.delete(imageId);
}

function sortedById(set: Set<AnyRecord> | undefined): AnyRecord[] {
  return set ? [...set].sort((a, b) => a.id - b.id) : [];
}

function checkBox(b: CocoBox): void {
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => Number.isFinite(v))) throw new DatasetError('usage', 'a box is [x, y, width, height] of finite numbers');
  if (b[2] <= 0 || b[3] <= 0) throw new DatasetError('usage', `a box needs width and height > 0, got [${b.join(', ')}]`);
}

/**
 * Deletes temp files left by a save that was killed (`.<name>.<pid>.<hex>.tmp` whose process is gone).
 * They are never the dataset (the rename did not happen), so removing them loses nothing.
 */
function removeStaleTemps(file: string): void {
  const prefix = `.${basename(file)}.`;
  let names: string[] = [];
  try { names = readdirSync(dirname(file)); } catch { return; }
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const pid = Number(n.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let alive = true;
    try { process.kill(pid, 0); } catch (e) { alive = (e as NodeJS.ErrnoException).code === 'EPERM'; }
    if (!alive) try { unlinkSync(join(dirname(file), n)); } catch { /* raced with someone else */ }
  }
}

async function removeStaleTempsAsync(file: string): Promise<void> {
  const prefix = `.${basename(file)}.`;
  let names: string[] = [];
  try { names = await fsp.readdir(dirname(file)); } catch { return; }
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const pid = Number(n.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let alive = true;
    try { process.kill(pid, 0); } catch (e) { alive = (e as NodeJS.ErrnoException).code === 'EPERM'; }
    if (!alive) await fsp.unlink(join(dirname(file), n)).catch(() => undefined);
  }
}

async function readDatasetAsync(file: string, opts: SliceOptions): Promise<{ data: DatasetFile; fp: DiskFingerprint }> {
  let buf: Buffer;
  let st;
  try { [buf, st] = await Promise.all([fsp.readFile(file), fsp.stat(file)]); } catch (e) { throw new DatasetError('io', `cannot read dataset: ${(e as Error).message}`, file); }
  // Hash in 256 KiB slices, yielding between them (a 30 MB file would otherwise be one long stall).
  const hash = createHash('sha256');
  const yieldNow = opts.yieldNow ?? (() => new Promise<void>((r) => setImmediate(r)));
  const SLICE = 1 << 18;
  for (let i = 0; i < buf.length; i += SLICE) {
    hash.update(buf.subarray(i, Math.min(buf.length, i + SLICE)));
    if (i + SLICE < buf.length) await yieldNow();
  }
  await yieldNow();
  const text = buf.toString('utf8');
  await yieldNow();
  const data = checkDatasetShape(await parseDatasetTextSliced(text, file, opts), file);
  return { data, fp: { mtimeMs: st.mtimeMs, size: st.size, sha256: hash.digest('hex') } };
}

function readDataset(file: string): { data: DatasetFile; fp: DiskFingerprint; problems: DatasetProblem[] } {
  let buf: Buffer;
  try { buf = readFileSync(file); } catch (e) { throw new DatasetError('io', `cannot read dataset: ${(e as Error).message}`, file); }
  const st = statSync(file);
  const text = buf.toString('utf8');
  const data = checkDatasetShape(parseJsonWithLines(text, file), file);
  // Record problems are reported, not fatal: the user can open a broken file and fix it. Lines are looked
  // up only if there are problems (validate computes them lazily).
  const { problems } = validateDataset(data, { file, text, maxPerCode: 100 });
  return { data, fp: { mtimeMs: st.mtimeMs, size: st.size, sha256: sha256(buf) }, problems };
}
