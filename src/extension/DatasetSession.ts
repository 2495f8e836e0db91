import * as vscode from 'vscode';
import * as path from 'node:path';
import { DatasetDocument, type DatasetChange } from '../core/dataset/DatasetDocument';
import { DatasetTreeModel, type TreeUpdate } from '../core/dataset/datasetTreeModel';
import { emptyDataset } from '../core/dataset/datasetJson';
import { findMissingImages } from '../core/dataset/findMissingImages';
import { formatProblem } from '../core/dataset/DatasetError';
import { runDatasetJob } from '../core/workers/datasetJobs';

/** Above this many touched images an edit re-indexes the tree in slices instead of image by image. */
const INCREMENTAL_LIMIT = 2000;

/**
 * One open dataset in the extension host: the core DatasetDocument (records, undo, atomic save), the core
 * tree model that the Datasets view renders, a file watcher for external changes (git checkout, DVC pull,
 * another editor) and auto-save after every edit, off the UI path (saves are sliced, async and queued).
 *
 * Two events, so each view does only what a change needs:
 * - `onDidChangeRecords` fires synchronously with the document's DatasetChange (which images, which
 *   cause): a viewer re-posts only when its image is among them.
 * - `onDidChangeTree` fires once the tree model is up to date, with the node ids that changed: an edit of
 *   a few images is applied to the index image by image; a reload or an edit of thousands of images is
 *   re-indexed in slices (rebuildAsync) so the host never stalls on it.
 */
