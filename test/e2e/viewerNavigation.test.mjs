// UI tier: in-viewer navigation (issue 13). One viewer tab walks its group: ] shows the next image of the same
// split and label level (the Datasets tree's order) with that image's real pixels, [ comes back, Shift+N goes to
// the next image with pending pseudo-boxes, and an edit made after moving lands on the image now shown in the
// .pointbox.json. No timings are asserted here (bench/viewer.e2e.bench.mjs measures them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, buildUnlessSkipped, openWorkspaceInBrowser } from '../support/codeServer.mjs';
import { revealTreeRow } from '../support/treeRows.mjs';
import { canvasState, quickOpen, until, viewerFrame } from '../support/viewerFrame.mjs';

const artifacts = join(repoRoot, 'artifacts', 'e2e');
mkdirSync(artifacts, { recursive: true });
let session, page, workspace, datasetFile, frame;
/** train / Box-level images in tree order, and the train image that gets a pending pseudo-box. */
let group, pendingImage;
const hashes = new Map();

const readDataset = () => JSON.parse(readFileSync(datasetFile, 'utf8'));
const base = (p) => p.split('/').pop();

/** Waits until the viewer shows `file` with real pixels. */
const shows = (f, file) => until(`the viewer to show ${file}`, async () => {
  const s = await canvasState(f);
  return s.state === 'ready' && s.file === file && s.levels > 16 ? s : undefined;
}, 60_000);

before(async () => {
  buildUnlessSkipped();
  workspace = join(mkdtempSync(join(tmpdir(), 'pointbox-e2e-nav-')), 'workspace');
  mkdirSync(workspace, { recursive: true });
  execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'phantom', '--out', join(workspace, 'phantom'), '--images', '8', '--seed', '5', '--size', '512',
    '--format', 'dicom', '--box-ratio', '0.5', '--workers', '0'], { stdio: 'ignore' });
  datasetFile = join(workspace, 'phantom', 'dataset.pointbox.json');
  const d = readDataset();
  const byName = (a, b) => (a.file_name < b.file_name ? -1 : a.file_name > b.file_name ? 1 : a.id - b.id);
  group = d.images.filter((i) => i.split === 'train' && i.label_level === 'boxes').sort(byName);
  assert.ok(group.length >= 3, `train / Box-level has ${group.length} images; the test needs 3`);
  // A pending pseudo-box on a train image outside the group, after group[1] in tree order (train images by name).
  const train = d.images.filter((i) => i.split === 'train').sort(byName);
  pendingImage = train.slice(train.indexOf(group[1]) + 1).find((i) => i.label_level !== 'boxes');
  assert.ok(pendingImage, 'a train image outside Box-level after the second one');
  d.pseudo_boxes.push({ id: 1, image_id: pendingImage.id, category_id: 1, bbox: [40, 40, 100, 80], score: 0.7, provenance: { model_id: 'e2e-model', time: new Date(0).toISOString() }, review: 'pending' });
  writeFileSync(datasetFile, JSON.stringify(d, null, 1));
  session = await openWorkspaceInBrowser(workspace);
  page = session.page;
});

after(async () => { await session?.close(); });

test('] shows the next image of the group with its own pixels, without a new tab; [ comes back', { timeout: 300_000 }, async () => {
  await page.locator('.activitybar [aria-label^="PointBox"]').first().click();
  const first = base(group[0].file_name); const second = base(group[1].file_name);
  await (await revealTreeRow(page.locator('.sidebar'), ['phantom-seed-5', 'train', 'Box-level', first])).click();
  frame = await viewerFrame(page, first);
  const s0 = await shows(frame, first);
  hashes.set(first, s0.hash);
  assert.match(await frame.locator('#pb-status').innerText(), new RegExp(`${first.replace('.', '\\.')} \\(1/${group.length} of train / Box-level`));
  // The next images are posted ahead of time and decoded into the cache.
  await until('the next image prefetched', async () => ((await canvasState(frame)).cacheKeys ?? '').includes(second), 60_000);
  const tabs = await page.locator('.tabs-container .tab').count();
  await frame.locator('#pb-canvas').focus();
  await page.keyboard.press(']');
  const s1 = await shows(frame, second);
  assert.equal(s1.fromCache, 'true', 'painted from the prefetch cache');
  assert.notEqual(s1.hash, s0.hash, 'other pixels');
  assert.equal(s1.title, second);
  assert.match(await frame.locator('#pb-status').innerText(), new RegExp(`${second.replace('.', '\\.')} \\(2/${group.length}`));
  assert.equal(await page.locator('.tabs-container .tab').count(), tabs, 'no new tab');
  // The image alone (overlays off: an edit below adds a point to this image), for the last test's comparison.
  await page.keyboard.press('o');
  hashes.set(second, (await until('overlays off', async () => { const s = await canvasState(frame); return s.overlays === 'false' ? s : undefined; })).hash);
  await page.keyboard.press('o');
  await until('overlays on', async () => (await canvasState(frame)).overlays === 'true');
  await page.keyboard.press('[');
  const back = await shows(frame, first);
  assert.equal(back.hash, s0.hash, 'the first image again, the same pixels');
  await page.keyboard.press(']');
  assert.equal((await shows(frame, second)).hash, s1.hash);
  await page.screenshot({ path: join(artifacts, 'viewer-navigated.png') });
});

