/**
 * Point->box commands: Generate Pseudo-Boxes (dataset, split, group, bucket or selected images; progress
 * with count, rate, ETA and Cancel), Evaluate Point->Box (model and prior side by side, webview table +
 * JSON), Select Model, Select Inference Device. Decoding runs in worker threads, inference in onnxruntime's
 * own threads, so the extension host only assembles batches.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { PointBoxModelWorker } from '../core/inference/PointBoxModelWorker';
import type { PointToBoxModel } from '../core/inference/PointToBoxModel';
import { PriorBoxPredictor } from '../core/inference/PriorBoxPredictor';
import { applyPseudoBoxes, collectJobs, runPointToBox, type Predictor } from '../core/inference/pseudoLabelPipeline';
import { evaluatePointToBox, type PointToBoxEvaluation } from '../core/inference/evaluatePointToBox';
import { readPriorTable, type PriorTable } from '../core/inference/priorTable';
import { DEVICE_PREFERENCES, type DevicePreference } from '../core/inference/executionProviders';
import { WorkerPool } from '../core/workers/WorkerPool';
import { pipelineDefaults } from '../core/inference/pipelineDefaults';
import { resolveWorkerScript } from '../core/workers/workerScripts';
import type { PrepareReply, PrepareRequest } from '../core/inference/modelInputMessages';
import { writeFileAtomic } from '../core/dataset/writeFileAtomic';
import type { EvaluationReport, EvaluationRow } from '../shared/protocol';
import type { DatasetSessions } from './DatasetSessions';
import type { DatasetSession } from './DatasetSession';
import type { DatasetsNode } from './datasetsTreeProvider';
import type { ModelRegistry } from './modelRegistry';
import type { InferenceStatusItem } from './inferenceStatusItem';
import { showEvaluationPanel } from './evaluationPanel';

export interface InferenceDeps {
  context: vscode.ExtensionContext;
  sessions: DatasetSessions;
  view: vscode.TreeView<DatasetsNode>;
  models: ModelRegistry;
  status: InferenceStatusItem;
  log: vscode.LogOutputChannel;
  register: (id: string, fn: (...args: any[]) => unknown) => void;
}

function config() {
  const c = vscode.workspace.getConfiguration('pointbox');
  return {
    device: c.get<DevicePreference>('inference.device', 'auto'),
    threads: c.get<number>('inference.threads', 0),
    batch: c.get<number>('inference.batchSize', 0),
    workers: c.get<number>('inference.workers', 0),
    classMap: c.get<Record<string, string>>('inference.classMap', {}),
    priorTable: c.get<string>('inference.priorTable', '').trim(),
  };
}

/**
 * The prior table of the setting pointbox.inference.priorTable (or an explicit path), absolute or relative
 * to the first workspace folder; undefined when unset, so the prior learns from the dataset.
 */
function loadPriorTableSetting(explicit?: string): PriorTable | undefined {
  const f = explicit ?? config().priorTable;
  if (!f) return undefined;
  const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  return readPriorTable(path.resolve(base, f));
}

/** A table row for the Evaluate panel and its JSON (the raw per-click predictions stay out of it). */
function evaluationRow(r: PointToBoxEvaluation): EvaluationRow {
  return {
    model: r.model === 'prior' ? 'prior box (baseline)' : path.basename(r.model), device: r.device,
    ap50: r.ap50, ap75: r.ap75, map: r.map, meanIou: r.meanIou, meanBestIou: r.meanBestIou,
    points: r.points, boxes: r.boxes, images: r.images, seconds: r.seconds,
    micro: r.micro, macro: r.macro, perClass: r.perClass,
    calibration: r.calibration, ...(r.calibrationNote ? { calibrationNote: r.calibrationNote } : {}),
    ...(r.prior ? { prior: { role: r.prior.role, label: r.prior.label, description: r.prior.description, fewBoxClasses: r.prior.fewBoxClasses.map((c) => ({ name: c.name, boxes: c.boxes })) } } : {}),
    priorFallbackClasses: r.priorFallbackClasses,
  };
}

/** Images under the given tree nodes (dataset, split, group, bucket or image nodes). */
export function imagesUnder(s: DatasetSession, nodeIds: (string | undefined)[]): { imageIds?: number[]; split?: string; label: string } {
  const root = s.tree.getChildren()[0]!.id;
  if (nodeIds.length === 0 || nodeIds.some((id) => id === undefined || id === root)) return { label: s.name };
  const ids = new Set<number>();
  const walk = (id: string) => {
    const n = s.tree.getNode(id);
    if (n?.imageId !== undefined) { ids.add(n.imageId); return; }
    for (const c of s.tree.getChildren(id)) walk(c.id);
  };
  for (const id of nodeIds) walk(id!);
  const first = s.tree.getNode(nodeIds[0]!);
  return { imageIds: [...ids], label: nodeIds.length === 1 && first ? `${s.name} › ${first.label}` : `${ids.size} images of ${s.name}` };
}

