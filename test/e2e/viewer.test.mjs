// UI tier: the CXR viewer (custom editor pointbox.viewer) in the real workbench. A phantom dataset (the
// project's own generator, DICOM) with two pending pseudo-boxes written into it; the user opens an image
// from the Datasets tree, the webview decodes and draws it, a right-drag changes window/level, the point
// and box tools add annotations that the session auto-saves into the .pointbox.json, "Next pending" +
// Accept reviews a pseudo-box, and a truncated DICOM opened from Quick Open shows an error naming it.
//
// Webviews are nested iframes of the workbench page (outer: VS Code's webview host; inner: the page we
// wrote). Playwright lists every frame in page.frames(); the viewer's inner frame is the one whose
// document title is the file name and that holds #pb-canvas. Pixels are read back from that canvas.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, copyFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, buildUnlessSkipped, openWorkspaceInBrowser } from '../support/codeServer.mjs';
import { revealTreeRow, collapseTreeRoots } from '../support/treeRows.mjs';
import { canvasState, quickOpen, until, viewerFrame as viewerFrameOf } from '../support/viewerFrame.mjs';

const artifacts = join(repoRoot, 'artifacts', 'e2e');
mkdirSync(artifacts, { recursive: true });
const bigFixture = join(repoRoot, 'test', 'fixtures', 'imaging', 'generated', 'big_2500x3000_le.dcm');
const multiFrame = join(repoRoot, '..', 'shared', 'data', 'dicom-corpus', 'pydicom-data', 'emri_small.dcm');
let pngTarget;
let session, page, workspace, datasetFile, target, initialAnnotationIds, newBoxId;

const readDataset = () => JSON.parse(readFileSync(datasetFile, 'utf8'));

const viewerFrame = (fileName, timeoutMs) => viewerFrameOf(page, fileName, timeoutMs);

/** Page coordinates of image point (ix, iy), through the viewer's current view transform. */
async function imageToPage(frame, ix, iy) {
  const st = await canvasState(frame);
  const box = await frame.locator('#pb-canvas').boundingBox();
  return { x: box.x + ix * Number(st.scale) + Number(st.tx), y: box.y + iy * Number(st.scale) + Number(st.ty), scale: Number(st.scale) };
}

before(async () => {
  buildUnlessSkipped();
  workspace = join(mkdtempSync(join(tmpdir(), 'pointbox-e2e-viewer-')), 'workspace');
  mkdirSync(workspace, { recursive: true });
  execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'phantom', '--out', join(workspace, 'phantom'), '--images', '8', '--seed', '5', '--size', '1024',
    '--format', 'dicom', '--box-ratio', '0.5', '--workers', '0'], { stdio: 'ignore' });
  datasetFile = join(workspace, 'phantom', 'dataset.pointbox.json');
  const d = readDataset();
  // The image under test: a train image with points only, so it sits in "train / Point-level".
  const im = d.images.find((i) => i.split === 'train' && i.label_level === 'points');
  assert.ok(im, 'the phantom has a train image with points only');
  target = { id: im.id, file: im.file_name.split('/').pop(), width: im.width, height: im.height, dicom: join(workspace, 'phantom', im.file_name) };
  // Two pending pseudo-boxes from a (pretend) model run, in the top-left corner away from the lesions' clicks.
  const now = new Date(0).toISOString();
  d.pseudo_boxes.push(
    { id: 1, image_id: im.id, category_id: 3, bbox: [40, 40, 120, 100], score: 0.8, provenance: { model_id: 'e2e-model', time: now }, review: 'pending' },
    { id: 2, image_id: im.id, category_id: 5, bbox: [860, 40, 120, 100], score: 0.6, provenance: { model_id: 'e2e-model', time: now }, review: 'pending' },
  );
  writeFileSync(datasetFile, JSON.stringify(d, null, 1));
  initialAnnotationIds = new Set(d.annotations.map((a) => a.id));
  // A broken DICOM next to the dataset: the first half of a real one.
  const bytes = readFileSync(target.dicom);
  writeFileSync(join(workspace, 'broken.dcm'), bytes.subarray(0, bytes.length >> 1));
  if (existsSync(bigFixture)) copyFileSync(bigFixture, join(workspace, 'big_2500x3000_le.dcm'));
  if (existsSync(multiFrame)) copyFileSync(multiFrame, join(workspace, 'emri_small.dcm'));
  // A second dataset in PNG: PNG/JPEG open in VS Code's image preview by default; Open Image uses the viewer.
  execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'phantom', '--out', join(workspace, 'png'), '--images', '4', '--seed', '6', '--size', '256',
    '--format', 'png', '--box-ratio', '1', '--workers', '0'], { stdio: 'ignore' });
  pngTarget = JSON.parse(readFileSync(join(workspace, 'png', 'dataset.pointbox.json'), 'utf8')).images.find((i) => i.split === 'train');
  // A shared dataset whose file_name leaves its folder (issue 12): a real DICOM sits there, outside the workspace.
  mkdirSync(join(workspace, '..', 'outside'), { recursive: true });
  copyFileSync(target.dicom, join(workspace, '..', 'outside', 'secret.dcm'));
  mkdirSync(join(workspace, 'zz-escape'), { recursive: true });
  writeFileSync(join(workspace, 'zz-escape', 'escape.pointbox.json'), JSON.stringify({
    pointbox: { schema_version: 1 }, info: { name: 'zz-escape-test' }, categories: [{ id: 1, name: 'Nodule' }],
    images: [{ id: 1, file_name: '../../outside/secret.dcm', width: 1024, height: 1024, split: 'train', label_level: 'boxes' }],
    annotations: [], pseudo_boxes: [],
  }));
  session = await openWorkspaceInBrowser(workspace);
  page = session.page;
});

