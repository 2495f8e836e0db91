import * as vscode from 'vscode';
import * as path from 'node:path';
import { PROTOCOL_VERSION, type HostToViewer, type ViewerDataset, type ViewerEdit, type ViewerNavigation, type ViewerPosition, type ViewerToHost } from '../shared/protocol';
import { ImageNavigator } from '../core/dataset/imageNavigator';
import { inside } from '../core/dataset/imagePaths';
import { boxFromCorners, clampPoint } from '../shared/viewerGeometry';
import type { DatasetSession } from './DatasetSession';
import type { DatasetSessions } from './DatasetSessions';
import { webviewHtml, type WebviewHtmlOptions } from './webviewHtml';
import type { DetectorLayer } from './detectorLayer';
import type { ReducedImage } from '../core/imaging/reducedImage';
import { viewerPreview } from '../core/workers/viewerPreviews';

/**
 * One viewer, two view types: VS Code keeps one priority per custom-editor contribution and refuses a
 * second contribution with the same viewType, so DICOM (the viewer is the default editor) and PNG/JPEG
 * (the viewer is an "Open With…" option beside VS Code's image preview) need separate ids.
 * `vscode.openWith(uri, 'pointbox.viewer')` opens any of these files: an explicit editor id is not
 * matched against the file patterns.
 */
export const VIEWER_VIEW_TYPE = 'pointbox.viewer';
export const IMAGE_VIEWER_VIEW_TYPE = 'pointbox.viewer.image';

/** What a viewer shows: an image of an open dataset (rebound when the viewer moves to another image). */
interface Binding { session: DatasetSession; imageId: number }

/**
 * The CXR viewer as a read-only custom editor: VS Code owns the tab; the image file itself is never
 * written (the edits are dataset edits, which the DatasetSession saves into the .pointbox.json). The host
 * only reads the bytes and posts them as an ArrayBuffer; decoding, window/level and drawing happen in the
 * webview, so the full-precision pixels never cross the boundary twice and the extension host stays free.
 */
