/// <reference types="mocha" />
// A window with Workspace Trust on and the folder NOT trusted (runInCodeServer.mjs starts code-server without
// --disable-workspace-trust; the workspace's .vscode/settings.json sets a custom interpreter path). PointBox
// declares limited support: browsing, viewing and pseudo-labelling (shipped model, prior baseline) work;
// training and custom interpreter paths are refused with a message that says how to trust the folder.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { execFileSync } from 'node:child_process';
import { waitFor } from './waitFor';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

async function api(): Promise<any> {
  return vscode.extensions.getExtension('pointbox.pointbox')!.activate();
}

describe('Untrusted workspace', function () {
  this.timeout(120_000);
  let file: string;
  let uri: vscode.Uri;

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pointbox-it-untrusted-'));
    execFileSync(process.execPath, [path.join(repoRoot, 'dist', 'cli.js'), 'phantom', '--out', dir, '--images', '12', '--seed', '4', '--size', '256', '--format', 'png', '--box-ratio', '0.25'], { stdio: 'ignore' });
    file = path.join(dir, 'dataset.pointbox.json');
    uri = vscode.Uri.file(file);
  });

  it('runs in Restricted Mode: the folder is not trusted, PointBox is active (limited support)', async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'the harness must run this suite in an untrusted folder');
    const a = await api();
    assert.equal(a.info().trusted, false);
  });

  it('refuses to start training, saying how to trust the folder; the custom interpreter path is not used; no run folder', async () => {
    const settings = path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, '.vscode', 'settings.json');
    assert.equal(JSON.parse(fs.readFileSync(settings, 'utf8'))['pointbox.training.pythonPath'], '/custom/bin/python3', 'the workspace asks for a custom interpreter');
    const cfg = vscode.workspace.getConfiguration('pointbox');
    assert.equal(cfg.get<string>('training.pythonPath'), '', 'VS Code ignores it in Restricted Mode (restrictedConfigurations)');
    await vscode.commands.executeCommand('pointbox.openDataset', uri);
    const r: any = await vscode.commands.executeCommand('pointbox.startTrainingRun', { dataset: file, mode: 'pbc', epochs: 1, init: false });
    assert.match(r.error, /untrusted workspace: training runs need a trusted workspace \(Workspaces: Manage Workspace Trust\)/);
    const root = path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, '.pointbox', 'runs');
    assert.equal(fs.existsSync(root), false, 'nothing was started');
  });

  it('browses: the dataset opens and the tree shows splits, groups and images with counts', async () => {
    const a = await api();
    const root = (await a.datasetTree()).find((x: any) => x.node.uri.fsPath === file);
    assert.match(root.description, /^12 images/);
    const splits = await a.datasetTree(root.node);
    const train = splits.find((s: any) => s.label === 'train');
    const groups = await a.datasetTree(train.node);
    const points = groups.find((g: any) => g.label === 'Point-level');
    assert.ok((await a.datasetTree(points.node)).length > 0);
  });

  it('views: an image opens in the PointBox viewer', async () => {
    const d = JSON.parse(fs.readFileSync(file, 'utf8'));
    const img = vscode.Uri.file(path.join(path.dirname(file), d.images[0].file_name));
    await vscode.commands.executeCommand('vscode.openWith', img, 'pointbox.viewer');
    const tab = await waitFor(() => vscode.window.tabGroups.activeTabGroup.activeTab, (t) => t?.input instanceof vscode.TabInputCustom, 15_000);
    assert.equal((tab!.input as vscode.TabInputCustom).viewType, 'pointbox.viewer');
    assert.equal((tab!.input as vscode.TabInputCustom).uri.fsPath, img.fsPath);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('pseudo-labels: with the prior baseline and with the shipped model; a workspace model is refused until trusted', async () => {
    const a = await api();
    const prior: any = await vscode.commands.executeCommand('pointbox.generatePseudoBoxes', { uri }, undefined, { model: 'prior' });
    assert.ok(prior.boxes > 0, JSON.stringify(prior));
    await vscode.commands.executeCommand('pointbox.undo', { uri });
    const selected = await a.selectedModel();
    assert.ok(selected && vscode.Uri.parse(selected).fsPath.startsWith(path.join(vscode.extensions.getExtension('pointbox.pointbox')!.extensionPath, 'models')), `the shipped model is the one offered: ${selected}`);
    const shipped: any = await vscode.commands.executeCommand('pointbox.generatePseudoBoxes', { uri });
    assert.ok(shipped.boxes > 0 && shipped.device === 'cpu', JSON.stringify(shipped));
    const ws = path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'model.onnx');
    fs.copyFileSync(vscode.Uri.parse(selected).fsPath, ws);
    const refused: any = await vscode.commands.executeCommand('pointbox.generatePseudoBoxes', { uri }, undefined, { model: ws });
    assert.match(refused.error, /models from the workspace are used once it is trusted/);
  });
});