after(async () => {
  await session?.close();
});

let frame;

test('an image opened from the Datasets tree renders real pixels in the viewer', { timeout: 240_000 }, async () => {
  await page.locator('.activitybar [aria-label^="PointBox"]').first().click();
  const row = await revealTreeRow(page.locator('.sidebar'), ['phantom-seed-5', 'train', 'Point-level', target.file]);
  const t0 = Date.now();
  await row.click();
  frame = await viewerFrame(target.file);
  await frame.locator('#pb-canvas[data-state="ready"]').waitFor({ timeout: 120_000 });
  const openMs = Date.now() - t0;
  const st = await until('pixels on the canvas', async () => { const s = await canvasState(frame); return s.levels > 16 ? s : undefined; });
  assert.ok(st.levels > 16, `the canvas shows ${st.levels} grey levels: not an image`);
  assert.equal(st.imageWidth, String(target.width));
  // The tab is the PointBox viewer (a custom editor), titled with the file name.
  await page.locator(`.tabs-container .tab:has-text("${target.file}")`).first().waitFor();
  const status = await frame.locator('#pb-status').innerText();
  assert.match(status, /phantom-seed-5 · train · points/);
  assert.match(status, new RegExp(target.file.replace('.', '\\.')));
  await page.screenshot({ path: join(artifacts, 'viewer-open.png') });
  console.log(`# viewer: ${target.width}x${target.height} phantom DICOM on screen ${openMs} ms after the tree click`);
});

