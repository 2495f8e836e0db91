/**
 * The viewer's detector layer (issue 15): the selected detector (a student from `pbc_trainer detector`, kind
 * "detector" in its metadata) runs on the open image when the layer is turned on, in its own worker thread
 * (decode + onnxruntime off the extension host), and the viewer draws its boxes. PointBox: Select Detector
 * chooses it; a detector is never offered to Generate/Evaluate, nor a point->box model here.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { ImageDetector } from '../core/inference/DetectorModel';
import { DetectorModelWorker } from '../core/inference/DetectorModelWorker';
import type { DevicePreference } from '../core/inference/executionProviders';
import { xyxyToXywh } from '../shared/geometry';
import type { ViewerDetections } from '../shared/protocol';
import type { ModelRegistry } from './modelRegistry';

export class DetectorLayer implements vscode.Disposable {
  private loaded: { file: string; device: string; model: Promise<ImageDetector> } | undefined;
  private readonly sub: vscode.Disposable;

  constructor(private readonly models: ModelRegistry, private readonly log: vscode.LogOutputChannel, register: (id: string, fn: (...args: any[]) => unknown) => void) {
    // Another detector selected (or the file rewritten by a new run): the next detect loads it afresh.
    this.sub = models.onDidChange(() => { if (this.loaded && this.loaded.file !== models.selectedDetector()?.uri.fsPath) void this.unload(); });
    register('pointbox.selectDetector', async (uriArg?: vscode.Uri | { uri: vscode.Uri } | string) => {
      const list = (await models.ready()).filter((e) => e.kind === 'detector' && !e.problem);
      let uri = typeof uriArg === 'string' ? vscode.Uri.file(uriArg) : uriArg instanceof vscode.Uri ? uriArg : uriArg?.uri;
      if (!uri) {
        if (!list.length) {
          void vscode.window.showInformationMessage(`PointBox: no detector in this workspace${vscode.workspace.isTrusted ? '' : ' (workspace models are listed once the workspace is trusted)'}. Train one: Start Training Run › detector, or PointBox: Run Benchmark.`);
          return undefined;
        }
        const pick = await vscode.window.showQuickPick(list.map((e) => ({ label: e.name, description: `${e.source} · ${e.classes?.join(', ')}`, detail: e.uri.fsPath, e })), { title: 'Detector for the viewer\'s detector layer' });
        if (!pick) return undefined;
        uri = pick.e.uri;
      }
      if (!vscode.workspace.isTrusted) throw new Error('workspace models are loaded once the workspace is trusted (Workspaces: Manage Workspace Trust)');
      // Listed only once it is known to be a detector (a point->box model given here must not join the list as a run model).
      const seen = list.find((e) => e.uri.fsPath === uri!.fsPath) ?? await models.inspect(uri);
      const entry = seen.kind === 'detector' && !seen.problem ? list.find((e) => e.uri.fsPath === uri!.fsPath) ?? await models.addRunModel(uri) : undefined;
      if (!entry || entry.kind !== 'detector') throw new Error(`${uri.fsPath} is not a PointBox detector (metadata pointbox.kind = "detector"); point->box models are chosen with PointBox: Select Model`);
      await models.select(uri);
      await this.unload();
      log.info(`selected detector ${uri.fsPath}`);
      return uri.toString();
    });
  }

  private async unload(): Promise<void> {
    const l = this.loaded;
    this.loaded = undefined;
    if (l) await l.model.then((m) => m.dispose(), () => undefined);
  }

  /** The selected detector's boxes on `file` (pixels), or why there are none; never throws. */
  async detect(file: string): Promise<ViewerDetections> {
    try {
      await this.models.ready();
      const entry = this.models.selectedDetector();
      if (!entry) {
        return { ok: false, message: vscode.workspace.isTrusted
          ? 'no detector yet: train one (Start Training Run › detector, or PointBox: Run Benchmark), then PointBox: Select Detector'
          : 'detectors are workspace models: they are loaded once the workspace is trusted' };
      }
      const cfg = vscode.workspace.getConfiguration('pointbox');
      const device = cfg.get<DevicePreference>('inference.device', 'auto');
      if (!this.loaded || this.loaded.file !== entry.uri.fsPath || this.loaded.device !== device) {
        await this.unload();
        const model = DetectorModelWorker.load(entry.uri.fsPath, { device });
        this.loaded = { file: entry.uri.fsPath, device, model };
        model.then((m) => this.log.info(`detector ${entry.uri.fsPath} loaded on ${m.executionProvider} (${m.info.classes.length} classes, input ${m.info.inputSize})`), () => { this.loaded = undefined; });
      }
      const m = await this.loaded.model;
      const r = await m.detectFile(file);
      const ms = r.ms.decode + r.ms.infer + r.ms.post;
      this.log.info(`detector: ${path.basename(file)}: ${r.detections.length} boxes in ${ms.toFixed(0)} ms (decode ${r.ms.decode.toFixed(0)}, infer ${r.ms.infer.toFixed(0)}) on ${m.executionProvider}`);
      return {
        ok: true, model: entry.name, provider: m.executionProvider, ms, minScore: cfg.get<number>('detector.minScore', 0.3),
        detections: r.detections.map((d) => ({ bbox: xyxyToXywh(d.box).map((v) => Math.round(v * 100) / 100) as [number, number, number, number], score: Math.round(d.score * 1000) / 1000, className: d.className })),
      };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.log.warn(`detector on ${file}: ${message}`);
      return { ok: false, message };
    }
  }

  dispose(): void {
    this.sub.dispose();
    void this.unload();
  }
}
