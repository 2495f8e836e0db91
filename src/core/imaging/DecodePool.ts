/**
 * A pool of worker_threads that decode images off the extension host's main thread. Pixels come back as
 * transferred ArrayBuffers. Each task has a deadline: a codec stuck on a malicious file gets its worker
 * terminated (and replaced) and the task fails with TIMEOUT, so one bad file never hangs a batch.
 * Tasks take an AbortSignal; aborting a running task also terminates its worker.
 */
import type { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { findWorkerScript, poolWorkerEnv, startWorker } from '../workers/workerScripts';
import { cpus } from 'node:os';
import { ImagingError, imagingErrorFromData, type ImagingErrorData } from './ImagingError';
import type { DecodedImage } from './DecodedImage';
import type { DisplayOptions } from './greyPipeline';

export interface DecodeRequest {
  id: number;
  path?: string;
  bytes?: Uint8Array;
  fileName?: string;
  frame?: number;
  maxSamples?: number;
  noHeader?: boolean;
  /** Also compute the 8-bit display image in the worker. */
  display?: boolean | DisplayOptions;
}

export type DecodeResponse =
  | { id: number; ok: true; image: DecodedImage; display?: Uint8Array }
  | { id: number; ok: false; error: ImagingErrorData };

export interface DecodeTaskOptions {
  frame?: number;
  signal?: AbortSignal;
  /** Per-task deadline (default: the pool's). */
  timeoutMs?: number;
  display?: boolean | DisplayOptions;
  noHeader?: boolean;
  maxSamples?: number;
  /** Transfer (detach) the given bytes to the worker instead of copying them. */
  transferBytes?: boolean;
}

export interface DecodePoolOptions {
  /** Number of workers (default: number of CPUs, at least 1). */
  size?: number;
  /** Default per-task deadline in ms (default 30 s). */
  taskTimeoutMs?: number;
  /** Worker script; default dist/workers/decode.js next to the bundle, or the .ts source under tsx. */
  workerPath?: string;
  /** V8 heap cap per worker in MB (default 1024). Typed arrays and WASM memory are outside it. */
  maxHeapMb?: number;
}

export interface DecodeResult { image: DecodedImage; display?: Uint8Array }

/** One file's outcome in a batch: a bad file is reported, never thrown, so the batch goes on. */
export type BatchItem = { source: string; ok: true; result: DecodeResult } | { source: string; ok: false; error: ImagingError };

export interface BatchOptions extends Omit<DecodeTaskOptions, 'transferBytes'> {
  /** Called after each file with (done, total, item). */
  onProgress?: (done: number, total: number, item: BatchItem) => void;
  /** Files in flight at once (default 2 x pool size): bounds memory for huge batches. */
  concurrency?: number;
}

interface Task {
  req: DecodeRequest;
  transfer: ArrayBuffer[];
  timeoutMs: number;
  signal?: AbortSignal;
  resolve: (r: DecodeResult) => void;
  reject: (e: Error) => void;
  onAbort?: () => void;
}

interface Slot { worker: Worker; task?: Task; timer?: ReturnType<typeof setTimeout> }

/** Worker source for a .ts entry (tests, tsx): register tsx's CommonJS hook inside the worker, then load it. */
function defaultWorker(): { path: string } {
  const source = join(typeof __dirname === 'string' ? __dirname : process.cwd(), 'decode.worker.ts');
  return { path: findWorkerScript('decode', source) ?? source };
}

export class DecodePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly worker: { path: string };
  private readonly maxHeapMb: number;
  private readonly env: NodeJS.ProcessEnv;
  /** Workers replaced after a timeout, abort or crash (for tests and diagnostics). */
  restarts = 0;

  constructor(opts: DecodePoolOptions = {}) {
    this.timeoutMs = opts.taskTimeoutMs ?? 30_000;
    this.worker = opts.workerPath ? { path: opts.workerPath } : defaultWorker();
    this.maxHeapMb = opts.maxHeapMb ?? 1024;
    const size = Math.max(1, opts.size ?? cpus().length);
    this.env = poolWorkerEnv(size);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  get size(): number { return this.slots.length; }

  private spawn(): Slot {
    const worker = startWorker(this.worker.path, { resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb }, env: this.env });
    const slot: Slot = { worker };
    worker.on('message', (res: DecodeResponse) => this.onMessage(slot, res));
    worker.on('error', (err) => this.onWorkerDeath(slot, new ImagingError('WORKER_FAILED', `decode worker failed: ${err.message}`, slot.task?.req.fileName)));
    worker.on('exit', (code) => { if (slot.task) this.onWorkerDeath(slot, new ImagingError('WORKER_FAILED', `decode worker exited (${code})`, slot.task.req.fileName)); });
    worker.unref();
    return slot;
  }

  /** Decode a file path or bytes in a worker. Rejects with an ImagingError (TIMEOUT, ABORTED, codes from the decoder). */
  decode(source: string | Uint8Array, opts: DecodeTaskOptions = {}): Promise<DecodeResult> {
    if (this.closed) return Promise.reject(new ImagingError('ABORTED', 'decode pool is closed'));
    const fileName = typeof source === 'string' ? source.split(/[\\/]/).pop() : undefined;
    const req: DecodeRequest = { id: this.nextId++, frame: opts.frame, display: opts.display, noHeader: opts.noHeader, maxSamples: opts.maxSamples, fileName };
    const transfer: ArrayBuffer[] = [];
    if (typeof source === 'string') req.path = source;
    else if (opts.transferBytes && source.byteOffset === 0 && source.byteLength === source.buffer.byteLength) { req.bytes = source; transfer.push(source.buffer as ArrayBuffer); }
    else req.bytes = source.slice();
    if (req.bytes && transfer.length === 0) transfer.push(req.bytes.buffer as ArrayBuffer);
    return new Promise<DecodeResult>((resolve, reject) => {
      if (opts.signal?.aborted) { reject(new ImagingError('ABORTED', 'decode aborted', fileName)); return; }
      const task: Task = { req, transfer, timeoutMs: opts.timeoutMs ?? this.timeoutMs, signal: opts.signal, resolve, reject };
      if (opts.signal) {
        task.onAbort = () => this.abort(task);
        opts.signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.queue.push(task);
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.task || this.queue.length === 0) continue;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref(); // keep the process alive while work is in flight
      slot.timer = setTimeout(() => this.fail(slot, new ImagingError('TIMEOUT', `decode took longer than ${task.timeoutMs} ms`, task.req.fileName), true), task.timeoutMs);
      slot.worker.postMessage(task.req, task.transfer);
    }
  }

  private finish(slot: Slot): Task | undefined {
    const task = slot.task;
    if (slot.timer) clearTimeout(slot.timer);
    slot.task = undefined; slot.timer = undefined;
    slot.worker.unref();
    if (task?.onAbort) task.signal?.removeEventListener('abort', task.onAbort);
    return task;
  }

  private onMessage(slot: Slot, res: DecodeResponse): void {
    if (!slot.task || slot.task.req.id !== res.id) return;
    const task = this.finish(slot)!;
    if (res.ok) task.resolve({ image: res.image, display: res.display });
    else task.reject(imagingErrorFromData(res.error));
    this.pump();
  }

  /** Fail the slot's task; when `restart`, the worker may be stuck: terminate it and start a fresh one. */
  private fail(slot: Slot, err: Error, restart: boolean): void {
    const task = this.finish(slot);
    if (restart) this.replace(slot);
    task?.reject(err);
    this.pump();
  }

  private onWorkerDeath(slot: Slot, err: Error): void {
    if (!this.slots.includes(slot)) return;
    this.fail(slot, err, true);
  }

  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    slot.worker.removeAllListeners();
    slot.worker.on('error', () => {});
    void slot.worker.terminate();
    this.restarts++;
    if (!this.closed) this.slots[i] = this.spawn(); else this.slots.splice(i, 1);
  }

  private abort(task: Task): void {
    const qi = this.queue.indexOf(task);
    const err = new ImagingError('ABORTED', 'decode aborted', task.req.fileName);
    if (qi >= 0) { this.queue.splice(qi, 1); task.reject(err); return; }
    const slot = this.slots.find((s) => s.task === task);
    if (slot) this.fail(slot, err, true);
  }

  /**
   * Decode many files, in order of completion reported through onProgress and returned in input order.
   * Cancelling the signal fails the files not yet done with ABORTED.
   */
  async decodeBatch(sources: string[], opts: BatchOptions = {}): Promise<BatchItem[]> {
    const out: BatchItem[] = new Array(sources.length);
    const limit = Math.max(1, opts.concurrency ?? this.slots.length * 2);
    let next = 0; let done = 0;
    const runOne = async (): Promise<void> => {
      while (next < sources.length) {
        const i = next++;
        const source = sources[i]!;
        let item: BatchItem;
        try {
          item = { source, ok: true, result: await this.decode(source, opts) };
        } catch (e) {
          item = { source, ok: false, error: e instanceof ImagingError ? e : new ImagingError('CODEC_ERROR', e instanceof Error ? e.message : String(e), source) };
        }
        out[i] = item;
        opts.onProgress?.(++done, sources.length, item);
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, sources.length) }, runOne));
    return out;
  }

  /** Reject queued tasks, wait for nothing, terminate the workers. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new ImagingError('ABORTED', 'decode pool closed', t.req.fileName));
    const slots = this.slots.splice(0);
    for (const s of slots) { const t = this.finish(s); t?.reject(new ImagingError('ABORTED', 'decode pool closed', t.req.fileName)); }
    await Promise.all(slots.map((s) => { s.worker.removeAllListeners(); s.worker.on('error', () => {}); return s.worker.terminate(); }));
  }
}
