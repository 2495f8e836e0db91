import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { samplePhantomGeometry } from '../../../src/core/phantom/samplePhantomGeometry';
import { PHANTOM_CLASSES, lesionStats } from '../../../src/core/phantom/lesionStats';
import type { PhantomClass } from '../../../src/core/phantom/lesionStats';

const SHARED = join(__dirname, '..', '..', '..', '..', 'shared', 'data', 'cxr-png', 'annotations');

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = (s.length - 1) / 2;
  return (s[Math.floor(m)]! + s[Math.ceil(m)]!) / 2;
}

/** 5,000 lesions' geometry (no pixels) at the real boxes' 1024 grid, grouped by class. */
function generatedBoxes(): Map<PhantomClass, { w: number[]; h: number[] }> {
  const by = new Map<PhantomClass, { w: number[]; h: number[] }>(PHANTOM_CLASSES.map((c) => [c, { w: [], h: [] }]));
  let total = 0;
  for (let i = 0; total < 5000; i++) {
    const g = samplePhantomGeometry(11, i, 1024);
    for (const l of g.lesions) {
      const b = by.get(l.className)!;
      b.w.push(l.bbox[2]); b.h.push(l.bbox[3]);
      total++;
      // Every box lies on the image and every click inside its box.
      assert.ok(l.bbox[0] >= 0 && l.bbox[1] >= 0 && l.bbox[0] + l.bbox[2] <= 1024 && l.bbox[1] + l.bbox[3] <= 1024, `box off the image: ${l.bbox}`);
      assert.ok(l.point[0] > l.bbox[0] && l.point[0] < l.bbox[0] + l.bbox[2] && l.point[1] > l.bbox[1] && l.point[1] < l.bbox[1] + l.bbox[3], `click outside its box: ${l.point} ${l.bbox}`);
    }
  }
  return by;
}

function assertWithin(gen: number, real: number, what: string): void {
  const rel = Math.abs(gen - real) / real;
  assert.ok(rel <= 0.15, `${what}: generated median ${gen.toFixed(1)} vs real ${real.toFixed(1)} (${(rel * 100).toFixed(1)} % off)`);
}

test('per-class median box width/height of 5,000 generated lesions are within 15 % of the stored real statistics', () => {
  const by = generatedBoxes();
  for (const c of PHANTOM_CLASSES) {
    const b = by.get(c)!;
    assert.ok(b.w.length >= 300, `${c}: only ${b.w.length} lesions`);
    assertWithin(median(b.w), lesionStats.classes[c].median.w, `${c} width`);
    assertWithin(median(b.h), lesionStats.classes[c].median.h, `${c} height`);
  }
});

test('width and height keep each class\'s real rank correlation (Gaussian copula)', () => {
  const by = generatedBoxes();
  const ranks = (a: number[]) => { const idx = a.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]); const r = new Array<number>(a.length); idx.forEach(([, i], k) => { r[i] = k; }); return r; };
  for (const c of PHANTOM_CLASSES) {
    const { w, h } = by.get(c)!;
    const rw = ranks(w), rh = ranks(h), n = w.length, m = (n - 1) / 2;
    let sab = 0, saa = 0, sbb = 0;
    for (let i = 0; i < n; i++) { sab += (rw[i]! - m) * (rh[i]! - m); saa += (rw[i]! - m) ** 2; sbb += (rh[i]! - m) ** 2; }
    const rho = sab / Math.sqrt(saa * sbb);
    assert.ok(Math.abs(rho - lesionStats.classes[c].spearmanWH) < 0.12, `${c}: generated Spearman ${rho.toFixed(2)} vs real ${lesionStats.classes[c].spearmanWH}`);
  }
});

test('... and of the real NIH + RSNA tables themselves (recomputed from /work/shared/data)', (t) => {
  const nih = join(SHARED, 'nih_BBox_List_2017.csv'), rsna = join(SHARED, 'rsna_stage_2_train_labels.csv');
  if (!existsSync(nih) || !existsSync(rsna)) { t.skip(`real box tables not found under ${SHARED}`); return; }
  const real = new Map<string, { w: number[]; h: number[] }>(PHANTOM_CLASSES.map((c) => [c, { w: [], h: [] }]));
  for (const line of readFileSync(nih, 'utf8').split(/\r?\n/).slice(1)) {
    const f = line.split(',');
    if (f.length < 6) continue;
    const cls = f[1] === 'Infiltration' ? 'Infiltrate' : f[1]!;
    real.get(cls)!.w.push(Number(f[4])); real.get(cls)!.h.push(Number(f[5]));
  }
  for (const line of readFileSync(rsna, 'utf8').split(/\r?\n/).slice(1)) {
    const f = line.split(',');
    if (f[5]?.trim() !== '1') continue;
    real.get('Pneumonia')!.w.push(Number(f[3])); real.get('Pneumonia')!.h.push(Number(f[4]));
  }
  const by = generatedBoxes();
  for (const c of PHANTOM_CLASSES) {
    const r = real.get(c)!;
    assert.equal(r.w.length, lesionStats.classes[c].count, `${c}: the stored statistics were computed from these tables`);
    assertWithin(median(by.get(c)!.w), median(r.w), `${c} width`);
    assertWithin(median(by.get(c)!.h), median(r.h), `${c} height`);
  }
});

test('lesions sit where their class belongs', () => {
  const ctrCardio: number[] = [], ctrNormal: number[] = [];
  for (let i = 0; i < 400; i++) {
    const g = samplePhantomGeometry(5, i, 1024);
    const a = g.anatomy;
    for (const l of g.lesions) {
      const [x, y, w, h] = l.bbox;
      if (l.className === 'Effusion') {
        // At the costophrenic angle: the box reaches down to (about) the lung base.
        assert.ok(y + h >= Math.min(a.cpY[0], a.cpY[1]) * 1024 - 60, `effusion bottom ${y + h} above the CP angles ${a.cpY}`);
      }
      if (l.className === 'Cardiomegaly') {
        // An enlarged heart: wider than half the thorax (cardiothoracic ratio > 0.5 for most real boxes).
        const thorax = (a.lungHalfWidth[0] + a.lungHalfWidth[1]) * 1024;
        ctrCardio.push(w / thorax);
        assert.ok(x < a.cx * 1024 && x + w > a.cx * 1024, 'the heart straddles the midline');
      }
      if (l.className === 'Pneumothorax') {
        assert.ok(y + h / 2 < a.domeY[l.side] * 1024, 'pneumothorax above the diaphragm');
      }
    }
    if (!g.lesions.some((l) => l.className === 'Cardiomegaly')) ctrNormal.push((a.heart[2] - a.heart[0]) / (a.lungHalfWidth[0] + a.lungHalfWidth[1]));
  }
  // Cardiomegaly is an enlarged heart: cardiothoracic ratio above 0.5, normal hearts below.
  assert.ok(median(ctrCardio) > 0.55, `median CTR with cardiomegaly ${median(ctrCardio).toFixed(2)}`);
  assert.ok(median(ctrNormal) < 0.5 && Math.max(...ctrNormal) < 0.56, `normal CTR median ${median(ctrNormal).toFixed(2)}, max ${Math.max(...ctrNormal).toFixed(2)}`);
});
