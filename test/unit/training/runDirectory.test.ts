// The run-directory reader and the metrics tailer on hand-written files: partial last lines (the trainer
// is mid-write), malformed JSON (a run with an error naming the file, not a crash), truncation/rotation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStaleRun, listRunDirectories, parseMetricsText, readRunDirectory, runFolderName, timeFromRunName } from '../../../src/core/training/runDirectory';
import { MetricsTailer } from '../../../src/core/training/MetricsTailer';

const train = (step: number, total: number, epoch = 0) => JSON.stringify({ type: 'train', epoch, step, lr: 1e-4, total, images_per_s: 12.5 }) + '\n';
const evalLine = (epoch: number, ap50: number) => JSON.stringify({ type: 'eval', epoch, step: epoch * 3 + 3, ap50 }) + '\n';
const epochLine = (epoch: number) => JSON.stringify({ type: 'epoch', epoch, step: epoch * 3 + 3, images_per_s: 20 }) + '\n';

function runDir(): string {
  return mkdtempSync(join(tmpdir(), 'pointbox-rundir-'));
}

test('parseMetricsText keeps a partial last line for later and names malformed lines by file:line', () => {
  const text = train(1, 5) + '{"type": "train", bad json\n' + '[1,2]\n' + train(2, 4) + '{"type":"ep';
  const r = parseMetricsText(text, 'm.jsonl');
  assert.deepEqual(r.records.map((x) => x.step), [1, 2]);
  assert.equal(r.problems.length, 2);
  assert.match(r.problems[0]!, /^m\.jsonl:2: /);
  assert.match(r.problems[1]!, /^m\.jsonl:3: no type/);
  assert.equal(r.consumed, Buffer.byteLength(text) - '{"type":"ep'.length);
  assert.deepEqual(parseMetricsText('{"type":"train"').records, []);
});