test('an edit after navigating lands on the image now shown, in the .pointbox.json', { timeout: 120_000 }, async () => {
  const target = group[1];
  const before = new Set(readDataset().annotations.map((a) => a.id));
  await frame.locator('#pb-tool-point').click();
  const st = await canvasState(frame);
  const shownBefore = Number(st.annotations);
  const box = await frame.locator('#pb-canvas').boundingBox();
  const [ix, iy] = [200.5, 300.5];
  await page.mouse.click(box.x + ix * Number(st.scale) + Number(st.tx), box.y + iy * Number(st.scale) + Number(st.ty));
  const added = await until('the new point in the file', () => readDataset().annotations.find((a) => !before.has(a.id)));
  assert.equal(added.image_id, target.id, `the point is on ${target.file_name}, the image shown`);
  assert.ok(Math.abs(added.point[0] - ix) <= 1.5 && Math.abs(added.point[1] - iy) <= 1.5, `point ${added.point}`);
  await until('the viewer to draw it', async () => Number((await canvasState(frame)).annotations) === shownBefore + 1);
  await frame.locator('#pb-tool-select').click();
});

test('Shift+N goes to the next image with pending pseudo-boxes; ] at the end of a group says so', { timeout: 120_000 }, async () => {
  const name = base(pendingImage.file_name);
  await frame.locator('#pb-canvas').focus();
  await page.keyboard.press('Shift+N');
  const s = await shows(frame, name);
  assert.equal(s.reviews, '1:pending', 'its pseudo-box is drawn');
  assert.match(await frame.locator('#pb-status').innerText(), /1 image with pending pseudo-boxes/);
  // N (no shift) then selects the pending pseudo-box in this image, as before.
  await page.keyboard.press('n');
  await until('pseudo-box 1 selected', async () => (await canvasState(frame)).selected === 'pseudo:1');
  // Walk to the end of the pending image's group, then one more.
  const d = readDataset();
  const groupOf = d.images.filter((i) => i.split === pendingImage.split && i.label_level === pendingImage.label_level)
    .sort((a, b) => (a.file_name < b.file_name ? -1 : a.file_name > b.file_name ? 1 : a.id - b.id));
  for (const im of groupOf.slice(groupOf.findIndex((i) => i.id === pendingImage.id) + 1)) {
    await page.keyboard.press(']');
    await shows(frame, base(im.file_name));
  }
  await page.keyboard.press(']');
  const end = await until('the end of the group reported', async () => (await canvasState(frame)).navigateFailed);
  assert.match(end, /last image of train/);
});

test('a Datasets tree click shows the image in the open preview viewer: no new tab or webview, then [ goes on from there, Shift+P back to the pending image', { timeout: 180_000 }, async () => {
  const third = base(group[2].file_name); const second = base(group[1].file_name);
  const tabs = await page.locator('.tabs-container .tab').count();
  await (await revealTreeRow(page.locator('.sidebar'), ['phantom-seed-5', 'train', 'Box-level', third])).click();
  const s = await shows(frame, third); // the same webview frame, now showing the clicked image
  assert.equal(s.title, third);
  assert.ok(s.levels > 16, 'real pixels');
  assert.match(await frame.locator('#pb-status').innerText(), new RegExp(`${third.replace('.', '\\.')} \\(3/${group.length} of train / Box-level`));
  assert.equal(await page.locator('.tabs-container .tab').count(), tabs, 'no new tab');
  await frame.locator('#pb-canvas').focus();
  await page.keyboard.press('[');
  await shows(frame, second);
  // Shift+P: the previous image with pending pseudo-boxes (searching backwards round the dataset: the only one).
  await page.keyboard.press('Shift+P');
  assert.equal((await shows(frame, base(pendingImage.file_name))).reviews, '1:pending');
});

test('the pixels shown after ] were the next file\'s own: the same as that file opened in a viewer of its own', { timeout: 240_000 }, async () => {
  const second = base(group[1].file_name);
  await quickOpen(page, second);
  await page.keyboard.press('Enter');
  // The tree opened a preview tab, so this one replaces it (same group, same canvas size): a new webview that
  // decodes the file itself, with no cache. It is found as the frame with that title other than `frame`.
  const other = await until('the second viewer', async () => {
    for (const f of page.frames()) {
      if (f === frame || f.isDetached()) continue;
      if (await f.evaluate((n) => document.title === n && !!document.getElementById('pb-canvas'), second).catch(() => false)) return f;
    }
    return undefined;
  }, 90_000);
  assert.equal((await shows(other, second)).fromCache, 'false');
  await other.locator('#pb-canvas').focus();
  await page.keyboard.press('o');
  const s = await until('overlays off', async () => { const x = await canvasState(other); return x.overlays === 'false' ? x : undefined; });
  assert.equal(s.hash, hashes.get(second), 'same pixels as the navigated viewer showed');
});
