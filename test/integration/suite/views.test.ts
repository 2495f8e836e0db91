/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';

describe('PointBox views and commands', () => {
  before(async () => {
    await vscode.extensions.getExtension('pointbox.pointbox')!.activate();
  });

  it('registers its commands', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['pointbox.openDataset', 'pointbox.importDataset', 'pointbox.closeDataset', 'pointbox.refresh', 'pointbox.showOutput', 'pointbox.showInfo']) {
      assert.ok(all.includes(id), `command ${id} is not registered`);
    }
  });

  it('contributes the PointBox container with Datasets, Models and Runs views', async () => {
    const pkg = vscode.extensions.getExtension('pointbox.pointbox')!.packageJSON;
    assert.equal(pkg.contributes.viewsContainers.activitybar[0].title, 'PointBox');
    assert.deepEqual(pkg.contributes.views.pointbox.map((v: any) => v.id), ['pointbox.datasets', 'pointbox.models', 'pointbox.runs']);
    // Focusing a view runs VS Code's generated '<id>.focus' command: it fails if the view isn't registered.
    await vscode.commands.executeCommand('pointbox.datasets.focus');
    await vscode.commands.executeCommand('pointbox.models.focus');
    await vscode.commands.executeCommand('pointbox.runs.focus');
  });

  it('runs a command: showInfo reports version, trust and the inference status item', async () => {
    const info: any = await vscode.commands.executeCommand('pointbox.showInfo');
    assert.equal(info.version, vscode.extensions.getExtension('pointbox.pointbox')!.packageJSON.version);
    assert.equal(typeof info.trusted, 'boolean');
    assert.match(info.inferenceStatus, /\$\(chip\) /);
  });

  it('opens a dataset file by command and remembers it for the workspace', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pointbox-it-'));
    const file = path.join(dir, 'tiny.pointbox.json');
    fs.writeFileSync(file, JSON.stringify({ pointbox: { schema_version: 1 }, info: { name: 'tiny' }, categories: [], images: [], annotations: [], pseudo_boxes: [] }));
    const opened = await vscode.commands.executeCommand('pointbox.openDataset', vscode.Uri.file(file));
    assert.equal(opened, vscode.Uri.file(file).toString());
    const info: any = await vscode.commands.executeCommand('pointbox.showInfo');
    assert.ok(info.openDatasets.includes(vscode.Uri.file(file).toString()));
  });
});

describe('A dataset that cannot be read', () => {
  it('shows its error in the tree, can be reloaded once fixed, and closed', async () => {
    const a: any = await vscode.extensions.getExtension('pointbox.pointbox')!.activate();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pointbox-it-bad-'));
    const file = path.join(dir, 'broken.pointbox.json');
    const good = JSON.stringify({ pointbox: { schema_version: 1 }, info: { name: 'fixed' }, categories: [], images: [], annotations: [], pseudo_boxes: [] });
    fs.writeFileSync(file, '{ "pointbox": { "schema_version": 1 }, "images": [ oops');
    const uri = vscode.Uri.file(file);
    const opened: any = await vscode.commands.executeCommand('pointbox.openDataset', uri);
    assert.match(opened.error, /^cannot open \/.*broken\.pointbox\.json(:\d+)?: invalid JSON/);
    const row = () => a.datasetTree().then((rs: any[]) => rs.find((r) => r.node.uri.fsPath === file));
    const bad = await row();
    assert.equal(bad.contextValue, 'dataset-error');
    assert.match(bad.description, /^cannot be opened: .*invalid JSON/);
    // The menus offer Reload and Close on error nodes.
    const menus = vscode.extensions.getExtension('pointbox.pointbox')!.packageJSON.contributes.menus['view/item/context'];
    for (const cmd of ['pointbox.reloadDataset', 'pointbox.closeDataset']) {
      assert.ok(menus.some((m: any) => m.command === cmd && /viewItem (==|=~) .*dataset(-error|\(-error)/.test(m.when)), `${cmd} on dataset-error nodes`);
    }
    fs.writeFileSync(file, good);
    assert.equal(await vscode.commands.executeCommand('pointbox.reloadDataset', bad.node), uri.toString());
    const fixed = await row();
    assert.deepEqual([fixed.contextValue, fixed.label], ['dataset', 'fixed']);
    fs.writeFileSync(file, 'not json');
    const again: any = await vscode.commands.executeCommand('pointbox.reloadDataset', fixed.node);
    assert.match(again.error, /invalid JSON/);
    assert.equal((await row()).contextValue, 'dataset-error');
    await vscode.commands.executeCommand('pointbox.closeDataset', (await row()).node);
    assert.equal(await row(), undefined, 'closed: gone from the view');
    const info: any = await vscode.commands.executeCommand('pointbox.showInfo');
    assert.ok(!info.openDatasets.includes(uri.toString()));
  });
});

describe('Models', () => {
  it('a rescan hashes only model files that are new or whose size or mtime changed', async () => {
    const a: any = await vscode.extensions.getExtension('pointbox.pointbox')!.activate();
    await a.selectedModel();
    await vscode.commands.executeCommand('pointbox.refreshModels');
    const before = a.testing.counters().modelsHashed;
    assert.ok(before > 0, 'the first scan read the shipped model');
    await vscode.commands.executeCommand('pointbox.refreshModels');
    await vscode.commands.executeCommand('pointbox.refresh');
    assert.equal(a.testing.counters().modelsHashed, before, 'unchanged files are not read again');
  });

  it('selects the newest shipped model until the user chooses one (pointbox-pbc-v2 over v1)', async () => {
    const a: any = await vscode.extensions.getExtension('pointbox.pointbox')!.activate();
    const dir = path.join(vscode.extensions.getExtension('pointbox.pointbox')!.extensionPath, 'models');
    const shipped = fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort((x, y) => y.localeCompare(x, 'en', { numeric: true }));
    if (shipped.length === 0) return; // a checkout without shipped models: nothing to prefer
    const selected = await a.selectedModel();
    assert.equal(path.basename(vscode.Uri.parse(selected).fsPath), shipped[0], `selected ${selected} of ${shipped.join(', ')}`);
  });
});
