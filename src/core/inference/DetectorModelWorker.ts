/**
 * A detector whose onnxruntime session (and image decoding) lives in a worker thread (detector.worker.ts),
 * with DetectorModel's interface. A crashed worker fails the pending calls with a message instead of hanging them.
 */
import type { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { resolveWorkerScript, startWorker } from '../workers/workerScripts';
import { InferenceError, type InferenceErrorCode } from './InferenceError';
import type { DetectorReply, DetectorRequest } from './detectorMessages';
import type { DevicePreference } from './executionProviders';
import type { DetectorModelInfo } from './detectorContract';
import type { FileDetections, ImageDetector } from './DetectorModel';
import type { LoadOptions } from './PointBoxModel';

type Pending = { resolve: (r: DetectorReply) => void; reject: (e: Error) => void };

const INFERENCE_CODES = new Set(['model-unreadable', 'model-contract', 'provider-unavailable', 'class-mismatch', 'image-failed', 'cancelled']);

function toError(r: Extract<DetectorReply, { ok: false }>): Error {
  return r.code && INFERENCE_CODES.has(r.code) ? new InferenceError(r.code as InferenceErrorCode, r.error, r.file) : new Error(r.error);
}

export class DetectorModelWorker implements ImageDetector {
  private nextId = 2;
  private constructor(
    private readonly worker: Worker,
    private readonly pending: Map<number, Pending>,
    readonly info: DetectorModelInfo,
    readonly executionProvider: DevicePreference,
    readonly skipped: { ep: DevicePreference; reason: string }[],
  ) {}

  private static call(worker: Worker, pending: Map<number, Pending>, req: DetectorRequest): Promise<DetectorReply> {
    return new Promise((resolve, reject) => {
      pending.set(req.id, { resolve, reject });
      worker.postMessage(req);
    });
  }

  static async load(file: string, opts: LoadOptions = {}): Promise<DetectorModelWorker> {
    const worker = startWorker(resolveWorkerScript('detector', join(__dirname, 'detector.worker.ts')));
    const pending = new Map<number, Pending>();
    const failAll = (msg: string) => { for (const p of pending.values()) p.reject(new Error(msg)); pending.clear(); };
    worker.on('message', (r: DetectorReply) => { const p = pending.get(r.id); if (p) { pending.delete(r.id); p.resolve(r); } });
    worker.on('error', (e) => failAll(`detector worker failed: ${e.message}`));
    worker.on('exit', (code) => failAll(`detector worker exited (code ${code})`));
    const r = await DetectorModelWorker.call(worker, pending, { id: 1, type: 'load', file, device: opts.device ?? 'auto', threads: opts.threads }).catch(async (e) => { await worker.terminate(); throw e; });
    if (!r.ok) { await worker.terminate(); throw toError(r); }
    if (r.type !== 'loaded') throw new Error('detector worker: unexpected reply to load');
    for (const a of r.attempts) opts.onProviderAttempt?.(a.ep, a.error);
    worker.unref();
    return new DetectorModelWorker(worker, pending, r.info, r.executionProvider, r.skipped);
  }

  async detectFile(file: string): Promise<FileDetections> {
    this.worker.ref();
    try {
      const r = await DetectorModelWorker.call(this.worker, this.pending, { id: this.nextId++, type: 'detectFile', file });
      if (!r.ok) throw toError(r);
      if (r.type !== 'detected') throw new Error('detector worker: unexpected reply to detectFile');
      return r.result;
    } finally {
      if (this.pending.size === 0) this.worker.unref();
    }
  }

  async dispose(): Promise<void> {
    try {
      await Promise.race([DetectorModelWorker.call(this.worker, this.pending, { id: this.nextId++, type: 'dispose' }), new Promise((r) => setTimeout(r, 2000))]);
    } finally {
      await this.worker.terminate();
    }
  }
}
