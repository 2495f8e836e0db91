/// <reference types="mocha" />
// Window reload, part 1 (the last tests of the main phase; the harness reloads the window right after
// them, which deactivates PointBox and ends this extension host): a training run is left running, and a
// dataset edit is made 10 ms before the window closes. reloadAfter.test.ts checks both in the new host.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import { waitFor } from './waitFor';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
import { reloadStateFile } from './reloadState';

async function api(): Promise<any> {
  return vscode.extensions.getExtension('pointbox.pointbox')!.activate();
}

describe('Window reload: before', function () {
  this.timeout(180_000);
  before(() => fs.rmSync(reloadStateFile(), { force: true }));

  it('leaves a PBC benchmark mid-way: the split done, its student training (issue 15: resumable after a window reload)', async function () {
    if (spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status !== 0) {
      console.log('benchmark part skipped: /usr/bin/python3 cannot import torch and torchvision');
      return this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pointbox-it-reload-bench-'));
    execFileSync(process.execPath, [path.join(repoRoot, 'dist', 'cli.js'), 'phantom', '--out', dir, '--images', '30', '--seed', '4', '--size', '64', '--format', 'png', '--box-ratio', '0.2', '--val', '0.2', '--test', '0.2'], { stdio: 'ignore' });
    const file = path.join(dir, 'dataset.pointbox.json');
    // Not opened first: Run Benchmark opens a dataset it is given by path.
    // Boxes only (split -> student -> eval) with a student long enough (150 steps) to be training when the window goes.
    const started: any = await vscode.commands.executeCommand('pointbox.runBenchmark', {
      dataset: file, preset: 'tiny', ratios: [0.5], seeds: [0], methods: ['boxes'], student: { stepsPerEpoch: 150 }, wait: false, show: false,
    });
    assert.ok(started?.dir, JSON.stringify(started));
    const stateFile = path.join(started.dir, 'benchmark.json');
    const read = () => { try { return JSON.parse(fs.readFileSync(stateFile, 'utf8')); } catch { return undefined; } };
    const st = await waitFor(read, (x: any) => x?.steps?.['split:r50-s0']?.status === 'done' && x?.steps?.['student:boxes:r50-s0']?.status === 'running', 120_000, 250);
    // The student's trainer (a detached training run): after the reload it must be re-attached to (or kept, if it
    // finished meanwhile), never started again.
    const launch = path.join(started.dir, 'runs', 'student-boxes-r50-s0', 'launch.json');
    const pid = (await waitFor(() => { try { return JSON.parse(fs.readFileSync(launch, 'utf8')).pid; } catch { return undefined; } }, (x) => typeof x === 'number', 60_000, 250)) as number;
    fs.writeFileSync(reloadStateFile(), JSON.stringify({ benchmark: { dir: started.dir, splitFinished: st.steps['split:r50-s0'].finished, studentPid: pid } }));
  });

  it('leaves a training run running and makes a dataset edit 10 ms before the window closes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pointbox-it-reload-'));
    execFileSync(process.execPath, [path.join(repoRoot, 'dist', 'cli.js'), 'phantom', '--out', dir, '--images', '24', '--seed', '3', '--size', '64', '--format', 'png', '--box-ratio', '0.5', '--val', '0.2'], { stdio: 'ignore' });
    const file = path.join(dir, 'dataset.pointbox.json');
    const uri = vscode.Uri.file(file);
    await vscode.commands.executeCommand('pointbox.openDataset', uri);
    const a = await api();
    // Merged with what the benchmark test before left (this test must be the last: its edit is made just before the reload).
    const state: Record<string, unknown> = { ...(fs.existsSync(reloadStateFile()) ? JSON.parse(fs.readFileSync(reloadStateFile(), 'utf8')) : {}), file, hostPid: process.pid };
    if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) {
      const started: any = await vscode.commands.executeCommand('pointbox.startTrainingRun', {
        dataset: file, mode: 'mpc', epochs: 500, imageSize: 64, batch: 2, device: 'cpu', extraArgs: ['--stride', '8'], wait: false, init: false,
      });
      assert.ok(started?.dir, JSON.stringify(started));
      const row = await waitFor(async () => (await a.runsTree()).find((r: any) => r.node.dir === started.dir), (r: any) => r?.contextValue === 'run-running' && /epoch [1-9]/.test(r.description), 90_000, 250);
      Object.assign(state, { run: started.dir, pid: started.pid, epochsBefore: row.node.summary.epochsDone });
    } else {
      console.log('training part skipped: /usr/bin/python3 cannot import torch');
    }
    const doc = await a.testing.document(uri.toString());
    const im = doc.data.images.find((x: any) => x.label_level === 'points');
    const point: [number, number] = [12.25, 34.5];
    const id = doc.addPoint(im.id, doc.data.categories[0].id, point);
    Object.assign(state, { imageId: im.id, annotationId: id, point, editedAt: Date.now() });
    fs.writeFileSync(reloadStateFile(), JSON.stringify(state));
    // The harness reloads the window as soon as this returns: the debounced auto-save (150 ms) has not run.
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(doc.isDirty, 'the edit is not saved yet when the window closes');
  });
});
