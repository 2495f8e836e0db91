import * as vscode from 'vscode';
import * as path from 'node:path';
import { PROTOCOL_VERSION, type HostToViewer, type ViewerDataset, type ViewerEdit, type ViewerToHost } from '../shared/protocol';
import { boxFromCorners, clampPoint } from '../shared/viewerGeometry';
import type { DatasetSession } from './DatasetSession';
import type { DatasetSessions } from './DatasetSessions';
import { webviewHtml } from './webviewHtml';
import type { DetectorLayer } from './detectorLayer';

/**
 * One viewer, two view types: VS Code keeps one priority per custom-editor contribution and refuses a
 * second contribution with the same viewType, so DICOM (the viewer is the default editor) and PNG/JPEG
 * (the viewer is an "Open With…" option beside VS Code's image preview) need separate ids.
 * `vscode.openWith(uri, 'pointbox.viewer')` opens any of these files: an explicit editor id is not
 * matched against the file patterns.
 */
export const VIEWER_VIEW_TYPE = 'pointbox.viewer';
export const IMAGE_VIEWER_VIEW_TYPE = 'pointbox.viewer.image';

/**
 * The CXR viewer as a read-only custom editor: VS Code owns the tab; the image file itself is never
 * written (the edits are dataset edits, which the DatasetSession saves into the .pointbox.json). The host
 * only reads the bytes and posts them as an ArrayBuffer; decoding, window/level and drawing happen in the
 * webview, so the full-precision pixels never cross the boundary twice and the extension host stays free.
 */
export class ViewerEditorProvider implements vscode.CustomReadonlyEditorProvider<vscode.CustomDocument> {
  /** Dataset snapshots posted to viewers since activation (the edit benchmark counts them). */
  static snapshotsPosted = 0;

  constructor(private readonly extensionUri: vscode.Uri, private readonly sessions: DatasetSessions, private readonly log: vscode.LogOutputChannel, private readonly detector?: DetectorLayer) {}

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
    webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(dist, 'webview'), vscode.Uri.joinPath(dist, 'wasm')] };
    const fileName = path.basename(document.uri.fsPath);
    webview.html = webviewHtml(webview, this.extensionUri, 'viewer', fileName, { body: 'viewer' });
    // postMessage rejects once the panel is gone; nothing to do then.
    const post = (m: HostToViewer) => webview.postMessage(m).then(undefined, () => false);

    let binding: { session: DatasetSession; imageId: number } | undefined;
    let sessionSub: vscode.Disposable | undefined;
    let ready = false;
    const postSnapshot = () => { ViewerEditorProvider.snapshotsPosted++; return post({ type: 'dataset', dataset: this.snapshot(binding) }); };
    const bind = async () => {
      const hit = await this.findImage(document.uri);
      if (hit?.session === binding?.session && hit?.imageId === binding?.imageId) return false;
      sessionSub?.dispose();
      binding = hit;
      // Only changes that touch this image (or the class list, or a reload) reach this viewer.
      sessionSub = hit?.session.onDidChangeRecords((c) => {
        if (!ready || !binding) return;
        if (c.cause === 'reload' || c.meta || c.imageIds.includes(binding.imageId)) void postSnapshot();
      });
      return true;
    };
    const bound = bind();
    // A dataset opened, loaded or closed after the viewer: the image may gain (or lose) its dataset.
    const listSub = this.sessions.onDidChange((c) => {
      if (c.update) return; // one dataset's edits arrive through its own listener
      void bind().then((changed) => { if (changed && ready) void postSnapshot(); });
    });
    const t0 = Date.now();
    const msgSub = webview.onDidReceiveMessage(async (m: ViewerToHost) => {
      switch (m.type) {
        case 'ready': {
          await bound;
          ready = true;
          await post({
            type: 'init', protocol: PROTOCOL_VERSION, fileName, filePath: document.uri.fsPath,
            workerUrl: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview', 'decodeWorker.js')).toString(),
            wasmBaseUrl: `${webview.asWebviewUri(vscode.Uri.joinPath(dist, 'wasm')).toString()}/`,
            dataset: this.snapshot(binding),
          });
          try {
            const bytes = await vscode.workspace.fs.readFile(document.uri);
            // An exact ArrayBuffer (readFile may hand back a view into a larger pooled buffer).
            const buf = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
            await post({ type: 'image', bytes: buf as ArrayBuffer });
          } catch (e) {
            await post({ type: 'readFailed', message: e instanceof Error ? e.message : String(e) });
          }
          return;
        }
        case 'rendered':
          this.log.info(`viewer: ${fileName} ${m.width}x${m.height} on screen ${Date.now() - t0} ms after open (decode ${m.decodeMs.toFixed(0)} ms, webview ${m.totalMs.toFixed(0)} ms)`);
          return;
        case 'decodeFailed':
          this.log.warn(`viewer: cannot decode ${document.uri.fsPath}: ${m.message}`);
          return;
        case 'phiReport':
          if (binding) await vscode.commands.executeCommand('pointbox.phiReport', { uri: binding.session.uri });
          else void vscode.window.showInformationMessage('PointBox: this file is in no open dataset; the PHI report covers a dataset (pointbox phi-report <dataset>).');
          return;
        case 'detect': {
          // The detector layer (issue 15): the selected detector on this file, in its worker thread.
          const result = this.detector ? await this.detector.detect(document.uri.fsPath) : { ok: false as const, message: 'the detector layer is not available' };
          await post({ type: 'detections', result });
          return;
        }
        case 'undo':
        case 'redo': {
          const s = binding?.session;
          if (s) { if (m.type === 'undo') s.doc.undo(); else s.doc.redo(); }
          return;
        }
        default: {
          const failed = this.applyEdit(binding, m);
          // Undo the webview's optimistic drawing by sending the records as they are.
          if (failed) { await post({ type: 'editFailed', message: failed }); await postSnapshot(); }
        }
      }
    });
    panel.onDidDispose(() => { msgSub.dispose(); listSub.dispose(); sessionSub?.dispose(); });
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

  private snapshot(b: { session: DatasetSession; imageId: number } | undefined): ViewerDataset | null {
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
  private applyEdit(b: { session: DatasetSession; imageId: number } | undefined, e: ViewerEdit): string | undefined {
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
