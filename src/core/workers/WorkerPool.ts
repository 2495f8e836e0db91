/**
 * The one pool of worker_threads in PointBox (inference preprocessing, the phantom generator, dataset
 * import/export jobs), so the extension host's main thread and the CLI's never run heavy work themselves.
 *
 * - A task is one message (with transferable buffers) and its reply is the worker's next message; each
 *   worker runs one task at a time. Workers start on demand, up to `size`, and idle ones are unref'd (an
 *   idle pool keeps no process alive).
 * - A worker that dies is never reused: when it was busy its task fails with WorkerError 'WORKER_DIED'
 *   (an out-of-memory death says so, with the heap limit), and the next task gets a fresh worker; when it
 *   was idle it is simply dropped and replaced when work comes.
 * - A worker that dies before its entry module has loaded (the bundle is missing or broken) is a start
 *   failure: the task is not posted until the worker is ready, so it is retried on a fresh worker, but
 *   after `maxStartFailures` in a row the pool gives up with 'START_FAILED' naming the script and the
 *   error, for every queued and later task: no respawn loop.
 * - Per-task deadline ('TIMEOUT') and AbortSignal ('ABORTED', name 'AbortError'): a running task's worker
 *   is terminated (a hung codec can't hang a batch), a queued task is dropped when it is aborted.
 * - `maxHeapMb` caps each worker's V8 heap (typed arrays and WASM memory are outside it).
 */
import type { Worker } from 'node:worker_threads';
import { cpus } from 'node:os';
import { basename } from 'node:path';
import { poolWorkerEnv, startWorker, WORKER_READY } from './workerScripts';

export type WorkerErrorCode = 'ABORTED' | 'TIMEOUT' | 'WORKER_DIED' | 'START_FAILED' | 'CLOSED';

/** Why a pool task failed without an answer from its worker. Aborts are named 'AbortError', as DOM aborts are. */
export class WorkerError extends Error {
  constructor(readonly code: WorkerErrorCode, message: string) {
    super(message);
    this.name = code === 'ABORTED' ? 'AbortError' : 'WorkerError';
  }
}

export interface WorkerPoolOptions {
  /** Workers at most (default: cores, at most 8). */
  size?: number;
  /** Default per-task deadline in ms (default 60 s). */
  timeoutMs?: number;
  /** V8 old-generation heap cap per worker in MB (default: Node's). */
  maxHeapMb?: number;
  /** Worker environment (default: poolWorkerEnv(size), which splits the J2K decoder threads between workers). */
  env?: NodeJS.ProcessEnv;
  /** Start failures in a row before the pool gives up (default 3). */
  maxStartFailures?: number;
}

export interface RunOptions { timeoutMs?: number; signal?: AbortSignal }

interface Task<Req, Res> {
  msg: Req;
  transfer: ArrayBuffer[];
  timeoutMs: number;
  signal?: AbortSignal;
  resolve: (r: Res) => void;
  reject: (e: Error) => void;
  onAbort?: () => void;
}

interface Slot<Req, Res> {
  worker: Worker;
  ready: boolean;
  task?: Task<Req, Res>;
  timer?: NodeJS.Timeout;
  /** Set when we terminate it ourselves: its exit is expected. */
  retired?: boolean;
  lastError?: Error;
}

export class WorkerPool<Req, Res> {
  readonly size: number;
  private readonly slots: Slot<Req, Res>[] = [];
  private readonly queue: Task<Req, Res>[] = [];
  private readonly timeoutMs: number;
  private readonly maxHeapMb: number | undefined;
  private readonly env: NodeJS.ProcessEnv;
  private readonly maxStartFailures: number;
  private startFailures = 0;
  private broken: WorkerError | undefined;
  private closed = false;
  /** Workers that died or were terminated (timeout, abort) and had to be replaced: for tests and diagnostics. */
  restarts = 0;

  constructor(private readonly script: string, sizeOrOptions: number | WorkerPoolOptions = {}) {
    const o = typeof sizeOrOptions === 'number' ? { size: sizeOrOptions } : sizeOrOptions;
    this.size = Math.max(1, Math.floor(o.size ?? Math.min(cpus().length, 8)));
    this.timeoutMs = o.timeoutMs ?? 60_000;
    this.maxHeapMb = o.maxHeapMb;
    this.env = o.env ?? poolWorkerEnv(this.size);
    this.maxStartFailures = Math.max(1, o.maxStartFailures ?? 3);
  }

  /** Workers alive now (started or starting). */
  get workers(): number { return this.slots.length; }

