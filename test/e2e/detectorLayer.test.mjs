// UI tier, issue 15: the viewer's detector layer in the real workbench. A workspace with a PNG phantom
// dataset and a student detector trained by our own trainer (`pbc_trainer detector`, a few steps: the boxes
// mean nothing, the plumbing is what is tested); the user opens an image, picks the detector with
// "PointBox: Select Detector", turns the layer on with the toolbar's Detector button, sees its boxes drawn and
// named in the status line, hides them with the overlays toggle, and turns the layer off again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, buildUnlessSkipped, openWorkspaceInBrowser } from '../support/codeServer.mjs';
import { revealTreeRow } from '../support/treeRows.mjs';
import { until, viewerFrame } from '../support/viewerFrame.mjs';

const artifacts = join(repoRoot, 'artifacts', 'e2e');
mkdirSync(artifacts, { recursive: true });
const python = '/usr/bin/python3';
const skip = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status !== 0
  ? `${python} cannot import torch and torchvision (python3-torch python3-torchvision): no detector can be trained` : false;
let session, page, workspace, target;

before(async () => {
  if (skip) return;
  buildUnlessSkipped();
  workspace = join(mkdtempSync(join(tmpdir(), 'pointbox-e2e-det-')), 'workspace');
  mkdirSync(workspace, { recursive: true });
  const cli = join(repoRoot, 'dist', 'cli.js');
  execFileSync(process.execPath, [cli, 'phantom', '--out', join(workspace, 'phantom'), '--images', '12', '--seed', '8', '--size', '128', '--format', 'png', '--box-ratio', '1', '--val', '0.2', '--workers', '0'], { stdio: 'ignore' });
  const d = JSON.parse(readFileSync(join(workspace, 'phantom', 'dataset.pointbox.json'), 'utf8'));
  const im = d.images.find((i) => i.split === 'train');
  target = { file: im.file_name.split('/').pop(), width: im.width };
  // The detector: our trainer's student mode on this dataset's export, a few steps at 64 px, outside the dataset folder.
  const exp = mkdtempSync(join(tmpdir(), 'pointbox-e2e-det-export-'));
  execFileSync(process.execPath, [cli, 'export', 'coco', join(workspace, 'phantom', 'dataset.pointbox.json'), '--out', exp, '--layout', 'pbc'], { stdio: 'ignore' });
  execFileSync(python, ['-m', 'pbc_trainer', 'detector', '--data', exp, '--out', join(workspace, 'detector-run'), '--pseudo', 'none', '--epochs', '1',
    '--steps-per-epoch', '2', '--image-size', '64', '--batch', '4', '--device', 'cpu', '--seed', '0'], { cwd: join(repoRoot, 'models'), stdio: 'ignore' });
  // A score threshold of 0: an untrained student's boxes are low-scored, and the test needs some on screen.
  mkdirSync(join(workspace, '.vscode'));
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'pointbox.detector.minScore': 0 }));
  session = await openWorkspaceInBrowser(workspace);
  page = session.page;
});

after(async () => {
  await session?.close();
});

const dataset = (frame) => frame.evaluate(() => ({ ...document.getElementById('pb-canvas').dataset }));

test('the detector layer: Select Detector, the Detector button draws its boxes (status names the model), overlays off hides them, a second press turns it off', { skip, timeout: 300_000 }, async () => {
  await page.locator('.activitybar [aria-label^="PointBox"]').first().click();
  await (await revealTreeRow(page.locator('.sidebar'), ['phantom-seed-8', 'train', 'Box-level', target.file])).click();
  const frame = await viewerFrame(page, target.file);
  await frame.locator('#pb-canvas[data-state="ready"]').waitFor({ timeout: 120_000 });
  assert.equal((await dataset(frame)).detector, 'off', 'the layer starts off');

  // The quick pick closes when anything takes the focus from it (once in a loaded e2e tier its row stayed
  // "not visible" for 30 s): open it again then, up to three times, rather than fail on the workbench's focus.
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill('>PointBox: Select Detector');
    await page.locator('.quick-input-list .monaco-list-row:has-text("Select Detector")').first().waitFor({ timeout: 15_000 });
    await page.keyboard.press('Enter');
    // The quick pick lists the workspace's detector (the run's model.onnx), not the point->box models.
    const item = page.locator('.quick-input-list .monaco-list-row:has-text("detector-run")').first();
    await item.waitFor({ timeout: 60_000 });
    const listed = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    assert.ok(listed.every((t) => !/pointbox-pbc-v\d/.test(t)), `no point->box model offered: ${listed.join(' | ')}`);
    try {
      await item.click({ timeout: 10_000 });
      break;
    } catch (e) {
      if (attempt === 3) throw e;
      console.log(`# the Select Detector quick pick lost its row (attempt ${attempt}): ${String(e).split('\n')[0]}`);
      await page.keyboard.press('Escape');
    }
  }

  await frame.locator('#pb-detector').click();
  const on = await until('the detector layer on', async () => { const s = await dataset(frame); return s.detector === 'on' || s.detector === 'failed' ? s : undefined; }, 120_000);
  const status = await frame.locator('#pb-status').innerText();
  assert.equal(on.detector, 'on', `the detector ran: ${status}`);
  const drawn = Number(on.detectionsDrawn);
  assert.ok(drawn > 0, `boxes drawn with minScore 0: ${status}`);
  assert.match(status, new RegExp(`detector \\S*model\\.onnx: ${drawn} box\\(es\\) ≥ 0 of \\d+`), status);
  await page.screenshot({ path: join(artifacts, 'detector-layer.png') });

  // Keys go to the viewer once its canvas has been clicked (an empty corner: the select tool selects nothing there).
  await frame.locator('#pb-canvas').click({ position: { x: 3, y: 3 } });
  await page.keyboard.press('o');
  await until('overlays off', async () => (await dataset(frame)).overlays === 'false', 10_000);
  assert.equal((await dataset(frame)).detectionsDrawn, '0', 'overlays off hides the detector boxes too');
  await page.keyboard.press('o');
  await until('overlays on', async () => (await dataset(frame)).overlays === 'true', 10_000);
  assert.equal(Number((await dataset(frame)).detectionsDrawn), drawn);

  await frame.locator('#pb-detector').click();
  const off = await until('the detector layer off', async () => { const s = await dataset(frame); return s.detector === 'off' ? s : undefined; }, 10_000);
  assert.equal(off.detectionsDrawn, '0');
});
