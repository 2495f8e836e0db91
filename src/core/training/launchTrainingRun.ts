/**
 * Local PBC training runs that outlive the window that started them.
 *
 * `launchTrainingRun` exports the dataset in PBC's layout into `<runDir>/data` (in the dataset job worker,
 * from the file on disk), then starts `<python> -m pbc_trainer train --data <runDir>/data --out <runDir> ...`
 * with models/ on PYTHONPATH, detached in its own process group, its stdout/stderr written straight to
 * `<runDir>/train.log` (no pipe through this process), and writes the launch record `launch.json` (pid,
 * process group, host, start time, interpreter, argv, init model). Nothing of the trainer depends on this
 * process any more: closing or reloading the VS Code window leaves it running.
 *
 * `watchTrainingRun` follows a run, started here or found on disk by another window: new metrics.jsonl
 * lines become progress events (read incrementally), cancel signals the process group (SIGTERM, then
 * SIGKILL after a grace period), and when the process is gone without the trainer having finalized
 * run.json (SIGKILL, a crash, an error before training) the run is marked failed (or cancelled, if asked
 * to stop) with the exit code or signal when known and the log's tail (or the trainer's own one-line
 * `pbc_trainer: error: ...`), atomically, so no dead run says "running" forever.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../dataset/writeFileAtomic';
import { runDatasetJob } from '../workers/datasetJobs';
import { MetricsTailer } from './MetricsTailer';
import { applyMetrics, readLaunchRecord, RunDirectoryReader, runFolderName, trainerAlive, type LaunchRecord, type MetricsRecord, type RunSummary } from './runDirectory';
import { TrainingRunError } from './TrainingRunError';

export const TRAINING_MODES = ['pbc', 'mpc', 'sc', 'pointdetr'] as const;
export type TrainingMode = (typeof TRAINING_MODES)[number];
/** The student detector (`pbc_trainer detector`, issue 15): trained on boxes + pseudo-boxes, not a point->box teacher. */
export const DETECTOR_MODE = 'detector' as const;
export type RunMode = TrainingMode | typeof DETECTOR_MODE;
/** Which pseudo-boxes a detector run trains on: accepted + edited, also pending, or none (boxes only). */
export type DetectorPseudo = 'accepted' | 'all' | 'none';
export type TrainingDevice = 'auto' | 'cpu' | 'cuda';

export interface TrainingRunOptions {
  /** The `*.pointbox.json` dataset file (image paths are relative to its folder), read from disk: save it first. */
  dataset: string;
  /** Parent folder of run folders; the run goes to `<runsRoot>/<UTC time>-<mode>` unless `runDir` is given. */
  runsRoot: string;
  runDir?: string;
  /** The folder holding the `pbc_trainer` package (the repository's / extension's models/). */
  modelsDir: string;
  /** Interpreter; empty or missing: defaultPython(). */
  python?: string;
  mode?: RunMode;
  /** Detector runs: which pseudo-boxes to train on (default accepted); 'all' exports pending ones too. */
  pseudo?: DetectorPseudo;
  epochs?: number;
  imageSize?: number;
  batch?: number;
  device?: TrainingDevice;
  /** Fine-tune from this model's weights: `--init <file>` (a model.onnx is resolved by the trainer to the checkpoint beside it). */
  init?: string;
  /** More trainer flags, appended last (pointbox.training.extraArgs). */
  extraArgs?: readonly string[];
  /** SIGTERM -> SIGKILL delay on cancel. */
  graceMs?: number;
  /** metrics.jsonl / process poll interval. */
  pollMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: TrainingProgress) => void;
  env?: NodeJS.ProcessEnv;
}

export interface WatchOptions {
  graceMs?: number;
  pollMs?: number;
  /** Aborting it cancels the run (as `cancel()`). */
  signal?: AbortSignal;
  onProgress?: (p: TrainingProgress) => void;
  /** The trainer process when this process started it (its exit code is then known exactly). */
  child?: ChildProcess;
  /** The child's spawn error, if it had one (launchTrainingRun listens from the start). */
  spawnError?: () => Error | undefined;
}

