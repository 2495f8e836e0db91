import * as vscode from 'vscode';
import { DatasetSession } from './DatasetSession';
import type { OpenDatasetList } from './openDatasetList';

/**
 * The open datasets of this window. Which files are open is remembered per workspace (OpenDatasetList);
 * each is loaded lazily the first time a view or command needs it, and a file that cannot be read is
 * reported once and shown as an error node instead of breaking the view.
 */
export class DatasetSessions implements vscode.Disposable {
  private readonly sessions = new Map<string, DatasetSession>();
  private readonly errors = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<DatasetSession | undefined>();
  readonly onDidChange = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(readonly list: OpenDatasetList, private readonly log: vscode.LogOutputChannel) {
    this.sub = list.onDidChange(() => {
      const keep = new Set(list.list().map((u) => u.toString()));
      for (const [k, s] of this.sessions) if (!keep.has(k)) { s.dispose(); this.sessions.delete(k); }
      for (const k of [...this.errors.keys()]) if (!keep.has(k)) this.errors.delete(k);
      this.changed.fire(undefined);
    });
  }

  uris(): vscode.Uri[] {
    return this.list.list();
  }

  /** The session for a URI, loading it on first use; undefined (with `errorOf`) when it cannot load. */
  get(uri: vscode.Uri): DatasetSession | undefined {
    const key = uri.toString();
    const s = this.sessions.get(key);
    if (s) return s;
    if (this.errors.has(key)) return undefined;
    try {
      const t0 = Date.now();
      const session = DatasetSession.open(uri, this.log);
      session.onDidChange(() => this.changed.fire(session));
      this.sessions.set(key, session);
      this.log.info(`loaded ${uri.fsPath}: ${session.doc.data.images.length} images in ${Date.now() - t0} ms`);
      return session;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.errors.set(key, msg);
      this.log.error(`cannot open ${uri.fsPath}: ${msg}`);
      void vscode.window.showErrorMessage(`PointBox: cannot open ${uri.fsPath}: ${msg}`);
      return undefined;
    }
  }

  errorOf(uri: vscode.Uri): string | undefined {
    return this.errors.get(uri.toString());
  }

  /** Forget a failed load so the next access tries again (after the user fixed the file). */
  retry(uri: vscode.Uri): void {
    this.errors.delete(uri.toString());
    this.changed.fire(undefined);
  }

  loaded(): DatasetSession[] {
    return [...this.sessions.values()];
  }

  /** The dataset that lists a given image file, if any (for reveal). */
  findByImagePath(fsPath: string): { session: DatasetSession; imageId: number } | undefined {
    for (const s of this.sessions.values()) {
      if (!fsPath.startsWith(s.dir)) continue;
      const rel = fsPath.slice(s.dir.length + 1).split('\\').join('/');
      const im = s.doc.data.images.find((i) => i.file_name === rel);
      if (im) return { session: s, imageId: im.id };
    }
    return undefined;
  }

  async saveAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.saveNow()));
  }

  dispose(): void {
    this.sub.dispose();
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
    this.changed.dispose();
  }
}
