/**
 * Training-run commands: Start Training Run (pickers, or an options object for tests and power users),
 * Cancel, Open Log, Use Run Model, Evaluate Run Model. Starting executes Python, so it needs a trusted workspace, and the
 * interpreter setting is only read once trust is there. The work itself is src/core/training.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { defaultPython, findModelsDir, launchTrainingRun, TRAINING_MODES, type TrainingDevice, type TrainingMode, type TrainingRun } from '../core/training/launchTrainingRun';
import { readRunDirectory, type RunSummary } from '../core/training/runDirectory';
import type { DatasetSessions } from './DatasetSessions';
import type { ModelRegistry } from './modelRegistry';
import { runsRootFor, type RunsNode, type RunsTreeProvider } from './runsTreeProvider';

/** `pointbox.startTrainingRun`'s argument: every field optional; missing ones are asked for. */
export interface StartTrainingOptions {
  /** Dataset file (fsPath or URI string). */
  dataset?: string;
  mode?: TrainingMode;
  epochs?: number;
  imageSize?: number;
  batch?: number;
  device?: TrainingDevice;
  runsRoot?: string;
  extraArgs?: string[];
  /** false: resolve with the run folder as soon as it started (default: when it ends, with its summary). */
  wait?: boolean;
}

export interface TrainingDeps {
  context: vscode.ExtensionContext;
  sessions: DatasetSessions;
  models: ModelRegistry;
  runs: RunsTreeProvider;
  runsView: vscode.TreeView<RunsNode>;
  log: vscode.LogOutputChannel;
  register: (id: string, fn: (...args: any[]) => unknown) => void;
}

const MODE_INFO: Record<TrainingMode, string> = {
  pbc: 'PBC: multi-point consistency, then symmetric consistency (the paper’s schedule)',
  mpc: 'Point DETR + multi-point consistency',
  sc: 'Point DETR + symmetric consistency on point-only images',
  pointdetr: 'plain Point DETR (box-level images only)',
};

/** A run folder from a tree node, `{ dir }`, a URI or a path. */
function runDirOf(arg: unknown): string | undefined {
  if (!arg) return undefined;
  if (typeof arg === 'string') return arg.startsWith('file:') ? vscode.Uri.parse(arg).fsPath : arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  const o = arg as { dir?: unknown };
  return typeof o.dir === 'string' ? o.dir : undefined;
}