export class DatasetSession implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly recordsChanged = new vscode.EventEmitter<DatasetChange>();
  readonly onDidChangeRecords = this.recordsChanged.event;
  private readonly treeChanged = new vscode.EventEmitter<TreeUpdate>();
  readonly onDidChangeTree = this.treeChanged.event;
  private saveTimer: NodeJS.Timeout | undefined;
  /** The save in flight (saves are queued by the document; this is the last one started). */
  private lastSave: Promise<void> = Promise.resolve();
  /** Set while we write the file, so our own write is not taken for an external change. */
  private saving = 0;
  private rebuilding: Promise<void> | undefined;
  private rebuildAgain = false;
  private disposed = false;

  private constructor(readonly uri: vscode.Uri, readonly doc: DatasetDocument, readonly tree: DatasetTreeModel, private readonly log: vscode.LogOutputChannel) {
    const sub = doc.onDidChange((c) => this.onDocChange(c));
    this.disposables.push({ dispose: () => sub.dispose() });
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(uri.fsPath)), path.basename(uri.fsPath)));
    watcher.onDidChange(() => void this.checkExternalChange());
    watcher.onDidCreate(() => void this.checkExternalChange());
    this.disposables.push(watcher, this.recordsChanged, this.treeChanged);
    void this.checkMissingFiles();
  }

  /** Reads, parses and indexes the file without long stalls; record problems are checked in a worker and logged. */
  static async open(uri: vscode.Uri, log: vscode.LogOutputChannel): Promise<DatasetSession> {
    const doc = await DatasetDocument.loadAsync(uri.fsPath);
    const tree = new DatasetTreeModel(emptyDataset(''));
    await tree.rebuildAsync(doc.data);
    const s = new DatasetSession(uri, doc, tree, log);
    void runDatasetJob({ type: 'validate', dataset: uri.fsPath, maxProblems: 50 }).then((v) => {
      for (const p of v.problems) log.warn(formatProblem(p));
      if (v.total > v.problems.length) log.warn(`${uri.fsPath}: ${v.total - v.problems.length} more problems (pointbox validate lists them all)`);
    }, (e: Error) => log.warn(`${uri.fsPath}: could not check for problems: ${e.message}`));
    return s;
  }

  get name(): string {
    return this.doc.data.info.name || path.basename(this.uri.fsPath).replace(/\.pointbox\.json$|\.json$/, '');
  }

  get dir(): string {
    return this.doc.datasetDir;
  }

  /** The image's file, or undefined when unknown or its path leaves the dataset folder and image root (never opened). */
  imagePath(imageId: number): string | undefined {
    const im = this.doc.image(imageId); // indexed: called for every image row the tree shows
    const r = im && this.doc.resolveImage(im);
    return r?.ok ? r.path : undefined;
  }

  /** The image's file; throws (naming the image and why) when its path leaves the roots: the viewer refuses it. */
  requireImagePath(imageId: number): string {
    const im = this.doc.image(imageId);
    if (!im) throw new Error(`image ${imageId} is not in ${this.uri.fsPath}`);
    return this.doc.imagePath(im);
  }

  private onDocChange(c: DatasetChange): void {
    this.recordsChanged.fire(c);
    if (c.cause !== 'reload') this.scheduleSave();
    if (this.rebuilding || c.cause === 'reload' || c.imageIds.length > INCREMENTAL_LIMIT) { void this.rebuildTree(); return; }
    const doc = this.doc;
    this.treeChanged.fire(this.tree.update(doc.data, c.imageIds, (id) => ({ image: doc.image(id), annotations: doc.annotationsOf(id), pseudoBoxes: doc.pseudoBoxesOf(id) })));
  }

  /** Re-indexes in slices; edits made meanwhile are folded into one more pass. */
  private rebuildTree(): Promise<void> {
    if (this.rebuilding) { this.rebuildAgain = true; return this.rebuilding; }
    this.rebuilding = (async () => {
      do {
        this.rebuildAgain = false;
        await this.tree.rebuildAsync(this.doc.data);
      } while (this.rebuildAgain && !this.disposed);
      this.rebuilding = undefined;
      if (!this.disposed) this.treeChanged.fire({ rebuilt: true, nodeIds: [] });
    })();
    return this.rebuilding;
  }

  /** Debounced auto-save: a burst of edits (clicking points) becomes one write. */
  private scheduleSave(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.saveNow(), 150);
  }

  async saveNow(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.doc.isDirty) return this.lastSave;
    this.saving++;
    const p = (async () => {
      try {
        await this.doc.save();
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        this.log.error(`save ${this.uri.fsPath}: ${msg}`);
        if (this.disposed) return; // shutting down: no UI to ask through
        if (/changed on disk/.test(msg)) await this.checkExternalChange();
        else void vscode.window.showErrorMessage(`PointBox: could not save ${path.basename(this.uri.fsPath)}: ${msg}. Your edits are kept in memory; fix the problem and edit again to retry.`);
      } finally {
        this.saving--;
      }
    })();
    this.lastSave = p;
    return p;
  }

  /**
   * Writes every edit to disk now and waits for it: the pending debounced save and any save in flight.
   * `deactivate()` awaits this for every open dataset, so an edit made just before the window closes is on disk.
   */
  async flush(): Promise<void> {
    await this.lastSave;
    if (this.saveTimer || this.doc.isDirty) await this.saveNow();
  }

  /** An external change: reload when we have nothing unsaved, otherwise ask. Nothing is lost silently. */
  async checkExternalChange(): Promise<void> {
    if (this.saving > 0 || this.disposed) return;
    if (!(await this.doc.hasChangedOnDisk())) return;
    const file = path.basename(this.uri.fsPath);
    if (!this.doc.isDirty) {
      try {
        await this.doc.reloadAsync();
        this.log.info(`${this.uri.fsPath} changed on disk: reloaded`);
      } catch (e) {
        void vscode.window.showErrorMessage(`PointBox: ${file} changed on disk and cannot be read now: ${(e as Error).message}. The last good version stays open.`);
      }
      return;
    }
    const choice = await vscode.window.showWarningMessage(
      `${file} changed on disk while you have unsaved PointBox edits.`, { modal: true },
      'Reload (discard my edits)', 'Keep mine (overwrite the file)');
    if (choice === 'Reload (discard my edits)') await this.doc.reloadAsync();
    else if (choice === 'Keep mine (overwrite the file)') await this.doc.save({ force: true });
  }

  /**
   * Counts image files missing on disk, off the UI path (26,684 path checks in the dataset job worker,
   * on the saved file; while there are unsaved edits, here with asynchronous I/O), and marks them in the tree.
   */
  async checkMissingFiles(): Promise<void> {
    const missing = this.doc.isDirty ? await findMissingImages(this.doc.data, this.dir) : (await runDatasetJob({ type: 'missing', dataset: this.uri.fsPath })).missing;
    if (this.disposed) return;
    this.tree.setMissing(missing);
    if (missing.length) {
      this.log.warn(`${this.uri.fsPath}: ${missing.length} image file(s) missing on disk, e.g. ${this.doc.image(missing[0]!)?.file_name}`);
      this.treeChanged.fire({ rebuilt: true, nodeIds: [] });
    }
  }

  /** Saves what is unsaved, then stops watching. */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.saveTimer);
    // A last save when something is still unsaved (close() and deactivate() flush and await before this).
    if (this.doc.isDirty) void this.doc.save().catch(() => undefined);
    for (const d of this.disposables) d.dispose();
  }
}