test('readRunDirectory: a running run with a partial metrics line; then the completed run.json wins', () => {
  const dir = runDir();
  try {
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ status: 'running', spec: { mode: 'mpc', epochs: 10 }, total_steps: 30, device: 'cpu' }));
    writeFileSync(join(dir, 'metrics.jsonl'), train(1, 9) + train(3, 7) + evalLine(0, 0.25) + epochLine(0) + evalLine(1, 0.41) + epochLine(1) + train(7, 6.5).slice(0, 20));
    let s = readRunDirectory(dir);
    assert.equal(s.status, 'running');
    assert.equal(s.mode, 'mpc');
    assert.equal(s.epochsDone, 2);
    assert.equal(s.epochsTotal, 10);
    assert.equal(s.lastTrainLoss, 7);
    assert.equal(s.lastAp50, 0.41);
    assert.equal(s.bestAp50, 0.41);
    assert.deepEqual(s.ap50History, [0.25, 0.41]);
    assert.equal(s.imagesPerS, 20);
    assert.equal(s.modelOnnx, undefined);
    assert.deepEqual(s.problems, [], 'a partial last line is not a problem');

    writeFileSync(join(dir, 'model.onnx'), 'x');
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ status: 'completed', spec: { mode: 'mpc', epochs: 10 }, final: { ap50: 0.4, best_ap50: 0.5, images_per_s: 33 } }));
    s = readRunDirectory(dir);
    assert.equal(s.status, 'completed');
    assert.equal(s.bestAp50, 0.5);
    assert.equal(s.lastAp50, 0.4);
    assert.equal(s.imagesPerS, 33);
    assert.equal(s.modelOnnx, join(dir, 'model.onnx'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readRunDirectory: malformed run.json and metrics lines give errors naming the files, not a crash', () => {
  const dir = runDir();
  try {
    writeFileSync(join(dir, 'run.json'), '{"status": "runn');
    writeFileSync(join(dir, 'metrics.jsonl'), train(1, 3) + 'not json at all\n');
    const s = readRunDirectory(dir);
    assert.equal(s.status, 'unknown');
    assert.ok(s.error?.startsWith(join(dir, 'run.json') + ': '), s.error);
    assert.equal(s.lastTrainLoss, 3);
    assert.equal(s.problems.length, 1);
    assert.ok(s.problems[0]!.startsWith(join(dir, 'metrics.jsonl') + ':2: '), s.problems[0]);

    writeFileSync(join(dir, 'run.json'), JSON.stringify({ status: 'failed', error: 'PBCDataError: no box-level images' }));
    assert.equal(readRunDirectory(dir).error, 'PBCDataError: no box-level images');
    rmSync(join(dir, 'run.json'));
    assert.match(readRunDirectory(dir).error!, /run\.json does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listRunDirectories: run folders only, newest first by the timestamp in the name', () => {
  const root = runDir();
  try {
    const older = runFolderName('pbc', new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
    const newer = runFolderName('mpc', new Date(Date.UTC(2026, 5, 1)));
    assert.equal(older, '20260102T030405000Z-pbc');
    assert.equal(timeFromRunName(older), Date.UTC(2026, 0, 2, 3, 4, 5));
    for (const n of [older, newer]) { mkdirSync(join(root, n)); writeFileSync(join(root, n, 'run.json'), '{}'); }
    mkdirSync(join(root, 'not-a-run'));
    writeFileSync(join(root, 'file.txt'), '');
    assert.deepEqual(listRunDirectories(root), [join(root, newer), join(root, older)]);
    assert.deepEqual(listRunDirectories(join(root, 'missing')), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('MetricsTailer reads only new bytes, waits for partial lines, restarts on truncation and rotation', () => {
  const dir = runDir();
  const f = join(dir, 'metrics.jsonl');
  try {
    const t = new MetricsTailer(f);
    assert.deepEqual(t.poll().records, [], 'no file yet');
    writeFileSync(f, train(1, 9) + train(2, 8));
    assert.deepEqual(t.poll().records.map((r) => r.step), [1, 2]);
    assert.deepEqual(t.poll().records, [], 'nothing new');
    const third = train(3, 7);
    appendFileSync(f, third.slice(0, 10));
    assert.deepEqual(t.poll().records, [], 'partial line waits');
    const pos = t.position;
    appendFileSync(f, third.slice(10) + '{oops}\n');
    const r = t.poll();
    assert.deepEqual(r.records.map((x) => x.step), [3]);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /metrics\.jsonl:4: /);
    assert.equal(t.position, pos + Buffer.byteLength(third) + '{oops}\n'.length, 'only the new bytes were consumed');
    // truncation: the file shrinks -> start over
    writeFileSync(f, train(10, 1));
    const tr = t.poll();
    assert.equal(tr.restarted, true);
    assert.deepEqual(tr.records.map((x) => x.step), [10]);
    // rotation: a new file (new inode) under the same name, even a longer one
    writeFileSync(join(dir, 'new.jsonl'), train(20, 1) + train(21, 1) + train(22, 1));
    renameSync(join(dir, 'new.jsonl'), f);
    const rot = t.poll();
    assert.equal(rot.restarted, true);
    assert.deepEqual(rot.records.map((x) => x.step), [20, 21, 22]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('isStaleRun: "running" with its single trainer process gone and quiet for a minute; never for multi-process runs', () => {
  const dir = runDir();
  try {
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ status: 'running', pid: 2 ** 22 + 12345, world_size: 1, spec: { mode: 'pbc' } }));
    const s = readRunDirectory(dir);
    assert.equal(s.pid, 2 ** 22 + 12345);
    assert.ok(s.updatedMs! > Date.now() - 10_000);
    assert.equal(isStaleRun(s), false, 'just written: not stale yet');
    assert.equal(isStaleRun(s, Date.now() + 120_000), true, 'no such pid, quiet for 2 min');
    assert.equal(isStaleRun({ ...s, pid: process.pid }, Date.now() + 120_000), false, 'a live process');
    assert.equal(isStaleRun({ ...s, worldSize: 4 }, Date.now() + 120_000), false, 'torchrun: other nodes');
    assert.equal(isStaleRun({ ...s, status: 'completed' }, Date.now() + 120_000), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RunDirectoryReader: metrics read incrementally (only appended bytes), run.json re-read only when it changed; same summary as readRunDirectory', async () => {
  const { RunDirectoryReader } = await import('../../../src/core/training/runDirectory');
  const { openSync, writeSync, closeSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'pb-runreader-'));
  try {
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ status: 'running', spec: { mode: 'pbc', epochs: 3, init: '/models/base.onnx' }, pid: 1, started: '2026-01-01T00:00:00Z' }));
    writeFileSync(join(dir, 'launch.json'), JSON.stringify({ pid: 1, pgid: 1, host: 'h1', started: '2026-01-01T00:00:00.000Z' }));
    const line = (o: object) => JSON.stringify(o) + '\n';
    writeFileSync(join(dir, 'metrics.jsonl'), line({ type: 'train', epoch: 0, step: 1, total: 2.5, images_per_s: 10 }) + line({ type: 'eval', epoch: 0, step: 2, ap50: 0.25 }));
    const r = new RunDirectoryReader();
    const a = await r.read(dir);
    assert.deepEqual([a.status, a.mode, a.init, a.pgid, a.host, a.lastAp50, a.lastTrainLoss], ['running', 'pbc', '/models/base.onnx', 1, 'h1', 0.25, 2.5]);
    assert.deepEqual(a, readRunDirectory(dir));
    // Scribble over the bytes already read (same size, same file): an incremental reader never looks at them again.
    const fd = openSync(join(dir, 'metrics.jsonl'), 'r+');
    writeSync(fd, Buffer.from('#'.repeat(20)), 0, 20, 0);
    closeSync(fd);
    appendFileSync(join(dir, 'metrics.jsonl'), line({ type: 'epoch', epoch: 0, step: 2, images_per_s: 12 }) + line({ type: 'eval', epoch: 1, step: 4, ap50: 0.5 }));
    const b = await r.read(dir);
    assert.deepEqual([b.epochsDone, b.lastAp50, b.bestAp50, b.ap50History, b.problems], [1, 0.5, 0.5, [0.25, 0.5], []]);
    assert.equal(readRunDirectory(dir).problems.length, 1, 'a full re-read would have met the scribbled line');
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ status: 'completed', spec: { mode: 'pbc', epochs: 3 }, final: { ap50: 0.6, best_ap50: 0.6, images_per_s: 9 } }));
    const c = await r.read(dir);
    assert.deepEqual([c.status, c.lastAp50, c.imagesPerS, c.init], ['completed', 0.6, 9, undefined]);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
