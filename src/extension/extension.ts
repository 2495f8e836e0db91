/**
 * PointBox extension entry point: wires views, commands, status bar and output channel. Everything that
 * does real work lives in src/core (no 'vscode'); this folder only adapts it to VS Code's API.
 * Activation stays cheap: datasets load when a view or command first needs them, models are scanned
 * when the Models view or a model command asks, onnxruntime loads with the first model.
 */
import * as vscode from 'vscode';
import { performance } from 'node:perf_hooks';
import { productInfo } from '../shared/productInfo';
import { createOutputLog } from './outputLog';
import { InferenceStatusItem } from './inferenceStatusItem';
import { OpenDatasetList } from './openDatasetList';
import { DatasetSessions } from './DatasetSessions';
import { DatasetsTreeProvider, type DatasetsNode } from './datasetsTreeProvider';
import { registerDatasetCommands } from './datasetCommands';
import { ModelRegistry, ModelsTreeProvider } from './modelRegistry';
import { registerInferenceCommands } from './inferenceCommands';
import { ViewerEditorProvider } from './viewerEditorProvider';
import { RunsTreeProvider, type RunsNode } from './runsTreeProvider';
import { registerTrainingCommands } from './trainingCommands';
import { registerBenchmarkCommands } from './benchmarkCommands';
import { DetectorLayer } from './detectorLayer';
import { closeDatasetJobs } from '../core/workers/datasetJobs';
import { closeViewerPreviews } from '../core/workers/viewerPreviews';
import type { DatasetDocument } from '../core/dataset/DatasetDocument';

/** What `pointbox.showInfo` returns (used by users in the palette and by the integration tests). */
export interface PointBoxInfo {
  version: string;
  activationMs: number;
  trusted: boolean;
  openDatasets: string[];
  inferenceStatus: string;
}

/** Test and scripting surface returned by activate(): read-only views of the state. */
export interface PointBoxApi {
  info(): PointBoxInfo;
  /** The dataset tree's children as the view shows them (labels and descriptions), for tests. */
  datasetTree(node?: DatasetsNode): Promise<{ node: DatasetsNode; label: string; description: string; contextValue?: string }[]>;
  pendingCount(datasetUri: string): number | undefined;
  /** The Runs view's children as it shows them (for tests). */
  runsTree(node?: RunsNode): Promise<{ node: RunsNode; label: string; description: string; contextValue?: string; tooltip?: string }[]>;
  /** The point->box model Generate/Evaluate would use now (a file: URI), if any. */
  selectedModel(): Promise<string | undefined>;
  /** For tests and the host benchmarks: an open dataset's document (edits as the viewer makes them) and work counters. */
  testing: {
    document(datasetUri: string): Promise<DatasetDocument>;
    counters(): { snapshotsPosted: number; treeItemsBuilt: number; modelsHashed: number; viewerReloads: number };
    /** The open viewers: file shown, webview ready (snapshots reach it), bound to an open dataset, visible, the first message types received (diagnostics). */
    viewers(): { file: string; ready: boolean; bound: boolean; visible: boolean; received: string[] }[];
    /** Sets the viewer start watchdog's timeout and drops the next `dropReadies` 'ready' messages (a page that never started). */
    viewerStartWatchdog(opts: { timeoutMs: number; dropReadies: number }): void;
    /** Run folders whose trainer this window follows (started here or re-attached). */
    followedRuns(): string[];
    /** What the viewer's detector layer gets for an image file when turned on (the selected detector's boxes). */
    detect(file: string): Promise<import('../shared/protocol').ViewerDetections>;
    /** The detector the viewer's detector layer runs now (a file: URI), if any. */
    selectedDetector(): Promise<string | undefined>;
  };
}

const moduleLoadedAt = performance.now();

/** What deactivate() must finish: every dataset edit on disk, the job worker stopped. */
let shutdown: (() => Promise<void>) | undefined;

