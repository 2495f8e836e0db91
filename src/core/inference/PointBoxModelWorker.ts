/**
 * A point->box model whose onnxruntime session lives in a worker thread (see inference.worker.ts), with the
 * same interface as PointBoxModel. Batches go over as transferred buffers; a crashed worker fails the
 * pending calls with a message instead of hanging them.
 */
import type { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { resolveWorkerScript, startWorker } from '../workers/workerScripts';
import { InferenceError } from './InferenceError';
import type { InferenceReply, InferenceRequest } from './inferenceMessages';
import type { DevicePreference } from './executionProviders';
import type { PointBoxModelInfo } from './modelContract';
import type { ModelBatch, ModelOutput, PointToBoxModel } from './PointToBoxModel';
import type { LoadOptions } from './PointBoxModel';

type Pending = { resolve: (r: InferenceReply) => void; reject: (e: Error) => void };

export class PointBoxModelWorker implements PointToBoxModel {
  readonly kind = 'onnx' as const;
  private constructor(
    private readonly worker: Worker,
    private readonly pending: Map<number, Pending>,
    private nextId: { n: number },
    readonly info: PointBoxModelInfo,
    readonly executionProvider: DevicePreference,
    readonly skipped: { ep: DevicePreference; reason: string }[],
  ) {}

  private static spawn(): { worker: Worker; pending: Map<number, Pending> } {
    const script = resolveWorkerScript('inference', join(__dirname, 'inference.worker.ts'));
    const worker = startWorker(script);
    const pending = new Map<number, Pending>();
    const failAll = (msg: string) => { for (const p of pending.values()) p.reject(new Error(msg)); pending.clear(); };
    worker.on('message', (r: InferenceReply) => { const p = pending.get(r.id); if (p) { pending.delete(r.id); p.resolve(r); } });
    worker.on('error', (e) => failAll(`inference worker failed: ${e.message}`));
    worker.on('exit', (code) => failAll(`inference worker exited (code ${code})`));
    return { worker, pending };
  }

  private static call(worker: Worker, pending: Map<number, Pending>, req: InferenceRequest, transfer: ArrayBuffer[] = []): Promise<InferenceReply> {
    return new Promise((resolve, reject) => {
      pending.set(req.id, { resolve, reject });
      worker.postMessage(req, transfer);
    });
  }

  static async load(file: string, opts: LoadOptions = {}): Promise<PointBoxModelWorker> {
    const { worker, pending } = PointBoxModelWorker.spawn();
    const r = await PointBoxModelWorker.call(worker, pending, { id: 1, type: 'load', file, device: opts.device ?? 'auto', threads: opts.threads, spinning: opts.spinning }).catch(async (e) => { await worker.terminate(); throw e; });
    if (!r.ok) {
      await worker.terminate();
      throw r.code ? new InferenceError(r.code, r.error, r.file) : new Error(r.error);
    }
    if (r.type !== 'loaded') throw new Error('inference worker: unexpected reply to load');
    for (const a of r.attempts) opts.onProviderAttempt?.(a.ep, a.error);
    worker.unref();
    return new PointBoxModelWorker(worker, pending, { n: 2 }, r.info, r.executionProvider, r.skipped);
  }

  async run(batch: ModelBatch): Promise<ModelOutput> {
    const id = this.nextId.n++;
    this.worker.ref();
    try {
      const r = await PointBoxModelWorker.call(this.worker, this.pending, { id, type: 'run', batch },
        [batch.image.buffer as ArrayBuffer, batch.pointsXY.buffer as ArrayBuffer, batch.labels.buffer as ArrayBuffer, batch.mask.buffer as ArrayBuffer]);
      if (!r.ok) throw r.code ? new InferenceError(r.code, r.error, r.file) : new Error(r.error);
      if (r.type !== 'ran') throw new Error('inference worker: unexpected reply to run');
      return r.output;
    } finally {
      if (this.pending.size === 0) this.worker.unref();
    }
  }

  async dispose(): Promise<void> {
    try {
      await Promise.race([
        PointBoxModelWorker.call(this.worker, this.pending, { id: this.nextId.n++, type: 'dispose' }),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
    } finally {
      await this.worker.terminate();
    }
  }
}