/** What `p` resolves to if within `ms`, else undefined (the timer is cleared either way). */
async function firstWithin<T>(p: Promise<T | undefined> | undefined, ms: number): Promise<T | undefined> {
  if (!p) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

export class ViewerEditorProvider implements vscode.CustomReadonlyEditorProvider<vscode.CustomDocument> {
  /** Dataset snapshots posted to viewers since activation (the edit benchmark counts them). */
  static snapshotsPosted = 0;
  /** Viewer webviews reloaded by the start watchdog since activation (the host-work test logs it). */
  static webviewReloads = 0;
  /** The reduced first image's longer side (about the height of a fitted view, so it looks nearly as sharp). */
  static readonly PREVIEW_MAX_SIDE = 1024;
  /** How long the full image (its URL or bytes) waits for a reduced first image before going without one (messages keep their order). */
  static readonly PREVIEW_WAIT_MS = 1000;
  /** A visible viewer whose webview has not said 'ready' after this long is reloaded, once. */
  static startTimeoutMs = 20_000;
  /**
   * Test hook (testing API `viewerStartWatchdog`): this many next 'ready' messages are dropped, as from a page
   * that never started, so a test can make the watchdog act on demand (a real stuck page cannot be summoned).
   */
  static dropReadies = 0;
  /** Per open dataset: its navigator (tree order of images) for the document version it was built from. */
  private readonly navigators = new WeakMap<DatasetSession, { version: number; nav: ImageNavigator; pending: number }>();

  /** The open viewers: the tab's document, what it shows, and how to move it to another image of its dataset. */
  private readonly live = new Set<{ panel: vscode.WebviewPanel; documentUri: vscode.Uri; binding(): Binding | undefined; ready(): boolean; file(): string; received(): string[]; goTo(imageId: number): Promise<void> }>();

  /** The open viewers as tests see them: the file shown, whether its webview said 'ready', bound to a dataset, on screen. */
  viewers(): { file: string; ready: boolean; bound: boolean; visible: boolean; received: string[] }[] {
    return [...this.live].map((v) => ({ file: v.file(), ready: v.ready(), bound: v.binding() !== undefined, visible: v.panel.visible, received: v.received() }));
  }

  constructor(private readonly extensionUri: vscode.Uri, private readonly sessions: DatasetSessions, private readonly log: vscode.LogOutputChannel, private readonly detector?: DetectorLayer) {}

  /**
   * A Datasets tree click (issue 13): shows the image in the visible viewer of the same dataset whose tab is a
   * preview tab (the tab VS Code would replace anyway), through the viewer's own navigation, so a prefetched
   * image paints from its cache instead of a new webview starting (about 2 s here). A pinned viewer is never
   * taken over. False when no such viewer is open (the caller opens a tab) or pointbox.viewer.reuseForTree is off.
   */
  async showInOpenViewer(session: DatasetSession, imageId: number): Promise<boolean> {
    if (!vscode.workspace.getConfiguration('pointbox').get<boolean>('viewer.reuseForTree', true)) return false;
    const previewTabs = new Set<string>();
    for (const g of vscode.window.tabGroups.all) {
      for (const t of g.tabs) {
        if (t.isPreview && t.input instanceof vscode.TabInputCustom && (t.input.viewType === VIEWER_VIEW_TYPE || t.input.viewType === IMAGE_VIEWER_VIEW_TYPE)) previewTabs.add(t.input.uri.toString());
      }
    }
    const candidates = [...this.live].filter((v) => v.panel.visible && v.binding()?.session === session && previewTabs.has(v.documentUri.toString()));
    const v = candidates.find((c) => c.panel.active) ?? candidates[0];
    if (!v) return false;
    if (v.binding()?.imageId !== imageId) await v.goTo(imageId);
    v.panel.reveal(v.panel.viewColumn, true);
    return true;
  }

  static register(context: vscode.ExtensionContext, sessions: DatasetSessions, log: vscode.LogOutputChannel, detector?: DetectorLayer): ViewerEditorProvider {
    const provider = new ViewerEditorProvider(context.extensionUri, sessions, log, detector);
    const options = {
      // Keep the decoded image when the tab is hidden: re-decoding a 3k x 3k J2K costs far more than its memory.
      webviewOptions: { retainContextWhenHidden: true },
      supportsMultipleEditorsPerDocument: true,
    };
    context.subscriptions.push(
      vscode.window.registerCustomEditorProvider(VIEWER_VIEW_TYPE, provider, options),
      vscode.window.registerCustomEditorProvider(IMAGE_VIEWER_VIEW_TYPE, provider, options));
    return provider;
  }

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const webview = panel.webview;
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    // The page may read images in the workspace folders and the opened file's folder (as VS Code's own image
    // preview does) and fetches them itself: through the webview's resource loading a 14 MB file arrived in
    // ~0.6 s against ~1 s as a message, and it holds up no message behind it (BENCHMARKS.md, viewer). A file
    // elsewhere (a dataset outside the workspace) still goes as bytes in a message.
    const imageRoots = [...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri), vscode.Uri.file(path.dirname(document.uri.fsPath))];
    webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(dist, 'webview'), vscode.Uri.joinPath(dist, 'wasm'), ...imageRoots] };
    const fetchable = (u: vscode.Uri) => u.scheme === 'file' && imageRoots.some((r) => r.scheme === 'file' && inside(r.fsPath, u.fsPath));
    // The file on screen: the document's at first, then wherever in-viewer navigation (issue 13) moved to.
    // VS Code names a custom editor's tab after its document, so the tab keeps the first file's name; the
    // viewer's title bar line and status line say which file is shown.
    let shown = { uri: document.uri, fileName: path.basename(document.uri.fsPath), key: '' };
    webview.html = webviewHtml(webview, this.extensionUri, 'viewer', shown.fileName, this.viewerPage(webview));
    // postMessage rejects once the panel is gone; nothing to do then.
    const post = (m: HostToViewer) => webview.postMessage(m).then(undefined, () => false);

    let binding: Binding | undefined;
    let sessionSub: vscode.Disposable | undefined;
    let ready = false;
    let disposed = false;
    const postSnapshot = () => { ViewerEditorProvider.snapshotsPosted++; return post({ type: 'dataset', dataset: this.snapshot(binding) }); };
    const subscribe = (b: Binding | undefined) => {
      sessionSub?.dispose();
      // Only changes that touch the shown image (or the class list, or a reload) reach this viewer.
      sessionSub = b?.session.onDidChangeRecords((c) => {
        if (!ready || !binding) return;
        if (c.cause === 'reload' || c.meta || c.imageIds.includes(binding.imageId)) void postSnapshot();
      });
    };
    const bind = async () => {
      const hit = await this.findImage(shown.uri);
      if (hit?.session === binding?.session && hit?.imageId === binding?.imageId) return false;
      if (hit?.session !== binding?.session) subscribe(hit);
      binding = hit;
      return true;
    };
    const bound = bind();
    // A dataset opened, loaded or closed after the viewer: the image may gain (or lose) its dataset.
    const listSub = this.sessions.onDidChange((c) => {
      if (c.update) return; // one dataset's edits arrive through its own listener
      void bind().then((changed) => { if (changed && ready) void postSnapshot(); });
    });

    /** Reads a file as an exact ArrayBuffer (readFile may hand back a view into a larger pooled buffer). */
    const readBytes = async (uri: vscode.Uri) => {
      const bytes = await vscode.workspace.fs.readFile(uri);
      return (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
    };
    // A first file the page cannot fetch is read while the webview starts (that takes most of a second in a browser).
    let early: Promise<ArrayBuffer> | undefined = fetchable(document.uri) ? undefined : readBytes(document.uri);
    early?.catch(() => undefined);
    // A big file's reduced first image, decoded in a worker while the webview starts (issue 13). Aborted when
    // the viewer moves on or closes: flipping through cold big files must not queue decodes nobody will see.
    let previewAbort = new AbortController();
    let earlyPreview: Promise<ReducedImage | undefined> | undefined = this.previewOf(document.uri, previewAbort.signal);
    /** Sends the shown file: its URL for the page to fetch, or (`asBytes`, or not fetchable) its bytes. */
    const sendImage = async (asBytes = false) => {
      const want = shown;
      try {
        const isFirst = want.uri.toString() === document.uri.toString();
        const first = isFirst ? early : undefined;
        const preview = (isFirst ? earlyPreview : undefined) ?? this.previewOf(want.uri, previewAbort.signal);
        early = undefined;
        earlyPreview = undefined;
        const viaUrl = !asBytes && fetchable(want.uri);
        const bytesP = viaUrl ? undefined : first ?? readBytes(want.uri); // read while the preview decodes
        bytesP?.catch(() => undefined); // reported below, once awaited
        // The reduced image goes first or not at all (measured, viewer bench 2026-12-06): behind 15 MB of
        // bytes in the same channel it would come too late; bytes in 2 MB slices with it slipped in between put
        // it at 707 ms instead of 401 and full resolution no earlier; with the URL sent first the page's fetch
        // took the CPU its decode needed and it mostly came after full resolution.
        const p = await firstWithin(preview, ViewerEditorProvider.PREVIEW_WAIT_MS);
        if (p && want === shown) await post({ type: 'preview', key: want.key, image: p.image, fullWidth: p.fullWidth, fullHeight: p.fullHeight, factor: p.factor });
        if (want !== shown) return;
        if (viaUrl) await post({ type: 'imageUrl', key: want.key, url: webview.asWebviewUri(want.uri).toString() });
        else await post({ type: 'image', bytes: await bytesP!, key: want.key });
      } catch (e) {
        if (want === shown) await post({ type: 'readFailed', message: e instanceof Error ? e.message : String(e) });
      }
    };

    // ---- prefetch: the likely next images' bytes, posted after the shown one is on screen ----
    /** Keys the webview holds (as of its last 'navigate') plus those posted since: not posted again. */
    let webviewHas = new Set<string>();
    let lastDirection: ViewerNavigation = 'next';
    /** Bumped on every navigation: a prefetch round of an older image stops. */
    let generation = 0;
    const prefetch = async () => {
      const budgetMB = this.budgetMB();
      const b = binding;
      if (!b || budgetMB <= 0) return;
      const gen = ++generation;
      let budget = budgetMB * 2 ** 20 / 2; // file bytes are a lower bound of decoded bytes: leave room
      for (const t of this.prefetchTargets(b, lastDirection)) {
        if (gen !== generation || disposed) return;
        try {
          const uri = vscode.Uri.file(t.path);
          const key = await this.keyOf(uri);
          if (webviewHas.has(key) || key === shown.key) continue;
          const bytes = await readBytes(uri);
          if (gen !== generation || disposed) return;
          budget -= bytes.byteLength;
          if (budget < 0) return;
          webviewHas.add(key);
          await post({ type: 'prefetch', key, fileName: path.basename(t.path), bytes });
        } catch (e) {
          this.log.info(`viewer: no prefetch of ${t.path}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    };

    let navChain: Promise<void> = Promise.resolve();
    const navigate = async (direction: ViewerNavigation | { imageId: number }, cached?: string[]) => {
      await bound;
      const b = binding;
      const target = typeof direction === 'object' ? this.imageTarget(b, direction.imageId) : this.navigationTarget(b, direction);
      if (!b || typeof target !== 'object') { await post({ type: 'navigateFailed', message: typeof target === 'string' ? target : 'this image is in no open PointBox dataset: nothing to move to' }); return; }
      t0 = Date.now();
      since = typeof direction === 'object' ? 'a tree click' : `'navigate ${direction}'`;
      generation++;
      previewAbort.abort();
      previewAbort = new AbortController();
      lastDirection = typeof direction === 'object' ? 'next' : direction;
      // A host-initiated move (tree click) keeps what was posted; the webview's own list comes with its requests.
      if (cached) webviewHas = new Set(cached);
      const uri = vscode.Uri.file(target.path);
      const key = await this.keyOf(uri).catch(() => uri.fsPath);
      // Rebind first: from here on edits, snapshots and the detector are about the new image.
      binding = { session: b.session, imageId: target.imageId };
      shown = { uri, fileName: path.basename(target.path), key };
      panel.title = shown.fileName;
      const hasIt = webviewHas.has(key);
      await post({ type: 'navigated', fileName: shown.fileName, filePath: uri.fsPath, key, cached: hasIt, dataset: this.snapshot(binding), position: this.position(binding) });
      if (!hasIt) await sendImage();
    };

    let t0 = Date.now();
    let since = 'open';
    const received: string[] = [];
    const msgSub = webview.onDidReceiveMessage(async (m: ViewerToHost) => {
      if (received.length < 20) received.push(m.type);
      switch (m.type) {
        case 'ready': {
          if (ViewerEditorProvider.dropReadies > 0) {
            ViewerEditorProvider.dropReadies--;
            this.log.info(`viewer: 'ready' of ${shown.fileName} dropped (test hook)`);
            return;
          }
          await bound;
          shown = { ...shown, key: await this.keyOf(shown.uri).catch(() => shown.uri.fsPath) };
          ready = true;
          // Not awaited: the bytes follow at once (messages keep their order).
          void post({
            type: 'init', protocol: PROTOCOL_VERSION, fileName: shown.fileName, filePath: shown.uri.fsPath,
            dataset: this.snapshot(binding), key: shown.key, cacheBudgetBytes: this.budgetMB() * 2 ** 20, position: this.position(binding),
          });
          await sendImage();
          return;
        }
        case 'rendered':
          this.log.info(`viewer: ${shown.fileName} ${m.width}x${m.height} on screen ${Date.now() - t0} ms after ${since}${m.fromCache ? ' (from the cache)' : ''} (decode ${m.decodeMs.toFixed(0)} ms, webview ${m.totalMs.toFixed(0)} ms)`);
          if (m.key === shown.key) void prefetch();
          return;
        case 'navigate':
          // One at a time: each starts from the image the previous one moved to.
          await (navChain = navChain.then(() => navigate(m.direction, m.cached)));
          return;
        case 'needImage':
          if (m.key === shown.key) await sendImage(m.asBytes === true);
          return;
        case 'decodeFailed':
          this.log.warn(`viewer: cannot decode ${shown.uri.fsPath}: ${m.message}`);
          return;
        case 'phiReport':
          if (binding) await vscode.commands.executeCommand('pointbox.phiReport', { uri: binding.session.uri });
          else void vscode.window.showInformationMessage('PointBox: this file is in no open dataset; the PHI report covers a dataset (pointbox phi-report <dataset>).');
          return;
        case 'detect': {
          // The detector layer (issue 15): the selected detector on the shown file, in its worker thread.
          const file = shown.uri.fsPath;
          const result = this.detector ? await this.detector.detect(file) : { ok: false as const, message: 'the detector layer is not available' };
          if (file === shown.uri.fsPath) await post({ type: 'detections', result });
          return;
        }
        case 'undo':
        case 'redo': {
          const s = binding?.session;
          if (s) { if (m.type === 'undo') s.doc.undo(); else s.doc.redo(); }
          return;
        }
        default: {
          // An edit made on an image the viewer has left since (a navigation crossed it) is refused, never
          // applied to the image now shown.
          const failed = m.imageId !== undefined && m.imageId !== binding?.imageId
            ? 'the viewer moved to another image before this edit arrived' : this.applyEdit(binding, m);
          // Undo the webview's optimistic drawing by sending the records as they are.
          if (failed) { await post({ type: 'editFailed', message: failed }); await postSnapshot(); }
        }
      }
    });
    const entry = {
      panel, documentUri: document.uri, binding: () => binding, ready: () => ready, file: () => shown.uri.fsPath, received: () => received,
      goTo: (imageId: number) => (navChain = navChain.then(() => navigate({ imageId }))),
    };
    this.live.add(entry);
    // Start watchdog. Now and then (about 1 in 5 runs of the packaged-extension test tier on a loaded
    // 2-core machine) VS Code shows a viewer tab whose webview never runs our script: no 'ready' in 90 s
    // while the viewers opened just before it started. A user would close and reopen the tab; the host does
    // that once for them by loading the page again (a new nonce makes it new HTML, so VS Code reloads it).
    let visibleMs = 0;
    let reloaded = false;
    const watchdog = setInterval(() => {
      if (ready || reloaded) { clearInterval(watchdog); return; }
      if (!panel.visible) return;
      visibleMs += 1000;
      if (visibleMs < ViewerEditorProvider.startTimeoutMs) return;
      reloaded = true;
      ViewerEditorProvider.webviewReloads++;
      this.log.warn(`viewer: the page of ${shown.uri.fsPath} did not start in ${ViewerEditorProvider.startTimeoutMs / 1000} s on screen; loading it again`);
      webview.html = webviewHtml(webview, this.extensionUri, 'viewer', shown.fileName, this.viewerPage(webview));
    }, 1000);
    panel.onDidDispose(() => { disposed = true; previewAbort.abort(); clearInterval(watchdog); this.live.delete(entry); msgSub.dispose(); listSub.dispose(); sessionSub?.dispose(); });
  }

  /**
   * The viewer page, with its decode worker's URLs on #root so the page starts the worker at once instead of
   * after the host's 'init' (where it used to be ready 0.2-0.5 s after 'init'; BENCHMARKS.md, viewer).
   */
  private viewerPage(webview: vscode.Webview): WebviewHtmlOptions {
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    return {
      body: 'viewer',
      rootData: {
        workerUrl: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview', 'decodeWorker.js')).toString(),
        wasmBaseUrl: `${webview.asWebviewUri(vscode.Uri.joinPath(dist, 'wasm')).toString()}/`,
      },
    };
  }

  /**
   * The reduced first image of a file at least pointbox.viewer.previewMinMB big, or undefined (small file,
   * setting off, or its decode failed: the full decode in the webview then reports the problem).
   */
  private previewOf(uri: vscode.Uri, signal: AbortSignal): Promise<ReducedImage | undefined> | undefined {
    const minMB = vscode.workspace.getConfiguration('pointbox').get<number>('viewer.previewMinMB', 4);
    if (!(Number.isFinite(minMB) && minMB > 0)) return undefined;
    return (async () => {
      const st = await vscode.workspace.fs.stat(uri);
      if (st.size < minMB * 2 ** 20) return undefined;
      const r = await viewerPreview(uri.fsPath, ViewerEditorProvider.PREVIEW_MAX_SIDE, { signal });
      if (r.factor === 1) return undefined;
      this.log.info(`viewer: reduced first image of ${path.basename(uri.fsPath)}: ${r.image.width}x${r.image.height} (1/${r.factor}) in ${r.ms.toFixed(0)} ms`);
      return r;
    })().catch((e) => {
      if ((e as Error)?.name !== 'AbortError') this.log.info(`viewer: no reduced first image of ${uri.fsPath}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
  }

  private budgetMB(): number {
    const v = vscode.workspace.getConfiguration('pointbox').get<number>('viewer.prefetchBudgetMB', 512);
    return Number.isFinite(v) && v > 0 ? v : 0;
  }

  /** A file's cache key: a changed file (same path, new size or time) is another key, so a stale decode is never shown. */
  private async keyOf(uri: vscode.Uri): Promise<string> {
    const st = await vscode.workspace.fs.stat(uri);
    return `${uri.fsPath}|${st.size}|${st.mtime}`;
  }

  /** The dataset's navigator, rebuilt when the document's version changed (any edit may move an image between groups). */
  private navigatorOf(session: DatasetSession): { nav: ImageNavigator; pending: number } {
    const doc = session.doc;
    const hit = this.navigators.get(session);
    if (hit && hit.version === doc.version) return hit;
    const nav = new ImageNavigator(doc.data.images);
    const made = { version: doc.version, nav, pending: nav.count((im) => this.hasPending(session, im.id)) };
    this.navigators.set(session, made);
    return made;
  }

  private hasPending(session: DatasetSession, imageId: number): boolean {
    return session.doc.pseudoBoxesOf(imageId).some((p) => p.review === 'pending');
  }

  private position(b: Binding | undefined): ViewerPosition | null {
    if (!b) return null;
    const { nav, pending } = this.navigatorOf(b.session);
    const p = nav.position(b.imageId);
    return p ? { ...p, pending } : null;
  }

  /** A given image of the viewer's dataset as a navigation target (a refused or missing path says why). */
  private imageTarget(b: Binding | undefined, imageId: number): { imageId: number; path: string } | string | undefined {
    if (!b) return undefined;
    if (!b.session.doc.image(imageId)) return `image id=${imageId} is not in the dataset`;
    const p = b.session.imagePath(imageId);
    return p ? { imageId, path: p } : `image id=${imageId}: its path leaves the dataset folder`;
  }

  /** Where a navigation goes: the image and its file, or why it goes nowhere. Images whose path is refused are skipped. */
  private navigationTarget(b: Binding | undefined, direction: ViewerNavigation): { imageId: number; path: string } | string | undefined {
    if (!b) return undefined;
    const { nav } = this.navigatorOf(b.session);
    const pos = nav.position(b.imageId);
    if (!pos) return 'the image is no longer in the dataset';
    if (direction === 'next' || direction === 'previous') {
      for (let step = 1; ; step++) {
        const im = nav.neighbour(b.imageId, direction, step);
        if (!im) return `${direction === 'next' ? 'last' : 'first'} image of ${pos.group} (${pos.count} image${pos.count === 1 ? '' : 's'})`;
        const p = b.session.imagePath(im.id);
        if (p) return { imageId: im.id, path: p };
      }
    }
    const dir = direction === 'nextPending' ? 'next' : 'previous';
    const im = nav.find(b.imageId, dir, (x) => this.hasPending(b.session, x.id) && b.session.imagePath(x.id) !== undefined);
    if (!im) return this.hasPending(b.session, b.imageId) ? 'no other image has pending pseudo-boxes' : 'no image of this dataset has pending pseudo-boxes';
    return { imageId: im.id, path: b.session.imagePath(im.id)! };
  }

  /**
   * What to post ahead: the next two images in the direction of travel, the one behind, and the next image
   * with pending pseudo-boxes (the review walk), nearest first; at most four files.
   */
  private prefetchTargets(b: Binding, direction: ViewerNavigation): { imageId: number; path: string }[] {
    const { nav } = this.navigatorOf(b.session);
    const fwd = direction === 'previous' || direction === 'previousPending' ? 'previous' : 'next';
    const back = fwd === 'next' ? 'previous' : 'next';
    const ids: number[] = [];
    const pend = nav.find(b.imageId, fwd, (x) => this.hasPending(b.session, x.id));
    if (direction === 'nextPending' || direction === 'previousPending') {
      if (pend) { ids.push(pend.id); const p2 = nav.find(pend.id, fwd, (x) => this.hasPending(b.session, x.id)); if (p2) ids.push(p2.id); }
      ids.push(...nav.ahead(b.imageId, fwd, 1).map((x) => x.id));
    } else {
      ids.push(...nav.ahead(b.imageId, fwd, 2).map((x) => x.id), ...nav.ahead(b.imageId, back, 1).map((x) => x.id));
      if (pend) ids.push(pend.id);
    }
    const out: { imageId: number; path: string }[] = [];
    for (const id of new Set(ids)) {
      if (id === b.imageId) continue;
      const p = b.session.imagePath(id);
      if (p) out.push({ imageId: id, path: p });
    }
    return out.slice(0, 4);
  }

  /**
   * The open dataset that lists this file. Datasets load lazily, so one whose folder contains the file is
   * loaded here if the tree has not needed it yet.
   */
  private async findImage(uri: vscode.Uri): Promise<{ session: DatasetSession; imageId: number } | undefined> {
    const hit = this.sessions.findByImagePath(uri.fsPath);
    if (hit) return hit;
    const candidates = this.sessions.uris().filter((u) => uri.fsPath.startsWith(path.dirname(u.fsPath) + path.sep));
    await Promise.all(candidates.map((u) => this.sessions.load(u).catch(() => undefined)));
    return this.sessions.findByImagePath(uri.fsPath);
  }

  private snapshot(b: Binding | undefined): ViewerDataset | null {
    if (!b) return null;
    const { doc } = b.session;
    const im = doc.image(b.imageId);
    if (!im) return null;
    return {
      datasetName: b.session.name, imageId: im.id, split: im.split, labelLevel: im.label_level, width: im.width, height: im.height,
      categories: doc.data.categories.map((c) => ({ id: c.id, name: c.name })),
      // The document's per-image index: O(this image's records), not a scan of the dataset.
      annotations: doc.annotationsOf(im.id).map((a) => ({ id: a.id, categoryId: a.category_id, bbox: a.bbox, point: a.point })),
      pseudoBoxes: doc.pseudoBoxesOf(im.id).map((p) => ({
        id: p.id, categoryId: p.category_id, bbox: p.bbox, editedBbox: p.edited_bbox, point: p.point, score: p.score, model: p.provenance.model_id, review: p.review,
      })),
      canUndo: doc.canUndo,
    };
  }

  /** Every viewer edit goes through the DatasetDocument API: one undo step each, auto-saved by the session. */
  private applyEdit(b: Binding | undefined, e: ViewerEdit): string | undefined {
    if (!b) return 'this image is in no open PointBox dataset: view only';
    const { doc } = b.session;
    const im = doc.image(b.imageId);
    if (!im) return 'the image is no longer in the dataset';
    // The webview clamps too; the host clamps again because the file is what matters.
    const pt = (p: [number, number]) => clampPoint(p, im.width, im.height);
    const box = (bb: [number, number, number, number]) => boxFromCorners([bb[0], bb[1]], [bb[0] + bb[2], bb[1] + bb[3]], im.width, im.height);
    const mine = (annotationId: number) => {
      const a = doc.annotation(annotationId);
      if (!a || a.image_id !== im.id) throw new Error(`annotation ${annotationId} is not on ${im.file_name}`);
    };
    try {
      switch (e.type) {
        case 'addPoint': doc.addPoint(im.id, e.categoryId, pt(e.point)); break;
        case 'addBox': doc.addBox(im.id, e.categoryId, box(e.bbox)); break;
        case 'movePoint': mine(e.annotationId); doc.movePoint(e.annotationId, pt(e.point)); break;
        case 'setBox': mine(e.annotationId); doc.setBox(e.annotationId, box(e.bbox)); break;
        case 'setCategory': mine(e.annotationId); doc.setAnnotationCategory(e.annotationId, e.categoryId); break;
        case 'deleteAnnotation': mine(e.annotationId); doc.deleteAnnotation(e.annotationId); break;
        case 'setReview': {
          const p = doc.pseudoBox(e.pseudoBoxId);
          if (!p || p.image_id !== im.id) throw new Error(`pseudo-box ${e.pseudoBoxId} is not on ${im.file_name}`);
          doc.setReview([e.pseudoBoxId], e.review);
          break;
        }
      }
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.log.warn(`viewer edit ${e.type} on ${im.file_name}: ${msg}`);
      void vscode.window.showErrorMessage(`PointBox: ${msg}`);
      return msg;
    }
    return undefined;
  }
}
