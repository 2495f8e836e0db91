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
