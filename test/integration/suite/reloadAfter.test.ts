/// <reference types="mocha" />
// Window reload, part 2: runs in the new extension host after the harness reloaded the window (see
// reloadBefore.test.ts). The old host is gone; what it left must be intact.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { reloadStateFile } from './reloadState';
import { waitFor } from './waitFor';

async function api(): Promise<any> {
  return vscode.extensions.getExtension('pointbox.pointbox')!.activate();
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describe('Window reload: after', function () {
  this.timeout(180_000);
  let state: any;

  before(() => { state = JSON.parse(fs.readFileSync(reloadStateFile(), 'utf8')); });

  it('the old extension host is gone (the window really closed)', async () => {
    assert.notEqual(process.pid, state.hostPid);
    assert.equal(await waitFor(() => alive(state.hostPid), (v) => !v, 15_000), false);
  });

  it('the dataset edit made 10 ms before the window closed is on disk', () => {
    const d = JSON.parse(fs.readFileSync(state.file, 'utf8'));
    const a = d.annotations.find((x: any) => x.id === state.annotationId);
    assert.ok(a, `annotation ${state.annotationId} is in ${state.file}`);
    assert.deepEqual([a.image_id, a.point], [state.imageId, state.point]);
  });

  it('the training run survived the reload: the new window re-attaches, its progress goes on, and Cancel from the new window stops it', async function () {
    if (!state.run) this.skip();
    assert.ok(alive(state.pid), 'the trainer outlived the window');
    const a = await api();
    await vscode.commands.executeCommand('pointbox.runs.focus');
    const find = async () => (await a.runsTree()).find((r: any) => r.node.dir === state.run);
    const row = await waitFor(find, (r: any) => r?.contextValue === 'run-running', 30_000, 250);
    assert.ok(row, 'listed as running');
    // Re-attached: this window follows it (progress notification, live view) ...
    await waitFor(() => a.testing.followedRuns(), (l: string[]) => l.includes(state.run), 15_000);
    // ... and its progress continues past what the old window saw.
    const later = await waitFor(find, (r: any) => r?.node.summary.epochsDone > state.epochsBefore, 90_000, 500);
    assert.ok(later.node.summary.epochsDone > state.epochsBefore);
    assert.equal(await vscode.commands.executeCommand('pointbox.cancelTrainingRun', { dir: state.run }), true);
    const done = await waitFor(find, (r: any) => r?.contextValue?.startsWith('run-cancelled'), 60_000, 250);
    assert.match(done.description, /cancelled$/);
    assert.equal(await waitFor(() => alive(state.pid), (v) => !v, 20_000), false, 'the trainer process is gone');
    const log = fs.readFileSync(path.join(state.run, 'train.log'), 'utf8');
    assert.match(log, /mode=mpc params=/);
  });
  it('the benchmark left mid-way reads as interrupted; Resume keeps the finished split, re-attaches to the student still training (or keeps it), and completes', async function () {
    if (!state.benchmark) this.skip();
    this.timeout(420_000);
    const { dir, splitFinished, studentPid } = state.benchmark;
    const shown: any = await vscode.commands.executeCommand('pointbox.openBenchmark', dir);
    assert.equal(shown.status, 'interrupted', 'its runner (the old extension host) is gone');
    const out: any = await vscode.commands.executeCommand('pointbox.resumeBenchmark', dir, { show: false });
    assert.ok(out && !out.error, JSON.stringify(out));
    assert.equal(out.status, 'completed', out.error);
    const after = JSON.parse(fs.readFileSync(path.join(dir, 'benchmark.json'), 'utf8'));
    assert.equal(after.steps['split:r50-s0'].finished, splitFinished, 'the split finished before the reload was kept');
    const launch = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'student-boxes-r50-s0', 'launch.json'), 'utf8'));
    assert.equal(launch.pid, studentPid, 'the student was not started again');
    assert.ok(['student:boxes:r50-s0', 'eval:boxes:r50-s0'].every((id) => after.steps[id].status === 'done'));
    assert.equal(out.rows.length, 1);
  });
});
