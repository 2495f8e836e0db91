#!/usr/bin/env node
// Computes the per-class box statistics the phantom generator samples lesions from, and writes them to
// src/core/phantom/lesionStats.json with their provenance. Run once (the numbers are data, checked in):
//   node scripts/compute-lesion-stats.mjs [/work/shared/data]
// Inputs are the original NIH ChestX-ray14 box list and the RSNA Pneumonia 2018 labels (both on the same
// 1024x1024 pixel grid). RSNA opacity boxes count as Pneumonia (the issue says so), pooled with NIH's.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = resolve(process.argv[2] ?? join(root, '..', 'shared', 'data'));
const ann = join(dataDir, 'cxr-png', 'annotations');
const nihFile = join(ann, 'nih_BBox_List_2017.csv');
const rsnaFile = join(ann, 'rsna_stage_2_train_labels.csv');

const CLASSES = ['Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltrate', 'Mass', 'Nodule', 'Pneumonia', 'Pneumothorax'];
/** Quantile levels stored per variable: inverse-CDF sampling through these reproduces the real medians. */
const LEVELS = Array.from({ length: 41 }, (_, i) => i / 40);

const boxes = Object.fromEntries(CLASSES.map((c) => [c, { nih: [], rsna: [] }]));
const lines = (f) => readFileSync(f, 'utf8').split(/\r?\n/).slice(1).filter((l) => l.trim() !== '');

// NIH: the header is malformed (6 columns under odd names); the columns are file, label, x, y, w, h.
for (const l of lines(nihFile)) {
  const [, label, x, y, w, h] = l.split(',');
  // NIH spells it "Infiltrate" in the box list (the image labels say "Infiltration").
  const cls = label === 'Infiltration' ? 'Infiltrate' : label;
  if (!boxes[cls]) throw new Error(`unexpected NIH label ${label}`);
  boxes[cls].nih.push([+x, +y, +w, +h]);
}
// RSNA: Target=1 rows are opacity boxes ("lung opacity" = pneumonia-like), one row per box.
for (const l of lines(rsnaFile)) {
  const [, x, y, w, h, target] = l.split(',');
  if (target.trim() === '1') boxes.Pneumonia.rsna.push([+x, +y, +w, +h]);
}

function quantile(sorted, q) {
  // Linear interpolation between order statistics (numpy's default, "type 7").
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
const r1 = (v) => Math.round(v * 10) / 10;
function ranks(a) {
  const idx = a.map((v, i) => [v, i]).sort((p, q) => p[0] - q[0]);
  const r = new Array(a.length);
  idx.forEach(([, i], k) => { r[i] = k; });
  return r;
}
function pearson(a, b) {
  const n = a.length, ma = a.reduce((s, v) => s + v, 0) / n, mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}

const classes = {};
for (const c of CLASSES) {
  const all = [...boxes[c].nih, ...boxes[c].rsna];
  const w = all.map((b) => b[2]), h = all.map((b) => b[3]);
  const cx = all.map((b) => b[0] + b[2] / 2), cy = all.map((b) => b[1] + b[3] / 2);
  const q = (arr) => { const s = [...arr].sort((p, q2) => p - q2); return LEVELS.map((l) => r1(quantile(s, l))); };
  const med = (arr) => r1(quantile([...arr].sort((p, q2) => p - q2), 0.5));
  classes[c] = {
    count: all.length, nih: boxes[c].nih.length, rsna: boxes[c].rsna.length,
    median: { w: med(w), h: med(h), cx: med(cx), cy: med(cy) },
    // Spearman rank correlation of width and height, for the Gaussian copula that samples (w, h) jointly.
    spearmanWH: Math.round(pearson(ranks(w), ranks(h)) * 1000) / 1000,
    // Image side of the box centre (x < 512 is the patient's right on a PA film).
    fractionImageLeft: Math.round(cx.filter((v) => v < 512).length / all.length * 1000) / 1000,
    quantiles: { w: q(w), h: q(h), cx: q(cx), cy: q(cy) },
  };
}

const sha = (f) => createHash('sha256').update(readFileSync(f)).digest('hex');
const out = {
  description: 'Per-class lesion box statistics (pixels on the 1024x1024 grid) that the phantom CXR generator samples from.',
  generatedBy: 'scripts/compute-lesion-stats.mjs',
  pixelGrid: 1024,
  quantileLevels: LEVELS,
  sources: [
    {
      name: 'NIH ChestX-ray14 BBox_List_2017.csv', rows: CLASSES.reduce((s, c) => s + boxes[c].nih.length, 0),
      file: relative(dataDir, nihFile), sha256: sha(nihFile),
      origin: 'mlmed/torchxrayvision@f4087a0b0d0cdc6a5877fb5456965b6d29adb1e5 torchxrayvision/data/BBox_List_2017.csv.gz (gunzipped); original NIH release https://nihcc.app.box.com/v/ChestXray-NIHCC',
      citation: 'Wang X. et al., ChestX-ray8, IEEE CVPR 2017, pp. 3462-3471. Data provider: NIH Clinical Center.',
    },
    {
      name: 'RSNA Pneumonia Detection Challenge 2018 stage_2_train_labels.csv (Target=1 rows)', rows: boxes.Pneumonia.rsna.length,
      file: relative(dataDir, rsnaFile), sha256: sha(rsnaFile),
      origin: 'mlmed/torchxrayvision@f4087a0b0d0cdc6a5877fb5456965b6d29adb1e5 torchxrayvision/data/kaggle_stage_2_train_labels.csv.zip (unzipped)',
      citation: 'Shih G. et al., Augmenting the NIH Chest Radiograph Dataset with Expert Annotations of Possible Pneumonia, Radiology: AI 2019. Credit RSNA and STR.',
    },
  ],
  notes: 'RSNA opacity boxes are pooled into Pneumonia with NIH Pneumonia boxes. NIH label "Infiltrate" kept as is.',
  classes,
};
const dst = join(root, 'src', 'core', 'phantom', 'lesionStats.json');
writeFileSync(dst + '.tmp', JSON.stringify(out, null, 1) + '\n');
renameSync(dst + '.tmp', dst);
for (const c of CLASSES) console.log(c.padEnd(13), JSON.stringify({ n: classes[c].count, ...classes[c].median, rho: classes[c].spearmanWH, left: classes[c].fractionImageLeft }));
