// The launcher against the REAL trainer (Debian's /usr/bin/python3 with python3-torch), on a tiny phantom
// dataset made by the project's own generator: a full run, a cancel, a SIGKILL, and bad interpreters.
// Skipped (with the reason) only where that python cannot import torch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { generatePhantomDataset } from '../../../src/core/phantom/generatePhantomDataset';
import { defaultPython, findModelsDir, launchTrainingRun, type TrainingProgress, type TrainingRunOptions } from '../../../src/core/training/launchTrainingRun';
import { readRunDirectory } from '../../../src/core/training/runDirectory';
import { TrainingRunError } from '../../../src/core/training/TrainingRunError';

const python = process.env.PBC_PYTHON ?? defaultPython();
const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
const skip = probe.status !== 0 ? `${python} cannot import torch (install python3-torch or set PBC_PYTHON)` : false;
const modelsDir = findModelsDir(__dirname)!;
let work: string;
let dataset: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'pointbox-train-'));
  const r = await generatePhantomDataset({ out: join(work, 'ds'), images: 24, seed: 3, size: 64, format: 'png', boxRatio: 0.5, valFraction: 0.2, workers: 0 });
  dataset = r.datasetFile;
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A tiny run: 64 px, stride 8, batch 2, 3 steps an epoch. */
function tiny(runsRoot: string, extra: Partial<TrainingRunOptions> = {}): TrainingRunOptions {
  return { dataset, runsRoot, modelsDir, python, mode: 'pbc', epochs: 1, imageSize: 64, batch: 2, device: 'cpu', extraArgs: ['--stride', '8'], pollMs: 100, ...extra };
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

test('a real tiny run: progress events, completed, model.onnx, summary matches run.json, train.log', { skip }, async (t) => {
  const root = join(work, 'runs-ok');
  const events: TrainingProgress[] = [];
  let output = '';
  const t0 = Date.now();
  const run = await launchTrainingRun(tiny(root, { onProgress: (p) => events.push(p), onOutput: (s) => { output += s; } }));
  assert.ok(run.dir.startsWith(root));
  assert.match(run.dir, /\d{8}T\d{9}Z-pbc$/);
  const s = await run.done;
  t.diagnostic(`tiny run: ${((Date.now() - t0) / 1000).toFixed(1)} s wall`);
  assert.equal(s.status, 'completed', s.error);
  assert.ok(existsSync(join(run.dir, 'data', 'annotations', 'instances_train_box.json')), 'the PBC export is in <run>/data');
  assert.equal(s.modelOnnx, join(run.dir, 'model.onnx'));
  assert.ok(existsSync(s.modelOnnx!));
  const types = new Set(events.map((e) => e.record.type));
  assert.ok(types.has('train') && types.has('eval') && types.has('epoch'), [...types].join(','));
  const last = events.at(-1)!;
  assert.equal(last.summary.status, 'running');
  assert.equal(last.summary.epochsDone, 1);
  const run_ = JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8'));
  assert.equal(run_.status, 'completed');
  assert.equal(s.mode, run_.spec.mode);
  assert.equal(s.epochsTotal, run_.spec.epochs);
  assert.equal(s.epochsDone, 1);
  assert.equal(s.bestAp50, run_.final.best_ap50);
  assert.equal(s.lastAp50, run_.final.ap50);
  assert.equal(s.imagesPerS, run_.final.images_per_s);
  assert.deepEqual(s, readRunDirectory(run.dir));
  const log = readFileSync(join(run.dir, 'train.log'), 'utf8');
  assert.match(log, /mode=pbc params=/);
  assert.match(log, /trainer exited with code 0/);
  assert.match(output, /mode=pbc/);
});

test('cancel mid-run: SIGTERM, the trainer marks it cancelled, the process is gone', { skip }, async () => {
  const ac = new AbortController();
  const run = await launchTrainingRun(tiny(join(work, 'runs-cancel'), { epochs: 500, signal: ac.signal, onProgress: () => ac.abort() }));
  const s = await run.done;
  assert.equal(s.status, 'cancelled', s.error);
  assert.match(s.error ?? '', /KeyboardInterrupt|signal|cancel/i);
  assert.ok(s.epochsDone < 500);
  assert.equal(alive(run.pid), false, 'the trainer process is gone');
  assert.equal(JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8')).status, 'cancelled');
});

test('a trainer killed with SIGKILL: failed in our view, the signal in the error, run.json no longer "running"', { skip }, async () => {
  let killed = false;
  const run = await launchTrainingRun(tiny(join(work, 'runs-kill'), {
    epochs: 500,
    onProgress: () => { if (!killed) { killed = true; process.kill(run.pid, 'SIGKILL'); } },
  }));
  const s = await run.done;
  assert.equal(s.status, 'failed');
  assert.match(s.error ?? '', /SIGKILL/);
  assert.match(s.error ?? '', /last lines of train\.log/);
  const onDisk = JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8'));
  assert.equal(onDisk.status, 'failed');
  assert.equal(onDisk.finalized_by, 'pointbox');
  assert.equal(onDisk.spec.mode, 'pbc', 'what the trainer wrote is kept');
  assert.equal(alive(run.pid), false);
});

test('a cancel that the trainer ignores ends with SIGKILL after the grace period, marked cancelled', { skip }, async () => {
  // A "python" that ignores SIGTERM: a shell wrapper that passes the probe, then traps TERM and sleeps.
  const fake = join(work, 'stubborn-python');
  writeFileSync(fake, `#!/bin/sh\ncase "$1" in -c) exec ${python} "$@";; esac\ntrap '' TERM\necho started\nsleep 60 & wait; sleep 60\n`);
  chmodSync(fake, 0o755);
  const run = await launchTrainingRun(tiny(join(work, 'runs-stubborn'), { python: fake, graceMs: 500 }));
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  run.cancel();
  const s = await run.done;
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(s.status, 'cancelled');
  assert.match(s.error ?? '', /SIGKILL after cancel/);
});

test('an invalid python: a clear error naming the interpreter and what to install, no run folder', async () => {
  const root = join(work, 'runs-bad');
  await assert.rejects(launchTrainingRun(tiny(root, { python: '/nonexistent/bin/python3' })), (e: unknown) => {
    assert.ok(e instanceof TrainingRunError);
    assert.match(e.message, /"\/nonexistent\/bin\/python3" not found/);
    assert.match(e.message, /apt-get install python3-torch/);
    return true;
  });
  const noTorch = join(work, 'python-without-torch');
  writeFileSync(noTorch, `#!/bin/sh\necho "ModuleNotFoundError: No module named 'torch'" >&2\nexit 1\n`);
  chmodSync(noTorch, 0o755);
  await assert.rejects(launchTrainingRun(tiny(root, { python: noTorch })), /cannot import torch.*No module named 'torch'.*apt-get install python3-torch/s);
  assert.equal(existsSync(root) ? readdirSync(root).length : 0, 0, 'no run folder left');
});