test('the viewer page runs under a strict CSP: its scripts nonce\'d, no inline or eval allowance, no network; its decode worker starts from #root', { timeout: 60_000 }, async () => {
  const doc = await frame.evaluate(() => ({
    csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '',
    scripts: [...document.scripts].map((s) => ({ nonce: s.nonce, src: s.src })),
    workerUrl: document.getElementById('root')?.dataset.workerUrl ?? '',
    timeline: document.getElementById('pb-canvas')?.dataset.timeline ?? '',
  }));
  const directives = Object.fromEntries(doc.csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['default-src'], ["'none'"]);
  assert.equal(directives['script-src'].filter((v) => !v.startsWith("'nonce-")).join(' '), "'wasm-unsafe-eval'", doc.csp);
  // Only the webview's own resources (webview.cspSource: 'self' and VS Code's resource origin, which it serves
  // locally), blob:/data: for decoded images and the worker; 'unsafe-inline' for styles only.
  const allowed = new Set(["'none'", "'self'", 'https://*.vscode-cdn.net', 'blob:', 'data:']);
  for (const [k, d] of Object.entries(directives)) {
    for (const v of d) assert.ok(allowed.has(v) || (k === 'script-src' && (v.startsWith("'nonce-") || v === "'wasm-unsafe-eval'")) || (k === 'style-src' && v === "'unsafe-inline'"), `${k} ${v} in ${doc.csp}`);
  }
  assert.ok(!directives['script-src'].includes("'unsafe-inline'"));
  const nonce = directives['script-src'].find((v) => v.startsWith("'nonce-")).slice(7, -1);
  // Ours: the page-start line and the bundle, both with this load's nonce (VS Code adds one inline script of
  // its own, without a nonce, to every webview page).
  const ours = doc.scripts.filter((x) => x.nonce);
  assert.equal(ours.length, 2, JSON.stringify(doc.scripts));
  assert.ok(ours.every((x) => x.nonce === nonce), JSON.stringify(doc.scripts));
  assert.match(ours[1].src, /\/dist\/webview\/viewer\.js$/);
  assert.ok(doc.scripts.filter((x) => x.src).every((x) => x.nonce === nonce), 'no script file without the nonce');
  // The worker's URL is on the page, so the worker starts while the host answers 'ready'; it did start.
  assert.match(doc.workerUrl, /decodeWorker\.js$/);
  assert.match(doc.timeline, /^page \d+, script \d+.*worker \d+/);
  // The file is in the workspace, so the page fetched it itself (protocol 5 'imageUrl'), not by message.
  assert.match(doc.timeline, /url \d+, .*bytes\(/);
});

test('a right-drag changes window/level and the rendered pixels', { timeout: 120_000 }, async () => {
  const before = await canvasState(frame);
  const c = await imageToPage(frame, target.width / 2, target.height / 2);
  await page.mouse.move(c.x, c.y);
  await page.mouse.down({ button: 'right' });
  await page.mouse.move(c.x - 80, c.y + 60, { steps: 5 });
  await page.mouse.up({ button: 'right' });
  const after = await until('a new window on the canvas', async () => { const s = await canvasState(frame); return s.wl !== before.wl && s.hash !== before.hash ? s : undefined; });
  const [c0, w0] = before.wl.split(',').map(Number);
  const [c1, w1] = after.wl.split(',').map(Number);
  assert.ok(w1 < w0 && c1 > c0, `window ${before.wl} -> ${after.wl}: narrower and higher`);
  assert.notEqual(after.sum, before.sum, 'pixels changed');
  assert.match(await frame.locator('#pb-status').innerText(), new RegExp(`W ${Math.round(w1)}|W ${w1.toFixed(2)}`));
});

test('the point tool adds a point of the chosen class where the user clicked (auto-saved)', { timeout: 120_000 }, async () => {
  // Choose "Nodule" in the class picker (a vscode-single-select), then the point tool.
  const d0 = readDataset();
  const nodule = d0.categories.find((x) => x.name === 'Nodule');
  await frame.locator('#pb-class').click();
  await frame.locator('#pb-class').getByText('Nodule', { exact: true }).last().click();
  await until('the class picker to show Nodule', async () => (await frame.locator('#pb-class').evaluate((e) => e.value)) === String(nodule.id));
  await frame.locator('#pb-tool-point').click();
  const [ix, iy] = [600.5, 520.25];
  const p = await imageToPage(frame, ix, iy);
  await page.mouse.click(p.x, p.y);
  const added = await until('the new point in the dataset file', () => readDataset().annotations.find((a) => !initialAnnotationIds.has(a.id) && a.point && !a.bbox));
  assert.equal(added.image_id, target.id);
  assert.equal(added.category_id, nodule.id);
  assert.ok(Math.abs(added.point[0] - ix) <= 1.5 && Math.abs(added.point[1] - iy) <= 1.5, `point ${added.point} vs clicked ${ix},${iy}`);
  assert.equal(added.point_source, 'click');
  initialAnnotationIds.add(added.id);
});

test('the box tool draws a box annotation that lands in the file', { timeout: 120_000 }, async () => {
  await frame.locator('#pb-tool-box').click();
  const a = await imageToPage(frame, 300, 640);
  const b = await imageToPage(frame, 460, 800);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps: 6 });
  await page.mouse.up();
  const added = await until('the new box in the dataset file', () => readDataset().annotations.find((x) => !initialAnnotationIds.has(x.id) && x.bbox));
  const [x, y, w, h] = added.bbox;
  const tol = 2;
  assert.ok(Math.abs(x - 300) <= tol && Math.abs(y - 640) <= tol && Math.abs(w - 160) <= tol && Math.abs(h - 160) <= tol, `box ${added.bbox}`);
  newBoxId = added.id;
  assert.equal(added.image_id, target.id);
  await page.screenshot({ path: join(artifacts, 'viewer-edited.png') });
});

