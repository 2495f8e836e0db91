import * as vscode from 'vscode';
import * as path from 'node:path';
import type { TreeUpdate } from '../core/dataset/datasetTreeModel';
import { DatasetSession } from './DatasetSession';
import type { OpenDatasetList } from './openDatasetList';

/** "cannot open <file>: <why>", without naming the file twice (DatasetErrors start with it). */
function cannotOpen(uri: vscode.Uri, why: string): string {
  return why.startsWith(uri.fsPath) ? `cannot open ${why}` : `cannot open ${uri.fsPath}: ${why}`;
}

/** What changed in the set of open datasets: one dataset's tree (`update`), or the list/state of datasets. */
export interface SessionsChange {
  uri?: vscode.Uri;
  session?: DatasetSession;
  /** Set when one loaded dataset's tree changed: the nodes to refresh. */
  update?: TreeUpdate;
}

/**
 * The open datasets of this window. Which files are open is remembered per workspace (OpenDatasetList);
 * each is loaded lazily the first time a view or command needs it, asynchronously and in slices (never one
 * long stall of the extension host), and a file that cannot be read is reported once and shown as an
 * error node (which can be reloaded or closed) instead of breaking the view.
 */
export class DatasetSessions implements vscode.Disposable {
  private readonly sessions = new Map<string, DatasetSession>();
  private readonly loading = new Map<string, Promise<DatasetSession | undefined>>();
  private readonly errors = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<SessionsChange>();
  readonly onDidChange = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(readonly list: OpenDatasetList, private readonly log: vscode.LogOutputChannel) {
    this.sub = list.onDidChange(() => {
      const keep = new Set(list.list().map((u) => u.toString()));
      for (const [k, s] of this.sessions) if (!keep.has(k)) { void s.close(); this.sessions.delete(k); }
      for (const k of [...this.errors.keys()]) if (!keep.has(k)) this.errors.delete(k);
      this.changed.fire({});
    });
  }

  uris(): vscode.Uri[] {
    return this.list.list();
  }

  /**
   * The session for a URI if it is loaded. Otherwise starts loading it (unless it failed) and returns
   * undefined; `onDidChange` fires when it is there. For views, which must not wait.
   */
  get(uri: vscode.Uri): DatasetSession | undefined {
    const s = this.sessions.get(uri.toString());
    if (!s && !this.errors.has(uri.toString())) void this.load(uri).catch(() => undefined);
    return s;
  }

  isLoading(uri: vscode.Uri): boolean {
    return this.loading.has(uri.toString());
  }

  /** The session for a URI, loading it when needed (for commands). Rejects with the load error. */
  async load(uri: vscode.Uri): Promise<DatasetSession> {
    const key = uri.toString();
    const s = this.sessions.get(key);
    if (s) return s;
    const failed = this.errors.get(key);
    if (failed !== undefined) throw new Error(cannotOpen(uri, failed));
    let p = this.loading.get(key);
    if (!p) {
      p = this.open(uri);
      this.loading.set(key, p);
      this.changed.fire({ uri });
    }
    const r = await p;
    if (!r) throw new Error(cannotOpen(uri, this.errors.get(key) ?? 'closed while loading'));
    return r;
  }

  private async open(uri: vscode.Uri): Promise<DatasetSession | undefined> {
    const key = uri.toString();
    const t0 = Date.now();
    try {
      const session = await DatasetSession.open(uri, this.log);
      if (!this.list.list().some((u) => u.toString() === key)) { session.dispose(); return undefined; } // closed meanwhile
      session.onDidChangeTree((update) => this.changed.fire({ uri, session, update }));
      this.sessions.set(key, session);
      this.log.info(`loaded ${uri.fsPath}: ${session.doc.data.images.length} images in ${Date.now() - t0} ms`);
      return session;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.errors.set(key, msg);
      this.log.error(`cannot open ${uri.fsPath}: ${msg}`);
      void vscode.window.showErrorMessage(`PointBox: cannot open ${path.basename(uri.fsPath)}: ${msg}`, 'Reload', 'Close Dataset').then((a) => {
        if (a === 'Reload') void vscode.commands.executeCommand('pointbox.reloadDataset', { uri });
        if (a === 'Close Dataset') void vscode.commands.executeCommand('pointbox.closeDataset', { uri });
      });
      return undefined;
    } finally {
      this.loading.delete(key);
      this.changed.fire({ uri });
    }
  }

  errorOf(uri: vscode.Uri): string | undefined {
    return this.errors.get(uri.toString());
  }

  /**
   * Loads the file again: after a failed load (the user fixed the file), or to drop the open session and
   * read the disk's version (after saving what is unsaved).
   */
  async reload(uri: vscode.Uri): Promise<DatasetSession> {
    const key = uri.toString();
    this.errors.delete(key);
    const s = this.sessions.get(key);
    if (s) { this.sessions.delete(key); await s.close(); }
    this.changed.fire({ uri });
    return this.load(uri);
  }

  /** Forget a failed load so the next access tries again. */
  retry(uri: vscode.Uri): void {
    if (this.errors.delete(uri.toString())) this.changed.fire({ uri });
  }

  loaded(): DatasetSession[] {
    return [...this.sessions.values()];
  }

  /** The loaded dataset that lists a given image file, if any (for reveal and the viewer). */
  findByImagePath(fsPath: string): { session: DatasetSession; imageId: number } | undefined {
    for (const s of this.sessions.values()) {
      // Resolved like every other reader (images_root, no path that leaves the roots).
      const id = s.doc.imageIdAt(fsPath);
      if (id !== undefined) return { session: s, imageId: id };
    }
    return undefined;
  }

  /** Every edit of every open dataset on disk (deactivate awaits this). */
  async saveAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.flush().catch(() => undefined)));
  }

  dispose(): void {
    this.sub.dispose();
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
    this.changed.dispose();
  }
}
