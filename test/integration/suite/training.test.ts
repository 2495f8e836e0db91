/// <reference types="mocha" />
// Training runs inside a real VS Code: Start Training Run with an options object (no pickers) runs the REAL
// PBC trainer (Debian's /usr/bin/python3 + python3-torch) on a tiny phantom dataset, the Runs view lists the
// run as completed, and Use Run Model makes its model.onnx the selected point->box model.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import { waitFor } from './waitFor';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(repoRoot, 'dist', 'cli.js');
const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

async function api(): Promise<any> {
  return vscode.extensions.getExtension('pointbox.pointbox')!.activate();
}

/** Whether the trainer the extension runs has `--init` (the lead's flag); until then the init checks look at the command line only. */
function trainerHasInit(): boolean {
  const ext = vscode.extensions.getExtension('pointbox.pointbox')!;
  return /"--init"/.test(fs.readFileSync(path.join(ext.extensionPath, 'models', 'pbc_trainer', 'cli.py'), 'utf8'));
}


describe('Training runs', function () {
  this.timeout(180_000);
  let file: string;

  before(async function () {
    if (spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0) {
      console.log(`skip: ${python} cannot import torch (install python3-torch)`);
      this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pointbox-it-train-'));
    execFileSync(process.execPath, [cli, 'phantom', '--out', dir, '--images', '24', '--seed', '3', '--size', '64', '--format', 'png', '--box-ratio', '0.5', '--val', '0.2'], { stdio: 'ignore' });
    file = path.join(dir, 'dataset.pointbox.json');
    await api();
    await vscode.commands.executeCommand('pointbox.openDataset', vscode.Uri.file(file));
  });

  it('registers the training commands and contributes the Runs view actions', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['pointbox.startTrainingRun', 'pointbox.cancelTrainingRun', 'pointbox.openRunLog', 'pointbox.useRunModel', 'pointbox.evaluateRunModel']) {
      assert.ok(all.includes(id), `command ${id} is not registered`);
    }
    const pkg = vscode.extensions.getExtension('pointbox.pointbox')!.packageJSON;
    assert.ok(pkg.contributes.menus['view/title'].some((m: any) => m.command === 'pointbox.startTrainingRun' && /isWorkspaceTrusted/.test(m.when)));
  });

  it('starts a tiny run by command, lists it completed in the Runs view, and Use Run Model selects its model', async () => {
    const t0 = Date.now();
    const summary: any = await vscode.commands.executeCommand('pointbox.startTrainingRun', {
      dataset: file, mode: 'pbc', epochs: 1, imageSize: 64, batch: 2, device: 'cpu', extraArgs: ['--stride', '8'], init: false,
    });
    assert.ok(summary && !summary.error, JSON.stringify(summary));
    assert.equal(summary.status, 'completed', summary.error);
    console.log(`tiny training run through the extension: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const root = path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, '.pointbox', 'runs');
    assert.equal(path.dirname(summary.dir), root, 'the run lives under <workspace>/.pointbox/runs');
    assert.ok(fs.existsSync(path.join(summary.dir, 'model.onnx')));
    assert.ok(fs.existsSync(path.join(summary.dir, 'train.log')));

    const a = await api();
    const items = await a.runsTree();
    assert.equal(items[0].node.dir, summary.dir, 'newest first');
    assert.equal(items[0].contextValue, 'run-completed-model');
    assert.match(items[0].description, /^pbc · epoch 1\/1 · AP50 \d+\.\d$/);
    assert.match(items[0].tooltip, /Started from: scratch/);
    assert.match(items[0].tooltip, /Process: pid \d+, group \d+ on /);
    assert.doesNotMatch(JSON.parse(fs.readFileSync(path.join(summary.dir, 'launch.json'), 'utf8')).argv.join(' '), /--init/);
    const kids = await a.runsTree(items[0].node);
    assert.ok(kids.some((k: any) => k.label === 'model.onnx' && k.contextValue === 'run-model'), JSON.stringify(kids.map((k: any) => k.label)));
    assert.ok(kids.some((k: any) => k.label === 'train.log'));

    const before = await a.selectedModel();
    assert.notEqual(before, vscode.Uri.file(summary.modelOnnx).toString());
    const selected = await vscode.commands.executeCommand('pointbox.useRunModel', items[0].node);
    assert.equal(selected, vscode.Uri.file(summary.modelOnnx).toString());
    assert.equal(await a.selectedModel(), vscode.Uri.file(summary.modelOnnx).toString());

    // The trainer ran from the installed extension's own models/ (in the vsix tier: what the .vsix ships).
    const ext = vscode.extensions.getExtension('pointbox.pointbox')!;
    const header = fs.readFileSync(path.join(summary.dir, 'train.log'), 'utf8').split('\n')[0]!;
    assert.ok(header.includes(`(cwd ${path.join(ext.extensionPath, 'models')})`), header);

    const ev: any = await vscode.commands.executeCommand('pointbox.evaluateRunModel', { dir: summary.dir }, { dataset: file, show: false });
    assert.ok(ev && !ev.error, JSON.stringify(ev));
    assert.deepEqual(ev.rows.map((r: any) => r.model), ['model.onnx', 'prior box (baseline)']);
    assert.ok(ev.rows.every((r: any) => r.ap50 >= 0 && r.ap50 <= 1));

    const log = await vscode.commands.executeCommand('pointbox.openRunLog', { dir: summary.dir });
    assert.equal(log, path.join(summary.dir, 'train.log'));
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, path.join(summary.dir, 'train.log'));
  });

  it('starts from the selected model by default (--init <model file>), records it, and shows the trainer\'s error when the model does not fit', async () => {
    const a = await api();
    const selected = vscode.Uri.parse((await a.selectedModel())!).fsPath;
    const r: any = await vscode.commands.executeCommand('pointbox.startTrainingRun', {
      dataset: file, mode: 'pointdetr', epochs: 1, imageSize: 64, batch: 2, device: 'cpu', extraArgs: ['--stride', '8'],
    });
    assert.ok(r && r.dir, JSON.stringify(r));
    const launch = JSON.parse(fs.readFileSync(path.join(r.dir, 'launch.json'), 'utf8'));
    assert.deepEqual(launch.argv.slice(launch.argv.indexOf('--init'), launch.argv.indexOf('--init') + 2), ['--init', selected], 'the trainer was started from the selected model');
    assert.equal(r.init, selected);
    const row = (await a.runsTree()).find((x: any) => x.node.dir === r.dir);
    assert.ok(row.tooltip.includes(`Started from: \`${selected}\``), row.tooltip);
    if (!trainerHasInit()) { console.log('--init not in the trainer yet: checked the command line only'); return; }
    // The trainer either fine-tunes from it or refuses with its one-line error, which is what the user sees.
    if (r.status !== 'completed') assert.match(r.error, /^pbc_trainer: error: /, `${r.status}: ${r.error}`);
    // A model that fits (same classes: the first test's run) is fine-tuned to completion.
    const base = (await a.runsTree()).find((x: any) => x.contextValue === 'run-completed-model' && !/Started from: `/.test(x.tooltip));
    const ok: any = await vscode.commands.executeCommand('pointbox.startTrainingRun', {
      dataset: file, mode: 'pbc', epochs: 1, imageSize: 64, batch: 2, device: 'cpu', extraArgs: ['--stride', '8'], init: base.node.summary.modelOnnx,
    });
    assert.equal(ok.status, 'completed', ok.error);
    assert.equal(ok.init, base.node.summary.modelOnnx);
  });

  it('shows a running run with a spinner, and Cancel Training Run stops it: cancelled, the process gone', async () => {
    const started: any = await vscode.commands.executeCommand('pointbox.startTrainingRun', {
      dataset: file, mode: 'mpc', epochs: 500, imageSize: 64, batch: 2, device: 'cpu', extraArgs: ['--stride', '8'], wait: false, init: false,
    });
    assert.ok(started?.dir, JSON.stringify(started));
    const a = await api();
    const find = async () => (await a.runsTree()).find((r: any) => r.node.dir === started.dir);
    const running = await waitFor(find, (r: any) => r?.contextValue === 'run-running' && /epoch [1-9]/.test(r.description), 60_000);
    assert.equal(running?.contextValue, 'run-running', JSON.stringify(running));
    const pid = JSON.parse(fs.readFileSync(path.join(started.dir, 'run.json'), 'utf8')).pid;
    assert.equal(await vscode.commands.executeCommand('pointbox.cancelTrainingRun', running.node), true);
    const done = await waitFor(find, (r: any) => r?.contextValue?.startsWith('run-cancelled'), 30_000);
    assert.match(done.contextValue, /^run-cancelled/);
    assert.match(done.description, /^mpc · epoch \d+\/500 .*cancelled$/);
    // run.json says cancelled a moment before the trainer exits: give it time to go, then it must be gone.
    const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
    assert.equal(await waitFor(alive, (v) => !v, 15_000), false, 'the trainer process is gone');
  });

  it('an invalid pointbox.training.pythonPath: a clear error naming it and what to install, no run folder', async () => {
    const cfg = vscode.workspace.getConfiguration('pointbox');
    await cfg.update('training.pythonPath', '/nonexistent/python3', vscode.ConfigurationTarget.Workspace);
    try {
      const root = path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, '.pointbox', 'runs');
      const n = fs.existsSync(root) ? fs.readdirSync(root).length : 0;
      const r: any = await vscode.commands.executeCommand('pointbox.startTrainingRun', { dataset: file, mode: 'mpc', epochs: 1, init: false });
      assert.match(r.error, /"\/nonexistent\/python3" not found.*apt-get install python3-torch/);
      assert.equal(fs.existsSync(root) ? fs.readdirSync(root).length : 0, n);
    } finally {
      await cfg.update('training.pythonPath', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
