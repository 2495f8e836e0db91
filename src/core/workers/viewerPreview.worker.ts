/**
 * Worker-thread entry for the viewer's reduced first image (built to dist/workers/viewerPreview.js): decodes
 * a big file and box-reduces it (reducedImage.ts) off the extension host's thread; the reply transfers the
 * reduced pixels.
 */
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { decodeImageFile } from '../imaging';
import { reduceImage } from '../imaging/reducedImage';
import type { ViewerPreviewJob, ViewerPreviewReply } from './viewerPreviews';

parentPort?.on('message', async (job: ViewerPreviewJob) => {
  let reply: ViewerPreviewReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const t0 = performance.now();
    const img = await decodeImageFile(job.file);
    const r = reduceImage(img, job.maxSide);
    reply = { ok: true, ...r, ms: performance.now() - t0 };
    transfer.push(r.image.data.buffer as ArrayBuffer);
  } catch (e) {
    reply = { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  parentPort!.postMessage(reply, transfer);
});
