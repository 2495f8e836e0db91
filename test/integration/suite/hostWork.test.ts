/// <reference types="mocha" />
// Heavy work stays off the extension host's thread, measured in the real host: the longest event-loop stall
// during the UI Import of RSNA labels with header-only DICOMs (the import, the write and opening the result
// in the Datasets view) and during an Export of it; then one point edit on that dataset with three viewers
// open: host time, snapshots posted to viewers (one, to the viewer of that image), tree items rebuilt.
// POINTBOX_HOST_IMAGES sets the size (default 4,000 for the test tier; bench/host.bench.ts runs 26,684 with
// the real RSNA CSV and records the numbers in BENCHMARKS.md).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { tinyDicom } from '../../unit/dataset/datasetFixtures';
import { waitFor } from './waitFor';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const realCsv = path.resolve(repoRoot, '..', 'shared', 'data', 'cxr-png', 'annotations', 'rsna_stage_2_train_labels.csv');
const metrics = (globalThis as any).__pointboxMetrics as Record<string, number>;

async function api(): Promise<any> {
  return vscode.extensions.getExtension('pointbox.pointbox')!.activate();
}

/**
 * Runs `fn` while sampling the event loop every ms; returns its result and the longest stall seen (ms).
 * With POINTBOX_HOST_PROFILE=<dir>, also writes a V8 CPU profile of the host's thread (`<name>.cpuprofile`)
 * to find what ran in a stall.
 */
async function stallDuring<T>(fn: () => Promise<T>, name = 'work'): Promise<{ value: T; maxMs: number; ms: number }> {
  const profDir = process.env.POINTBOX_HOST_PROFILE;
  let session: import('node:inspector').Session | undefined;
  if (profDir) {
    const inspector = await import('node:inspector');
    session = new inspector.Session();
    session.connect();
    const post = (m: string, p?: object) => new Promise<any>((res, rej) => session!.post(m, p ?? {}, (e, r) => (e ? rej(e) : res(r))));
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
  }
  const h = monitorEventLoopDelay({ resolution: 1 });
  const t0 = performance.now();
  h.enable();
  try {
    const value = await fn();
    return { value, maxMs: h.max / 1e6, ms: performance.now() - t0 };
  } finally {
    h.disable();
    if (session) {
      const s = session;
      const r = await new Promise<any>((res, rej) => s.post('Profiler.stop', (e, x) => (e ? rej(e) : res(x))));
      fs.writeFileSync(path.join(profDir!, `${name}.cpuprofile`), JSON.stringify(r.profile));
      s.disconnect();
    }
  }
}

/** What a sliced host job may stall the host on this machine now: 1 s plus twice the idle host's own stall. */
const stallBound = () => 1000 + 2 * (metrics.idleStallMs ?? 0);

