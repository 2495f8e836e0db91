/// <reference types="mocha" />
// The UI export's de-identified choice and PointBox: PHI Report, through the real commands in the extension host
// (the work runs in the dataset job worker, as in the product).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { execFileSync } from 'node:child_process';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(repoRoot, 'dist', 'cli.js');

describe('De-identified export and PHI report', function () {
  this.timeout(120_000);
  let dir: string;
  let uri: vscode.Uri;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pointbox-it-deid-'));
    execFileSync(process.execPath, [cli, 'phantom', '--out', path.join(dir, 'ds'), '--images', '8', '--seed', '9', '--size', '128', '--format', 'dicom', '--box-ratio', '0.5'], { stdio: 'ignore' });
    uri = vscode.Uri.file(path.join(dir, 'ds', 'dataset.pointbox.json'));
    await vscode.extensions.getExtension('pointbox.pointbox')!.activate();
    await vscode.commands.executeCommand('pointbox.openDataset', uri);
  });

  it('Export Dataset, de-identified: rewritten DICOMs under new UIDs, annotation files with only those names, no key inside', async () => {
    const keyFile = path.join(dir, 'secret.key');
    fs.writeFileSync(keyFile, 'integration test key, 32 bytes at least\n', { mode: 0o600 });
    const out = path.join(dir, 'shared');
    const files: any = await vscode.commands.executeCommand('pointbox.exportDataset', { uri }, 'pbc', out, { profile: 'basic', keyFile, mappingFile: path.join(dir, 'mapping.json') });
    assert.ok(Array.isArray(files) && files.some((f: string) => f.endsWith('instances_train_box.json')), JSON.stringify(files));
    const images = fs.readdirSync(path.join(out, 'images'));
    assert.equal(images.length, 8);
    assert.ok(images.every((n) => /^2\.25\.\d+\.dcm$/.test(n)), images.join(' '));
    const marker = JSON.parse(fs.readFileSync(path.join(out, 'deidentification.json'), 'utf8'));
    assert.equal(marker.profile, 'basic');
    for (const f of files) {
      const j = JSON.parse(fs.readFileSync(f, 'utf8'));
      for (const im of j.images) assert.ok(images.includes(im.file_name), im.file_name);
    }
    const key = fs.readFileSync(keyFile, 'utf8').trim();
    for (const n of images) {
      const s = fs.readFileSync(path.join(out, 'images', n)).toString('latin1');
      assert.equal(s.includes(key), false);
      assert.equal(s.includes('PHANTOM^'), false, 'patient name gone');
    }
    assert.ok(fs.existsSync(path.join(dir, 'mapping.json')));
  });

  it('PHI Report: identifying attributes per file count, no values', async () => {
    const r: any = await vscode.commands.executeCommand('pointbox.phiReport', { uri }, { show: false });
    assert.equal(r.images.dicom, 8);
    const name = r.dicomAttributes.find((a: any) => a.tag === '(0010,0010)');
    assert.equal(name?.files, 8);
    assert.equal(JSON.stringify(r).includes('PHANTOM^'), false);
    // Shown as a Markdown document when asked from the UI.
    await vscode.commands.executeCommand('pointbox.phiReport', { uri });
    const doc = vscode.window.visibleTextEditors.map((e) => e.document).find((d) => d.getText().startsWith('# PHI report'));
    assert.ok(doc, 'the report is open');
    assert.match(doc!.getText(), /\| \(0010,0010\) \| Patient's Name \| 8 \|/);
    // Read-only, never dirty: closing it (or the window) does not ask to save a report nobody edited.
    assert.equal(doc!.uri.scheme, 'pointbox-report');
    assert.equal(doc!.isDirty, false);
    assert.equal(doc!.languageId, 'markdown');
  });
});