export interface TrainingProgress {
  record: MetricsRecord;
  /** The live summary after this record (status 'running'). */
  summary: RunSummary;
}

export interface TrainingRun {
  dir: string;
  pid: number;
  argv: string[];
  /** The summary when watching began (for an attached run: what was done before). */
  summary: RunSummary;
  /** Resolves with the final summary (completed, failed or cancelled), or the live one after `detach()`; never rejects. */
  done: Promise<RunSummary>;
  /** SIGTERM to the trainer's process group now (the trainer marks the run cancelled), SIGKILL after graceMs if it is still there. */
  cancel(): void;
  /** Stops watching (the window closes); the trainer goes on. */
  detach(): void;
}

/** Debian's python (where python3-torch lives) when present; a pyenv/venv `python3` on PATH may lack torch. */
export function defaultPython(): string {
  if (process.platform === 'win32') return 'python';
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** The models/ folder holding pbc_trainer, searched upwards from `from` (dist/ in the bundle, src/core/training from source). */
export function findModelsDir(from: string): string | undefined {
  let d = resolve(from);
  for (;;) {
    if (existsSync(join(d, 'models', 'pbc_trainer', '__main__.py'))) return join(d, 'models');
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

const INSTALL_HINT = 'Install PyTorch for it (Debian/Ubuntu: sudo apt-get install python3-torch python3-pil python3-numpy; elsewhere: pip install torch pillow numpy) or set pointbox.training.pythonPath to a python that has it.';

/**
 * Checks that `python` runs and imports what the trainer needs. Throws TrainingRunError naming the
 * interpreter and what to install. Returns torch's version.
 */
export function checkPython(python: string, modelsDir: string, env: NodeJS.ProcessEnv = process.env, extraModules: readonly string[] = []): Promise<string> {
  if (!existsSync(join(modelsDir, 'pbc_trainer', '__main__.py'))) {
    return Promise.reject(new TrainingRunError(`the PBC trainer is missing: ${join(modelsDir, 'pbc_trainer')} does not exist`, 'trainer'));
  }
  return new Promise((res, rej) => {
    let out = '';
    let child: ChildProcess;
    try {
      child = spawn(python, ['-c', `import ${['torch', 'numpy', 'PIL', ...extraModules].join(', ')}; print(torch.__version__)`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      rej(new TrainingRunError(`python interpreter "${python}" cannot be started (${e instanceof Error ? e.message : String(e)}). ${INSTALL_HINT}`, 'python'));
      return;
    }
    // Our own timer, not spawn's `timeout`: that one is never cleared when the spawn itself fails (ENOENT)
    // and kept the caller's event loop alive for its whole length.
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', () => clearTimeout(timer));
    child.on('error', () => clearTimeout(timer));
    child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
    child.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? 'not found' : e.code === 'EACCES' ? 'not executable' : e.message;
      rej(new TrainingRunError(`python interpreter "${python}" ${why}. ${INSTALL_HINT}`, 'python'));
    });
    child.on('close', (code, sig) => {
      if (code === 0) { res(out.trim().split('\n').pop() ?? ''); return; }
      const last = out.trim().split('\n').filter(Boolean).pop() ?? `exit ${code ?? sig}`;
      rej(new TrainingRunError(`python interpreter "${python}" cannot import ${['torch', 'numpy', 'PIL', ...extraModules].join(', ')} (${last}). ${INSTALL_HINT}${extraModules.includes('torchvision') ? ' The detector also needs torchvision (Debian: python3-torchvision; elsewhere: pip install torchvision).' : ''}`, 'python'));
    });
  });
}

/** Trainer argv after the interpreter. */
export function trainerArgs(o: TrainingRunOptions, runDir: string): string[] {
  const a = o.mode === DETECTOR_MODE
    ? ['-m', 'pbc_trainer', 'detector', '--data', join(runDir, 'data'), '--out', runDir, '--pseudo', o.pseudo ?? 'accepted']
    : ['-m', 'pbc_trainer', 'train', '--data', join(runDir, 'data'), '--out', runDir, '--mode', o.mode ?? 'pbc'];
  if (o.epochs !== undefined) a.push('--epochs', String(o.epochs));
  if (o.imageSize !== undefined) a.push('--image-size', String(o.imageSize));
  if (o.batch !== undefined) a.push('--batch', String(o.batch));
  a.push('--device', o.device ?? 'auto');
  if (o.init) a.push('--init', o.init);
  a.push(...(o.extraArgs ?? []));
  return a;
}

/** The last lines of a log (only its last 8 KiB is read: train.log can be many MB). */
async function tailOf(file: string, lines = 15): Promise<string> {
  try {
    const fh = await fsp.open(file, 'r');
    try {
      const size = (await fh.stat()).size;
      const b = Buffer.alloc(Math.min(8192, size));
      await fh.read(b, 0, b.length, size - b.length);
      return b.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally { await fh.close(); }
  } catch {
    return '';
  }
}

/** The trainer's own one-line refusal (`pbc_trainer: error: ...`, exit code 2: a bad option, an init model that does not fit). */
export function trainerErrorLine(logTail: string): string | undefined {
  const lines = logTail.split('\n').filter((l) => /^pbc_trainer: error: /.test(l.trim()));
  return lines.at(-1)?.trim();
}

/**
 * Marks a run whose process is gone failed/cancelled unless the trainer already finalized run.json.
 * Keeps whatever run.json held (spec, data, versions) and adds status, error and finished.
 */
export async function finalizeDeadRun(runDir: string, status: 'failed' | 'cancelled', error: string, fallback: Record<string, unknown> = {}): Promise<boolean> {
  const file = join(runDir, 'run.json');
  let run: Record<string, unknown> = { ...fallback };
  try {
    const cur = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
    if (cur.status === 'completed' || cur.status === 'failed' || cur.status === 'cancelled') return false;
    run = { ...fallback, ...cur };
  } catch { /* absent or unreadable: replace it with what we know */ }
  run.status = status;
  run.error = error;
  run.finished = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  run.finalized_by = 'pointbox';
  await writeFileAtomic(file, JSON.stringify(run, null, 2));
  return true;
}

/** Writes run.json only if the trainer has not written one yet (a hard link of a temp file: atomic, never overwrites). */
async function writeRunJsonIfAbsent(runDir: string, run: Record<string, unknown>): Promise<void> {
  const tmp = join(runDir, `.run.json.${process.pid}.tmp`);
  await fsp.writeFile(tmp, JSON.stringify(run, null, 2));
  try { await fsp.link(tmp, join(runDir, 'run.json')); } catch { /* the trainer was first: its run.json wins */ }
  await fsp.unlink(tmp).catch(() => undefined);
}

/**
 * Starts a run. Rejects (with TrainingRunError, before any run folder exists) when the interpreter or
 * the trainer cannot be used, or the dataset cannot be exported (then the half-made folder is removed).
 */
export async function launchTrainingRun(o: TrainingRunOptions): Promise<TrainingRun> {
  const python = o.python?.trim() || defaultPython();
  const modelsDir = resolve(o.modelsDir);
  const env: NodeJS.ProcessEnv = {
    ...(o.env ?? process.env),
    // models/ on the path, so `-m pbc_trainer` works whatever the cwd; unbuffered so train.log is live.
    PYTHONPATH: [modelsDir, (o.env ?? process.env).PYTHONPATH].filter(Boolean).join(delimiter),
    PYTHONUNBUFFERED: '1',
  };
  await checkPython(python, modelsDir, env, o.mode === DETECTOR_MODE ? ['torchvision'] : []);
  if (o.signal?.aborted) throw new TrainingRunError('cancelled before the run started', 'trainer');
  if (o.init !== undefined && !existsSync(o.init)) throw new TrainingRunError(`the model to start from does not exist: ${o.init}`, 'trainer');

  const mode = o.mode ?? 'pbc';
  const runDir = resolve(o.runDir ?? join(o.runsRoot, runFolderName(mode)));
  if (existsSync(join(runDir, 'run.json'))) throw new TrainingRunError(`${runDir} already holds a run`, 'trainer');
  const madeDir = !existsSync(runDir);
  mkdirSync(runDir, { recursive: true });
  try {
    // In the dataset job worker: the export writes thousands of records and links, never on this thread.
    // A detector trained on pending pseudo-boxes needs them in the export (only reviewed ones by default).
    const pseudoBoxes = mode === DETECTOR_MODE && o.pseudo === 'all' ? { pseudoBoxes: 'all' as const } : {};
    const r = await runDatasetJob({ type: 'export', dataset: resolve(o.dataset), out: join(runDir, 'data'), layout: 'pbc', ...pseudoBoxes }, { signal: o.signal });
    const box = r.files.find((f) => f.subset === 'train_box' || f.file.endsWith('instances_train_box.json'));
    if (box && box.images === 0) throw new TrainingRunError(`${o.dataset} has no box-level train images: the trainer needs some (split it with the PBC protocol first)`, 'dataset');
  } catch (e) {
    if (madeDir) rmSync(runDir, { recursive: true, force: true });
    if (e instanceof TrainingRunError) throw e;
    throw new TrainingRunError(`cannot export ${o.dataset} for training: ${e instanceof Error ? e.message : String(e)}`, 'export');
  }

  const args = trainerArgs({ ...o, mode }, runDir);
  const logFile = join(runDir, 'train.log');
  await fsp.appendFile(logFile, `# pointbox: ${new Date().toISOString()} ${python} ${args.join(' ')} (cwd ${modelsDir})\n`);
  // Its own process group (POSIX), its output straight into train.log: it outlives this process (the
  // window), and cancel reaches anything it started (a shell wrapper, loader workers).
  const group = process.platform !== 'win32';
  const log = await fsp.open(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(python, args, { cwd: modelsDir, env, stdio: ['ignore', log.fd, log.fd], detached: group });
  } finally {
    await log.close(); // the child has its own copies of the descriptor
  }
  child.unref();
  // Listen at once: a spawn error must not go unhandled, and an exit is read from exitCode/signalCode later.
  let spawnError: Error | undefined;
  child.on('error', (e) => { spawnError = e; });
  const started = new Date().toISOString();
  if (child.pid !== undefined) {
    const launch: LaunchRecord = {
      pid: child.pid, ...(group ? { pgid: child.pid } : {}), host: hostname(), started, python, argv: [python, ...args],
      ...(o.init ? { init: o.init } : {}), launcher: 'pointbox',
    };
    await writeFileAtomic(join(runDir, 'launch.json'), JSON.stringify(launch, null, 2) + '\n');
    // Until Python is up and the trainer writes its own run.json, the run is visible (and cancellable) from any window.
    await writeRunJsonIfAbsent(runDir, { status: 'running', pid: child.pid, started: started.replace(/\.\d{3}Z$/, 'Z'), spec: { mode, epochs: o.epochs, ...(o.init ? { init: o.init } : {}) }, argv: [python, ...args], written_by: 'pointbox' });
  }
  return watchTrainingRun(runDir, { ...o, child, spawnError: () => spawnError });
}

/**
 * Follows a run directory whose trainer is (or was) running: progress, cancel, and the final summary.
 * Works for a run started by this process (pass `child`) and for one found on disk (a window that was
 * reloaded, another window, the CLI): the process is then watched through its launch record's pid.
 */
export async function watchTrainingRun(dir: string, o: WatchOptions = {}): Promise<TrainingRun> {
  const launch = readLaunchRecord(dir);
  const reader = new RunDirectoryReader();
  const first = await reader.read(dir);
  const pid = o.child?.pid ?? launch?.pid ?? first.pid ?? -1;
  const pgid = launch?.pgid;
  const local = !launch || launch.host === hostname();
  const argv = launch?.argv ?? [];
  const live: RunSummary = { ...first, status: 'running', ap50History: [...first.ap50History] };

  // Metrics: what is already there is the starting state; only lines written from now on are progress events.
  const tailer = new MetricsTailer(join(dir, 'metrics.jsonl'));
  const fold = (records: MetricsRecord[], emit: boolean) => {
    for (const record of records) {
      applyMetrics(live, [record]);
      if (emit) { try { o.onProgress?.({ record, summary: { ...live, ap50History: [...live.ap50History] } }); } catch { /* a listener's bug is not the run's */ } }
    }
  };
  const reset = () => Object.assign(live, { epochsDone: 0, ap50History: [], lastAp50: undefined, bestAp50: undefined, lastTrainLoss: undefined });
  { reset(); const t = await tailer.pollAsync(); fold(t.records, false); }
  const pollMetrics = async () => { const t = await tailer.pollAsync(); if (t.restarted) reset(); fold(t.records, true); };

  // A child's exit is read from the ChildProcess itself: it may have exited before this function listened.
  const child = o.child;
  const spawnErr = () => o.spawnError?.();
  const exited = () => !!child && (child.exitCode !== null || child.signalCode !== null || !!spawnErr());
  const exitOf = () => (child && exited() ? { code: child.exitCode, signal: child.signalCode } : undefined);
  const alive = () => (child ? !exited() : pid > 0 && local && trainerAlive(pid, launch?.started));

  const signalRun = (sig: NodeJS.Signals) => {
    try {
      if (pgid !== undefined) process.kill(-pgid, sig);
      else if (o.child) o.child.kill(sig);
      else if (pid > 0) process.kill(pid, sig);
    } catch { /* already gone */ }
  };
  let cancelRequested = false;
  let killTimer: NodeJS.Timeout | undefined;
  const cancel = () => {
    if (cancelRequested || !alive()) return;
    if (!local) throw new TrainingRunError(`${dir} runs on ${launch?.host}: cancel it there`, 'trainer');
    cancelRequested = true;
    signalRun('SIGTERM');
    killTimer = setTimeout(() => { if (alive()) signalRun('SIGKILL'); }, o.graceMs ?? 10_000);
  };
  o.signal?.addEventListener('abort', cancel, { once: true });

  let detached = false;
  let wake: (() => void) | undefined;
  const detach = () => { detached = true; wake?.(); };
  const done = (async (): Promise<RunSummary> => {
    // Poll until the process is gone (or, for a run on another host, until run.json is final).
    for (;;) {
      await new Promise<void>((r) => { wake = r; setTimeout(r, o.pollMs ?? 500); });
      if (detached) break;
      await pollMetrics().catch(() => undefined);
      if (child ? exited() : !local ? ['completed', 'failed', 'cancelled'].includes((await reader.read(dir)).status) : !alive()) break;
    }
    if (killTimer) clearTimeout(killTimer);
    o.signal?.removeEventListener('abort', cancel);
    if (detached) return { ...live };
    await pollMetrics().catch(() => undefined);
    if (local) {
      const logFile = join(dir, 'train.log');
      const exit = exitOf();
      const spawnError = spawnErr();
      const how = spawnError ? `could not start: ${spawnError.message}` : exit?.signal ? `was killed by ${exit.signal}` : exit ? `exited with code ${exit.code}` : `(pid ${pid}) is gone`;
      if (o.child) await fsp.appendFile(logFile, `\n# pointbox: trainer ${how}${cancelRequested ? ' (cancel requested)' : ''}\n`).catch(() => undefined);
      const after = await reader.read(dir);
      if (after.status !== 'completed' && after.status !== 'failed' && after.status !== 'cancelled') {
        const tail = await tailOf(logFile);
        const own = trainerErrorLine(tail);
        const status = cancelRequested ? 'cancelled' : 'failed';
        // The trainer's own one-line refusal says it best; otherwise how it ended and the end of its log.
        const error = own ?? `trainer ${how}${cancelRequested ? ' after cancel' : ''}${tail ? `; last lines of train.log:\n${tail}` : ''}`;
        await finalizeDeadRun(dir, status, error, { spec: { mode: first.mode, epochs: first.epochsTotal }, argv }).catch(() => undefined);
      }
    }
    const final = await new RunDirectoryReader().read(dir);
    // The trainer's own one-line refusal (exit 2: a bad option, an --init model that does not fit) is the
    // clearest message; run.json has the exception's text.
    if (final.status === 'failed' && local) {
      const own = trainerErrorLine(await tailOf(join(dir, 'train.log'), 40));
      if (own) final.error = own;
    }
    return final;
  })();

  return { dir, pid, argv, summary: first, done, cancel, detach };
}