export function activate(context: vscode.ExtensionContext): PointBoxApi {
  const log = createOutputLog();
  const status = new InferenceStatusItem();
  const openList = new OpenDatasetList(context.workspaceState);
  const sessions = new DatasetSessions(openList, log);
  const datasetsTree = new DatasetsTreeProvider(sessions);
  const datasetsView = vscode.window.createTreeView('pointbox.datasets', { treeDataProvider: datasetsTree, showCollapseAll: true, canSelectMany: true });
  const models = new ModelRegistry(context.extensionUri, context.workspaceState, log);
  const modelsTree = new ModelsTreeProvider(models);
  const runsTree = new RunsTreeProvider();
  const runsView = vscode.window.createTreeView('pointbox.runs', { treeDataProvider: runsTree });
  context.subscriptions.push(
    log, status, openList, sessions, datasetsTree, datasetsView, models, modelsTree,
    vscode.window.registerTreeDataProvider('pointbox.models', modelsTree),
    runsTree, runsView, runsView.onDidChangeVisibility((e) => runsTree.setVisible(e.visible)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('pointbox.inference.device')) status.showConfigured();
      if (e.affectsConfiguration('pointbox.models.searchPaths')) void models.refresh();
      if (e.affectsConfiguration('pointbox.training.runsRoot')) runsTree.refresh();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void models.refresh()),
  );

  let activationMs = 0;
  const info = (): PointBoxInfo => ({
    version: productInfo.version,
    activationMs,
    trusted: vscode.workspace.isTrusted,
    openDatasets: openList.list().map((u) => u.toString()),
    inferenceStatus: status.text,
  });

  const register = (id: string, fn: (...args: any[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: any[]) => {
      try {
        return await fn(...args);
      } catch (e) {
        // Core throws typed errors with the file and the problem in the message; show it, log the stack.
        const msg = e instanceof Error ? e.message : String(e);
        log.error(`${id}: ${e instanceof Error && e.stack ? e.stack : msg}`);
        void vscode.window.showErrorMessage(`PointBox: ${msg}`);
        return { error: msg };
      }
    }));

  register('pointbox.openDataset', async (uri?: vscode.Uri) => {
    let target = uri instanceof vscode.Uri ? uri : undefined;
    if (!target) {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Open Dataset', filters: { 'PointBox dataset': ['json'] } });
      target = picked?.[0];
    }
    if (!target) return undefined;
    await vscode.workspace.fs.stat(target); // a missing file fails here with a message naming it
    sessions.retry(target);
    await openList.add(target);
    await sessions.load(target); // rejects with the load error (the tree shows it too)
    log.info(`opened dataset ${target.fsPath}`);
    return target.toString();
  });
  // Works on datasets that failed to load too (their node is 'dataset-error'): nothing to save then.
  register('pointbox.closeDataset', async (node?: DatasetsNode) => {
    const sel = node ?? datasetsView.selection[0];
    if (!sel) return;
    const s = sessions.loaded().find((x) => x.uri.toString() === sel.uri.toString());
    await s?.flush();
    sessions.retry(sel.uri);
    await openList.remove(sel.uri);
    log.info(`closed dataset ${sel.uri.fsPath}`);
  });
  register('pointbox.reloadDataset', async (node?: DatasetsNode) => {
    const sel = node ?? datasetsView.selection[0];
    if (!sel) return undefined;
    const s = await sessions.reload(sel.uri);
    log.info(`reloaded ${sel.uri.fsPath}: ${s.doc.data.images.length} images`);
    return sel.uri.toString();
  });
  register('pointbox.showDatasetError', async (node?: DatasetsNode) => {
    const sel = node ?? datasetsView.selection[0];
    const error = sel && sessions.errorOf(sel.uri);
    if (!sel || error === undefined) return undefined;
    const a = await vscode.window.showErrorMessage(`PointBox: cannot open ${sel.uri.fsPath}`, { modal: true, detail: error }, 'Reload', 'Close Dataset', 'Open File');
    if (a === 'Reload') await vscode.commands.executeCommand('pointbox.reloadDataset', sel);
    else if (a === 'Close Dataset') await vscode.commands.executeCommand('pointbox.closeDataset', sel);
    else if (a === 'Open File') await vscode.window.showTextDocument(sel.uri);
    return error;
  });
  register('pointbox.refresh', async () => {
    for (const u of openList.list()) sessions.retry(u);
    for (const s of sessions.loaded()) { await s.checkExternalChange(); await s.checkMissingFiles(); }
    datasetsTree.refresh();
    await models.refresh();
  });
  register('pointbox.showOutput', () => log.show(true));
  register('pointbox.showInfo', () => {
    const i = info();
    log.info(`PointBox ${i.version}: activated in ${i.activationMs.toFixed(1)} ms, workspace trusted: ${i.trusted}`);
    return i;
  });
  register('pointbox.refreshModels', () => models.refresh());

  const viewers: { provider?: ViewerEditorProvider } = {}; // registered below; a tree click may reuse one of its viewers
  registerDatasetCommands({ sessions, tree: datasetsTree, view: datasetsView, log, register, subscriptions: context.subscriptions, showInOpenViewer: async (s, id) => viewers.provider?.showInOpenViewer(s, id) ?? false });
  context.subscriptions.push(registerInferenceCommands({ context, sessions, view: datasetsView, models, status, log, register }));
  const training = registerTrainingCommands({ context, sessions, models, runs: runsTree, runsView, log, register });
  context.subscriptions.push(training);
  // The viewer's detector layer (a student detector's boxes) and the PBC benchmark (issue 15).
  const detector = new DetectorLayer(models, log, register);
  context.subscriptions.push(detector, registerBenchmarkCommands({ context, sessions, log, register }));
  // The CXR viewer: registering is cheap (nothing decodes until an image opens).
  viewers.provider = ViewerEditorProvider.register(context, sessions, log, detector);

  // First time in a workspace: open the datasets it contains (what workspaceContains activated us for),
  // so a cloned project shows its data at once. Later the user's own open/close choices are remembered.
  if (!context.workspaceState.get('pointbox.autoOpened')) {
    void context.workspaceState.update('pointbox.autoOpened', true);
    void vscode.workspace.findFiles('**/*.pointbox.json', '{**/node_modules/**,**/.git/**}', 20).then(async (found) => {
      for (const u of found.sort((a, b) => a.fsPath.localeCompare(b.fsPath))) await openList.add(u);
      if (found.length) log.info(`opened ${found.length} dataset(s) found in the workspace`);
    });
  }

  shutdown = async () => {
    const t0 = performance.now();
    await sessions.saveAll();
    log.info(`deactivate: saved every open dataset in ${(performance.now() - t0).toFixed(0)} ms`);
    await closeDatasetJobs();
    await closeViewerPreviews();
  };

  activationMs = performance.now() - moduleLoadedAt;
  log.info(`PointBox ${productInfo.version} activated in ${activationMs.toFixed(1)} ms`);
  return {
    info,
    async datasetTree(node?: DatasetsNode) {
      // Tests read the tree as the view would after loading: wait for the datasets to load.
      if (!node) await Promise.all(sessions.uris().map((u) => sessions.load(u).catch(() => undefined)));
      else await sessions.load(node.uri).catch(() => undefined);
      const kids = datasetsTree.getChildren(node);
      return kids.map((k) => {
        const item = datasetsTree.getTreeItem(k);
        return { node: k, label: String(item.label), description: String(item.description ?? ''), contextValue: item.contextValue };
      });
    },
    async runsTree(node?: RunsNode) {
      return (await runsTree.getChildren(node)).map((k) => {
        const item = runsTree.getTreeItem(k);
        const tooltip = item.tooltip instanceof vscode.MarkdownString ? item.tooltip.value : item.tooltip;
        return { node: k, label: String(item.label), description: String(item.description ?? ''), contextValue: item.contextValue, tooltip };
      });
    },
    async selectedModel() {
      await models.ready();
      return models.selected()?.uri.toString();
    },
    testing: {
      async document(uri: string) { return (await sessions.load(vscode.Uri.parse(uri))).doc; },
      counters: () => ({ snapshotsPosted: ViewerEditorProvider.snapshotsPosted, treeItemsBuilt: datasetsTree.itemsBuilt, modelsHashed: models.hashed, viewerReloads: ViewerEditorProvider.webviewReloads }),
      viewers: () => viewers.provider?.viewers() ?? [],
      viewerStartWatchdog(opts: { timeoutMs: number; dropReadies: number }) {
        ViewerEditorProvider.startTimeoutMs = opts.timeoutMs;
        ViewerEditorProvider.dropReadies = opts.dropReadies;
      },
      followedRuns: () => training.followed(),
      detect: (file: string) => detector.detect(file),
      async selectedDetector() { await models.ready(); return models.selectedDetector()?.uri.toString(); },
    },
    pendingCount(uri: string) {
      const s = sessions.loaded().find((x) => x.uri.toString() === uri);
      return s?.doc.data.pseudo_boxes.filter((p) => p.review === 'pending').length;
    },
  };
}

/**
 * VS Code awaits this (up to 5 s) before the extension host exits, and disposes our subscriptions only
 * after it: so the debounced auto-save of an edit made just before the window closed is written here,
 * not lost with the timer.
 */
export async function deactivate(): Promise<void> {
  const s = shutdown;
  shutdown = undefined;
  await s?.();
}
