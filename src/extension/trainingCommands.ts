/**
 * Training-run commands: Start Training Run (pickers, or an options object for tests and power users),
 * Cancel, Open Log, Use Run Model, Evaluate Run Model. Starting executes Python, so it needs a trusted
 * workspace, and the interpreter setting is only read once trust is there. The work itself is src/core/training.
 *
 * Runs outlive the window: the trainer runs detached with its output in train.log, and every window
 * re-attaches to the live runs of this machine that it finds under its runs roots (on activation and
 * whenever the Runs view lists a new one): progress notification, Runs view updates and Cancel work the
 * same for a run started here, before a reload, or in another window. A run whose trainer is gone without
 * finalizing run.json is marked failed with the log's tail when a window finds it.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { defaultPython, DETECTOR_MODE, findModelsDir, launchTrainingRun, watchTrainingRun, TRAINING_MODES, type DetectorPseudo, type RunMode, type TrainingDevice, type TrainingProgress, type TrainingRun } from '../core/training/launchTrainingRun';
import { isLocalRun, readRunDirectory, runFolderName, trainerAlive, type RunSummary } from '../core/training/runDirectory';
import { effectiveAnnotationsByImage } from '../core/dataset/datasetQueries';
import type { DatasetFile } from '../core/dataset/schema';
import type { DatasetSessions } from './DatasetSessions';
import type { ModelRegistry } from './modelRegistry';
import { runsRootFor, type RunsNode, type RunsTreeProvider } from './runsTreeProvider';

/** `pointbox.startTrainingRun`'s argument: every field optional; missing ones are asked for. */
export interface StartTrainingOptions {
  /** Dataset file (fsPath or URI string). */
  dataset?: string;
  /** A teacher mode (pbc, mpc, sc, pointdetr) or `detector`: the student detector on boxes + pseudo-boxes. */
  mode?: RunMode;
  /** Detector runs: accepted (+ edited) pseudo-boxes (default), all (pending too), or none (boxes only). */
  pseudo?: DetectorPseudo;
  epochs?: number;
  imageSize?: number;
  batch?: number;
  device?: TrainingDevice;
  runsRoot?: string;
  extraArgs?: string[];
  /**
   * Weights to start from: a model file (`--init`), or false / 'scratch' for a fresh model. Default: the
   * selected point->box model (else the shipped one) when the dataset has box-level images with boxes.
   * Detector runs start from scratch unless given a detector to fine-tune.
   */
  init?: string | false;
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

const MODE_INFO: Record<RunMode, string> = {
  pbc: 'PBC: multi-point consistency, then symmetric consistency (the paper’s schedule)',
  mpc: 'Point DETR + multi-point consistency',
  sc: 'Point DETR + symmetric consistency on point-only images',
  pointdetr: 'plain Point DETR (box-level images only)',
  detector: 'student detector (FCOS): ground-truth boxes + pseudo-boxes, COCO mAP on val; its model feeds the viewer’s detector layer',
};
const RUN_MODES: readonly RunMode[] = [...TRAINING_MODES, DETECTOR_MODE];

/** A run folder from a tree node, `{ dir }`, a URI or a path. */
function runDirOf(arg: unknown): string | undefined {
  if (!arg) return undefined;
  if (typeof arg === 'string') return arg.startsWith('file:') ? vscode.Uri.parse(arg).fsPath : arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  const o = arg as { dir?: unknown };
  return typeof o.dir === 'string' ? o.dir : undefined;
}

/** Whether the dataset has box-level images with at least one box (what fine-tuning from a model needs). */
export function hasBoxLevelBoxes(d: DatasetFile): boolean {
  const eff = effectiveAnnotationsByImage(d);
  return d.images.some((im) => im.label_level === 'boxes' && (eff.get(im.id) ?? []).some((a) => a.bbox));
}

export function registerTrainingCommands(d: TrainingDeps): vscode.Disposable & { followed(): string[] } {
  const { context, sessions, models, runs, runsView, log, register } = d;
  /** Runs this window follows (started here or attached), by folder. */
  const active = new Map<string, TrainingRun>();

  const modelsDir = (): string => {
    const shipped = path.join(context.extensionUri.fsPath, 'models');
    return existsSync(path.join(shipped, 'pbc_trainer')) ? shipped : findModelsDir(__dirname) ?? shipped;
  };

  const finished = (summary: RunSummary) => {
    log.info(`training run ${summary.name}: ${summary.status}${summary.error ? ` (${summary.error.split('\n')[0]})` : ''}`);
    if (summary.status === 'completed') {
      void vscode.window.showInformationMessage(`PointBox: run ${summary.name} completed${summary.lastAp50 !== undefined ? `, val AP50 ${(summary.lastAp50 * 100).toFixed(1)}` : ''}.`, 'Use Model', 'Open Log').then((a) => {
        if (a === 'Use Model') void vscode.commands.executeCommand('pointbox.useRunModel', { dir: summary.dir });
        if (a === 'Open Log') void vscode.commands.executeCommand('pointbox.openRunLog', { dir: summary.dir });
      });
    } else if (summary.status === 'failed') {
      // The trainer's own one-line refusal (e.g. an --init model whose classes differ) comes through as is.
      void vscode.window.showErrorMessage(`PointBox: run ${summary.name} failed: ${summary.error?.split('\n')[0] ?? 'see train.log'}`, 'Open Log').then((a) => {
        if (a) void vscode.commands.executeCommand('pointbox.openRunLog', { dir: summary.dir });
      });
    } else {
      void vscode.window.showInformationMessage(`PointBox: run ${summary.name} ${summary.status}.`);
    }
  };

  /**
   * Follows a run with a progress notification (Cancel stops the trainer) and the Runs view; resolves
   * with the final summary. `start` launches it (this window) or attaches to it (a live run found on disk).
   */
  const follow = (title: string, start: (onProgress: (p: TrainingProgress) => void) => Promise<TrainingRun>, firstMessage: string): { started: Promise<TrainingRun>; done: Promise<RunSummary> } => {
    let resolveStarted!: (r: TrainingRun) => void;
    let rejectStarted!: (e: unknown) => void;
    const started = new Promise<TrainingRun>((res, rej) => { resolveStarted = res; rejectStarted = rej; });
    const done = vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
      let run: TrainingRun | undefined;
      let cancelled = false;
      token.onCancellationRequested(() => { cancelled = true; try { run?.cancel(); } catch (e) { void vscode.window.showWarningMessage(`PointBox: ${(e as Error).message}`); } });
      progress.report({ message: firstMessage });
      try {
        run = await start(({ record, summary }) => {
          runs.update(summary);
          const total = summary.epochsTotal;
          const ap = summary.lastAp50 !== undefined ? ` · AP50 ${(summary.lastAp50 * 100).toFixed(1)}` : '';
          const loss = summary.lastTrainLoss !== undefined ? ` · loss ${summary.lastTrainLoss.toFixed(3)}` : '';
          progress.report({
            message: `epoch ${Math.min(summary.epochsDone + (record.type === 'epoch' ? 0 : 1), total ?? Infinity)}/${total ?? '?'}${loss}${ap}`,
            increment: record.type === 'epoch' && total ? 100 / total : undefined,
          });
        });
      } catch (e) {
        rejectStarted(e);
        throw e;
      }
      active.set(run.dir, run);
      resolveStarted(run);
      if (cancelled) run.cancel();
      const s = run.summary;
      progress.report({ message: `epoch ${s.epochsDone}/${s.epochsTotal ?? '?'}`, increment: s.epochsTotal ? (100 * s.epochsDone) / s.epochsTotal : undefined });
      runs.refresh();
      try {
        return await run.done;
      } finally {
        active.delete(run.dir);
        runs.finished(run.dir);
      }
    });
    const d = Promise.resolve(done);
    void d.catch(() => undefined); // a start failure is reported through `started`
    return { started, done: d };
  };

  /** Re-attaches to live runs of this machine that no watcher of this window follows (reload, another window, the CLI). */
  const attachLive = (summaries: readonly RunSummary[]) => {
    for (const s of summaries) {
      if (s.status !== 'running' || active.has(s.dir) || attaching.has(s.dir) || s.pid === undefined || (s.worldSize ?? 1) > 1 || !isLocalRun(s)) continue;
      attaching.add(s.dir);
      if (!trainerAlive(s.pid, s.started)) {
        // Gone without finalizing run.json (killed with its machine, a crash): failed, with the log's tail.
        log.info(`training run ${s.dir}: its trainer (pid ${s.pid}) is gone; marking it failed`);
        void watchTrainingRun(s.dir, { pollMs: 10 }).then((r) => r.done).then(() => runs.refresh(), (e: Error) => log.warn(`cannot finalize ${s.dir}: ${e.message}`)).finally(() => attaching.delete(s.dir));
        continue;
      }
      log.info(`re-attaching to training run ${s.dir} (pid ${s.pid})`);
      const f = follow(`PointBox: training ${s.mode ?? ''} (${s.name})`, (onProgress) => watchTrainingRun(s.dir, { onProgress }), 'following the running trainer…');
      void f.done.then(finished, (e: Error) => log.warn(`cannot follow ${s.dir}: ${e.message}`)).finally(() => attaching.delete(s.dir));
    }
  };
  const attaching = new Set<string>();
  const listSub = runs.onDidList(attachLive);

  register('pointbox.startTrainingRun', async (arg?: StartTrainingOptions) => {
    if (!vscode.workspace.isTrusted) {
      // Training runs a Python interpreter chosen by settings: nothing to offer until the user trusts the folder.
      void vscode.window.showWarningMessage('PointBox: training runs execute Python, so they need a trusted workspace. Trust this folder (Workspaces: Manage Workspace Trust, or the Restricted Mode item in the status bar) to start one; existing runs stay viewable.', 'Manage Workspace Trust').then((a) => {
        if (a) void vscode.commands.executeCommand('workbench.trust.manage');
      });
      return { error: 'untrusted workspace: training runs need a trusted workspace (Workspaces: Manage Workspace Trust)' };
    }
    const viaOptions = !!arg && typeof arg === 'object' && !(arg instanceof vscode.Uri) && !('kind' in arg);
    const o: StartTrainingOptions = viaOptions ? arg : {};
    let dataset = o.dataset ? (o.dataset.startsWith('file:') ? vscode.Uri.parse(o.dataset) : vscode.Uri.file(o.dataset)) : undefined;
    if (!dataset) {
      const open = sessions.uris();
      if (open.length === 0) { void vscode.window.showInformationMessage('PointBox: open a dataset first (Datasets view › Open Dataset…).'); return undefined; }
      dataset = open.length === 1 ? open[0] : (await vscode.window.showQuickPick(open.map((u) => ({ label: path.basename(u.fsPath), detail: u.fsPath, u })), { title: 'Train on which dataset?' }))?.u;
      if (!dataset) return undefined;
    }
    let mode = o.mode;
    if (!mode) {
      mode = (await vscode.window.showQuickPick(RUN_MODES.map((m) => ({ label: m, description: MODE_INFO[m] })), { title: 'Training mode' }))?.label as RunMode | undefined;
      if (!mode) return undefined;
    }
    if (!RUN_MODES.includes(mode)) throw new Error(`unknown training mode '${mode}' (one of ${RUN_MODES.join(', ')})`);
    const detector = mode === DETECTOR_MODE;
    let pseudo = o.pseudo;
    if (detector && !pseudo && !viaOptions) {
      pseudo = (await vscode.window.showQuickPick([
        { label: 'accepted', description: 'ground-truth boxes + accepted and edited pseudo-boxes', p: 'accepted' as const },
        { label: 'all', description: 'also the pending (unreviewed) pseudo-boxes', p: 'all' as const },
        { label: 'none', description: 'ground-truth boxes only (the boxes-only baseline)', p: 'none' as const },
      ], { title: 'Pseudo-boxes for the detector' }))?.p;
      if (!pseudo) return undefined;
    }
    if (pseudo && !['accepted', 'all', 'none'].includes(pseudo)) throw new Error(`pseudo must be accepted, all or none (got '${pseudo}')`);
    let epochs = o.epochs;
    if (epochs === undefined) {
      const s = await vscode.window.showInputBox({ title: 'Epochs', value: '20', validateInput: (v) => (/^\d+$/.test(v) && +v > 0 ? undefined : 'a positive whole number') });
      if (!s) return undefined;
      epochs = Number(s);
    }
    const session = await sessions.load(dataset);
    // Where the weights start: the selected (or shipped) model when there are boxes to fine-tune on.
    let init: string | undefined;
    if (typeof o.init === 'string' && o.init !== 'scratch') init = o.init.startsWith('file:') ? vscode.Uri.parse(o.init).fsPath : o.init;
    // A detector fine-tunes only from a detector given explicitly; the point->box models are another network.
    else if (o.init === undefined && !detector && hasBoxLevelBoxes(session.doc.data)) {
      await models.ready();
      const m = models.selected();
      if (m && viaOptions) init = m.uri.fsPath; // options object: the default, no picker
      else if (m) {
        const pick = await vscode.window.showQuickPick([
          { label: `$(circuit-board) Fine-tune ${m.name}`, description: m.source, detail: `start from its weights (--init ${m.uri.fsPath})`, init: m.uri.fsPath },
          { label: '$(new-file) From scratch', detail: 'a freshly initialised model', init: undefined },
        ], { title: 'Start from' });
        if (!pick) return undefined;
        init = pick.init;
      }
    }
    const cfg = vscode.workspace.getConfiguration('pointbox', dataset);
    // Only read now: we are in a trusted workspace (restrictedConfigurations in package.json).
    const python = cfg.get<string>('training.pythonPath', '')?.trim() || defaultPython();
    const extraArgs = [...cfg.get<string[]>('training.extraArgs', []), ...(o.extraArgs ?? [])];
    // The export reads the file: every edit must be on it.
    await session.flush();
    if (session.doc.isDirty) throw new Error(`${path.basename(dataset.fsPath)} has edits that could not be saved; training reads the file (see the error above)`);
    const runsRoot = o.runsRoot ?? runsRootFor(dataset);
    const runDir = path.join(runsRoot, runFolderName(mode));
    const ds = dataset;
    attaching.add(runDir); // ours: the Runs view's listing must not attach a second watcher while it starts

    const f = follow(`PointBox: training ${mode} on ${path.basename(dataset.fsPath)}${init ? ` from ${path.basename(init)}` : ''}`, async (onProgress) => {
      const run = await launchTrainingRun({
        dataset: ds.fsPath, runsRoot, runDir, modelsDir: modelsDir(), python, mode: mode!, epochs,
        imageSize: o.imageSize, batch: o.batch, device: o.device ?? 'auto', extraArgs, onProgress, ...(init ? { init } : {}), ...(detector ? { pseudo: pseudo ?? 'accepted' } : {}),
      });
      log.info(`training run started: ${run.argv.join(' ')} -> ${run.dir} (pid ${run.pid}, output in train.log)`);
      return run;
    }, 'checking Python and exporting the dataset…');
    // A start failure (no torch, bad dataset) rejects `started`; the notification's promise rejects too.
    const run = await f.started.finally(() => attaching.delete(runDir));
    if (o.wait === false) { void f.done.then(finished, () => undefined); return { dir: run.dir, pid: run.pid, argv: run.argv }; }
    const summary = await f.done;
    finished(summary);
    return summary;
  });

  const pickRun = async (arg: unknown, filter: (s: RunSummary) => boolean, title: string): Promise<string | undefined> => {
    const dir = runDirOf(arg) ?? (runsView.selection[0] ? runsView.selection[0].dir : undefined);
    if (dir) return dir;
    const candidates = (await runs.getChildren()).filter((n): n is Extract<RunsNode, { kind: 'run' }> => n.kind === 'run' && filter(n.summary));
    if (candidates.length === 0) { void vscode.window.showInformationMessage(`PointBox: no run to ${title.toLowerCase()}.`); return undefined; }
    if (candidates.length === 1) return candidates[0]!.dir;
    const pick = await vscode.window.showQuickPick(candidates.map((c) => ({ label: c.summary.name, description: c.summary.status, dir: c.dir })), { title });
    return pick?.dir;
  };

  register('pointbox.cancelTrainingRun', async (arg?: unknown) => {
    const dir = await pickRun(arg, (s) => s.status === 'running', 'Cancel run');
    if (!dir) return false;
    let run = active.get(dir);
    if (!run) {
      // A live run this window does not follow yet: attach, then cancel.
      const s = readRunDirectory(dir);
      if (s.status !== 'running' || s.pid === undefined) { void vscode.window.showWarningMessage(`PointBox: ${s.name} is ${s.status}, not running.`); return false; }
      if (!isLocalRun(s)) { void vscode.window.showWarningMessage(`PointBox: ${s.name} runs on ${s.host}; cancel it there.`); return false; }
      attachLive([s]);
      for (let i = 0; i < 50 && !active.has(dir); i++) await new Promise((r) => setTimeout(r, 100));
      run = active.get(dir);
      if (!run) return false;
    }
    run.cancel();
    log.info(`cancel requested for ${dir} (SIGTERM to its process group)`);
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

  // Find live runs once activation is over (off its path): the window that was reloaded picks up its runs.
  const t = setTimeout(() => { void runs.getChildren().catch(() => undefined); }, 500);

  return {
    followed: () => [...active.keys()],
    dispose: () => {
      clearTimeout(t);
      listSub.dispose();
      // The window closes: the trainers go on (they are detached); only our watching stops.
      for (const r of active.values()) r.detach();
    },
  };
}
