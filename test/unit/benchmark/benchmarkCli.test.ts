// `pointbox benchmark` end to end on phantoms with the REAL trainer (Debian's /usr/bin/python3 with python3-torch
// and python3-torchvision): split -> teacher -> pseudo-labels -> student -> eval for every method at the tiny
// CI setting, a CLI killed mid-run (SIGKILL, as a crash) whose benchmark is resumed with a second seed: the
// steps finished before the crash are kept as they were, the training run that was going on is not started
// again, and the table, CSV and plot come out with both seeds. Skipped (with the reason) only where that
// python cannot import torch and torchvision.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generatePhantomDataset } from '../../../src/core/phantom/generatePhantomDataset';
import { defaultPython } from '../../../src/core/training/launchTrainingRun';
import { readBenchmarkState, type BenchmarkState } from '../../../src/core/benchmark/benchmarkState';
import { planSteps } from '../../../src/core/benchmark/benchmarkSpec';

const python = process.env.PBC_PYTHON ?? defaultPython();
const probe = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
const skip = probe.status !== 0 ? `${python} cannot import torch and torchvision (install python3-torch python3-torchvision or set PBC_PYTHON)` : false;
const repo = resolve(__dirname, '..', '..', '..');
const cliMain = join(repo, 'src', 'cli', 'main.ts');
let work: string;
let dataset: string;
const children: ChildProcess[] = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'pointbox-bench-'));
  const r = await generatePhantomDataset({ out: join(work, 'ds'), images: 40, seed: 5, size: 128, format: 'png', boxRatio: 0.2, valFraction: 0.2, testFraction: 0.2, workers: 0 });
  dataset = r.datasetFile;
});

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  killTrainersUnder(work);
  rmSync(work, { recursive: true, force: true });
});

/** Kills the process group of every trainer still running under `root` (the CLI we SIGKILLed leaves its detached trainer). */
function killTrainersUnder(root: string): void {
  const ps = spawnSync('pgrep', ['-f', `pbc_trainer .*${root}`], { encoding: 'utf8' });
  for (const pid of ps.stdout.split('\n').filter(Boolean).map(Number)) {
    try { process.kill(-pid, 'SIGKILL'); } catch { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  }
}

function cli(args: string[]): Promise<{ code: number | null; out: string; err: string; child: ChildProcess }> {
  // cwd: the repository, where `--import tsx` resolves (every path given is absolute).
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], { cwd: repo, env: { ...process.env, PBC_PYTHON: python }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b) => { out += b; });
  child.stderr!.on('data', (b) => { err += b; });
  return new Promise((res) => child.on('close', (code) => res({ code, out, err, child })));
}