test('with the select tool a drag moves the box and a corner drag resizes it (file follows)', { timeout: 120_000 }, async () => {
  await frame.locator('#pb-tool-select').click();
  const bboxOf = () => readDataset().annotations.find((a) => a.id === newBoxId)?.bbox;
  const [x0, y0, w0, h0] = bboxOf();
  // Grab the box on its left edge (an edge, not the lesion boxes around it), move it by (+40, -30) image px.
  const from = await imageToPage(frame, x0, y0 + h0 / 2);
  const to = await imageToPage(frame, x0 + 40, y0 + h0 / 2 - 30);
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 6 });
  await page.mouse.up();
  const moved = await until('the moved box in the file', () => { const b = bboxOf(); return b && Math.abs(b[0] - x0) > 5 ? b : undefined; });
  assert.ok(Math.abs(moved[0] - (x0 + 40)) <= 2 && Math.abs(moved[1] - (y0 - 30)) <= 2 && Math.abs(moved[2] - w0) < 1e-6 && Math.abs(moved[3] - h0) < 1e-6, `moved ${moved}`);
  // The box is selected now: drag its bottom-right handle by (+50, +20).
  const c = await imageToPage(frame, moved[0] + moved[2], moved[1] + moved[3]);
  const c2 = await imageToPage(frame, moved[0] + moved[2] + 50, moved[1] + moved[3] + 20);
  await page.mouse.move(c.x, c.y);
  await page.mouse.down();
  await page.mouse.move(c2.x, c2.y, { steps: 6 });
  await page.mouse.up();
  const resized = await until('the resized box in the file', () => { const b = bboxOf(); return b && Math.abs(b[2] - moved[2]) > 5 ? b : undefined; });
  assert.ok(Math.abs(resized[0] - moved[0]) < 1e-6 && Math.abs(resized[1] - moved[1]) < 1e-6, `top-left stays: ${resized}`);
  assert.ok(Math.abs(resized[2] - (moved[2] + 50)) <= 2 && Math.abs(resized[3] - (moved[3] + 20)) <= 2, `resized ${resized}`);
});

test('wheel zoom keeps the image point under the cursor and does not recompute the display image', { timeout: 120_000 }, async () => {
  const before = await canvasState(frame);
  const box = await frame.locator('#pb-canvas').boundingBox();
  const [cx, cy] = [box.x + box.width * 0.3, box.y + box.height * 0.6];
  const under = (st) => [((cx - box.x) - Number(st.tx)) / Number(st.scale), ((cy - box.y) - Number(st.ty)) / Number(st.scale)];
  await page.mouse.move(cx, cy);
  await page.mouse.wheel(0, -300);
  const after = await until('a zoomed view', async () => { const s = await canvasState(frame); return Number(s.scale) > Number(before.scale) * 1.2 ? s : undefined; });
  const [u0, v0] = under(before); const [u1, v1] = under(after);
  assert.ok(Math.abs(u1 - u0) < 1 && Math.abs(v1 - v0) < 1, `point under the cursor moved: ${u0},${v0} -> ${u1},${v1}`);
  assert.equal(after.renders, before.renders, 'zoom reuses the W/L bitmap');
  assert.notEqual(after.hash, before.hash, 'the view changed');
  // F fits again (the canvas has keyboard focus after the clicks).
  await frame.locator('#pb-canvas').focus();
  await page.keyboard.press('f');
  await until('the fitted view', async () => Math.abs(Number((await canvasState(frame)).scale) - Number(before.scale)) < 1e-9);
});

