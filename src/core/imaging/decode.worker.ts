/**
 * worker_threads entry for DecodePool (built to dist/workers/decode.js). Decodes one file per message and
 * posts the image back with its pixel buffers transferred (zero-copy), or a serialized typed error.
 */
import { parentPort } from 'node:worker_threads';
import { decodeImageFile, toDisplay8 } from './index';
import { imagingErrorToData } from './ImagingError';
import type { DecodeRequest, DecodeResponse } from './DecodePool';

parentPort?.on('message', async (req: DecodeRequest) => {
  try {
    const img = await decodeImageFile(req.bytes ?? req.path!, { frame: req.frame, fileName: req.fileName, maxSamples: req.maxSamples, noHeader: req.noHeader, ownsInput: true });
    const display = req.display ? toDisplay8(img, req.display === true ? {} : req.display) : undefined;
    const transfer: ArrayBuffer[] = [img.data.buffer as ArrayBuffer];
    if (display && display.buffer !== img.data.buffer) transfer.push(display.buffer as ArrayBuffer);
    const res: DecodeResponse = { id: req.id, ok: true, image: img, display };
    parentPort!.postMessage(res, transfer);
  } catch (e) {
    const res: DecodeResponse = { id: req.id, ok: false, error: imagingErrorToData(e, req.fileName ?? req.path) };
    parentPort!.postMessage(res);
  }
});
