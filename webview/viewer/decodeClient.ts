/**
 * The viewer's side of the decode web worker (webview/decodeWorker/main.ts, the same imaging core as the
 * extension host). The worker script is fetched and started from a blob: URL because a webview's resource
 * URL is on another origin than the webview document (VS Code serves it through its own scheme/service
 * worker), and `new Worker(crossOriginUrl)` is refused; CSP allows `worker-src blob:` and `connect-src`
 * to the webview's own resources only.
 */
import type { DecodedImage } from '../../src/core/imaging/DecodedImage';

export interface DecodeFailure { code: string; message: string; file?: string }

type WorkerOut =
  | { type: 'ready' }
  | { type: 'decoded'; id: number; image: DecodedImage }
  | { type: 'error'; id: number; error: DecodeFailure };

export class DecodeClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (i: DecodedImage) => void; reject: (e: DecodeFailure) => void }>();

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (ev: MessageEvent<WorkerOut>) => {
      const m = ev.data;
      if (m.type === 'ready') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.type === 'decoded') p.resolve(m.image); else p.reject(m.error);
    };
    // A worker that dies (out of memory on a huge frame) must not leave a decode waiting forever.
    worker.onerror = (ev) => this.failAll({ code: 'WORKER_FAILED', message: ev.message || 'the decode worker stopped' });
  }

  static async start(workerUrl: string, wasmBaseUrl: string): Promise<DecodeClient> {
    const res = await fetch(workerUrl);
    if (!res.ok) throw new Error(`cannot load the decode worker (${res.status} ${res.statusText})`);
    const blobUrl = URL.createObjectURL(new Blob([await res.text()], { type: 'text/javascript' }));
    const worker = new Worker(blobUrl, { type: 'module', name: 'pointbox-decode' });
    const ready = new Promise<void>((resolve, reject) => {
      const onMsg = (ev: MessageEvent<WorkerOut>) => { if (ev.data.type === 'ready') { worker.removeEventListener('message', onMsg); resolve(); } };
      worker.addEventListener('message', onMsg);
      worker.addEventListener('error', (ev) => reject(new Error(ev.message || 'the decode worker failed to start')), { once: true });
    });
    const client = new DecodeClient(worker);
    worker.postMessage({ type: 'init', wasmBaseUrl });
    await ready;
    return client;
  }

  /** Decodes one frame; `bytes` is transferred to the worker (and the pixels transferred back). */
  decode(bytes: ArrayBuffer, fileName: string, frame?: number): Promise<DecodedImage> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'decode', id, bytes, fileName, frame }, [bytes]);
    });
  }

  private failAll(e: DecodeFailure): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
