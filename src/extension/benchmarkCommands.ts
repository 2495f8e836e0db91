/**
 * PointBox: Run Benchmark, Resume Benchmark, Open Benchmark, Export Benchmark Results, Cancel Benchmark
 * (issue 15). The work is src/core/benchmark (the same runner as `pointbox benchmark`); this file asks what
 * to run, shows a progress notification (Cancel stops the running step's trainer) and the results page.
 *
 * Running executes Python (the teacher and the student train through models/pbc_trainer), so it needs a
 * trusted workspace, like Start Training Run; opening an existing benchmark's results does not. A benchmark
 * lives in `.pointbox/benchmarks/<time>-<dataset>` beside the runs root; its training runs are detached
 * (src/core/training), so a window reload leaves them training: the next window finds the benchmark
 * "interrupted", offers Resume, and the resume re-attaches to the trainer that is still running.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { collectResults, resultsCsv, resultsMarkdown } from '../core/benchmark/benchmarkResults';
import { BENCHMARK_METHODS, BENCHMARK_PRESETS, makeSpec, METHOD_LABELS, planSteps, ratioPercent, type BenchmarkMethod, type BenchmarkPreset, type BenchmarkSpec, type TrainBudget } from '../core/benchmark/benchmarkSpec';
import { effectiveStatus, listBenchmarks, readBenchmarkState, type BenchmarkState } from '../core/benchmark/benchmarkState';
import { isRunningHere, runBenchmark, writeResults } from '../core/benchmark/runBenchmark';
import { DetectorModelWorker } from '../core/inference/DetectorModelWorker';
import { PointBoxModelWorker } from '../core/inference/PointBoxModelWorker';
import type { DevicePreference } from '../core/inference/executionProviders';
import { defaultPython, findModelsDir } from '../core/training/launchTrainingRun';
import { benchmarkPlotSvg } from '../shared/benchmarkPlot';
import type { DatasetSessions } from './DatasetSessions';
import { BenchmarkPanel } from './benchmarkPanel';
import { runsRootFor } from './runsTreeProvider';

/** `pointbox.runBenchmark`'s argument: every field optional; missing ones are asked for (or take the preset's). */
export interface RunBenchmarkOptions {
  dataset?: string;
  preset?: BenchmarkPreset;
  ratios?: number[];
  methods?: BenchmarkMethod[];
  seeds?: number[];
  teacher?: Partial<TrainBudget>;
  student?: Partial<TrainBudget>;
  device?: BenchmarkSpec['device'];
  evalSplit?: BenchmarkSpec['evalSplit'];
  /** The benchmark folder (an existing one is resumed); default a new one under .pointbox/benchmarks. */
  dir?: string;
  /** false: resolve as soon as it started, with its folder (default: when it ends, with the results). */
  wait?: boolean;
  /** Open the results page (default true). */
  show?: boolean;
}

export interface BenchmarkDepsExt {
  context: vscode.ExtensionContext;
  sessions: DatasetSessions;
  log: vscode.LogOutputChannel;
  register: (id: string, fn: (...args: any[]) => unknown) => void;
}

/** What the commands return: the outcome and the table, for tests and scripts. */
export interface BenchmarkOutcome { dir: string; status: string; error?: string; rows: { ratio: number; method: string; map: number[]; ap50: number[] }[]; markdown: string }

function outcome(dir: string, st: BenchmarkState): BenchmarkOutcome {
  const r = collectResults(st);
  return { dir, status: effectiveStatus(st), error: st.error, rows: r.rows.map((x) => ({ ratio: x.ratio, method: x.method, map: x.map.values, ap50: x.ap50.values })), markdown: resultsMarkdown(r) };
}

/** The benchmarks folder of a workspace folder (or of the folder that holds a dataset): beside the runs root. */
export function benchmarksRootFor(dataset: vscode.Uri): string {
  return path.join(path.dirname(runsRootFor(dataset)), 'benchmarks');
}

function benchmarksRoots(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).map((f) => benchmarksRootFor(vscode.Uri.joinPath(f.uri, 'x')));
}

