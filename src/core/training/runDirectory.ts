/**
 * Reads a PBC trainer run directory (models/README.md, "Run directory"): run.json + metrics.jsonl.
 * The trainer writes both while we read, so a half-written last line of metrics.jsonl is normal (it is
 * left for the next read), and a malformed file becomes a run with an error naming the file: one broken
 * run must never stop the Runs view from listing the others.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'unknown';

/** One line of metrics.jsonl. Only the fields PointBox reads are typed; the rest are kept. */
export interface MetricsRecord {
  type: 'train' | 'eval' | 'epoch';
  epoch: number;
  step: number;
  total?: number;
  ap50?: number | null;
  images_per_s?: number;
  [key: string]: unknown;
}

export interface RunSummary {
  dir: string;
  /** The folder name (`<timestamp>-<mode>` for runs PointBox starts). */
  name: string;
  status: RunStatus;
  mode?: string;
  /** Epochs with an `epoch` line in metrics.jsonl. */
  epochsDone: number;
  epochsTotal?: number;
  step?: number;
  totalSteps?: number;
  /** The `total` loss of the last train line. */
  lastTrainLoss?: number;
  /** Val AP50 as a fraction in [0, 1] (the trainer's unit); the UI shows x100. */
  lastAp50?: number;
  bestAp50?: number;
  /** Every eval line's AP50, in order (for the sparkline). */
  ap50History: number[];
  imagesPerS?: number;
  device?: string;
  /** The trainer's pid and world size from run.json (rank 0's process). */
  pid?: number;
  worldSize?: number;
  /** Newest modification time of run.json / metrics.jsonl (ms). */
  updatedMs?: number;
  started?: string;
  finished?: string;
  /** run.json's `error`, or why the run directory could not be read. */
  error?: string;
  /** Absolute path of model.onnx when it exists. */
  modelOnnx?: string;
  /** Malformed metrics lines skipped (file:line and why), at most a few. */
  problems: string[];
}

export interface ParsedMetrics {
  records: MetricsRecord[];
  /** Bytes of the input that formed complete lines (the rest is a partial line still being written). */
  consumed: number;
  problems: string[];
}

const TYPES = new Set(['train', 'eval', 'epoch']);

/**
 * Parses complete lines of metrics.jsonl text. The part after the last newline is not consumed: the
 * trainer may be in the middle of writing it. `firstLine` numbers lines for the problem messages.
 */