async function until<T>(what: string, f: () => T | undefined, limitMs = 240_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const stateOf = (dir: string): BenchmarkState | undefined => { try { return readBenchmarkState(dir); } catch { return undefined; } };

test('pointbox benchmark: tiny CI setting end to end on phantoms, killed mid-run, resumed with a second seed', { skip, timeout: 600_000 }, async (t) => {
  const dir = join(work, 'bench');
  const common = [dataset, '--out', dir, '--preset', 'tiny', '--ratios', '50', '--python', python, '--threads', '1'];

  // 1. Start with seed 0; SIGKILL the CLI while the PBC teacher trains (its trainer is detached and keeps going).
  const t0 = Date.now();
  const first = cli(['benchmark', 'run', ...common, '--seeds', '0']);
  const teacherPid = await until('the PBC teacher to train', () => {
    const s = stateOf(dir);
    if (s?.steps['teacher:pbc:r50-s0']?.status !== 'running') return undefined;
    const runJson = join(dir, 'runs', 'teacher-pbc-r50-s0', 'launch.json');
    return existsSync(runJson) ? (JSON.parse(readFileSync(runJson, 'utf8')) as { pid: number }).pid : undefined;
  });
  const killed = children.at(-1)!;
  killed.kill('SIGKILL');
  await first;
  const crashed = readBenchmarkState(dir)!;
  const doneBefore = Object.entries(crashed.steps).filter(([, s]) => s.status === 'done');
  assert.deepEqual(doneBefore.map(([id]) => id), ['split:r50-s0', 'student:boxes:r50-s0', 'eval:boxes:r50-s0', 'teacher:pointdetr:r50-s0', 'pseudo:pointdetr:r50-s0', 'student:pointdetr:r50-s0', 'eval:pointdetr:r50-s0']);

  const status = await cli(['benchmark', 'status', dir, '--json']);
  assert.equal(status.code, 0, status.err);
  assert.equal(JSON.parse(status.out).status, 'interrupted', 'a benchmark whose runner is gone reads as interrupted');

  // 2. Resume, adding seed 1: the finished steps stay as they were; the teacher that was training is not restarted.
  const second = await cli(['benchmark', 'run', ...common, '--seeds', '0,1', '--json']);
  t.diagnostic(`tiny benchmark (1 ratio x 2 seeds x 3 methods, with a crash and a resume): ${((Date.now() - t0) / 1000).toFixed(0)} s wall`);
  assert.equal(second.code, 0, `${second.err.slice(-3000)}`);
  const report = JSON.parse(second.out) as { status: string; results: { rows: { ratio: number; method: string; seeds: number[]; map: { values: number[] } }[]; cells: unknown[]; timings: { kind: string; steps: number }[] } };
  assert.equal(report.status, 'completed');
  const st = readBenchmarkState(dir)!;
  for (const [id, s] of doneBefore) assert.equal(st.steps[id]!.finished, s.finished, `${id} was kept, not redone`);
  const launch = JSON.parse(readFileSync(join(dir, 'runs', 'teacher-pbc-r50-s0', 'launch.json'), 'utf8')) as { pid: number };
  assert.equal(launch.pid, teacherPid, 'the PBC teacher running at the crash was re-attached to (or found finished), not started again');
  assert.match(second.err, /re-attaching to the running trainer|teacher:pbc:r50-s0 done/);

  // Every planned step is done, each with its time; every student and teacher left a model.
  const plan = planSteps(st.spec);
  assert.equal(plan.length, 22); // 2 seeds x (split + boxes only: student, eval + 2 teachers x (teacher, pseudo, student, eval))
  for (const s of plan) {
    assert.equal(st.steps[s.id]?.status, 'done', s.id);
    assert.ok(typeof st.steps[s.id]!.seconds === 'number', `${s.id} has its wall time`);
    if (s.kind === 'student' || s.kind === 'teacher') assert.ok(existsSync(join(dir, st.steps[s.id]!.output!, 'model.onnx')), `${s.id} made a model`);
  }
  assert.equal(st.runner, undefined, 'no runner left once it ended');

  // The table: one row per method at 50 %, both seeds, mAP per seed in [0, 1]; pseudo-boxes were measured.
  assert.deepEqual(report.results.rows.map((r) => r.method).sort(), ['boxes', 'pbc', 'pointdetr']);
  for (const r of report.results.rows) {
    assert.deepEqual(r.seeds, [0, 1], r.method);
    for (const v of r.map.values) assert.ok(v >= 0 && v <= 1);
  }
  const pseudo = st.steps['pseudo:pbc:r50-s1']!.result!;
  assert.ok((pseudo.boxes as number) > 0 && (pseudo.meanIou as number) >= 0 && (pseudo.meanIou as number) <= 1, JSON.stringify(pseudo));
  assert.deepEqual(report.results.timings.map((x) => x.kind), ['split', 'teacher', 'pseudo', 'student', 'eval']);

  // Files: CSV with one line per (ratio, method, seed), Markdown with the table and the verdicts, the plot with every seed.
  const csv = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 1 + 6);
  assert.match(csv[0]!, /^box_ratio,method,seed,map,ap50,/);
  const md = readFileSync(join(dir, 'results.md'), 'utf8');
  assert.match(md, /\| 50 % \| PBC teacher \| 2 \|/);
  assert.match(md, /PBC teacher vs Point DETR teacher: [+−]\d+\.\d mAP/);
  assert.match(md, /Time per step \(wall, this machine\): split/);
  const svg = readFileSync(join(dir, 'plot.svg'), 'utf8');
  assert.equal((svg.match(/<circle /g) ?? []).length, 6, 'a dot per seed and method');

  // `table` prints the same table from the folder; a second run of a completed benchmark redoes nothing.
  const table = await cli(['benchmark', 'table', dir, '--format', 'csv']);
  assert.equal(table.out.trim(), csv.join('\n'));
  const again = await cli(['benchmark', 'resume', dir, '--json']);
  assert.equal(again.code, 0, again.err);
  const st2 = readBenchmarkState(dir)!;
  for (const s of plan) assert.equal(st2.steps[s.id]!.finished, st.steps[s.id]!.finished, `${s.id} not redone`);

  // Nothing of ours keeps running.
  const left = spawnSync('pgrep', ['-f', `pbc_trainer .*${work}`], { encoding: 'utf8' }).stdout.trim();
  assert.equal(left, '', `trainers left running: ${left}`);
});

test('pointbox benchmark: usage errors name the option', async () => {
  const bad = await cli(['benchmark', 'run', dataset ?? 'x.json', '--out', join(work, 'b2'), '--ratios', '0,10']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--ratios: '0' is not a positive number/);
  const m = await cli(['benchmark', 'run', dataset, '--out', join(work, 'b3'), '--methods', 'boxes,yolo']);
  assert.equal(m.code, 2);
  assert.match(m.err, /--methods: 'yolo' is not one of boxes, pointdetr, pbc/);
  const none = await cli(['benchmark', 'resume', join(work, 'nothing-here')]);
  assert.equal(none.code, 1);
  assert.match(none.err, /holds no benchmark \(benchmark\.json\) to resume/);
});
