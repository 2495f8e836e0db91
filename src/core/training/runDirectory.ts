/**
 * Reads a PBC trainer run directory (models/README.md, "Run directory"): run.json + metrics.jsonl.
 * The trainer writes both while we read, so a half-written last line of metrics.jsonl is normal (it is
 * left for the next read), and a malformed file becomes a run with an error naming the file: one broken
 * run must never stop the Runs view from listing the others.
 */
import { existsSync, readFileSync, readdirSync, statSync, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { MetricsTailer } from './MetricsTailer';

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
  /** Process group (PointBox starts the trainer as a group leader: cancel signals the whole group). */
  pgid?: number;
  /** The machine the trainer runs on (a run folder on a shared disk may belong to another machine). */
  host?: string;
  /** The model the run was fine-tuned from (`--init`), when it was. */
  init?: string;
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
 * PointBox's launch record, `<run>/launch.json`, written when it starts a trainer. run.json belongs to the
 * trainer (which rewrites it whole), so what only the launcher knows lives beside it: the process group to
 * signal, the host whose pids these are, the start time, the interpreter and argv, the init model.
 */
export interface LaunchRecord {
  pid: number;
  pgid?: number;
  host: string;
  started: string;
  python?: string;
  argv?: string[];
  init?: string;
  launcher?: string;
}

export function parseLaunchRecord(text: string): LaunchRecord | undefined {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string') return undefined;
    return o as unknown as LaunchRecord;
  } catch { return undefined; }
}

export function readLaunchRecord(dir: string): LaunchRecord | undefined {
  try { return parseLaunchRecord(readFileSync(join(dir, 'launch.json'), 'utf8')); } catch { return undefined; }
}

/** The fields run.json gives (or the error reading it), into `s`. */
function applyRunJson(s: RunSummary, runJson: string, text: string | undefined): void {
  if (text === undefined) { s.error = `${runJson} does not exist (yet)`; return; }
  try {
    const run = JSON.parse(text) as Record<string, any>;
    const st = String(run.status ?? '');
    s.status = (['running', 'completed', 'failed', 'cancelled'].includes(st) ? st : 'unknown') as RunStatus;
    const spec = (run.spec ?? {}) as Record<string, unknown>;
    if (typeof spec.mode === 'string') s.mode = spec.mode;
    s.epochsTotal = num(spec.epochs);
    if (typeof spec.init === 'string' && spec.init) s.init = spec.init;
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
}

/** The launch record's fields that run.json does not carry (or did not yet: the trainer writes it once Python is up). */
function applyLaunch(s: RunSummary, l: LaunchRecord | undefined): void {
  if (!l) return;
  s.pid ??= l.pid;
  s.pgid = l.pgid;
  s.host = l.host;
  s.started ??= l.started;
  if (l.init && !s.init) s.init = l.init;
}

/**
 * The summary of one run directory. Never throws for a broken run: the problem goes into `error`
 * (naming the file) and `status` stays what could be read, or 'unknown'.
 */
export function readRunDirectory(dir: string): RunSummary {
  const s: RunSummary = { dir, name: basename(dir), status: 'unknown', epochsDone: 0, ap50History: [], problems: [] };
  const runJson = join(dir, 'run.json');
  let text: string | undefined;
  try { text = readFileSync(runJson, 'utf8'); } catch { /* absent */ }
  applyRunJson(s, runJson, text);
  applyLaunch(s, readLaunchRecord(dir));
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
  return stripUndefined(s);
}

/**
 * Whether a trainer process is alive on this machine. With `startedIso` (the launch record's start time)
 * and Linux's /proc, a process that got the same pid later (pid reuse after a reboot or a long time) is
 * told apart by its start time.
 */
export function trainerAlive(pid: number, startedIso?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: exists, owned by someone else
  }
  const started = startedIso ? Date.parse(startedIso) : NaN;
  if (!Number.isFinite(started)) return true;
  try {
    // Field 22 of /proc/<pid>/stat: start time in clock ticks after boot (USER_HZ, 100 on Linux).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return true;
    return Math.abs(btime * 1000 + ticks * 10 - started) < 60_000;
  } catch {
    return true; // no /proc (macOS), or it just exited: the signal said it exists
  }
}

/** Whether this machine can see the run's processes (its launch record names this host, or names none). */
export function isLocalRun(s: Pick<RunSummary, 'host'>): boolean {
  return s.host === undefined || s.host === hostname();
}

/**
 * A run whose run.json still says "running" although its single-process trainer is gone from this
 * machine and nothing was written for `quietMs`: killed with the machine, or started by an old PointBox
 * that piped its output through a window that closed. Multi-process runs (torchrun, Slurm) and runs of
 * another host may live elsewhere, so they are never called stale.
 */
