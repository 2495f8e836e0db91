/// <reference types="mocha" />
// The PBC loop inside a real VS Code (issue 15), with the REAL trainer (Debian's /usr/bin/python3 with
// python3-torch and python3-torchvision) on a small phantom dataset:
// - a student detector as a training mode (Start Training Run, mode detector): the Runs view lists it, and
//   Use Run Model makes it the viewer's detector, not the point->box model;
// - PointBox: Run Benchmark at the tiny CI setting (one ratio, two seeds, the three methods): every step done,
//   the results page renders the table and a plot dot per seed, CSV and Markdown export;
// - the detector layer: the benchmark's PBC student, chosen with Select Detector, finds boxes on an image.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(repoRoot, 'dist', 'cli.js');
const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

async function api(): Promise<any> {
  return vscode.extensions.getExtension('pointbox.pointbox')!.activate();
}

describe('PBC benchmark and student detector', function () {
  this.timeout(600_000);
  let file: string;
  let work: string;

  before(async function () {
    if (spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status !== 0) {
      console.log(`skip: ${python} cannot import torch and torchvision (install python3-torch python3-torchvision)`);
      this.skip();
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'pointbox-it-bench-'));
    execFileSync(process.execPath, [cli, 'phantom', '--out', work, '--images', '40', '--seed', '5', '--size', '128', '--format', 'png', '--box-ratio', '0.2', '--val', '0.2', '--test', '0.2'], { stdio: 'ignore' });
    file = path.join(work, 'dataset.pointbox.json');
    await api();
    await vscode.commands.executeCommand('pointbox.openDataset', vscode.Uri.file(file));
  });

  after(() => {
    // Nothing of ours may keep training (a failed assertion mid-benchmark would otherwise leave a trainer).
    const ps = spawnSync('pgrep', ['-f', `pbc_trainer .*(${work}|\\.pointbox/benchmarks)`], { encoding: 'utf8' });
    for (const pid of ps.stdout.split('\n').filter(Boolean).map(Number)) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }
  });

  it('registers the benchmark and detector commands', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['pointbox.runBenchmark', 'pointbox.resumeBenchmark', 'pointbox.openBenchmark', 'pointbox.exportBenchmark', 'pointbox.cancelBenchmark', 'pointbox.selectDetector']) {
      assert.ok(all.includes(id), `command ${id} is not registered`);
    }
  });

  it('trains a student detector as a training run: listed in the Runs view, Use Run Model makes it the detector (not the point->box model)', async () => {
    const a = await api();
    const pointToBox = await a.selectedModel();
    const summary: any = await vscode.commands.executeCommand('pointbox.startTrainingRun', {
      dataset: file, mode: 'detector', pseudo: 'none', epochs: 1, imageSize: 64, batch: 4, device: 'cpu', extraArgs: ['--steps-per-epoch', '2'],
    });
    assert.ok(summary && !summary.error, JSON.stringify(summary));
    assert.equal(summary.status, 'completed', summary.error);
    assert.match(path.basename(summary.dir), /-detector$/);
    const argv: string[] = JSON.parse(fs.readFileSync(path.join(summary.dir, 'launch.json'), 'utf8')).argv;
    assert.ok(argv.join(' ').includes('-m pbc_trainer detector') && argv.includes('--pseudo') && !argv.includes('--init'), argv.join(' '));
    const items = await a.runsTree();
    const item = items.find((i: any) => i.node.dir === summary.dir);
    assert.ok(item, 'the Runs view lists the detector run');
    assert.equal(item.contextValue, 'run-completed-model');
    const kids = await a.runsTree(item.node);
    const model = kids.find((k: any) => k.label === 'model.onnx');
    assert.match(model?.description ?? '', /^detector/, 'its model is shown as a detector, not a point->box model');
    const selected = await vscode.commands.executeCommand('pointbox.useRunModel', item.node);
    assert.equal(selected, vscode.Uri.file(summary.modelOnnx).toString());
    assert.equal(await a.testing.selectedDetector(), vscode.Uri.file(summary.modelOnnx).toString());
    assert.equal(await a.selectedModel(), pointToBox, 'Generate/Evaluate keep their point->box model');
  });

  let benchDir: string | undefined;

  it('Run Benchmark (tiny): every step done, the results page shows the table and a dot per seed, CSV and Markdown export; the detector layer runs its PBC student', async () => {
    const t0 = Date.now();
    const out: any = await vscode.commands.executeCommand('pointbox.runBenchmark', { dataset: file, preset: 'tiny', ratios: [0.5], seeds: [0, 1] });
    console.log(`tiny benchmark in the extension (1 ratio x 2 seeds x 3 methods): ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    assert.ok(out && !out.error, JSON.stringify(out));
    assert.equal(out.status, 'completed', out.error);
    benchDir = out.dir;
    const root = path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, '.pointbox', 'benchmarks');
    assert.equal(path.dirname(out.dir), root, 'benchmarks live under <workspace>/.pointbox/benchmarks');
    assert.deepEqual(out.rows.map((r: any) => r.method).sort(), ['boxes', 'pbc', 'pointdetr']);
    for (const r of out.rows) { assert.equal(r.ratio, 0.5); assert.equal(r.map.length, 2, `${r.method}: both seeds`); }
    const state = JSON.parse(fs.readFileSync(path.join(out.dir, 'benchmark.json'), 'utf8'));
    assert.equal(Object.keys(state.steps).length, 22);
    assert.ok(Object.values(state.steps).every((s: any) => s.status === 'done' && typeof s.seconds === 'number'));

    // The page: one row per method, 6 seed dots on each of the two plots, status completed.
    const shown: any = await vscode.commands.executeCommand('pointbox.openBenchmark', out.dir, { waitRendered: 'completed' });
    assert.equal(shown.rendered.rows, 3);
    assert.equal(shown.rendered.plotDots, 12);
    assert.match(shown.rendered.text, /PBC teacher/);
    assert.match(shown.rendered.text, /50 %/);

    const csv = await vscode.commands.executeCommand<string>('pointbox.exportBenchmark', out.dir, 'csv', path.join(work, 'bench.csv'));
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1 + 6, 'a line per method and seed');
    const md = await vscode.commands.executeCommand<string>('pointbox.exportBenchmark', out.dir, 'md', path.join(work, 'bench.md'));
    const text = fs.readFileSync(md, 'utf8');
    assert.match(text, /\| box ratio \| method \| seeds \| mAP \| AP50 \|/);
    assert.match(text, /50 % boxes: PBC teacher vs Point DETR teacher/);

    // The detector layer with the benchmark's PBC student: boxes in image pixels, a score each, class names of the dataset.
    const student = path.join(out.dir, 'runs', 'student-pbc-r50-s0', 'model.onnx');
    const a = await api();
    assert.equal(await vscode.commands.executeCommand('pointbox.selectDetector', student), vscode.Uri.file(student).toString());
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    const im = data.images[0];
    const r = await a.testing.detect(path.join(work, im.file_name));
    assert.ok(r.ok, r.message);
    assert.ok(Array.isArray(r.detections) && r.ms > 0 && r.minScore === 0.3, JSON.stringify(r).slice(0, 300));
    console.log(`detector layer: ${r.detections.length} boxes in ${r.ms.toFixed(0)} ms on ${r.provider}`);
    const names = new Set(data.categories.map((c: any) => c.name));
    for (const d of r.detections) {
      assert.ok(names.has(d.className), d.className);
      assert.ok(d.score >= 0 && d.score <= 1);
      assert.ok(d.bbox[0] >= -1 && d.bbox[1] >= -1 && d.bbox[0] + d.bbox[2] <= im.width + 1 && d.bbox[1] + d.bbox[3] <= im.height + 1, JSON.stringify(d));
    }
    // A point->box model is not a detector.
    const wrong: any = await vscode.commands.executeCommand('pointbox.selectDetector', path.join(vscode.extensions.getExtension('pointbox.pointbox')!.extensionPath, 'models', 'pointbox-pbc-v1.onnx'));
    assert.match(wrong.error, /is not a PointBox detector/);
  });

  it('a benchmark whose runner died (a crashed window) reads as interrupted; Resume Benchmark redoes only the unfinished steps', async function () {
    if (!benchDir) this.skip();
    const dir = benchDir!;
    const stateFile = path.join(dir, 'benchmark.json');
    const done = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    // As a window that died during the last student: runner gone (a pid that is no process), the student
    // half-made (its run folder without a model), its evaluation not started.
    const dead = spawnSync('true').pid!;
    const st = structuredClone(done);
    st.status = 'running';
    st.runner = { pid: dead, host: os.hostname(), started: new Date().toISOString() };
    for (const id of ['student:pbc:r50-s1', 'eval:pbc:r50-s1']) { st.steps[id] = { status: id.startsWith('student') ? 'running' : 'pending', kind: id.split(':')[0] }; }
    fs.rmSync(path.join(dir, 'runs', 'student-pbc-r50-s1', 'model.onnx'));
    fs.writeFileSync(stateFile, JSON.stringify(st));
    const shown: any = await vscode.commands.executeCommand('pointbox.openBenchmark', dir);
    assert.equal(shown.status, 'interrupted');

    const out: any = await vscode.commands.executeCommand('pointbox.resumeBenchmark', dir);
    assert.ok(out && !out.error, JSON.stringify(out));
    assert.equal(out.status, 'completed', out.error);
    const after = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    for (const [id, s] of Object.entries<any>(done.steps)) {
      if (id === 'student:pbc:r50-s1' || id === 'eval:pbc:r50-s1') assert.notEqual(after.steps[id].finished, s.finished, `${id} was redone`);
      else assert.equal(after.steps[id].finished, s.finished, `${id} was kept`);
    }
    assert.ok(fs.existsSync(path.join(dir, 'runs', 'student-pbc-r50-s1', 'model.onnx')));
    assert.equal(out.rows.length, 3);
  });
});
