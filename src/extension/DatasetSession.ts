import * as vscode from 'vscode';
import * as path from 'node:path';
import { DatasetDocument } from '../core/dataset/DatasetDocument';
import { DatasetTreeModel } from '../core/dataset/datasetTreeModel';
import { findMissingImages } from '../core/dataset/findMissingImages';
import { formatProblem } from '../core/dataset/DatasetError';

/**
 * One open dataset in the extension host: the core DatasetDocument (records, undo, atomic save), the core
 * tree model that the Datasets view renders, a file watcher for external changes (git checkout, DVC pull,
 * another editor) and auto-save after every edit, off the UI path (saves are async and queued).
 */
export class DatasetSession implements vscode.Disposable {
  readonly tree: DatasetTreeModel;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after the records changed (edit, undo, redo, reload): views refresh. */
  readonly onDidChange = this.changed.event;
  private saveTimer: NodeJS.Timeout | undefined;
  /** Set while we write the file, so our own write is not taken for an external change. */
  private saving = 0;

  private constructor(readonly uri: vscode.Uri, readonly doc: DatasetDocument, private readonly log: vscode.LogOutputChannel) {
    this.tree = new DatasetTreeModel(doc.data);
    const sub = doc.onDidChange((c) => {
      this.tree.rebuild(doc.data);
      this.changed.fire();
      if (c.cause !== 'reload') this.scheduleSave();
    });
    this.disposables.push({ dispose: () => sub.dispose() });
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(uri.fsPath)), path.basename(uri.fsPath)));
    watcher.onDidChange(() => void this.checkExternalChange());
    watcher.onDidCreate(() => void this.checkExternalChange());
    this.disposables.push(watcher, this.changed);
    void this.checkMissingFiles();
  }

  static open(uri: vscode.Uri, log: vscode.LogOutputChannel): DatasetSession {
    const doc = DatasetDocument.load(uri.fsPath);
    for (const p of doc.problems.slice(0, 50)) log.warn(formatProblem(p));
    if (doc.problems.length > 50) log.warn(`${uri.fsPath}: ${doc.problems.length - 50} more problems (pointbox validate lists them all)`);
    return new DatasetSession(uri, doc, log);
  }

  get name(): string {
    return this.doc.data.info.name || path.basename(this.uri.fsPath).replace(/\.pointbox\.json$|\.json$/, '');
  }

  get dir(): string {
    return this.doc.datasetDir;
  }

  imagePath(imageId: number): string | undefined {
    const im = this.doc.image(imageId); // indexed: called for every image row the tree shows
    return im ? this.doc.imagePath(im) : undefined;
  }

  /** Debounced auto-save: a burst of edits (clicking points) becomes one write. */
  private scheduleSave(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.saveNow(), 150);
  }

  async saveNow(): Promise<void> {
    clearTimeout(this.saveTimer);
    if (!this.doc.isDirty) return;
    this.saving++;
    try {
      await this.doc.save();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.log.error(`save ${this.uri.fsPath}: ${msg}`);
      if (/changed on disk/.test(msg)) await this.checkExternalChange();
      else void vscode.window.showErrorMessage(`PointBox: could not save ${path.basename(this.uri.fsPath)}: ${msg}. Your edits are kept in memory; fix the problem and edit again to retry.`);
    } finally {
      this.saving--;
    }
  }

  /** An external change: reload when we have nothing unsaved, otherwise ask. Nothing is lost silently. */
  async checkExternalChange(): Promise<void> {
    if (this.saving > 0) return;
    if (!(await this.doc.hasChangedOnDisk())) return;
    const file = path.basename(this.uri.fsPath);
    if (!this.doc.isDirty) {
      try {
        this.doc.reload();
        this.log.info(`${this.uri.fsPath} changed on disk: reloaded`);
      } catch (e) {
        void vscode.window.showErrorMessage(`PointBox: ${file} changed on disk and cannot be read now: ${(e as Error).message}. The last good version stays open.`);
      }
      return;
    }
    const choice = await vscode.window.showWarningMessage(
      `${file} changed on disk while you have unsaved PointBox edits.`, { modal: true },
      'Reload (discard my edits)', 'Keep mine (overwrite the file)');
    if (choice === 'Reload (discard my edits)') this.doc.reload();
    else if (choice === 'Keep mine (overwrite the file)') await this.doc.save({ force: true });
  }

  /** Counts image files missing on disk, off the UI path, and marks them in the tree. */
  async checkMissingFiles(): Promise<void> {
    const missing = await findMissingImages(this.doc.data, this.dir);
    this.tree.setMissing(missing);
    if (missing.length) {
      this.log.warn(`${this.uri.fsPath}: ${missing.length} image file(s) missing on disk, e.g. ${this.doc.image(missing[0]!)?.file_name}`);
      this.changed.fire();
    }
  }

  dispose(): void {
    clearTimeout(this.saveTimer);
    if (this.doc.isDirty) void this.doc.save().catch(() => undefined);
    for (const d of this.disposables) d.dispose();
  }
}
