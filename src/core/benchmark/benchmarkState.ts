/**
 * `<benchmark>/benchmark.json`: the spec and every step's state, rewritten atomically after each change, so a
 * benchmark survives a window reload, a crash or Ctrl-C: a resume keeps each finished step (its outputs are
 * checked on disk) and redoes or re-attaches to the rest. `runner` names the process that runs it, so a
 * second window or CLI refuses to run the same benchmark at the same time.
 */
import { existsSync, readFileSync, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../dataset/writeFileAtomic';
import { trainerAlive } from '../training/runDirectory';
import type { BenchmarkSpec, StepKind } from './benchmarkSpec';

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';
export type BenchmarkStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted';

export interface StepState {
  status: StepStatus;
  kind: StepKind;
  started?: string;
  finished?: string;
  /** Wall time of the step's last (successful) attempt. */
  seconds?: number;
  error?: string;
  /** What the step made, relative to the benchmark folder. */
  output?: string;
  /** Step-specific figures (split counts, teacher val AP50, pseudo-box quality, eval metrics). */
  result?: Record<string, unknown>;
}

export interface BenchmarkState {
  version: 1;
  spec: BenchmarkSpec;
  created: string;
  updated: string;
  status: BenchmarkStatus;
  runner?: { pid: number; host: string; started: string };
  steps: Record<string, StepState>;
  error?: string;
}

export const STATE_FILE = 'benchmark.json';

export function readBenchmarkState(dir: string): BenchmarkState | undefined {
  const f = join(dir, STATE_FILE);
  if (!existsSync(f)) return undefined;
  let s: BenchmarkState;
  try { s = JSON.parse(readFileSync(f, 'utf8')) as BenchmarkState; } catch (e) { throw new Error(`${f} is not valid JSON (${(e as Error).message})`); }
  if (s?.version !== 1 || !s.spec || typeof s.steps !== 'object') throw new Error(`${f} is not a PointBox benchmark state (version 1)`);
  return s;
}

export async function writeBenchmarkState(dir: string, s: BenchmarkState): Promise<void> {
  s.updated = new Date().toISOString();
  await writeFileAtomic(join(dir, STATE_FILE), JSON.stringify(s, null, 2) + '\n');
}

/**
 * Whether another live process runs this benchmark now (this process's own runs are tracked by the runner).
 * A benchmark whose runner is gone (a reloaded window, a killed CLI) is `interrupted`: resumable.
 */
export function otherRunner(s: BenchmarkState): string | undefined {
  const r = s.runner;
  if (!r || s.status !== 'running' || r.pid === process.pid) return undefined;
  if (r.host !== hostname()) return `it is running on ${r.host} (pid ${r.pid})`;
  return trainerAlive(r.pid, r.started) ? `it is running in process ${r.pid} (another window or a pointbox CLI)` : undefined;
}

/** The state as a reader should see it: a 'running' benchmark whose runner is gone is 'interrupted'. */
export function effectiveStatus(s: BenchmarkState): BenchmarkStatus {
  if (s.status !== 'running' || !s.runner) return s.status;
  if (s.runner.pid === process.pid) return 'running';
  if (s.runner.host !== hostname()) return 'running';
  return trainerAlive(s.runner.pid, s.runner.started) ? 'running' : 'interrupted';
}

/** Benchmark folders (holding benchmark.json) directly under `root`, newest first. */
export async function listBenchmarks(root: string): Promise<string[]> {
  let names: string[];
  try { names = await fsp.readdir(root); } catch { return []; }
  const out: string[] = [];
  for (const n of names.sort().reverse()) if (existsSync(join(root, n, STATE_FILE))) out.push(join(root, n));
  return out;
}
