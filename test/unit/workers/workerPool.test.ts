import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { WorkerError, WorkerPool } from '../../../src/core/workers/WorkerPool';

const script = join(__dirname, 'fixtures', 'testWorker.js');
type Req = Record<string, unknown>;
type Res = Record<string, any>;
const isCode = (code: string) => (e: unknown) => e instanceof WorkerError && e.code === code;

test('WorkerPool runs tasks on up to `size` workers, started on demand, with transferred buffers', async () => {
  const pool = new WorkerPool<Req, Res>(script, { size: 2 });
  try {
    assert.equal(pool.workers, 0, 'no worker before the first task');
    const buf = new Float64Array([1, 2, 3.5]).buffer;
    const r = await pool.run({ op: 'sum', buffer: buf }, [buf]);
    assert.equal(r.sum, 6.5);
    assert.equal(buf.byteLength, 0, 'the buffer was transferred, not copied');
    const many = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.run({ op: 'echo', value: i })));
    assert.deepEqual(many.map((m) => m.echo), [0, 1, 2, 3, 4, 5]);
    assert.ok(new Set(many.map((m) => m.threadId)).size <= 2);
    assert.ok(pool.workers <= 2);
  } finally { await pool.close(); }
});

test('a worker that dies while busy fails its task with WORKER_DIED and the next task runs on a fresh worker', async () => {
  const pool = new WorkerPool<Req, Res>(script, { size: 1 });
  try {
    await assert.rejects(pool.run({ op: 'crash' }), (e: unknown) => isCode('WORKER_DIED')(e) && /boom in the worker/.test((e as Error).message));
    await assert.rejects(pool.run({ op: 'exit', code: 9 }), (e: unknown) => isCode('WORKER_DIED')(e) && /exited with code 9/.test((e as Error).message));
    assert.equal((await pool.run({ op: 'echo', value: 'after' })).echo, 'after');
    assert.equal(pool.restarts, 2);
  } finally { await pool.close(); }
});

test('a worker that dies while idle is replaced when work comes (its death breaks no later task)', async () => {
  const pool = new WorkerPool<Req, Res>(script, { size: 1 });
  try {
    const first = await pool.run({ op: 'exitLater', ms: 30 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(pool.workers, 0, 'the dead idle worker was dropped');
    const next = await pool.run({ op: 'echo', value: 1 });
    assert.equal(next.echo, 1);
    assert.notEqual(next.threadId, first.threadId);
  } finally { await pool.close(); }
});

test('a worker script that cannot load: a clear START_FAILED after a bounded number of tries, no respawn loop', async () => {
  const pool = new WorkerPool<Req, Res>(script, { size: 2, maxStartFailures: 3, env: { ...process.env, TEST_WORKER_FAIL_LOAD: '1' } });
  try {
    const results = await Promise.allSettled([pool.run({ op: 'echo', value: 1 }), pool.run({ op: 'echo', value: 2 }), pool.run({ op: 'echo', value: 3 })]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.status === 'rejected' && isCode('START_FAILED')(r.reason), String(r.status === 'rejected' && r.reason));
      assert.match((r as PromiseRejectedResult).reason.message, /testWorker\.js could not start \(3 tries\): this worker cannot load/);
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(pool.workers, 0, 'nothing is respawned');
    await assert.rejects(pool.run({ op: 'echo', value: 4 }), isCode('START_FAILED'));
  } finally { await pool.close(); }
  const missing = new WorkerPool<Req, Res>(join(__dirname, 'fixtures', 'noSuchWorker.js'), { size: 1, maxStartFailures: 2 });
  await assert.rejects(missing.run({ op: 'echo' }), (e: unknown) => isCode('START_FAILED')(e) && /Cannot find module/.test((e as Error).message));
  await missing.close();
});

test('heap limit: a worker over its heap dies with WORKER_DIED naming the limit; the pool goes on', async () => {
  const pool = new WorkerPool<Req, Res>(script, { size: 1, maxHeapMb: 32 });
  try {
    await assert.rejects(pool.run({ op: 'oom' }, [], { timeoutMs: 60_000 }), (e: unknown) => isCode('WORKER_DIED')(e) && /out of memory \(heap limit 32 MB\)/.test((e as Error).message));
    assert.equal((await pool.run({ op: 'echo', value: 'ok' })).echo, 'ok');
  } finally { await pool.close(); }
});

test('deadline and cancellation: TIMEOUT and ABORTED (an AbortError) for running and queued tasks; the pool goes on', async () => {
  const pool = new WorkerPool<Req, Res>(script, { size: 1 });
  try {
    await assert.rejects(pool.run({ op: 'spin', ms: 5000 }, [], { timeoutMs: 50 }), isCode('TIMEOUT'));
    const ac = new AbortController();
    const running = pool.run({ op: 'spin', ms: 5000 }, [], { signal: ac.signal });
    const queued = pool.run({ op: 'echo', value: 'never' }, [], { signal: ac.signal });
    const other = pool.run({ op: 'echo', value: 'runs' });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(running, (e: unknown) => isCode('ABORTED')(e) && (e as Error).name === 'AbortError');
    await assert.rejects(queued, isCode('ABORTED'));
    assert.equal((await other).echo, 'runs');
    await assert.rejects(pool.run({ op: 'echo' }, [], { signal: AbortSignal.abort() }), isCode('ABORTED'));
  } finally { await pool.close(); }
  await assert.rejects(pool.run({ op: 'echo' }), isCode('CLOSED'));
});

test('close() rejects queued and running tasks with CLOSED', async () => {
  const pool = new WorkerPool<Req, Res>(script, { size: 1 });
  const running = pool.run({ op: 'sleep', ms: 5000 });
  const queued = pool.run({ op: 'echo' });
  const checks = [assert.rejects(running, isCode('CLOSED')), assert.rejects(queued, isCode('CLOSED'))];
  await new Promise((r) => setTimeout(r, 100));
  await pool.close();
  await Promise.all(checks);
});