export function parseMetricsText(text: string, file = 'metrics.jsonl', firstLine = 1): ParsedMetrics {
  const records: MetricsRecord[] = [];
  const problems: string[] = [];
  const end = text.lastIndexOf('\n');
  if (end < 0) return { records, consumed: 0, problems };
  const lines = text.slice(0, end).split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (!o || typeof o !== 'object' || !TYPES.has(String(o.type))) throw new Error(`no type train/eval/epoch`);
      records.push({ ...o, epoch: Number(o.epoch ?? 0), step: Number(o.step ?? 0) } as MetricsRecord);
    } catch (e) {
      problems.push(`${file}:${firstLine + i}: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  return { records, consumed: Buffer.byteLength(text.slice(0, end + 1), 'utf8'), problems };
}

/** Folds metrics records into the summary fields they feed. Used by the reader and by live progress. */
export function applyMetrics(s: RunSummary, records: readonly MetricsRecord[]): void {
  for (const r of records) {
    if (typeof r.step === 'number' && Number.isFinite(r.step)) s.step = Math.max(s.step ?? 0, r.step);
    if (r.type === 'train') {
      if (typeof r.total === 'number') s.lastTrainLoss = r.total;
      if (typeof r.images_per_s === 'number' && s.status === 'running') s.imagesPerS = r.images_per_s;
    } else if (r.type === 'eval') {
      if (typeof r.ap50 === 'number') {
        s.lastAp50 = r.ap50;
        s.ap50History.push(r.ap50);
        s.bestAp50 = Math.max(s.bestAp50 ?? -Infinity, r.ap50);
      }
    } else if (r.type === 'epoch') {
      s.epochsDone = Math.max(s.epochsDone, r.epoch + 1);
      if (typeof r.images_per_s === 'number') s.imagesPerS = r.images_per_s;
    }
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * The summary of one run directory. Never throws for a broken run: the problem goes into `error`
 * (naming the file) and `status` stays what could be read, or 'unknown'.
 */
export function readRunDirectory(dir: string): RunSummary {
  const s: RunSummary = { dir, name: basename(dir), status: 'unknown', epochsDone: 0, ap50History: [], problems: [] };
  const runJson = join(dir, 'run.json');
  if (existsSync(runJson)) {
    try {
      const run = JSON.parse(readFileSync(runJson, 'utf8')) as Record<string, any>;
      const st = String(run.status ?? '');
      s.status = (['running', 'completed', 'failed', 'cancelled'].includes(st) ? st : 'unknown') as RunStatus;
      const spec = (run.spec ?? {}) as Record<string, unknown>;
      if (typeof spec.mode === 'string') s.mode = spec.mode;
      s.epochsTotal = num(spec.epochs);
      s.totalSteps = num(run.total_steps);
      if (typeof run.device === 'string') s.device = run.device;
      s.pid = num(run.pid);
      s.worldSize = num(run.world_size);
      if (typeof run.started === 'string') s.started = run.started;
      if (typeof run.finished === 'string') s.finished = run.finished;
      if (typeof run.error === 'string' && run.error) s.error = run.error;
      const fin = (run.final ?? {}) as Record<string, unknown>;
      s.bestAp50 = num(fin.best_ap50);
      s.lastAp50 = num(fin.ap50);
      s.imagesPerS = num(fin.images_per_s);
    } catch (e) {
      s.error = `${runJson}: ${e instanceof Error ? e.message : String(e)}`;
    }
  } else {
    s.error = `${runJson} does not exist (yet)`;
  }
  const metricsFile = join(dir, 'metrics.jsonl');
  if (existsSync(metricsFile)) {
    try {
      const m = parseMetricsText(readFileSync(metricsFile, 'utf8'), metricsFile);
      const fin = { best: s.bestAp50, last: s.lastAp50, ips: s.imagesPerS };
      applyMetrics(s, m.records);
      // run.json's `final` is the trainer's own verdict; metrics only fill what it does not say.
      if (fin.best !== undefined) s.bestAp50 = fin.best;
      if (fin.last !== undefined) s.lastAp50 = fin.last;
      if (fin.ips !== undefined) s.imagesPerS = fin.ips;
      s.problems.push(...m.problems.slice(0, 5));
    } catch (e) {
      s.problems.push(`${metricsFile}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const onnx = join(dir, 'model.onnx');
  if (existsSync(onnx)) s.modelOnnx = onnx;
  for (const f of [runJson, metricsFile]) {
    try { s.updatedMs = Math.max(s.updatedMs ?? 0, statSync(f).mtimeMs); } catch { /* absent */ }
  }
  return s;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * A run whose run.json still says "running" although its single-process trainer is gone from this
 * machine and nothing was written for `quietMs`: killed with its VS Code window, the machine rebooted.
 * Multi-process runs (torchrun, Slurm) may live on other nodes, so they are never called stale.
 */
export function isStaleRun(s: RunSummary, now = Date.now(), quietMs = 60_000, alive: (pid: number) => boolean = pidAlive): boolean {
  if (s.status !== 'running' || s.pid === undefined || (s.worldSize ?? 1) > 1) return false;
  if (s.updatedMs !== undefined && now - s.updatedMs < quietMs) return false;
  return !alive(s.pid);
}

/** Run directories (those with a run.json or metrics.jsonl) directly under `root`, newest first. */
export function listRunDirectories(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const dirs: { dir: string; t: number }[] = [];
  for (const n of names) {
    const dir = join(root, n);
    try {
      if (!statSync(dir).isDirectory()) continue;
      if (!existsSync(join(dir, 'run.json')) && !existsSync(join(dir, 'metrics.jsonl')) && !existsSync(join(dir, 'train.log'))) continue;
      const st = statSync(dir);
      dirs.push({ dir, t: timeFromRunName(n) ?? (st.birthtimeMs || st.mtimeMs) });
    } catch { /* vanished while listing */ }
  }
  return dirs.sort((a, b) => b.t - a.t || b.dir.localeCompare(a.dir)).map((d) => d.dir);
}

/** `20261125T220102Z-pbc` (what runFolderName makes) -> its time in ms; other names -> undefined. */
export function timeFromRunName(name: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})?Z/.exec(name);
  if (!m) return undefined;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? +m[7] : 0);
}

/** A new run's folder name: UTC time (sortable, ms so two quick starts differ) and the mode. */
export function runFolderName(mode: string, now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace('.', '')}-${mode}`;
}
