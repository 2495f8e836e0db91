// UI tier: a user's pseudo-labeling round trip in the real workbench. A workspace with a phantom dataset
// and a point->box model; PointBox opens the dataset by itself (workspaceContains), the user selects the
// dataset in the Datasets view, runs "PointBox: Generate Pseudo-Boxes" from the palette, and the tree
// grows a "Pseudo-boxes: pending" group whose count matches the file. Screenshots in artifacts/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, existsSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, buildUnlessSkipped, openWorkspaceInBrowser } from '../support/codeServer.mjs';
import { revealTreeRow } from '../support/treeRows.mjs';

const artifacts = join(repoRoot, 'artifacts', 'e2e');
mkdirSync(artifacts, { recursive: true });
let session, page, workspace;
const shipped = existsSync(join(repoRoot, 'models')) ? readdirSync(join(repoRoot, 'models')).filter((f) => f.endsWith('.onnx')) : [];
const haveTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const skip = shipped.length === 0 && !haveTorch ? 'no shipped model and no python3-torch to build a test model' : false;

before(async () => {
  if (skip) return;
  buildUnlessSkipped();
  workspace = join(mkdtempSync(join(tmpdir(), 'pointbox-e2e-pl-')), 'workspace');
  mkdirSync(workspace, { recursive: true });
  execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'phantom', '--out', join(workspace, 'phantom'), '--images', '24', '--seed', '21', '--size', '256', '--format', 'png', '--box-ratio', '0.25'], { stdio: 'ignore' });
  if (shipped.length === 0) {
    // No shipped model in this checkout: use the generated contract-conforming test model, with a class map.
    const fx = mkdtempSync(join(tmpdir(), 'pointbox-e2e-onnx-'));
    execFileSync('/usr/bin/python3', [join(repoRoot, 'test', 'fixtures', 'onnx', 'makeOnnxFixtures.py'), fx], { stdio: 'ignore' });
    mkdirSync(join(workspace, 'models'));
    copyFileSync(join(fx, 'good.onnx'), join(workspace, 'models', 'test-model.onnx'));
    mkdirSync(join(workspace, '.vscode'));
    writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'pointbox.inference.classMap': { Atelectasis: 'Effusion', Cardiomegaly: 'Mass', Infiltrate: 'Effusion', Pneumonia: 'Effusion', Pneumothorax: 'Effusion' } }));
  }
  session = await openWorkspaceInBrowser(workspace);
  page = session.page;
});

after(async () => {
  await session?.close();
});

test('Generate Pseudo-Boxes from the palette adds a pending group to the tree', { skip, timeout: 180_000 }, async () => {
  await page.locator('.activitybar [aria-label^="PointBox"]').first().click();
  const sidebar = page.locator('.sidebar');
  // The workspace's dataset was opened automatically; its root row names it.
  const root = sidebar.locator('.monaco-list-row[aria-level="1"]:has-text("phantom-seed-21")').first();
  await root.waitFor({ timeout: 60_000 });
  await root.click();
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.fill('>PointBox: Generate Pseudo-Boxes');
  await page.locator('.quick-input-list .monaco-list-row:has-text("Generate Pseudo-Boxes")').first().waitFor();
  await page.keyboard.press('Enter');
  // A notification reports the result; then the file has pending boxes.
  await page.locator('.notifications-toasts:has-text("pending pseudo-boxes")').first().waitFor({ timeout: 120_000 });
  const file = join(workspace, 'phantom', 'dataset.pointbox.json');
  let pending = 0;
  for (let i = 0; i < 50 && pending === 0; i++) {
    pending = JSON.parse(readFileSync(file, 'utf8')).pseudo_boxes.filter((p) => p.review === 'pending').length;
    if (!pending) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(pending > 0, 'no pending pseudo-boxes were saved');
  // Expand train and find the pending group with its count.
  const group = await revealTreeRow(sidebar, ['phantom-seed-21', 'train', 'Pseudo-boxes: pending']);
  await page.screenshot({ path: join(artifacts, 'pseudo-boxes-pending.png') });
  const text = (await group.innerText()).replace(/\s+/g, ' ');
  const trainPendingImages = new Set(JSON.parse(readFileSync(file, 'utf8')).pseudo_boxes.filter((p) => p.review === 'pending').map((p) => p.image_id)).size;
  assert.match(text, new RegExp(`Pseudo-boxes: pending\\s*${trainPendingImages} images · ${pending} pseudo-boxes`), text);
});
