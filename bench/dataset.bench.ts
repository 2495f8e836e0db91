/**
 * Issue 3 "Datasets" at RSNA scale: the real RSNA labels CSV (30,227 rows -> 26,684 images, 9,555 boxes)
 * with a generated folder of 26,684 small DICOMs (64x64, explicit VR LE), so the import really opens every
 * file for its size. Each PointBox step is timed next to its floor: the least work that reads the same
 * data (csv-parse + a grouping loop; JSON.parse; JSON.stringify + writeFileSync). Prints one Markdown
 * section to stdout; progress goes to stderr.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parse } from 'csv-parse/sync';
import { DatasetDocument } from '../src/core/dataset/DatasetDocument';
import { serializeDataset } from '../src/core/dataset/datasetJson';
import { computeStats } from '../src/core/dataset/datasetStats';
import { DatasetTreeModel } from '../src/core/dataset/datasetTreeModel';
import { importRsna } from '../src/core/dataset/importRsna';
import { splitDataset } from '../src/core/dataset/splitDataset';
import { writeFileAtomicSync } from '../src/core/dataset/writeFileAtomic';
import { tinyDicom } from '../test/unit/dataset/datasetFixtures';

const root = resolve(__dirname, '..');
const realCsv = resolve(root, '..', 'shared', 'data', 'cxr-png', 'annotations', 'rsna_stage_2_train_labels.csv');
const work = mkdtempSync(join(tmpdir(), 'pb-bench-ds-'));
const log = (s: string) => process.stderr.write(s + '\n');

function median(xs: number[]): number { const s = xs.slice().sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; }
function time<T>(fn: () => T): [T, number] { const t = performance.now(); const r = fn(); return [r, performance.now() - t]; }
function best<T>(n: number, fn: () => T): [T, number] { let r!: T; const ts: number[] = []; for (let i = 0; i < n; i++) { const [v, t] = time(fn); r = v; ts.push(t); } return [r, median(ts)]; }
const mb = (b: number) => b / 2 ** 20;

async function main(): Promise<void> {
  // ---- inputs ----
  let csvPath = realCsv; let source = 'real RSNA stage_2_train_labels.csv';
  if (!existsSync(realCsv)) {
    // Same shape without ../shared/data: 26,684 patients, 6,012 positive with 1-4 boxes.
    source = 'synthetic RSNA-shaped CSV (../shared/data absent)';
    const rows = ['patientId,x,y,width,height,Target'];
    for (let i = 0; i < 26684; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      if (i < 6012) for (let k = 0; k < 1 + (i % 3 === 0 ? 2 : 1) - (i % 5 === 0 ? 1 : 0); k++) rows.push(`${id},${100 + k * 300},200,250,300,1`);
      else rows.push(`${id},,,,,0`);
    }
    csvPath = join(work, 'labels.csv');
    writeFileSync(csvPath, rows.join('\n'));
  }
  const csvText = readFileSync(csvPath, 'utf8');
  const ids = [...new Set(csvText.split('\n').slice(1).map((l) => l.slice(0, l.indexOf(','))).filter(Boolean))];
  const dcmDir = join(work, 'dcm');
  mkdirSync(dcmDir);
  log(`writing ${ids.length} DICOMs ...`);
  // RSNA's images are 1024x1024 and the boxes are in those pixels, so the headers must say 1024x1024;
  // header-only files keep 26,684 of them small (the importer reads only the header either way).
  const proto = tinyDicom(1024, 1024, 'BENCH', { pixels: false });
  for (const id of ids) writeFileSync(join(dcmDir, `${id}.dcm`), proto);

  // ---- import: PointBox vs csv-parse + grouping loop ----
  const out = join(work, 'rsna.pointbox.json');
  const [, floorImport] = best(3, () => {
    const recs = parse(readFileSync(csvPath, 'utf8'), { skip_empty_lines: true }) as string[][];
    const by = new Map<string, string[][]>();
    for (let i = 1; i < recs.length; i++) { const r = recs[i]!; const l = by.get(r[0]!); if (l) l.push(r); else by.set(r[0]!, [r]); }
    return by.size;
  });
  const heap0 = process.memoryUsage();
  const [imp, tImport] = time(() => importRsna({ labels: csvPath, images: dcmDir, out }));
  const [, tWrite] = time(() => writeFileAtomicSync(out, serializeDataset(imp.data)));
  log(`import ${tImport.toFixed(0)} ms (${imp.data.images.length} images, ${imp.missingFiles} missing)`);
  if (imp.missingFiles !== 0) throw new Error('bench DICOMs missing');

  // ---- stats: load + computeStats vs JSON.parse ----
  const [, floorLoad] = best(5, () => JSON.parse(readFileSync(out, 'utf8')));
  const [doc, tLoad] = best(3, () => DatasetDocument.load(out));
  const [stats, tStats] = best(5, () => computeStats(doc.data, { datasetDir: dcmDir.slice(0, dcmDir.lastIndexOf('/')) }));
  const [, tStatsNoFiles] = best(5, () => computeStats(doc.data));

  // A PBC-style split so the tree has all its groups (and pseudo-boxes for the review groups).
  splitDataset(doc.data, { val: 0.2, boxRatio: 0.1, seed: 0 });
  const pointImgs = doc.data.images.filter((im) => im.label_level === 'points').slice(0, 3000);
  doc.addPseudoBoxes(pointImgs.map((im, i) => ({ image_id: im.id, category_id: 1, bbox: [100, 100, 200, 200] as [number, number, number, number], score: 0.7, provenance: { model_id: 'bench', time: new Date().toISOString() }, review: i % 3 === 0 ? 'accepted' as const : 'pending' as const })));

  // ---- tree: build + first level, every expand ----
  const [tree, tFirst] = best(5, () => { const m = new DatasetTreeModel(doc.data); const top = m.getChildren(); m.getChildren(top[0]!.id); return m; });
  const expands: number[] = [];
  const walk = (id: string | undefined, depth: number) => {
    const [kids, t] = time(() => tree.getChildren(id));
    expands.push(t);
    if (depth < 5) for (const k of kids) if (k.collapsible !== 'none') walk(k.id, depth + 1);
  };
  walk(undefined, 0);
  const maxExpand = Math.max(...expands);
  tree.setFilter({ search: 'ab' });
  const [, tFilter] = time(() => { const s = tree.getChildren('ds'); for (const x of s) tree.getChildren(x.id); });
  tree.setFilter({});
  const heap1 = process.memoryUsage();

  // ---- save after one edit: atomic, sliced vs stringify + writeFileSync ----
  await doc.save({ force: true });
  const saves: number[] = []; const blocks: number[] = [];
  for (let i = 0; i < 5; i++) {
    doc.movePoint(doc.data.annotations.find((a) => a.point)!.id, [10 + i, 10]);
    const h = monitorEventLoopDelay({ resolution: 1 }); h.enable();
    const t = performance.now();
    await doc.save();
    saves.push(performance.now() - t);
    h.disable();
    blocks.push(h.max / 1e6);
  }
  const tSave = median(saves); const maxBlock = Math.max(...blocks); const medBlock = median(blocks);
  const [, floorSave] = best(3, () => writeFileSync(join(work, 'floor.json'), JSON.stringify(doc.data)));

  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const row = (op: string, pb: number, floor: number | undefined, target: string) =>
    `| ${op} | ${fmt(pb)} ms | ${floor === undefined ? '-' : fmt(floor) + ' ms'} | ${floor === undefined ? '-' : (floor / pb).toFixed(2)} | ${target} |`;
  const lines = [
    '## Datasets (issue 3): RSNA scale',
    '',
    `Input: ${source}, ${csvText.split('\n').filter((l) => l.trim()).length - 1} rows -> ${stats.images} images, ${stats.boxes} boxes; ${ids.length} generated header-only DICOMs (explicit VR LE, Rows/Columns 1024; the import opens each one for its size). ` +
    `The floor is the least work that reads the same bytes (csv-parse + a group-by loop; JSON.parse; JSON.stringify + writeFileSync). ` +
    `Ratio = floor / PointBox, so < 1 is the price of what PointBox does on top (headers, checks, atomic fsync'd writes).`,
    '',
    '| operation | PointBox | floor | ratio | target |',
    '|---|---|---|---|---|',
    row('import rsna (CSV + 26,684 DICOM headers)', tImport, floorImport, '< 3000 ms'),
    row('write dataset file (atomic, fsync)', tWrite, undefined, '-'),
    row('load dataset (parse + shape + validate)', tLoad, floorLoad, '-'),
    row('stats (incl. 26,684 file-existence checks)', tStats, undefined, '-'),
    row('stats (no file checks)', tStatsNoFiles, undefined, '-'),
    row('tree: index + first two levels', tFirst, undefined, '< 200 ms'),
    row(`tree: slowest of ${expands.length} expands (every node to depth 5)`, maxExpand, undefined, '< 100 ms'),
    row('tree: filter by file name, all splits', tFilter, undefined, '< 100 ms'),
    row('save after one edit (atomic, sliced)', tSave, floorSave, '< 300 ms'),
    row('event-loop block during that save: median of 5 saves', medBlock, undefined, 'no blocking'),
    row('event-loop block during that save: worst of 5 (includes GC pauses)', maxBlock, undefined, 'no blocking'),
    '',
    `Memory: heap +${mb(heap1.heapUsed - heap0.heapUsed).toFixed(0)} MB, RSS +${mb(heap1.rss - heap0.rss).toFixed(0)} MB for the imported dataset, the open document (with 3,000 pseudo-boxes and undo history) and the tree index (target < 300 MB).`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().finally(() => rmSync(work, { recursive: true, force: true })).catch((e) => { console.error(e); process.exitCode = 1; });
