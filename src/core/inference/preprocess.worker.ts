/**
 * Worker thread: reads and decodes one image (DICOM/PNG/JPEG) and turns it into the model's input, so the
 * full-resolution pixels never reach the main thread; only the S x S float32 canvas comes back (transferred).
 */
import { parentPort } from 'node:worker_threads';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeImage } from '../imaging/decodeImage';
import { ImagingError } from '../imaging/ImagingError';
import { nodeImagingPlatform } from '../imaging/nodeImagingPlatform';
import { readImageFile } from '../imaging/readImageFile';
import { prepareModelImage } from './modelInput';
import type { PrepareReply, PrepareRequest } from './modelInputMessages';
import { lowerThisThreadPriority } from '../workers/threadPriority';

// Decoders yield the cores to onnxruntime (threadPriority.ts); POINTBOX_DECODER_NICE=0 keeps normal priority
// (the pipeline bench's reference).
lowerThisThreadPriority(Number(process.env.POINTBOX_DECODER_NICE ?? 10));

parentPort?.on('message', async (req: PrepareRequest) => {
  let reply: PrepareReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const t0 = performance.now();
    // Synchronous read (this is a worker thread) that also summarizes the words for the raw high-bit check.
    const { bytes, wordOr } = readImageFile(req.file);
    const t1 = performance.now();
    const img = await decodeImage(bytes, nodeImagingPlatform, { fileName: basename(req.file), ownsInput: true, wordOr, noHeader: true });
    const t2 = performance.now();
    const m = prepareModelImage(img, req.size, req.normalization);
    const t3 = performance.now();
    reply = { ok: true, data: m.data, lb: m.lb, width: img.width, height: img.height, readMs: t1 - t0, decodeMs: t2 - t1, prepareMs: t3 - t2 };
    transfer.push(m.data.buffer as ArrayBuffer);
  } catch (e) {
    reply = { ok: false, error: e instanceof Error ? e.message : String(e), ...(e instanceof ImagingError ? { code: e.code } : {}) };
  }
  parentPort!.postMessage(reply, transfer);
});