describe('Host work off the main thread', function () {
  this.timeout(600_000);
  const n = Number(process.env.POINTBOX_HOST_IMAGES ?? 4000);
  let work: string;
  let csv: string;
  let dataset: string;

  before(function () {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'pointbox-it-host-'));
    const dcm = path.join(work, 'dcm');
    fs.mkdirSync(dcm);
    let ids: string[];
    if (n === 26684 && fs.existsSync(realCsv)) {
      csv = realCsv;
      ids = [...new Set(fs.readFileSync(csv, 'utf8').split('\n').slice(1).map((l) => l.slice(0, l.indexOf(','))).filter(Boolean))];
    } else {
      // RSNA-shaped: 22 % positive with 1-3 boxes, the rest Target=0.
      const rows = ['patientId,x,y,width,height,Target'];
      ids = [];
      for (let i = 0; i < n; i++) {
        const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
        ids.push(id);
        if (i % 9 < 2) for (let k = 0; k < 1 + (i % 3); k++) rows.push(`${id},${100 + k * 300},200,250,300,1`);
        else rows.push(`${id},,,,,0`);
      }
      csv = path.join(work, 'labels.csv');
      fs.writeFileSync(csv, rows.join('\n'));
    }
    const proto = tinyDicom(1024, 1024, 'BENCH', { pixels: false });
    for (const id of ids) fs.writeFileSync(path.join(dcm, `${id}.dcm`), proto);
    metrics.hostImages = ids.length;
  });

  after(async () => {
    if (!work) return;
    // The last edit's debounced save (and its atomic temp file) may still be on its way into `work`:
    // Close Dataset flushes it and takes the dataset off the open list (later suites list the open
    // datasets). CI once failed here with ENOTEMPTY when the save's temp file landed mid-removal.
    if (dataset) await vscode.commands.executeCommand('pointbox.closeDataset', { uri: vscode.Uri.file(dataset) });
    fs.rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  it('noise floor: the longest stall of the idle host over 3 s (other programs on a shared machine delay it too)', async () => {
    // PointBox active and its views shown (first model scan, job worker started) before anything is measured.
    const a = await api();
    await vscode.commands.executeCommand('pointbox.datasets.focus');
    await a.selectedModel();
    await new Promise((res) => setTimeout(res, 2000));
    const r = await stallDuring(() => new Promise((res) => setTimeout(res, 3000)), 'idle');
    metrics.idleStallMs = r.maxMs;
  });

  it('UI Import of RSNA labels + header-only DICOMs, then opening it in the Datasets view: no long stall of the host', async () => {
    dataset = path.join(work, 'rsna.pointbox.json');
    const a = await api();
    await vscode.commands.executeCommand('pointbox.datasets.focus');
    const r = await stallDuring(async () => {
      const uri = await vscode.commands.executeCommand('pointbox.importDataset', 'rsna', { labels: csv, images: path.join(work, 'dcm'), out: dataset });
      assert.equal(uri, vscode.Uri.file(dataset).toString());
      // Opened and indexed as the view shows it (the sliced load and tree build are part of the import's cost).
      const roots = await a.datasetTree();
      return roots.find((x: any) => x.node.uri.fsPath === dataset);
    }, 'import');
    assert.match(r.value.description, new RegExp(`^${metrics.hostImages!.toLocaleString('en-US')} images`));
    console.log(`UI import + open of ${metrics.hostImages} images: ${r.ms.toFixed(0)} ms, longest host stall ${r.maxMs.toFixed(1)} ms`);
    metrics.importStallMs = r.maxMs;
    metrics.importMs = r.ms;
    // The target is 50 ms on an idle machine (BENCHMARKS.md, measured by bench/host.bench.ts). This is a
    // regression guard, not a timing: work done synchronously on the host thread (the old importer) stalls it
    // for seconds, while a loaded machine delays a sliced import by a few hundred ms, more the busier it is
    // (the idle host's own stall measures that), so the bound is wide and grows with the noise floor.
    assert.ok(r.maxMs < stallBound(), `longest stall ${r.maxMs.toFixed(0)} ms (bound ${stallBound().toFixed(0)} ms, idle host ${metrics.idleStallMs?.toFixed(0)} ms)`);
  });

  it('Export of it (PBC layout): no long stall of the host', async () => {
    const out = path.join(work, 'export');
    const r = await stallDuring(async () => vscode.commands.executeCommand('pointbox.exportDataset', { uri: vscode.Uri.file(dataset) }, 'pbc', out), 'export');
    assert.ok(Array.isArray(r.value), JSON.stringify(r.value));
    assert.ok(fs.existsSync(path.join(out, 'annotations', 'instances_train_box.json')) || fs.existsSync(path.join(out, 'pbc_layout.json')));
    console.log(`UI export of ${metrics.hostImages} images: ${r.ms.toFixed(0)} ms, longest host stall ${r.maxMs.toFixed(1)} ms`);
    metrics.exportStallMs = r.maxMs;
    metrics.exportMs = r.ms;
    assert.ok(r.maxMs < stallBound(), `longest stall ${r.maxMs.toFixed(0)} ms (bound ${stallBound().toFixed(0)} ms, idle host ${metrics.idleStallMs?.toFixed(0)} ms)`);
  });

  it('one point edit with three viewers open: one snapshot, to the viewer of that image; only that image\'s tree nodes rebuilt', async function () {
    this.timeout(120_000);
    const a = await api();
    const uri = vscode.Uri.file(dataset);
    // A PBC split gives the tree its groups and buckets.
    await vscode.commands.executeCommand('pointbox.splitDataset', { uri }, { val: 0.2, boxRatio: 0.2, seed: 0 });
    const doc = await a.testing.document(uri.toString());
    const images = doc.data.images.filter((im: any) => im.split === 'train' && im.label_level === 'points').slice(0, 3);
    // images[0] last, so its viewer is the active one, on screen (a hidden tab's page may not load at all).
    // Even on screen a page sometimes never starts (1 run in 5 of the vsix tier before the viewer's start
    // watchdog existed); the watchdog reloads it after 20 s, within the 90 s waited here.
    for (const im of images.slice().reverse()) {
      await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(doc.imagePath(im)), 'pointbox.viewer', { preview: false });
    }
    // A viewer gets snapshots once its webview said 'ready' (it binds to the dataset before that); on a slow
    // machine a webview takes seconds to start. Wait for that state itself, not for a probe edit's effect.
    const shown0 = doc.imagePath(images[0]);
    const states = () => JSON.stringify(a.testing.viewers());
    await waitFor(() => a.testing.viewers(), (vs: any[]) => vs.some((v) => v.file === shown0 && v.ready && v.bound), 90_000, 200)
      .catch(() => assert.fail(`the viewer of ${shown0} never became ready and bound in 90 s: ${states()}`));
    // The start watchdog reloads a page that never started (ViewerEditorProvider): say so when it did.
    if (a.testing.counters().viewerReloads > 0) console.log(`viewer pages reloaded by the start watchdog: ${a.testing.counters().viewerReloads} (${states()})`);
    await new Promise((r) => setTimeout(r, 1000));
    const before = a.testing.counters();
    const cat = doc.data.categories[0].id;
    const hostMs: number[] = [];
    const edits = 5;
    for (let i = 0; i < edits; i++) {
      const t0 = performance.now();
      doc.addPoint(images[0].id, cat, [100 + i, 100]);
      hostMs.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 400));
    }
    const after = await waitFor(() => a.testing.counters(), (c: any) => c.snapshotsPosted >= before.snapshotsPosted + edits, 5000);
    await new Promise((r) => setTimeout(r, 1000));
    const final = a.testing.counters();
    const posted = (final.snapshotsPosted - before.snapshotsPosted) / edits;
    const items = (final.treeItemsBuilt - before.treeItemsBuilt) / edits;
    const median = hostMs.slice().sort((x, y) => x - y)[Math.floor(edits / 2)]!;
    console.log(`point edit on ${doc.data.images.length} images, 3 viewers: host ${median.toFixed(2)} ms (median of ${edits}; max ${Math.max(...hostMs).toFixed(2)}), ${posted} snapshot(s) posted, ${items} tree item(s) rebuilt per edit`);
    metrics.editHostMs = median;
    metrics.editHostMaxMs = Math.max(...hostMs);
    metrics.editMessages = posted;
    metrics.editTreeItems = items;
    assert.equal(after.snapshotsPosted - before.snapshotsPosted >= edits, true);
    assert.equal(posted, 1, 'one message per edit, to the one viewer that shows the image');
    assert.ok(median < 20, `host time per edit ${median.toFixed(1)} ms`);
    assert.ok(items < 20, `${items} tree items rebuilt per edit (the image's row and its ancestors, not the tree)`);
    doc.undo();
    // Close the three viewers only: Close All would stop at a save prompt for any dirty editor an earlier
    // suite left open, and wait for an answer that never comes.
    const viewers = vscode.window.tabGroups.all.flatMap((g) => g.tabs)
      .filter((t) => t.input instanceof vscode.TabInputCustom && t.input.viewType === 'pointbox.viewer');
    await vscode.window.tabGroups.close(viewers);
  });

  it('a viewer page that never says \'ready\' is loaded again, once, by the start watchdog, and then gets its image', async function () {
    this.timeout(120_000);
    const a = await api();
    // A DICOM with pixels (the dataset's files are header-only), so the reloaded page has an image to paint.
    const file = path.join(work, 'watchdog.dcm');
    fs.writeFileSync(file, tinyDicom(256, 256, 'WATCHDOG'));
    const reloads0 = a.testing.counters().viewerReloads;
    // The page's first 'ready' is dropped, as if it had never started; the watchdog acts after 3 s on screen.
    a.testing.viewerStartWatchdog({ timeoutMs: 3000, dropReadies: 1 });
    try {
      await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(file), 'pointbox.viewer', { preview: false });
      const states = () => JSON.stringify(a.testing.viewers());
      // 'rendered': the reloaded page got init and its file, decoded it and painted the image.
      await waitFor(() => a.testing.viewers(), (vs: any[]) => vs.some((v) => v.file === file && v.ready && v.received.includes('rendered')), 90_000, 200)
        .catch(() => assert.fail(`the viewer of ${file} never showed its image after the watchdog: ${states()}`));
      const v = a.testing.viewers().find((x: any) => x.file === file);
      assert.equal(a.testing.counters().viewerReloads, reloads0 + 1, 'loaded again exactly once');
      assert.deepEqual(v.received.filter((t: string) => t === 'ready'), ['ready', 'ready'], `the dropped 'ready' and the reloaded page's: ${states()}`);
    } finally {
      a.testing.viewerStartWatchdog({ timeoutMs: 20_000, dropReadies: 0 });
      const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs)
        .filter((t) => t.input instanceof vscode.TabInputCustom && t.input.viewType === 'pointbox.viewer');
      await vscode.window.tabGroups.close(tabs);
    }
  });
});