test('Next pending selects a pending pseudo-box and Accept marks it accepted in the file', { timeout: 120_000 }, async () => {
  await frame.locator('#pb-tool-select').click();
  await frame.locator('#pb-next').click();
  await until('pseudo-box 1 selected', async () => (await canvasState(frame)).selected === 'pseudo:1');
  await frame.locator('#pb-accept').click();
  const d = await until('pseudo-box 1 accepted on disk', () => { const x = readDataset(); return x.pseudo_boxes.find((p) => p.id === 1)?.review === 'accepted' ? x : undefined; });
  assert.equal(d.pseudo_boxes.find((p) => p.id === 2).review, 'pending', 'only the selected one');
  // A click on the other pseudo-box selects it; the R key rejects it.
  const p = await imageToPage(frame, 920, 90);
  await page.mouse.click(p.x, p.y);
  await until('pseudo-box 2 selected', async () => (await canvasState(frame)).selected === 'pseudo:2');
  await page.keyboard.press('r');
  await until('pseudo-box 2 rejected on disk', () => readDataset().pseudo_boxes.find((x) => x.id === 2)?.review === 'rejected');
  await until('the viewer to show both reviews', async () => (await canvasState(frame)).reviews === '1:accepted 2:rejected');
});

test('an undo from the command palette reaches the open viewer and the file', { timeout: 120_000 }, async () => {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15_000 });
  await input.fill('>PointBox: Undo Dataset Edit');
  await page.locator('.quick-input-list .monaco-list-row:has-text("Undo Dataset Edit")').first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await until('the viewer to show pseudo-box 2 pending again', async () => (await canvasState(frame)).reviews === '1:accepted 2:pending');
  await until('pseudo-box 2 pending on disk', () => readDataset().pseudo_boxes.find((x) => x.id === 2)?.review === 'pending');
});

test('the header panel lists the DICOM header with patient-identifying values hidden until Show PHI', { timeout: 120_000 }, async () => {
  await frame.locator('#pb-header-toggle').click();
  const rows = frame.locator('#pb-header-rows');
  await rows.locator('td:has-text("Modality")').first().waitFor({ timeout: 30_000 });
  const hidden = await rows.innerText();
  assert.match(hidden, /Modality\s+CR/);
  assert.match(hidden, /PatientName\s+\(hidden: identifies the patient\)/);
  assert.doesNotMatch(hidden, /PHANTOM\^CXR/, 'no patient name before Show PHI');
  await frame.locator('#pb-phi').click();
  await until('the patient name shown', async () => /PatientName\s+PHANTOM\^CXR/.test(await rows.innerText()));
  await page.screenshot({ path: join(artifacts, 'viewer-header.png') });
  await frame.locator('#pb-header-toggle').click();
});

test('a truncated DICOM opened from Quick Open shows an error naming the file', { timeout: 180_000 }, async () => {
  await quickOpen(page, 'broken.dcm');
  await page.keyboard.press('Enter');
  const f = await viewerFrame('broken.dcm');
  await f.locator('#pb-canvas[data-state="error"]').waitFor({ timeout: 120_000 });
  const text = await f.locator('#pb-message').innerText();
  assert.match(text, /broken\.dcm/);
  assert.match(text, /Cannot display/);
  assert.ok(text.length > 'Cannot display broken.dcm: '.length + 5, `a reason is given: ${text}`);
  await page.screenshot({ path: join(artifacts, 'viewer-error.png') });
});

test('a PNG of a dataset opens in the viewer from the tree (Open Image)', { timeout: 180_000 }, async () => {
  const sidebar = page.locator('.sidebar');
  await collapseTreeRoots(sidebar, ['phantom-seed-5']);
  const name = pngTarget.file_name.split('/').pop();
  const group = pngTarget.label_level === 'boxes' ? 'Box-level' : 'Point-level';
  await (await revealTreeRow(sidebar, ['phantom-seed-6', 'train', group, name])).click();
  const f = await viewerFrame(name);
  await f.locator('#pb-canvas[data-state="ready"]').waitFor({ timeout: 120_000 });
  const st = await canvasState(f);
  assert.equal(st.imageWidth, '256');
  assert.ok(st.levels > 16, 'real pixels');
  assert.match(await f.locator('#pb-status').innerText(), /phantom-seed-6 · train/);
});