export function registerBenchmarkCommands(d: BenchmarkDepsExt): vscode.Disposable {
  const { context, sessions, log, register } = d;
  const running = new Map<string, AbortController>();

  const modelsDir = (): string => {
    const shipped = path.join(context.extensionUri.fsPath, 'models');
    return existsSync(path.join(shipped, 'pbc_trainer')) ? shipped : findModelsDir(__dirname) ?? shipped;
  };

  const actions = {
    cancel: (dir: string) => { running.get(dir)?.abort(); },
    resume: (dir: string) => { void vscode.commands.executeCommand('pointbox.resumeBenchmark', dir); },
    exportResults: (dir: string, format: 'csv' | 'md' | 'svg') => vscode.commands.executeCommand('pointbox.exportBenchmark', dir, format),
    canRun: () => vscode.workspace.isTrusted,
  };

  const refuseUntrusted = (): { error: string } | undefined => {
    if (vscode.workspace.isTrusted) return undefined;
    void vscode.window.showWarningMessage('PointBox: a benchmark trains models with Python, so it needs a trusted workspace. Trust this folder (Workspaces: Manage Workspace Trust) to run one; results of existing benchmarks stay viewable (PointBox: Open Benchmark).', 'Manage Workspace Trust').then((a) => {
      if (a) void vscode.commands.executeCommand('workbench.trust.manage');
    });
    return { error: 'untrusted workspace: a benchmark executes Python and needs a trusted workspace (Workspaces: Manage Workspace Trust)' };
  };

  /** Runs or resumes the benchmark in `dir` with a progress notification; resolves with its final state. */
  const start = (dir: string, spec: BenchmarkSpec | undefined, show: boolean): { started: Promise<void>; done: Promise<BenchmarkState> } => {
    const ac = new AbortController();
    running.set(dir, ac);
    if (show) BenchmarkPanel.show(context.extensionUri, dir, actions);
    const cfg = vscode.workspace.getConfiguration('pointbox');
    // Only read in a trusted workspace (restrictedConfigurations): the interpreter is code that runs.
    const python = cfg.get<string>('training.pythonPath', '')?.trim() || defaultPython();
    const device = cfg.get<DevicePreference>('inference.device', 'auto');
    let resolveStarted!: () => void;
    let rejectStarted!: (e: unknown) => void;
    const started = new Promise<void>((res, rej) => { resolveStarted = res; rejectStarted = rej; });
    const total = spec ? planSteps(spec).length : Object.keys(readBenchmarkState(dir)?.steps ?? {}).length;
    const done = Promise.resolve(vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PointBox benchmark ${path.basename(dir)}`, cancellable: true }, async (progress, token) => {
      token.onCancellationRequested(() => ac.abort());
      let doneSteps = 0;
      let first = true;
      try {
        const st = await runBenchmark(dir, spec, {
          modelsDir: modelsDir(), python, signal: ac.signal,
          loadPointToBox: (f) => PointBoxModelWorker.load(f, { device }),
          loadDetector: (f) => DetectorModelWorker.load(f, { device }),
          log: (l) => log.info(l),
          onEvent: (e) => {
            if (e.type === 'state') {
              if (first) { first = false; resolveStarted(); }
              const n = Object.values(e.state.steps).filter((s) => s.status === 'done').length;
              const runningStep = Object.entries(e.state.steps).find(([, s]) => s.status === 'running')?.[0];
              progress.report({ message: `${n}/${Object.keys(e.state.steps).length || total} steps${runningStep ? ` · ${runningStep}` : ''}`, increment: total ? (100 * (n - doneSteps)) / total : undefined });
              doneSteps = n;
              BenchmarkPanel.of(dir)?.refresh(e.state);
            } else if (e.type === 'progress') {
              progress.report({ message: `${doneSteps}/${total} steps · ${e.step}: ${e.message}` });
              BenchmarkPanel.of(dir)?.progress(e.step, e.message);
            } else if (e.type === 'training') {
              log.info(`benchmark ${path.basename(dir)}: ${e.step}: training run ${e.run.dir} (pid ${e.run.pid})`);
            }
          },
        });
        BenchmarkPanel.of(dir)?.refresh(st);
        return st;
      } catch (e) {
        rejectStarted(e);
        throw e;
      } finally {
        running.delete(dir);
        resolveStarted();
      }
    }));
    void done.then((st) => {
      log.info(`benchmark ${dir}: ${st.status}${st.error ? ` (${st.error})` : ''}`);
      if (st.status === 'completed') void vscode.window.showInformationMessage(`PointBox: benchmark ${path.basename(dir)} completed.`, 'Open Results').then((a) => { if (a) void vscode.commands.executeCommand('pointbox.openBenchmark', dir); });
      else if (st.status === 'failed') void vscode.window.showErrorMessage(`PointBox: benchmark ${path.basename(dir)} failed: ${st.error?.split('\n')[0] ?? ''}`, 'Open Results', 'Resume').then((a) => {
        if (a === 'Open Results') void vscode.commands.executeCommand('pointbox.openBenchmark', dir);
        if (a === 'Resume') void vscode.commands.executeCommand('pointbox.resumeBenchmark', dir);
      });
    }, (e: Error) => { log.error(`benchmark ${dir}: ${e.message}`); void vscode.window.showErrorMessage(`PointBox: ${e.message}`); });
    return { started, done };
  };

  const pickNumbers = async (title: string, value: string, parse: (s: string) => number): Promise<number[] | undefined> => {
    const s = await vscode.window.showInputBox({ title, value, validateInput: (v) => { try { const n = v.split(',').map((x) => parse(x.trim())); return n.length && n.every(Number.isFinite) ? undefined : 'comma-separated numbers'; } catch (e) { return (e as Error).message; } } });
    return s === undefined ? undefined : s.split(',').map((x) => parse(x.trim()));
  };

  register('pointbox.runBenchmark', async (arg?: RunBenchmarkOptions) => {
    const untrusted = refuseUntrusted();
    if (untrusted) return untrusted;
    const viaOptions = !!arg && typeof arg === 'object' && !(arg instanceof vscode.Uri);
    const o: RunBenchmarkOptions = viaOptions ? arg : {};
    let dataset = o.dataset ? (o.dataset.startsWith('file:') ? vscode.Uri.parse(o.dataset) : vscode.Uri.file(o.dataset)) : arg instanceof vscode.Uri ? arg : undefined;
    if (!dataset) {
      const open = sessions.uris();
      if (open.length === 0) { void vscode.window.showInformationMessage('PointBox: open a dataset first (Datasets view › Open Dataset…).'); return undefined; }
      dataset = open.length === 1 ? open[0] : (await vscode.window.showQuickPick(open.map((u) => ({ label: path.basename(u.fsPath), detail: u.fsPath, u })), { title: 'Benchmark on which dataset?' }))?.u;
      if (!dataset) return undefined;
    }
    let preset = o.preset;
    if (!preset && !viaOptions) {
      const pick = await vscode.window.showQuickPick((Object.keys(BENCHMARK_PRESETS) as BenchmarkPreset[]).map((k) => {
        const p = BENCHMARK_PRESETS[k];
        return { label: k, description: `teacher ${p.teacher.epochs} ep @ ${p.teacher.imageSize} px, student ${p.student.epochs} ep @ ${p.student.imageSize} px`, detail: k === 'tiny' ? 'one ratio, two seeds: checks the machinery in minutes; its numbers mean nothing' : k === 'small' ? 'the README sweep: PBC ratios, two seeds, about 5 minutes per ratio and seed on 2 CPU cores' : 'PBC-like schedule: for a GPU', k };
      }), { title: 'Benchmark budget' });
      if (!pick) return undefined;
      preset = pick.k;
    }
    preset ??= 'small';
    let ratios = o.ratios;
    let seeds = o.seeds;
    let methods = o.methods;
    if (!viaOptions) {
      ratios = await pickNumbers('Box ratios (% of train images that keep their boxes)', BENCHMARK_PRESETS[preset].ratios.map(ratioPercent).join(', '), (s) => Number(s) / 100);
      if (!ratios) return undefined;
      const ms = await vscode.window.showQuickPick(BENCHMARK_METHODS.map((m) => ({ label: METHOD_LABELS[m], picked: true, m })), { title: 'Methods', canPickMany: true });
      if (!ms?.length) return undefined;
      methods = ms.map((x) => x.m);
      seeds = await pickNumbers('Seeds', BENCHMARK_PRESETS[preset].seeds.join(', '), (s) => { const n = Number(s); if (!Number.isInteger(n) || n < 0) throw new Error(`'${s}' is not a seed`); return n; });
      if (!seeds) return undefined;
    }
    // A dataset named by path that is not open yet is opened (listed in the Datasets view) first.
    if (!sessions.uris().some((u) => u.toString() === dataset!.toString())) await vscode.commands.executeCommand('pointbox.openDataset', dataset);
    const session = await sessions.load(dataset);
    await session.flush(); // the benchmark reads the file
    const base = BENCHMARK_PRESETS[preset];
    const spec = makeSpec(dataset.fsPath, preset, {
      ...(ratios ? { ratios } : {}), ...(methods ? { methods } : {}), ...(seeds ? { seeds } : {}),
      ...(o.device ? { device: o.device } : {}), ...(o.evalSplit ? { evalSplit: o.evalSplit } : {}),
      teacher: { ...base.teacher, ...o.teacher }, student: { ...base.student, ...o.student },
    });
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const dir = o.dir ?? path.join(benchmarksRootFor(dataset), `${stamp}-${path.basename(dataset.fsPath).replace(/\.pointbox\.json$/, '')}-${preset}`);
    if (isRunningHere(dir)) throw new Error(`the benchmark in ${dir} is already running in this window`);
    const { started, done } = start(dir, spec, o.show !== false);
    await started;
    if (o.wait === false) { void done.catch(() => undefined); return { dir }; }
    return outcome(dir, await done);
  });

  register('pointbox.resumeBenchmark', async (arg?: string | vscode.Uri, opts?: { wait?: boolean; show?: boolean }) => {
    const untrusted = refuseUntrusted();
    if (untrusted) return untrusted;
    let dir = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined;
    if (!dir) {
      const all = (await Promise.all(benchmarksRoots().map((r) => listBenchmarks(r)))).flat();
      const unfinished = all.map((x) => ({ x, s: readBenchmarkState(x) })).filter((c) => c.s && effectiveStatus(c.s) !== 'completed' && effectiveStatus(c.s) !== 'running');
      if (!unfinished.length) { void vscode.window.showInformationMessage('PointBox: no unfinished benchmark to resume.'); return undefined; }
      dir = unfinished.length === 1 ? unfinished[0]!.x : (await vscode.window.showQuickPick(unfinished.map((c) => ({ label: path.basename(c.x), description: effectiveStatus(c.s!), detail: c.x, x: c.x })), { title: 'Resume which benchmark?' }))?.x;
      if (!dir) return undefined;
    }
    if (isRunningHere(dir)) { BenchmarkPanel.show(context.extensionUri, dir, actions); return { dir, status: 'running' }; }
    const { started, done } = start(dir, undefined, opts?.show !== false);
    await started;
    if (opts?.wait === false) { void done.catch(() => undefined); return { dir }; }
    return outcome(dir, await done);
  });

  register('pointbox.openBenchmark', async (arg?: string | vscode.Uri, opts?: { waitRendered?: boolean | string }) => {
    let dir = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? (arg.fsPath.endsWith('benchmark.json') ? path.dirname(arg.fsPath) : arg.fsPath) : undefined;
    if (!dir) {
      const all = (await Promise.all(benchmarksRoots().map((r) => listBenchmarks(r)))).flat();
      if (!all.length) { void vscode.window.showInformationMessage('PointBox: no benchmark in this workspace yet (PointBox: Run Benchmark).'); return undefined; }
      dir = all.length === 1 ? all[0] : (await vscode.window.showQuickPick(all.map((x) => ({ label: path.basename(x), description: (() => { try { const s = readBenchmarkState(x); return s ? effectiveStatus(s) : ''; } catch { return 'unreadable'; } })(), x })), { title: 'Open which benchmark?' }))?.x;
      if (!dir) return undefined;
    }
    const st = readBenchmarkState(dir);
    if (!st) throw new Error(`${dir} holds no benchmark.json`);
    const panel = BenchmarkPanel.show(context.extensionUri, dir, actions);
    if (!opts?.waitRendered) return { dir, status: effectiveStatus(st) };
    const want = typeof opts.waitRendered === 'string' ? opts.waitRendered : undefined;
    return { dir, status: effectiveStatus(st), rendered: await panel.rendered(want ? (r) => r.status === want : undefined) };
  });

  register('pointbox.cancelBenchmark', async (arg?: string) => {
    const dir = arg ?? [...running.keys()][0];
    const ac = dir ? running.get(dir) : undefined;
    if (!ac) { void vscode.window.showInformationMessage('PointBox: no benchmark is running in this window.'); return false; }
    ac.abort();
    return true;
  });

  // Exports: `to` skips the save dialog (tests, scripts). CSV keeps every seed; Markdown is the table + verdicts.
  register('pointbox.exportBenchmark', async (dirArg?: string, formatArg?: 'csv' | 'md' | 'svg', to?: string) => {
    const dir = dirArg ?? [...running.keys()][0];
    if (!dir) throw new Error('which benchmark? (PointBox: Open Benchmark, then Export)');
    const st = readBenchmarkState(dir);
    if (!st) throw new Error(`${dir} holds no benchmark.json`);
    let format = formatArg;
    if (!format) format = (await vscode.window.showQuickPick([{ label: 'CSV', f: 'csv' as const }, { label: 'Markdown', f: 'md' as const }, { label: 'Plot (SVG)', f: 'svg' as const }], { title: 'Export as' }))?.f;
    if (!format) return undefined;
    const r = collectResults(st);
    const text = format === 'csv' ? resultsCsv(r) : format === 'md' ? resultsMarkdown(r, { title: `${path.basename(st.spec.dataset)}: ${st.spec.preset ?? 'custom'} benchmark` })
      : benchmarkPlotSvg(r.rows.map((x) => ({ ratio: x.ratio, method: x.method, label: METHOD_LABELS[x.method], values: x.map.values })), { metric: 'mAP@[.5:.95]', title: 'Student detector mAP vs box ratio' });
    let target = to;
    if (!target) {
      const uri = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(dir, format === 'svg' ? 'plot.svg' : `results.${format}`)), filters: format === 'csv' ? { CSV: ['csv'] } : format === 'md' ? { Markdown: ['md'] } : { SVG: ['svg'] } });
      if (!uri) return undefined;
      target = uri.fsPath;
    }
    await writeFile(target, text);
    log.info(`benchmark ${path.basename(dir)}: results written to ${target}`);
    if (!to) void vscode.window.showInformationMessage(`PointBox: wrote ${target}`, 'Open').then((a) => { if (a) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(target!)); });
    return target;
  });

  // A benchmark whose runner is gone (the window was reloaded or closed mid-way) is offered for resuming, off
  // the activation path. Its training runs kept going; the resume re-attaches to them.
  const t = setTimeout(() => {
    void (async () => {
      for (const root of benchmarksRoots()) {
        for (const dir of await listBenchmarks(root)) {
          let st: BenchmarkState | undefined;
          try { st = readBenchmarkState(dir); } catch { continue; }
          if (!st || effectiveStatus(st) !== 'interrupted' || isRunningHere(dir)) continue;
          const n = Object.values(st.steps).filter((s) => s.status === 'done').length;
          log.info(`benchmark ${dir} was interrupted (${n} of ${Object.keys(st.steps).length} steps done)`);
          const choices = vscode.workspace.isTrusted ? ['Resume', 'Open Results'] : ['Open Results'];
          void vscode.window.showInformationMessage(`PointBox: benchmark ${path.basename(dir)} was interrupted (${n} of ${Object.keys(st.steps).length} steps done; its training runs kept going).`, ...choices).then((a) => {
            if (a === 'Resume') void vscode.commands.executeCommand('pointbox.resumeBenchmark', dir);
            if (a === 'Open Results') void vscode.commands.executeCommand('pointbox.openBenchmark', dir);
          });
        }
      }
    })().catch(() => undefined);
  }, 1500);

  return {
    dispose: () => {
      clearTimeout(t);
      // The window closes: the current step's trainer goes on (detached); the benchmark is left "interrupted".
      void writeResultsQuietly(running);
    },
  };
}

async function writeResultsQuietly(running: Map<string, AbortController>): Promise<void> {
  for (const dir of running.keys()) {
    try { const st = readBenchmarkState(dir); if (st) await writeResults(dir, st); } catch { /* best effort */ }
  }
}

