import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkerPool } from '../../../src/core/workers/WorkerPool';
import { poolWorkerEnv, resolveWorkerScript } from '../../../src/core/workers/workerScripts';
import { threadPriorityAvailable } from '../../../src/core/workers/threadPriority';
import { pipelineDefaults } from '../../../src/core/inference/pipelineDefaults';
import type { PrepareReply, PrepareRequest } from '../../../src/core/inference/modelInputMessages';

/** Nice value of every thread of this process (Linux: /proc/self/task/<tid>/stat, field 19). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

const script = resolveWorkerScript('preprocess', join(__dirname, '..', '..', '..', 'src', 'core', 'inference', 'preprocess.worker.ts'));
const request: PrepareRequest = { file: '/nonexistent/image.dcm', size: 64, normalization: { mean: 0.5, std: 0.25, letterbox: 'top-left' } };

test('the pseudo-label decode workers run at nice 10, only they; POINTBOX_DECODER_NICE=0 keeps normal priority', { skip: threadPriorityAvailable() ? false : 'no per-thread priority on this platform' }, async () => {
  const before = threadNices().filter((n) => n === 10).length;
  for (const [env, expected] of [[undefined, 2], [{ ...poolWorkerEnv(2), POINTBOX_DECODER_NICE: '0' }, 0]] as const) {
    const pool = new WorkerPool<PrepareRequest, PrepareReply>(script, { size: 2, ...(env ? { env } : {}) });
    try {
      // Two requests at once start both workers; a missing file is an answer too (the worker is up).
      const replies = await Promise.all([pool.run(request), pool.run(request)]);
      assert.ok(replies.every((r) => !r.ok && /image\.dcm/.test(r.error)), JSON.stringify(replies));
      // The second worker may still be starting (the first answered both): wait for it, or 2 s for none.
      const niced = () => threadNices().filter((n) => n === 10).length - before;
      const t0 = Date.now();
      while (niced() < expected && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 50));
      if (expected === 0) await new Promise((r) => setTimeout(r, 2000));
      assert.equal(niced(), expected, `threads at nice 10: ${threadNices()}`);
      assert.equal(threadNices()[0], 0, 'the main thread keeps its priority');
    } finally {
      await pool.close();
    }
  }
});

test('onnxruntime gets half the cores beside lower-priority decoders, every core otherwise', () => {
  assert.deepEqual(pipelineDefaults(2, true), { batchSize: 8, workers: 2, threads: 1 });
  assert.deepEqual(pipelineDefaults(2, false), { batchSize: 8, workers: 2, threads: 2 });
  assert.deepEqual(pipelineDefaults(16, true), { batchSize: 32, workers: 8, threads: 8 });
  assert.equal(pipelineDefaults(1, true).threads, 1);
});
