/**
 * Reduced first images for the viewer (issue 13): a file is decoded and reduced in a worker thread, never on
 * the extension host's own thread. One worker: a preview is wanted for the file on screen only, and a
 * second decode of a 15 MB image at once would only compete with the first.
 */
import { join } from 'node:path';
import { WorkerPool } from './WorkerPool';
import { resolveWorkerScript } from './workerScripts';
import type { ReducedImage } from '../imaging/reducedImage';

export interface ViewerPreviewJob { file: string; maxSide: number }
export type ViewerPreviewReply = ({ ok: true; ms: number } & ReducedImage) | { ok: false; message: string };

let pool: WorkerPool<ViewerPreviewJob, ViewerPreviewReply> | undefined;

/**
 * The file decoded and reduced to at most `maxSide` pixels on its longer side; rejects with the decoder's
 * message. `signal`: the viewer moved on, so a queued decode is dropped (a running one stops with its worker).
 */
export async function viewerPreview(file: string, maxSide: number, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ReducedImage & { ms: number }> {
  pool ??= new WorkerPool<ViewerPreviewJob, ViewerPreviewReply>(resolveWorkerScript('viewerPreview', join(__dirname, 'viewerPreview.worker.ts')), {
    size: 1, timeoutMs: 30_000, maxHeapMb: 2048,
  });
  const r = await pool.run({ file, maxSide }, [], { timeoutMs: opts.timeoutMs, signal: opts.signal });
  if (!r.ok) throw new Error(r.message);
  return r;
}

/** Terminates the preview worker (deactivate, tests). */
export async function closeViewerPreviews(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.close();
}
