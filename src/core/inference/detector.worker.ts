/**
 * Worker thread that owns a detector's onnxruntime session and decodes the images it detects on, so neither
 * the full-resolution pixels nor onnxruntime's run (which computes on the calling thread) touch the
 * extension host's thread: the viewer's detector layer and the benchmark's evaluation go through here.
 */
import { parentPort } from 'node:worker_threads';
import { DetectorModel } from './DetectorModel';
import { InferenceError } from './InferenceError';
import { ImagingError } from '../imaging/ImagingError';
import type { DetectorReply, DetectorRequest } from './detectorMessages';
import type { DevicePreference } from './executionProviders';

let model: DetectorModel | undefined;

parentPort?.on('message', async (req: DetectorRequest) => {
  let reply: DetectorReply;
  try {
    if (req.type === 'load') {
      const attempts: { ep: DevicePreference; error?: string }[] = [];
      await model?.dispose();
      model = await DetectorModel.load(req.file, { device: req.device, threads: req.threads, onProviderAttempt: (ep, error) => attempts.push({ ep, error }) });
      reply = { id: req.id, ok: true, type: 'loaded', info: model.info, executionProvider: model.executionProvider, skipped: model.skipped, attempts };
    } else if (req.type === 'detectFile') {
      if (!model) throw new Error('no detector loaded in the detector worker');
      reply = { id: req.id, ok: true, type: 'detected', result: await model.detectFile(req.file) };
    } else {
      await model?.dispose();
      model = undefined;
      reply = { id: req.id, ok: true, type: 'disposed' };
    }
  } catch (e) {
    const code = e instanceof InferenceError ? e.code : e instanceof ImagingError ? e.code : undefined;
    reply = { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e), ...(code ? { code } : {}), ...(e instanceof InferenceError ? { file: e.file } : {}) };
  }
  parentPort!.postMessage(reply);
});
