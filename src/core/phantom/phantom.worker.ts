import { parentPort } from 'node:worker_threads';
import { renderPhantomFile } from './renderPhantomFile';
import type { PhantomFileTask } from './renderPhantomFile';

/**
 * Worker-thread entry (built to dist/workers/phantom.js; run from source through tsx in tests). Receives
 * batches of tasks, renders and writes each file, and answers with the ground truth of each.
 */
parentPort?.on('message', (msg: { tasks: PhantomFileTask[] }) => {
  try {
    parentPort!.postMessage({ results: msg.tasks.map(renderPhantomFile) });
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
  }
});
