/**
 * A small pool of worker_threads for CPU-heavy steps (decode, resize) so the extension host's main thread
 * never stalls. Each task is a message with transferable buffers; replies carry transferables back.
 * A task that exceeds its time limit gets its worker terminated and replaced (a hung codec can't hang a
 * batch); an aborted signal rejects a running task at once and a queued one when the pool reaches it.
 */
import type { Worker } from 'node:worker_threads';
import { cpus } from 'node:os';
import { poolWorkerEnv, startWorker } from './workerScripts';

interface Pending<R> {
  msg: unknown;
  transfer: ArrayBuffer[];
  resolve: (r: R) => void;
  reject: (e: Error) => void;
  timeoutMs: number;
  signal?: AbortSignal;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

export class WorkerPool<Req, Res> {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending<Res>[] = [];
  private closed = false;

  constructor(private readonly script: string, readonly size = Math.max(1, Math.min(cpus().length, 8))) {
    for (let i = 0; i < size; i++) this.slots.push({ worker: this.spawn(), busy: false });
  }

  private spawn(): Worker {
    const w = startWorker(this.script, { env: poolWorkerEnv(this.size) });
    w.unref();
    return w;
  }

  run(msg: Req, transfer: ArrayBuffer[] = [], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Res> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    if (opts.signal?.aborted) return Promise.reject(abortError());
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ msg, transfer, resolve, reject, timeoutMs: opts.timeoutMs ?? 60_000, signal: opts.signal });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const task = this.queue.shift();
      if (!task) return;
      if (task.signal?.aborted) { task.reject(abortError()); continue; }
      this.execute(slot, task);
    }
  }

  private execute(slot: Slot, task: Pending<Res>): void {
    slot.busy = true;
    const w = slot.worker;
    w.ref();
    let done = false;
    const finish = () => {
      done = true;
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      task.signal?.removeEventListener('abort', onAbort);
      w.unref();
      slot.busy = false;
      this.pump();
    };
    const replace = () => {
      void w.terminate();
      slot.worker = this.spawn();
    };
    const onMessage = (r: Res) => { if (!done) { finish(); task.resolve(r); } };
    const onError = (e: Error) => { if (!done) { replace(); finish(); task.reject(e); } };
    const onExit = (code: number) => { if (!done) { slot.worker = this.spawn(); finish(); task.reject(new Error(`worker exited with code ${code}`)); } };
    const onAbort = () => { if (!done) { replace(); finish(); task.reject(abortError()); } };
    const timer = setTimeout(() => { if (!done) { replace(); finish(); task.reject(new Error(`worker task timed out after ${task.timeoutMs} ms`)); } }, task.timeoutMs);
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    task.signal?.addEventListener('abort', onAbort, { once: true });
    w.postMessage(task.msg, task.transfer);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new Error('worker pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

function abortError(): Error {
  const e = new Error('cancelled');
  e.name = 'AbortError';
  return e;
}