export function isStaleRun(s: RunSummary, now = Date.now(), quietMs = 60_000, alive: (pid: number, started?: string) => boolean = trainerAlive): boolean {
  if (s.status !== 'running' || s.pid === undefined || (s.worldSize ?? 1) > 1 || !isLocalRun(s)) return false;
  if (s.updatedMs !== undefined && now - s.updatedMs < quietMs) return false;
  return !alive(s.pid, s.started);
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

/** listRunDirectories without blocking: for the extension host. */
export async function listRunDirectoriesAsync(root: string): Promise<string[]> {
  let names: string[];
  try { names = await fsp.readdir(root); } catch { return []; }
  const found = await Promise.all(names.map(async (n) => {
    const dir = join(root, n);
    try {
      const st = await fsp.stat(dir);
      if (!st.isDirectory()) return undefined;
      const has = await Promise.all(['run.json', 'metrics.jsonl', 'train.log', 'launch.json'].map((f) => fsp.access(join(dir, f)).then(() => true, () => false)));
      if (!has.some(Boolean)) return undefined;
      return { dir, t: timeFromRunName(n) ?? (st.birthtimeMs || st.mtimeMs) };
    } catch { return undefined; } // vanished while listing
  }));
  return found.filter((d): d is { dir: string; t: number } => !!d).sort((a, b) => b.t - a.t || b.dir.localeCompare(a.dir)).map((d) => d.dir);
}

interface CachedRun {
  runJsonKey?: string;
  runJsonText?: string;
  launch?: LaunchRecord;
  launchKey?: string;
  tailer: MetricsTailer;
  /** Metrics folded so far, as a running run sees them (train-line images/s included). */
  live: RunSummary;
  /** The last epoch line's images/s (what a finished run shows when run.json has no `final`). */
  epochIps?: number;
  problems: string[];
}

/**
 * Reads run directories for a view that refreshes often (the Runs view: every 2 s while a run is live),
 * without re-reading what did not change: run.json and launch.json are re-read only when their size or
 * mtime moved, and metrics.jsonl is followed by a MetricsTailer (only the bytes appended since the last
 * read; a truncated or replaced file starts over). All reads are asynchronous. The summaries are those
 * readRunDirectory gives.
 */
export class RunDirectoryReader {
  private readonly cache = new Map<string, CachedRun>();

  async read(dir: string): Promise<RunSummary> {
    let c = this.cache.get(dir);
    if (!c) {
      c = { tailer: new MetricsTailer(join(dir, 'metrics.jsonl')), live: emptySummary(dir, 'running'), problems: [] };
      this.cache.set(dir, c);
    }
    const runJson = join(dir, 'run.json');
    const key = await statKey(runJson);
    if (key !== c.runJsonKey) {
      c.runJsonKey = key;
      c.runJsonText = key === undefined ? undefined : await fsp.readFile(runJson, 'utf8').catch(() => undefined);
    }
    const lk = await statKey(join(dir, 'launch.json'));
    if (lk !== c.launchKey) {
      c.launchKey = lk;
      c.launch = lk === undefined ? undefined : parseLaunchRecord(await fsp.readFile(join(dir, 'launch.json'), 'utf8').catch(() => ''));
    }
    try {
      const t = await c.tailer.pollAsync();
      if (t.restarted) { c.live = emptySummary(dir, 'running'); c.epochIps = undefined; c.problems = []; }
      applyMetrics(c.live, t.records);
      for (const r of t.records) if (r.type === 'epoch' && typeof r.images_per_s === 'number') c.epochIps = r.images_per_s;
      if (c.problems.length < 5) c.problems.push(...t.problems.slice(0, 5 - c.problems.length));
    } catch (e) {
      c.problems = [`${join(dir, 'metrics.jsonl')}: ${e instanceof Error ? e.message : String(e)}`];
    }
    const s = emptySummary(dir, 'unknown');
    applyRunJson(s, runJson, c.runJsonText);
    applyLaunch(s, c.launch);
    const fin = { best: s.bestAp50, last: s.lastAp50, ips: s.imagesPerS };
    Object.assign(s, { epochsDone: c.live.epochsDone, ap50History: [...c.live.ap50History], step: c.live.step, lastTrainLoss: c.live.lastTrainLoss, lastAp50: c.live.lastAp50, bestAp50: c.live.bestAp50 });
    s.imagesPerS = s.status === 'running' ? c.live.imagesPerS : c.epochIps;
    // run.json's `final` is the trainer's own verdict; metrics only fill what it does not say.
    if (fin.best !== undefined) s.bestAp50 = fin.best;
    if (fin.last !== undefined) s.lastAp50 = fin.last;
    if (fin.ips !== undefined) s.imagesPerS = fin.ips;
    s.problems = [...c.problems];
    const [onnx, mj] = await Promise.all([statKey(join(dir, 'model.onnx')), statKey(join(dir, 'metrics.jsonl'))]);
    if (onnx !== undefined) s.modelOnnx = join(dir, 'model.onnx');
    for (const k of [key, mj]) if (k !== undefined) s.updatedMs = Math.max(s.updatedMs ?? 0, Number(k.split(':')[1]));
    return stripUndefined(s);
  }

  /** Forget runs no longer listed. */
  retain(dirs: Iterable<string>): void {
    const keep = new Set(dirs);
    for (const d of this.cache.keys()) if (!keep.has(d)) this.cache.delete(d);
  }
}

function emptySummary(dir: string, status: RunStatus): RunSummary {
  return { dir, name: basename(dir), status, epochsDone: 0, ap50History: [], problems: [] };
}

/** `size:mtimeMs` of a file, or undefined when it is absent. */
async function statKey(file: string): Promise<string | undefined> {
  try { const st = await fsp.stat(file); return `${st.size}:${st.mtimeMs}`; } catch { return undefined; }
}

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
