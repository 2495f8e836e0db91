#!/usr/bin/env node
// UI tier: Playwright (playwright-core) drives Debian's Chromium against code-server with PointBox installed,
// the way a user would: open a workspace, open the PointBox container, see the views, run a command from
// the palette. Screenshots go to artifacts/e2e/. Each check is a node:test test so failures are reported
// by name; the runner's summary line counts them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, buildUnlessSkipped, openWorkspaceInBrowser } from '../support/codeServer.mjs';

const artifacts = join(repoRoot, 'artifacts', 'e2e');
mkdirSync(artifacts, { recursive: true });
let session, page;

before(async () => {
  buildUnlessSkipped();
  const workspace = join(mkdtempSync(join(tmpdir(), 'pointbox-e2e-')), 'workspace');
  mkdirSync(workspace);
  writeFileSync(join(workspace, 'notes.md'), '# PointBox e2e workspace\n');
  session = await openWorkspaceInBrowser(workspace);
  page = session.page;
});

after(async () => {
  await session?.close();
});

test('the PointBox activity-bar container opens and shows Datasets, Models and Runs', async () => {
  const tab = page.locator('.activitybar [aria-label^="PointBox"]').first();
  await tab.waitFor({ timeout: 60_000 });
  await tab.click();
  const sidebar = page.locator('.sidebar');
  await sidebar.locator('.pane-header:has-text("Datasets")').waitFor({ timeout: 30_000 });
  for (const name of ['Datasets', 'Models', 'Runs']) {
    assert.equal(await sidebar.locator(`.pane-header:has-text("${name}")`).count(), 1, `view ${name} missing`);
  }
  // The empty Datasets view shows its welcome content with the two buttons.
  await sidebar.locator('.welcome-view-content a.monaco-button:has-text("Open dataset")').first().waitFor({ timeout: 30_000 });
  assert.equal(await sidebar.locator('.welcome-view-content a.monaco-button:has-text("Import")').count() >= 1, true);
  await page.screenshot({ path: join(artifacts, 'pointbox-container.png') });
});

test('a PointBox command runs from the command palette', async () => {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15_000 });
  await input.fill('>PointBox: Show Output');
  await page.locator('.quick-input-list .monaco-list-row:has-text("PointBox: Show Output")').first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  // The output panel opens on the PointBox channel, which logged the activation line.
  await page.locator('.panel .monaco-editor .view-lines:has-text("PointBox")').first().waitFor({ timeout: 30_000 });
  // Monaco renders spaces as U+00A0; normalise before matching.
  const text = (await page.locator('.panel .monaco-editor .view-lines').first().innerText()).replace(/\s/g, ' ');
  assert.match(text, /PointBox \d+\.\d+\.\d+ activated in/);
  await page.screenshot({ path: join(artifacts, 'command-palette-output.png') });
});
