/**
 * Worker thread that owns an onnxruntime session. onnxruntime-node's `run` computes on the calling thread,
 * so in the extension host a batch would block the event loop for its whole duration (~40 ms for 4 images
 * of the shipped model here, more for larger models or batches); in this thread it blocks nothing.
 */
import { parentPort } from 'node:worker_threads';
import { PointBoxModel } from './PointBoxModel';
import { InferenceError } from './InferenceError';
import type { InferenceReply, InferenceRequest } from './inferenceMessages';
import type { DevicePreference } from './executionProviders';

let model: PointBoxModel | undefined;

parentPort?.on('message', async (req: InferenceRequest) => {
  let reply: InferenceReply;
  const transfer: ArrayBuffer[] = [];
  try {
    if (req.type === 'load') {
      const attempts: { ep: DevicePreference; error?: string }[] = [];
      await model?.dispose();
      model = await PointBoxModel.load(req.file, { device: req.device, threads: req.threads, spinning: req.spinning, onProviderAttempt: (ep, error) => attempts.push({ ep, error }) });
      reply = { id: req.id, ok: true, type: 'loaded', info: model.info, executionProvider: model.executionProvider, skipped: model.skipped, attempts };
    } else if (req.type === 'run') {
      if (!model) throw new Error('no model loaded in the inference worker');
      const output = await model.run(req.batch);
      // Copy out of onnxruntime's tensors so the buffers can be transferred, not cloned.
      const boxes = output.boxes.slice();
      const scores = output.scores.slice();
      transfer.push(boxes.buffer as ArrayBuffer, scores.buffer as ArrayBuffer);
      reply = { id: req.id, ok: true, type: 'ran', output: { boxes, scores } };
    } else {
      await model?.dispose();
      model = undefined;
      reply = { id: req.id, ok: true, type: 'disposed' };
    }
  } catch (e) {
    reply = { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e), ...(e instanceof InferenceError ? { code: e.code, file: e.file } : {}) };
  }
  parentPort!.postMessage(reply, transfer);
});
