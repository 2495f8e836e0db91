// UI tier: the viewer's DICOM header panel links to the PHI report of the image's dataset (issue 16). A phantom
// DICOM dataset opens in the workbench; an image opened from Quick Open shows the viewer; the Header button
// shows the panel with its "PHI report of this dataset…" link; clicking it opens the report (Markdown) with the
// per-file counts and no value.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, buildUnlessSkipped, openWorkspaceInBrowser } from '../support/codeServer.mjs';

const artifacts = join(repoRoot, 'artifacts', 'e2e');
mkdirSync(artifacts, { recursive: true });
let session, page, fileName;

async function until(what, fn, timeoutMs = 60_000) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  buildUnlessSkipped();
  const workspace = join(mkdtempSync(join(tmpdir(), 'pointbox-e2e-phi-')), 'workspace');
  mkdirSync(workspace, { recursive: true });
  execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'phantom', '--out', join(workspace, 'phantom'), '--images', '4', '--seed', '8', '--size', '256',
    '--format', 'dicom', '--box-ratio', '0.5', '--workers', '0'], { stdio: 'ignore' });
  const d = JSON.parse(readFileSync(join(workspace, 'phantom', 'dataset.pointbox.json'), 'utf8'));
  fileName = d.images[0].file_name.split('/').pop();
  session = await openWorkspaceInBrowser(workspace);
  page = session.page;
});

after(async () => { await session?.close(); });

test('the header panel links to the PHI report of the dataset', { timeout: 300_000 }, async () => {
  // The dataset is open (PointBox opens a workspace's datasets on first activation): wait for it in the tree.
  await page.locator('.activitybar [aria-label^="PointBox"]').first().click();
  await page.locator('.sidebar .monaco-list-row[aria-level="1"]:has-text("phantom-seed-8")').first().waitFor({ timeout: 90_000 });
  await page.keyboard.press('Control+P');
  await page.keyboard.type(fileName);
  await page.locator('.quick-input-widget .monaco-list-row').first().waitFor();
  await page.keyboard.press('Enter');
  const frame = await until(`the viewer of ${fileName}`, async () => {
    for (const f of page.frames()) {
      if (f.isDetached()) continue;
      if (await f.evaluate((n) => document.title === n && !!document.getElementById('pb-canvas'), fileName).catch(() => false)) return f;
    }
    return undefined;
  }, 120_000);
  await frame.locator('#pb-canvas[data-state="ready"]').waitFor({ timeout: 120_000 });
  await frame.locator('#pb-header-toggle').click();
  const link = frame.locator('#pb-phi-report');
  await until('the PHI report link (the image is in an open dataset)', async () => link.isVisible());
  await link.click();
  // The report opens as a Markdown document: the table row of Patient's Name, 4 files.
  const editor = page.locator('.monaco-editor .view-lines:has-text("PHI report")').first();
  await editor.waitFor({ timeout: 120_000 });
  const text = (await editor.innerText()).replace(/\u00a0/g, ' '); // Monaco renders spaces as NBSP
  assert.match(text, /# PHI report: phantom-seed-8/);
  assert.match(text, /\(0010,0010\) \| Patient's Name \| 4 \|/);
  assert.doesNotMatch(text, /PHANTOM\^/, 'no value in the report');
  await page.screenshot({ path: join(artifacts, 'phi-report.png') });
});