  run(msg: Req, transfer: ArrayBuffer[] = [], opts: RunOptions = {}): Promise<Res> {
    if (this.closed) return Promise.reject(new WorkerError('CLOSED', 'worker pool is closed'));
    if (this.broken) return Promise.reject(this.broken);
    if (opts.signal?.aborted) return Promise.reject(new WorkerError('ABORTED', 'cancelled'));
    return new Promise<Res>((resolve, reject) => {
      const task: Task<Req, Res> = { msg, transfer, timeoutMs: opts.timeoutMs ?? this.timeoutMs, signal: opts.signal, resolve, reject };
      if (opts.signal) {
        task.onAbort = () => this.abort(task);
        opts.signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.queue.push(task);
      this.pump();
    });
  }

  private spawn(): Slot<Req, Res> {
    const resourceLimits = this.maxHeapMb ? { maxOldGenerationSizeMb: this.maxHeapMb } : undefined;
    const worker = startWorker(this.script, { env: this.env, ...(resourceLimits ? { resourceLimits } : {}) }, true);
    const slot: Slot<Req, Res> = { worker, ready: false };
    worker.on('message', (m: unknown) => this.onMessage(slot, m));
    worker.on('error', (e: Error) => { slot.lastError = e; });
    worker.on('exit', (code: number) => this.onExit(slot, code));
    // Started for a waiting task: it keeps the process alive until it is ready (then idle workers are unref'd).
    this.slots.push(slot);
    return slot;
  }

  private pump(): void {
    while (this.queue.length && !this.closed && !this.broken) {
      const slot = this.slots.find((s) => s.ready && !s.task && !s.retired);
      if (!slot) {
        // Start another worker unless enough are already starting for the tasks waiting.
        const starting = this.slots.filter((s) => !s.ready && !s.retired).length;
        if (this.slots.length < this.size && starting < this.queue.length) { this.spawn(); continue; }
        return;
      }
      const task = this.queue.shift()!;
      this.execute(slot, task);
    }
  }

  private execute(slot: Slot<Req, Res>, task: Task<Req, Res>): void {
    slot.task = task;
    slot.worker.ref(); // keep the process alive while work is in flight
    slot.timer = setTimeout(() => this.failRunning(slot, new WorkerError('TIMEOUT', `worker task took longer than ${task.timeoutMs} ms (${this.name})`)), task.timeoutMs);
    try {
      slot.worker.postMessage(task.msg, task.transfer);
    } catch (e) {
      // Not cloneable: the task's fault, not the worker's.
      this.release(slot);
      task.reject(e instanceof Error ? e : new Error(String(e)));
      this.pump();
    }
  }

  /** Detaches the slot's task (timer, abort listener) and marks the worker idle; returns the task. */
  private release(slot: Slot<Req, Res>): Task<Req, Res> | undefined {
    const task = slot.task;
    if (slot.timer) clearTimeout(slot.timer);
    slot.task = undefined; slot.timer = undefined;
    if (task?.onAbort) task.signal?.removeEventListener('abort', task.onAbort);
    if (!slot.retired) slot.worker.unref();
    return task;
  }

  private onMessage(slot: Slot<Req, Res>, m: unknown): void {
    if (m === WORKER_READY) {
      slot.ready = true;
      this.startFailures = 0;
      this.pump();
      if (!slot.task && !slot.retired) slot.worker.unref();
      return;
    }
    if (!slot.task || slot.retired) return;
    const task = this.release(slot)!;
    task.resolve(m as Res);
    this.pump();
  }

  private remove(slot: Slot<Req, Res>): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  private onExit(slot: Slot<Req, Res>, code: number): void {
    this.remove(slot);
    if (slot.retired) return;
    const task = this.release(slot);
    if (!slot.ready) {
      // The entry never loaded: retry on a fresh worker (the task was not posted yet), a bounded number of times.
      this.startFailures++;
      const why = slot.lastError ? slot.lastError.message : `exit code ${code}`;
      if (this.startFailures >= this.maxStartFailures) {
        this.broken = new WorkerError('START_FAILED', `worker ${this.name} could not start (${this.startFailures} tries): ${why}`);
        for (const t of this.queue.splice(0)) { if (t.onAbort) t.signal?.removeEventListener('abort', t.onAbort); t.reject(this.broken); }
        return;
      }
      this.pump();
      return;
    }
    this.restarts++;
    if (task) {
      const e = slot.lastError as (Error & { code?: string }) | undefined;
      const why = e?.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? `ran out of memory${this.maxHeapMb ? ` (heap limit ${this.maxHeapMb} MB)` : ''}`
        : e ? `failed: ${e.message}` : `exited with code ${code}`;
      task.reject(new WorkerError('WORKER_DIED', `worker ${this.name} ${why}`));
    }
    this.pump();
  }

  /** Ends the running task with `err` and terminates its worker (it may be stuck); the next task gets a fresh one. */
  private failRunning(slot: Slot<Req, Res>, err: WorkerError): void {
    const task = this.release(slot);
    this.retire(slot);
    this.restarts++;
    task?.reject(err);
    this.pump();
  }

  private retire(slot: Slot<Req, Res>): Promise<number> {
    slot.retired = true;
    this.remove(slot);
    return slot.worker.terminate();
  }

  private abort(task: Task<Req, Res>): void {
    const err = new WorkerError('ABORTED', 'cancelled');
    const qi = this.queue.indexOf(task);
    if (qi >= 0) { this.queue.splice(qi, 1); task.reject(err); return; }
    const slot = this.slots.find((s) => s.task === task);
    if (slot) this.failRunning(slot, err);
  }

  private get name(): string { return basename(this.script); }

  /** Rejects queued and running tasks ('CLOSED') and terminates the workers. */
  async close(): Promise<void> {
    this.closed = true;
    const err = new WorkerError('CLOSED', 'worker pool closed');
    for (const t of this.queue.splice(0)) { if (t.onAbort) t.signal?.removeEventListener('abort', t.onAbort); t.reject(err); }
    const slots = this.slots.slice();
    for (const s of slots) this.release(s)?.reject(err);
    await Promise.all(slots.map((s) => this.retire(s)));
  }
}