export function registerTrainingCommands(d: TrainingDeps): vscode.Disposable {
  const { context, sessions, models, runs, runsView, log, register } = d;
  const active = new Map<string, TrainingRun>();

  const modelsDir = (): string => {
    const shipped = path.join(context.extensionUri.fsPath, 'models');
    return existsSync(path.join(shipped, 'pbc_trainer')) ? shipped : findModelsDir(__dirname) ?? shipped;
  };

  const pickRun = async (arg: unknown, filter: (s: RunSummary) => boolean, title: string): Promise<string | undefined> => {
    const dir = runDirOf(arg) ?? (runsView.selection[0] ? runsView.selection[0].dir : undefined);
    if (dir) return dir;
    const candidates = runs.getChildren().filter((n): n is Extract<RunsNode, { kind: 'run' }> => n.kind === 'run' && filter(n.summary));
    if (candidates.length === 0) { void vscode.window.showInformationMessage(`PointBox: no run to ${title.toLowerCase()}.`); return undefined; }
    if (candidates.length === 1) return candidates[0]!.dir;
    const pick = await vscode.window.showQuickPick(candidates.map((c) => ({ label: c.summary.name, description: c.summary.status, dir: c.dir })), { title });
    return pick?.dir;
  };

  register('pointbox.startTrainingRun', async (arg?: StartTrainingOptions) => {
    if (!vscode.workspace.isTrusted) {
      // Training runs a Python interpreter chosen by settings: nothing to offer until the user trusts the folder.
      void vscode.window.showWarningMessage('PointBox: training runs execute Python, so they need a trusted workspace. Trust this folder (Workspaces: Manage Workspace Trust) to start one; existing runs stay viewable.');
      return { error: 'untrusted workspace' };
    }
    const o: StartTrainingOptions = arg && typeof arg === 'object' && !(arg instanceof vscode.Uri) && !('kind' in arg) ? arg : {};
    let dataset = o.dataset ? (o.dataset.startsWith('file:') ? vscode.Uri.parse(o.dataset) : vscode.Uri.file(o.dataset)) : undefined;
    if (!dataset) {
      const open = sessions.uris();
      if (open.length === 0) { void vscode.window.showInformationMessage('PointBox: open a dataset first (Datasets view › Open Dataset…).'); return undefined; }
      dataset = open.length === 1 ? open[0] : (await vscode.window.showQuickPick(open.map((u) => ({ label: path.basename(u.fsPath), detail: u.fsPath, u })), { title: 'Train on which dataset?' }))?.u;
      if (!dataset) return undefined;
    }
    let mode = o.mode;
    if (!mode) {
      mode = (await vscode.window.showQuickPick(TRAINING_MODES.map((m) => ({ label: m, description: MODE_INFO[m] })), { title: 'Training mode' }))?.label as TrainingMode | undefined;
      if (!mode) return undefined;
    }
    if (!TRAINING_MODES.includes(mode)) throw new Error(`unknown training mode '${mode}' (one of ${TRAINING_MODES.join(', ')})`);
    let epochs = o.epochs;
    if (epochs === undefined) {
      const s = await vscode.window.showInputBox({ title: 'Epochs', value: '20', validateInput: (v) => (/^\d+$/.test(v) && +v > 0 ? undefined : 'a positive whole number') });
      if (!s) return undefined;
      epochs = Number(s);
    }
    const cfg = vscode.workspace.getConfiguration('pointbox', dataset);
    // Only read now: we are in a trusted workspace (restrictedConfigurations in package.json).
    const python = cfg.get<string>('training.pythonPath', '')?.trim() || defaultPython();
    const extraArgs = [...cfg.get<string[]>('training.extraArgs', []), ...(o.extraArgs ?? [])];
    const session = sessions.get(dataset);
    if (session) await session.saveNow();
    const runsRoot = o.runsRoot ?? runsRootFor(dataset);

    let resolveStarted!: (dir: string) => void;
    const started = new Promise<string>((r) => { resolveStarted = r; });
    const finished = vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PointBox: training ${mode} on ${path.basename(dataset.fsPath)}`, cancellable: true }, async (progress, token) => {
      progress.report({ message: 'checking Python and exporting the dataset…' });
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      const run = await launchTrainingRun({
        dataset: dataset!.fsPath, data: session?.doc.data, runsRoot, modelsDir: modelsDir(), python, mode: mode!, epochs,
        imageSize: o.imageSize, batch: o.batch, device: o.device ?? 'auto', extraArgs, signal: ac.signal,
        onOutput: (text) => { for (const line of text.split('\n')) if (line.trim()) log.info(`[train] ${line}`); },
        onProgress: ({ record, summary }) => {
          runs.update(summary);
          const ap = summary.lastAp50 !== undefined ? ` · AP50 ${(summary.lastAp50 * 100).toFixed(1)}` : '';
          const loss = summary.lastTrainLoss !== undefined ? ` · loss ${summary.lastTrainLoss.toFixed(3)}` : '';
          progress.report({
            message: `epoch ${Math.min(summary.epochsDone + (record.type === 'epoch' ? 0 : 1), epochs!)}/${epochs}${loss}${ap}`,
            increment: record.type === 'epoch' ? 100 / epochs! : undefined,
          });
        },
      });
      active.set(run.dir, run);
      log.info(`training run started: ${run.argv.join(' ')} -> ${run.dir}`);
      resolveStarted(run.dir);
      runs.refresh();
      try {
        return await run.done;
      } finally {
        active.delete(run.dir);
        runs.finished(run.dir);
      }
    });
    // A start failure (no torch, bad dataset) rejects `finished` before `started` resolves.
    const startedOrFailed = await Promise.race([started, finished.then(() => undefined)]);
    if (o.wait === false && startedOrFailed) return { dir: startedOrFailed };
    const summary = await finished;
    log.info(`training run ${summary.name}: ${summary.status}${summary.error ? ` (${summary.error.split('\n')[0]})` : ''}`);
    if (summary.status === 'completed') {
      void vscode.window.showInformationMessage(`PointBox: run ${summary.name} completed${summary.lastAp50 !== undefined ? `, val AP50 ${(summary.lastAp50 * 100).toFixed(1)}` : ''}.`, 'Use Model', 'Open Log').then((a) => {
        if (a === 'Use Model') void vscode.commands.executeCommand('pointbox.useRunModel', { dir: summary.dir });
        if (a === 'Open Log') void vscode.commands.executeCommand('pointbox.openRunLog', { dir: summary.dir });
      });
    } else if (summary.status === 'failed') {
      void vscode.window.showErrorMessage(`PointBox: run ${summary.name} failed: ${summary.error?.split('\n')[0] ?? 'see train.log'}`, 'Open Log').then((a) => {
        if (a) void vscode.commands.executeCommand('pointbox.openRunLog', { dir: summary.dir });
      });
    } else {
      void vscode.window.showInformationMessage(`PointBox: run ${summary.name} ${summary.status}.`);
    }
    return summary;
  });

  register('pointbox.cancelTrainingRun', async (arg?: unknown) => {
    const dir = await pickRun(arg, (s) => s.status === 'running' && active.has(s.dir), 'Cancel run');
    if (!dir) return false;
    const run = active.get(dir);
    if (!run) {
      const s = readRunDirectory(dir);
      void vscode.window.showWarningMessage(`PointBox: ${s.name} was not started in this window${s.status === 'running' ? '; stop its trainer process where it runs (SIGTERM marks it cancelled)' : ` (it is ${s.status})`}.`);
      return false;
    }
    run.cancel();
    log.info(`cancel requested for ${dir}`);
    return true;
  });

  register('pointbox.openRunLog', async (arg?: unknown) => {
    const dir = await pickRun(arg, () => true, 'Open log of run');
    if (!dir) return undefined;
    const file = path.join(dir, 'train.log');
    if (!existsSync(file)) throw new Error(`${file} does not exist (a run started outside PointBox logs where it was started)`);
    await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
    return file;
  });

  register('pointbox.useRunModel', async (arg?: unknown) => {
    const dir = await pickRun(arg, (s) => !!s.modelOnnx, 'Use model of run');
    if (!dir) return undefined;
    const s = readRunDirectory(dir);
    if (!s.modelOnnx) throw new Error(`${dir} has no model.onnx (${s.status}${s.error ? `: ${s.error.split('\n')[0]}` : ''})`);
    const entry = await models.addRunModel(vscode.Uri.file(s.modelOnnx));
    if (!entry) throw new Error(`${s.modelOnnx} could not be listed as a model`);
    if (entry.problem) throw new Error(`${s.modelOnnx}: ${entry.problem}`);
    // The same path as choosing it in Select Model (which also unloads the previous model).
    return vscode.commands.executeCommand('pointbox.selectModel', entry.uri);
  });

  // Scores the run's model against the prior-box baseline with the existing Evaluate command, without
  // changing the selected model. `opts.dataset` skips the picker (tests, keybindings).
  register('pointbox.evaluateRunModel', async (arg?: unknown, opts?: { dataset?: string; split?: string; show?: boolean }) => {
    const dir = await pickRun(arg, (s) => !!s.modelOnnx, 'Evaluate model of run');
    if (!dir) return undefined;
    const s = readRunDirectory(dir);
    if (!s.modelOnnx) throw new Error(`${dir} has no model.onnx (${s.status})`);
    let dataset = opts?.dataset ? (opts.dataset.startsWith('file:') ? vscode.Uri.parse(opts.dataset) : vscode.Uri.file(opts.dataset)) : undefined;
    if (!dataset) {
      const open = sessions.uris();
      if (open.length === 0) throw new Error('open a dataset with ground-truth boxes first (PointBox: Open Dataset…)');
      dataset = open.length === 1 ? open[0] : (await vscode.window.showQuickPick(open.map((u) => ({ label: path.basename(u.fsPath), detail: u.fsPath, u })), { title: `Evaluate ${s.name} on which dataset?` }))?.u;
      if (!dataset) return undefined;
    }
    return vscode.commands.executeCommand('pointbox.evaluatePointToBox', { uri: dataset }, undefined, { model: s.modelOnnx, split: opts?.split, show: opts?.show });
  });

  register('pointbox.refreshRuns', () => runs.refresh());

  return { dispose: () => { for (const r of active.values()) r.cancel(); } };
}