export function registerInferenceCommands(d: InferenceDeps): vscode.Disposable {
  const { context, sessions, view, models, status, log, register } = d;
  let loaded: { key: string; model: PointToBoxModel } | undefined;
  // One decode/letterbox pool per worker count (pointbox.inference.workers; 0 = pipelineDefaults): a changed
  // setting takes effect at the next run without closing a pool that a running job still uses.
  const pools = new Map<number, WorkerPool<PrepareRequest, PrepareReply>>();
  const getPool = () => {
    const size = config().workers || pipelineDefaults().workers;
    let p = pools.get(size);
    if (!p) pools.set(size, (p = new WorkerPool<PrepareRequest, PrepareReply>(resolveWorkerScript('preprocess', path.join(__dirname, 'preprocess.worker.ts')), { size })));
    return p;
  };

  async function loadModel(file: string): Promise<PointToBoxModel> {
    const shippedDir = path.join(context.extensionUri.fsPath, 'models') + path.sep;
    if (!vscode.workspace.isTrusted && !path.resolve(file).startsWith(shippedDir)) {
      // Untrusted: only what ships with PointBox goes into onnxruntime (the prior baseline needs no model).
      throw new Error(`${path.basename(file)}: models from the workspace are used once it is trusted (Workspaces: Manage Workspace Trust); the shipped model and the prior-box baseline work now`);
    }
    const c = config();
    const key = `${file}|${c.device}|${c.threads}`;
    if (loaded?.key === key) return loaded.model;
    if (loaded) { await loaded.model.dispose(); loaded = undefined; }
    // onnxruntime in a worker thread: its run() computes on the calling thread and would stall the host.
    const model = await PointBoxModelWorker.load(file, {
      device: c.device, threads: c.threads || undefined,
      onProviderAttempt: (ep, err) => (err ? log.info(`execution provider ${ep}: not available: ${err}`) : log.info(`execution provider ${ep}: loaded ${path.basename(file)}`)),
    });
    const skipped = model.skipped.map((s) => `${s.ep}: ${s.reason}`).join('\n');
    status.set(model.executionProvider, `PointBox inference on ${model.executionProvider} (setting: ${c.device})${skipped ? `\nSkipped:\n${skipped}` : ''}`);
    log.info(`model ${path.basename(file)}: ${model.info.classes.length} classes, input ${model.info.inputSize}, sha256 ${model.info.sha256.slice(0, 12)}…, running on ${model.executionProvider}`);
    loaded = { key, model };
    return model;
  }

  async function resolvePredictor(modelArg: string | undefined, s: DatasetSession, table: PriorTable | undefined): Promise<Predictor> {
    if (modelArg === 'prior') return PriorBoxPredictor.fromDataset(s.doc.data, { table });
    const file = modelArg ?? (await models.ready(), models.selected()?.uri.fsPath);
    if (!file) throw new Error('no point->box model found: put a PointBox .onnx model in the workspace or use "PointBox: Select Model"');
    return loadModel(file);
  }

  const sessionOf = async (n?: DatasetsNode) => {
    const t = n ?? view.selection[0] ?? (sessions.uris()[0] ? { uri: sessions.uris()[0]! } : undefined);
    if (!t) throw new Error('open a dataset first (PointBox: Open Dataset…)');
    return sessions.load(t.uri);
  };

  register('pointbox.generatePseudoBoxes', async (node?: DatasetsNode, selected?: DatasetsNode[], opts?: { model?: string }) => {
    const nodes = selected?.length ? selected : node ? [node] : view.selection.length ? [...view.selection] : [];
    const s = await sessionOf(nodes[0]);
    const scope = imagesUnder(s, nodes.filter((n) => n.uri.toString() === s.uri.toString()).map((n) => n.nodeId));
    const jobs = collectJobs(s.doc.data, { imageIds: scope.imageIds });
    if (jobs.length === 0) {
      void vscode.window.showInformationMessage(`PointBox: no points to turn into boxes in ${scope.label} (only point-only images without accepted pseudo-boxes are pseudo-labeled).`);
      return { images: 0, boxes: 0 };
    }
    const table = loadPriorTableSetting();
    const predictor = await resolvePredictor(opts?.model, s, table);
    // Points of classes the model does not know get the prior's box (marked as a fallback) instead of none.
    const fallbackPrior = predictor instanceof PriorBoxPredictor ? undefined : PriorBoxPredictor.tryFromDataset(s.doc.data, { table });
    const c = config();
    const pool = predictor instanceof PriorBoxPredictor ? undefined : getPool();
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PointBox: pseudo-boxes for ${scope.label}`, cancellable: true }, async (progress, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      let last = 0;
      return runPointToBox(s.doc.imageRoots(), s.doc.data.categories, jobs, predictor, {
        batchSize: c.batch, classMap: c.classMap, signal: ac.signal, pool, fallbackPrior,
        onProgress: (p) => {
          const pctNow = (100 * p.done) / Math.max(1, p.total);
          const eta = Number.isFinite(p.etaSeconds) ? `${Math.floor(p.etaSeconds / 60)}:${String(Math.round(p.etaSeconds % 60)).padStart(2, '0')}` : '–';
          progress.report({ increment: pctNow - last, message: `${p.done}/${p.total} images · ${p.imagesPerSecond.toFixed(1)} img/s · ETA ${eta}${p.failed ? ` · ${p.failed} failed` : ''}` });
          last = pctNow;
        },
      });
    });
    for (const f of result.failed) log.warn(`pseudo-boxes: skipped ${f.file}: ${f.error}`);
    for (const k of result.skippedClasses) log.warn(`pseudo-boxes: skipped ${k.points} point(s) of class '${k.name}': ${k.reason} (set pointbox.inference.classMap or pointbox.inference.priorTable)`);
    for (const k of result.priorFallbackClasses) log.warn(`pseudo-boxes: class '${k.name}' is unknown to the model: its ${k.points} point(s) got the prior box (${k.priorSource}), marked prior_fallback in their provenance`);
    const modelId = predictor instanceof PriorBoxPredictor ? 'prior' : path.basename(predictor.info.file);
    const applied = applyPseudoBoxes(s.doc, result, { modelId, sha256: predictor instanceof PriorBoxPredictor ? undefined : predictor.info.sha256, executionProvider: result.executionProvider });
    await s.saveNow();
    const total = result.stageMs.read + result.stageMs.decode + result.stageMs.prepare + result.stageMs.infer + result.stageMs.post || 1;
    log.info(`pseudo-boxes (${modelId} on ${result.executionProvider}): ${result.completedImageIds.length} images, ${applied.added} boxes (${applied.replaced} pending replaced) in ${result.seconds.toFixed(1)} s${pool ? ` with ${pool.size} decode workers` : ''}, ` +
      `${result.imagesPerSecond.toFixed(1)} img/s; stage shares: ${Object.entries(result.stageMs).map(([k, v]) => `${k} ${((100 * v) / total).toFixed(0)}%`).join(', ')}`);
    const msg = `${result.cancelled ? 'Cancelled: kept' : 'Added'} ${applied.added} pending pseudo-boxes on ${result.completedImageIds.length} images` +
      `${result.failed.length ? `; ${result.failed.length} images failed` : ''}${result.skippedClasses.length ? `; classes skipped: ${result.skippedClasses.map((k) => k.name).join(', ')}` : ''}` +
      `${result.priorFallbackClasses.length ? `; prior boxes for classes the model does not know: ${result.priorFallbackClasses.map((k) => k.name).join(', ')}` : ''}.`;
    void vscode.window.showInformationMessage(`PointBox: ${msg}`, 'Undo').then((c2) => { if (c2 === 'Undo') s.doc.undo(); });
    return { images: result.completedImageIds.length, boxes: applied.added, replaced: applied.replaced, failed: result.failed.length, cancelled: result.cancelled, device: result.executionProvider, workers: pool?.size ?? 0, priorFallbackClasses: result.priorFallbackClasses, skippedClasses: result.skippedClasses };
  });

  register('pointbox.evaluatePointToBox', async (node?: DatasetsNode, _sel?: DatasetsNode[], opts?: { model?: string; split?: string; show?: boolean; seeds?: number[]; priorTable?: string; bootstrap?: number }) => {
    const s = await sessionOf(node);
    const c = config();
    const table = loadPriorTableSetting(opts?.priorTable);
    const predictors: Predictor[] = [];
    const modelFile = opts?.model ?? (await models.ready(), models.selected()?.uri.fsPath);
    if (modelFile && modelFile !== 'prior') predictors.push(await loadModel(modelFile));
    // The baseline never learns from the boxes it is scored on: train split, else leave-one-image-out, or the table.
    const prior = PriorBoxPredictor.fromDataset(s.doc.data, { table });
    predictors.push(prior);
    const rows: EvaluationRow[] = [];
    const warnings: string[] = [];
    if (!modelFile) warnings.push('No point->box model found (models/*.onnx, workspace, runs): only the prior-box baseline is shown. Select one with "PointBox: Select Model".');
    let split: string | null = null;
    let seed = 0;
    let seeds: number[] = [0];
    let pointSource = '';
    let clicks = '';
    const bootstrap = { resamples: opts?.bootstrap ?? 1000, seed: 0 };
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PointBox: evaluating point→box on ${s.name}`, cancellable: true }, async (_p, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      for (const pr of predictors) {
        const r = await evaluatePointToBox(s.doc.data, s.dir, pr, {
          split: opts?.split, seeds: opts?.seeds, batchSize: c.batch, classMap: c.classMap, signal: ac.signal, bootstrap: bootstrap.resamples, bootstrapSeed: bootstrap.seed,
          pool: pr instanceof PriorBoxPredictor ? undefined : getPool(), fallbackPrior: pr instanceof PriorBoxPredictor ? undefined : prior,
        });
        rows.push(evaluationRow(r));
        split = r.split; seed = r.seed; seeds = r.clicks.seeds; pointSource = r.pointSource; clicks = r.clicks.description;
        const name = path.basename(r.model);
        for (const f of r.failedImages) warnings.push(`${name}: skipped ${f.file}: ${f.error}`);
        for (const k of r.skippedClasses) warnings.push(`${name}: ${k.points} click(s) of class '${k.name}' not scored: ${k.reason}`);
        for (const k of r.priorFallbackClasses) {
          warnings.push(`${name}: class '${k.name}' is unknown to the model: its ${k.points} click(s) were scored with the prior box (${k.priorSource})`);
          log.warn(`evaluation: class '${k.name}' is unknown to ${name}: its ${k.points} click(s) got the prior box (${k.priorSource})`);
        }
      }
    });
    if (prior.report.fewBoxClasses.length) {
      warnings.push(`Prior (${prior.sourceLabel}): no box to learn from, so the median over all classes is used for ${prior.report.fewBoxClasses.map((k) => `${k.name} (${k.boxes})`).join(', ')}.`);
    }
    const report: EvaluationReport = { dataset: s.name, split, seed, seeds, pointSource, clicks, bootstrap, rows, warnings };
    const outDir = path.join(s.dir, 'pointbox-eval');
    await mkdir(outDir, { recursive: true });
    report.savedTo = path.join(outDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFileAtomic(report.savedTo, JSON.stringify(report, null, 2) + '\n');
    const ci = (e: { value: number; ci95: [number, number] | null }) => `${(100 * e.value).toFixed(1)}${e.ci95 ? ` [${(100 * e.ci95[0]).toFixed(1)}, ${(100 * e.ci95[1]).toFixed(1)}]` : ''}`;
    log.info(`evaluation of ${s.name} (${clicks}; prior: ${prior.report.description}): ${rows.map((r) => `${r.model} micro AP50 ${ci(r.micro.ap50)}, macro AP50 ${ci(r.macro.ap50)}`).join('; ')} -> ${report.savedTo}`);
    if (opts?.show !== false) {
      const { rendered } = showEvaluationPanel(context.extensionUri, report);
      const shown = await Promise.race([rendered, new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))]);
      return { ...report, renderedRows: shown?.rows ?? -1, renderedClassRows: shown?.classRows ?? -1, renderedText: shown?.text ?? '' };
    }
    return report;
  });

  register('pointbox.selectModel', async (uriArg?: vscode.Uri | { uri: vscode.Uri }) => {
    const list = await models.ready();
    let uri = uriArg instanceof vscode.Uri ? uriArg : uriArg?.uri;
    if (!uri) {
      // Detectors are another kind of model (the viewer's detector layer: PointBox: Select Detector).
      const pick = await vscode.window.showQuickPick(list.filter((e) => e.kind !== 'detector').map((e) => ({ label: e.name, description: e.problem ? 'not a PointBox model' : `${e.source} · ${e.classes?.join(', ')}`, detail: e.uri.fsPath, e })), { title: 'Point→box model' });
      if (!pick) return undefined;
      uri = pick.e.uri;
    }
    await models.select(uri);
    if (loaded) { await loaded.model.dispose(); loaded = undefined; }
    log.info(`selected model ${uri.fsPath}`);
    return uri.toString();
  });

  register('pointbox.selectDevice', async (device?: DevicePreference) => {
    const pick = device ?? (await vscode.window.showQuickPick(DEVICE_PREFERENCES.map((p) => ({ label: p, description: p === 'auto' ? 'GPU when available, else CPU' : '' })), { title: 'Inference device (execution provider)' }))?.label as DevicePreference | undefined;
    if (!pick) return undefined;
    await vscode.workspace.getConfiguration('pointbox').update('inference.device', pick, vscode.ConfigurationTarget.Workspace);
    if (loaded) { await loaded.model.dispose(); loaded = undefined; }
    status.showConfigured();
    return pick;
  });

  return { dispose: () => { void loaded?.model.dispose(); for (const p of pools.values()) void p.close(); } };
}