test('an image whose path leaves its dataset folder is refused from the tree: an error names it, no viewer reads it', { timeout: 180_000 }, async () => {
  const sidebar = page.locator('.sidebar');
  await collapseTreeRoots(sidebar, ['phantom-seed-5', 'phantom-seed-6']);
  const row = await revealTreeRow(sidebar, ['zz-escape-test', 'train', 'Box-level', 'secret.dcm']);
  assert.match(await row.innerText(), /path refused/);
  await row.click();
  const toast = page.locator('.notifications-toasts:has-text("leaves the dataset folder")').first();
  await toast.waitFor({ timeout: 60_000 });
  assert.match(await toast.innerText(), /image id=1/);
  await page.screenshot({ path: join(artifacts, 'viewer-path-refused.png') });
  // No viewer opened it.
  await new Promise((r) => setTimeout(r, 2000));
  for (const f of page.frames()) {
    if (f.isDetached()) continue;
    assert.notEqual(await f.evaluate(() => document.title).catch(() => ''), 'secret.dcm', 'a viewer opened the refused file');
  }
  assert.equal(await page.locator('.tabs-container .tab:has-text("secret.dcm")').count(), 0);
});

test('a multi-frame DICOM shows a frame picker and PageDown shows the next frame', { skip: existsSync(multiFrame) ? false : 'shared/data absent', timeout: 180_000 }, async () => {
  await quickOpen(page, 'emri_small.dcm');
  await page.keyboard.press('Enter');
  const f = await viewerFrame('emri_small.dcm');
  await f.locator('#pb-canvas[data-state="ready"]').waitFor({ timeout: 120_000 });
  await f.locator('#pb-frame:not([hidden])').waitFor({ timeout: 30_000 });
  const st = await canvasState(f);
  assert.equal(st.frame, '0');
  await f.locator('#pb-canvas').focus();
  await page.keyboard.press('PageDown');
  const next = await until('frame 2 on the canvas', async () => { const s = await canvasState(f); return s.frame === '1' ? s : undefined; });
  assert.notEqual(next.hash, st.hash, 'another frame, other pixels');
  assert.match(await f.locator('#pb-status').innerText(), /frame 2\/\d+/);
});

test('a 2500 x 3000 16-bit DICOM opens in the viewer (timing logged)', { skip: existsSync(bigFixture) ? false : 'imaging fixtures not generated', timeout: 180_000 }, async () => {
  await quickOpen(page, 'big_2500x3000_le.dcm');
  const t0 = Date.now();
  await page.keyboard.press('Enter');
  const f = await viewerFrame('big_2500x3000_le.dcm');
  await f.locator('#pb-canvas[data-state="ready"]').waitFor({ timeout: 150_000 });
  const openMs = Date.now() - t0;
  const st = await canvasState(f);
  assert.equal(st.imageWidth, '2500');
  assert.ok(st.levels > 16);
  // A W/L drag on the big image: how long one recompute of the display bitmap takes (logged, not asserted).
  const c = await f.locator('#pb-canvas').boundingBox();
  await page.mouse.move(c.x + c.width / 2, c.y + c.height / 2);
  await page.mouse.down({ button: 'right' });
  await page.mouse.move(c.x + c.width / 2 + 60, c.y + c.height / 2 + 40, { steps: 8 });
  await page.mouse.up({ button: 'right' });
  const after = await until('a new window on the big image', async () => { const s = await canvasState(f); return s.renders !== st.renders && s.wl !== st.wl ? s : undefined; });
  console.log(`# viewer: 2500x3000 16-bit DICOM on screen ${openMs} ms after Quick Open; first W/L bitmap ${st.displayMs} ms, after a drag ${after.displayMs} ms (${Number(after.renders) - Number(st.renders)} recomputes during an 8-step drag)`);
});
