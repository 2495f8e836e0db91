/**
 * Starts a local PBC training run: exports the dataset in PBC's layout into `<runDir>/data`, spawns
 * `<python> -m pbc_trainer train --data <runDir>/data --out <runDir> ...` with models/ on PYTHONPATH,
 * appends the trainer's stdout/stderr to `<runDir>/train.log`, turns new metrics.jsonl lines into
 * progress events, and resolves with the run's summary once the process is gone.
 *
 * The trainer owns run.json. We only write it when the trainer could not: the process died (SIGKILL,
 * crash, an error before run.json existed) and left it missing or saying "running". Then the run is
 * marked failed (or cancelled, if we asked it to stop) with the exit code/signal and the log's tail,
 * atomically, so a reader never sees a half-written file and no dead run says "running" forever.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { DatasetDocument } from '../dataset/DatasetDocument';
import { exportCoco } from '../dataset/exportCoco';
import type { DatasetFile } from '../dataset/schema';
import { writeFileAtomicSync } from '../dataset/writeFileAtomic';
import { MetricsTailer } from './MetricsTailer';
import { applyMetrics, readRunDirectory, runFolderName, type MetricsRecord, type RunSummary } from './runDirectory';
import { TrainingRunError } from './TrainingRunError';

export const TRAINING_MODES = ['pbc', 'mpc', 'sc', 'pointdetr'] as const;
export type TrainingMode = (typeof TRAINING_MODES)[number];
export type TrainingDevice = 'auto' | 'cpu' | 'cuda';

export interface TrainingRunOptions {
  /** The `*.pointbox.json` dataset file (image paths are relative to its folder). */
  dataset: string;
  /** The dataset's content when it is already in memory (the extension's open document); else read from `dataset`. */
  data?: DatasetFile;
  /** Parent folder of run folders; the run goes to `<runsRoot>/<UTC time>-<mode>` unless `runDir` is given. */
  runsRoot: string;
  runDir?: string;
  /** The folder holding the `pbc_trainer` package (the repository's / extension's models/). */
  modelsDir: string;
  /** Interpreter; empty or missing: defaultPython(). */
  python?: string;
  mode?: TrainingMode;
  epochs?: number;
  imageSize?: number;
  batch?: number;
  device?: TrainingDevice;
  /** More trainer flags, appended last (pointbox.training.extraArgs). */
  extraArgs?: readonly string[];
  /** SIGTERM -> SIGKILL delay on cancel. */
  graceMs?: number;
  /** metrics.jsonl poll interval. */
  pollMs?: number;
  signal?: AbortSignal;
  onOutput?: (text: string, stream: 'stdout' | 'stderr') => void;
  onProgress?: (p: TrainingProgress) => void;
  env?: NodeJS.ProcessEnv;
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
  /** Resolves with the final summary (completed, failed or cancelled); never rejects. */
  done: Promise<RunSummary>;
  /** SIGTERM now (the trainer marks the run cancelled), SIGKILL after graceMs if it is still there. */
  cancel(): void;
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
export function checkPython(python: string, modelsDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (!existsSync(join(modelsDir, 'pbc_trainer', '__main__.py'))) {
    return Promise.reject(new TrainingRunError(`the PBC trainer is missing: ${join(modelsDir, 'pbc_trainer')} does not exist`, 'trainer'));
  }
  return new Promise((res, rej) => {
    let out = '';
    let child: ChildProcess;
    try {
      child = spawn(python, ['-c', 'import torch, numpy, PIL; print(torch.__version__)'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
      rej(new TrainingRunError(`python interpreter "${python}" cannot import torch, numpy and PIL (${last}). ${INSTALL_HINT}`, 'python'));
    });
  });
}

/** Trainer argv after the interpreter. */
export function trainerArgs(o: TrainingRunOptions, runDir: string): string[] {
  const a = ['-m', 'pbc_trainer', 'train', '--data', join(runDir, 'data'), '--out', runDir, '--mode', o.mode ?? 'pbc'];
  if (o.epochs !== undefined) a.push('--epochs', String(o.epochs));
  if (o.imageSize !== undefined) a.push('--image-size', String(o.imageSize));
  if (o.batch !== undefined) a.push('--batch', String(o.batch));
  a.push('--device', o.device ?? 'auto');
  a.push(...(o.extraArgs ?? []));
  return a;
}

function tailOf(file: string, lines = 15): string {
  try {
    // Only the last 8 KiB is read: train.log can be many MB.
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const b = Buffer.alloc(Math.min(8192, size));
      readSync(fd, b, 0, b.length, size - b.length);
      return b.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally { closeSync(fd); }
  } catch {
    return '';
  }
}

/**
 * Marks a run whose process is gone failed/cancelled unless the trainer already finalized run.json.
 * Keeps whatever run.json held (spec, data, versions) and adds status, error and finished.
 */
export function finalizeDeadRun(runDir: string, status: 'failed' | 'cancelled', error: string, fallback: Record<string, unknown> = {}): boolean {
  const file = join(runDir, 'run.json');
  let run: Record<string, unknown> = { ...fallback };
  if (existsSync(file)) {
    try {
      const cur = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      if (cur.status === 'completed' || cur.status === 'failed' || cur.status === 'cancelled') return false;
      run = cur;
    } catch { /* unreadable: replace it with what we know */ }
  }
  run.status = status;
  run.error = error;
  run.finished = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  run.finalized_by = 'pointbox';
  writeFileAtomicSync(file, JSON.stringify(run, null, 2));
  return true;
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
  await checkPython(python, modelsDir, env);
  if (o.signal?.aborted) throw new TrainingRunError('cancelled before the run started', 'trainer');

  const mode = o.mode ?? 'pbc';
  const runDir = resolve(o.runDir ?? join(o.runsRoot, runFolderName(mode)));
  if (existsSync(join(runDir, 'run.json'))) throw new TrainingRunError(`${runDir} already holds a run`, 'trainer');
  const madeDir = !existsSync(runDir);
  mkdirSync(runDir, { recursive: true });
  try {
    const data = o.data ?? DatasetDocument.load(o.dataset).data;
    const r = exportCoco(data, { out: join(runDir, 'data'), datasetDir: dirname(resolve(o.dataset)), layout: 'pbc' });
    const box = r.files.find((f) => f.subset === 'train_box' || f.file.endsWith('instances_train_box.json'));
    if (box && box.images === 0) throw new TrainingRunError(`${o.dataset} has no box-level train images: the trainer needs some (split it with the PBC protocol first)`, 'dataset');
  } catch (e) {
    if (madeDir) rmSync(runDir, { recursive: true, force: true });
    if (e instanceof TrainingRunError) throw e;
    throw new TrainingRunError(`cannot export ${o.dataset} for training: ${e instanceof Error ? e.message : String(e)}`, 'export');
  }

  const args = trainerArgs({ ...o, mode }, runDir);
  const logFile = join(runDir, 'train.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  log.write(`# pointbox: ${new Date().toISOString()} ${python} ${args.join(' ')} (cwd ${modelsDir})\n`);
  // Its own process group on POSIX, so cancel reaches anything the trainer started (a shell wrapper,
  // loader workers) and no orphan keeps train.log's pipe open after the trainer is gone.
  const group = process.platform !== 'win32';
  const child = spawn(python, args, { cwd: modelsDir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
  const signalRun = (sig: NodeJS.Signals) => {
    try {
      if (group && child.pid) process.kill(-child.pid, sig); else child.kill(sig);
    } catch { /* already gone */ }
  };
  const pipe = (stream: 'stdout' | 'stderr') => (b: Buffer) => {
    log.write(b);
    o.onOutput?.(b.toString('utf8'), stream);
  };
  child.stdout!.on('data', pipe('stdout'));
  child.stderr!.on('data', pipe('stderr'));

  const live: RunSummary = { dir: runDir, name: runDir.split(/[\\/]/).pop() ?? runDir, status: 'running', mode, epochsDone: 0, ap50History: [], problems: [] };
  if (o.epochs !== undefined) live.epochsTotal = o.epochs;
  const tailer = new MetricsTailer(join(runDir, 'metrics.jsonl'));
  const pollOnce = () => {
    const t = tailer.poll();
    if (t.restarted) Object.assign(live, { epochsDone: 0, ap50History: [], lastAp50: undefined, bestAp50: undefined, lastTrainLoss: undefined });
    for (const record of t.records) {
      applyMetrics(live, [record]);
      try { o.onProgress?.({ record, summary: { ...live, ap50History: [...live.ap50History] } }); } catch { /* a listener's bug is not the run's */ }
    }
  };
  const timer = setInterval(pollOnce, o.pollMs ?? 500);

  let cancelRequested = false;
  let killTimer: NodeJS.Timeout | undefined;
  const cancel = () => {
    if (cancelRequested || child.exitCode !== null || child.signalCode !== null) return;
    cancelRequested = true;
    signalRun('SIGTERM');
    killTimer = setTimeout(() => { if (child.exitCode === null && child.signalCode === null) signalRun('SIGKILL'); }, o.graceMs ?? 10_000);
  };
  o.signal?.addEventListener('abort', cancel, { once: true });

  const done = new Promise<RunSummary>((res) => {
    let settled = false;
    const finish = (code: number | null, sig: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      if (killTimer) clearTimeout(killTimer);
      o.signal?.removeEventListener('abort', cancel);
      pollOnce();
      const how = spawnError ? `could not start: ${spawnError.message}` : sig ? `was killed by ${sig}` : `exited with code ${code}`;
      log.end(`\n# pointbox: trainer ${how}${cancelRequested ? ' (cancel requested)' : ''}\n`, () => {
        const after = readRunDirectory(runDir);
        if (after.status !== 'completed' && after.status !== 'failed' && after.status !== 'cancelled') {
          const tail = tailOf(logFile);
          const status = cancelRequested ? 'cancelled' : 'failed';
          const error = `trainer ${how}${cancelRequested ? ' after cancel' : ''}${tail ? `; last lines of train.log:\n${tail}` : ''}`;
          finalizeDeadRun(runDir, status, error, { spec: { mode, epochs: o.epochs }, argv: [python, ...args] });
        }
        res(readRunDirectory(runDir));
      });
    };
    child.on('error', (e) => finish(null, null, e));
    child.on('close', (code, sig) => finish(code, sig));
    // 'close' waits for the pipes; a leftover child of the trainer could hold them open. Once the trainer
    // itself has exited, give the output 2 s to drain, then finish anyway (and end its group).
    child.on('exit', (code, sig) => setTimeout(() => {
      if (settled) return;
      if (group && child.pid) { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* none left */ } }
      child.stdout?.destroy(); child.stderr?.destroy();
      finish(code, sig);
    }, 2000));
  });

  return { dir: runDir, pid: child.pid ?? -1, argv: [python, ...args], done, cancel };
}
