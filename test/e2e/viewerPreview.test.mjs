// UI tier: a big file's reduced first image (issue 13). The host decodes and box-reduces a 2560x2560 12-bit
// DICOM in a worker while the viewer starts and posts it before the 13 MB of bytes; the viewer paints it
// fitted to the full size, then replaces it with its own full-resolution decode. A big file that is no
// image still ends in the viewer's error naming the file (the failed preview is only logged).
// No timings are asserted here (bench/viewer.e2e.bench.mjs measures them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, buildUnlessSkipped, openWorkspaceInBrowser } from '../support/codeServer.mjs';
import { canvasState, quickOpen, until, viewerFrame } from '../support/viewerFrame.mjs';

let session, page, bigName;

before(async () => {
  buildUnlessSkipped();
  const workspace = join(mkdtempSync(join(tmpdir(), 'pointbox-e2e-preview-')), 'workspace');
  mkdirSync(workspace, { recursive: true });
  execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'phantom', '--out', join(workspace, 'big'), '--images', '1', '--seed', '3', '--size', '2560',
    '--format', 'dicom', '--workers', '0'], { stdio: 'ignore' });
  bigName = 'phantom_000001.dcm';
  assert.ok(statSync(join(workspace, 'big', 'images', bigName)).size > 4 * 2 ** 20, 'above the default pointbox.viewer.previewMinMB');
  // 5 MB that is no image, named like a DICOM file.
  writeFileSync(join(workspace, 'garbage_big.dcm'), Buffer.alloc(5 * 2 ** 20, 0x5a));
  session = await openWorkspaceInBrowser(workspace);
  page = session.page;
});

after(async () => { await session?.close(); });

test('a 2560x2560 DICOM: the reduced first image (1/3) is painted first, then full resolution replaces it', { timeout: 240_000 }, async () => {
  await quickOpen(page, bigName);
  await page.keyboard.press('Enter');
  const frame = await viewerFrame(page, bigName);
  let seenPreview;
  const s = await until('full resolution on screen', async () => {
    const x = await canvasState(frame);
    if (x.state === 'preview' && !seenPreview) seenPreview = x;
    return x.state === 'ready' && x.file === bigName ? x : undefined;
  }, 180_000);
  assert.equal(s.imageWidth, '2560', 'the full image, not the preview, is what is shown at the end');
  assert.equal(s.previewFactor, '3', 'reduced to at most 1024 pixels: 1/3');
  assert.deepEqual([s.previewWidth, s.previewHeight], ['854', '854']);
  assert.ok(Number(s.previewAt) <= Number(s.paintedAt), `the reduced image came first (${s.previewAt} vs ${s.paintedAt})`);
  assert.ok(s.levels > 16, 'real pixels');
  if (seenPreview) {
    // Caught while only the reduced image was there: real pixels, fitted as the full image then is.
    assert.ok(seenPreview.levels > 16, 'the reduced image has real pixels');
    assert.equal(seenPreview.scale, s.scale, 'fitted to the full size: the view does not jump at the switch');
  }
});

test('a big file that is no image: the viewer says so, naming it; nothing waits forever on the preview', { timeout: 180_000 }, async () => {
  await quickOpen(page, 'garbage_big.dcm');
  await page.keyboard.press('Enter');
  const frame = await viewerFrame(page, 'garbage_big.dcm');
  const s = await until('the decode error', async () => { const x = await canvasState(frame); return x.state === 'error' ? x : undefined; }, 120_000);
  assert.equal(s.previewAt, undefined, 'no reduced image of a file that does not decode');
  const text = await frame.locator('#pb-message').innerText();
  assert.match(text, /garbage_big\.dcm/);
});
