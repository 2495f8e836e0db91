/**
 * Dataset jobs (import, export, validate) on a WorkerPool of one worker: the caller's thread (the extension
 * host's) posts paths and options and gets a summary back, never parsing a CSV or writing 26,684 records
 * itself. One worker: jobs are I/O heavy and big, so running two at once would only double peak memory.
 */
import { join } from 'node:path';
import { WorkerPool } from './WorkerPool';
import { resolveWorkerScript } from './workerScripts';
import type { DatasetJob, DatasetJobReply, DatasetJobResult } from './datasetJobMessages';

let pool: WorkerPool<DatasetJob, DatasetJobReply> | undefined;

/** A failed job: the worker's error with its name and code (e.g. DatasetError 'missing-column'), message unchanged. */
export class DatasetJobError extends Error {
  constructor(name: string, message: string, readonly code?: string) {
    super(message);
    this.name = name;
  }
}

export async function runDatasetJob<J extends DatasetJob>(job: J, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<DatasetJobResult<J>> {
  pool ??= new WorkerPool<DatasetJob, DatasetJobReply>(resolveWorkerScript('datasetJob', join(__dirname, 'datasetJob.worker.ts')), {
    size: 1, timeoutMs: 30 * 60_000, maxHeapMb: 4096,
  });
  const r = await pool.run(job, [], { timeoutMs: opts.timeoutMs, signal: opts.signal });
  if (!r.ok) throw new DatasetJobError(r.name, r.message, r.code);
  return r.result as DatasetJobResult<J>;
}

/** Terminates the job worker (deactivate, tests). */
export async function closeDatasetJobs(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.close();
}
