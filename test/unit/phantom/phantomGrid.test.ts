import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { generatePhantomImage } from '../../../src/core/phantom/generatePhantomImage';
import type { PhantomImage } from '../../../src/core/phantom/generatePhantomImage';
import { PhantomAnatomy } from '../../../src/core/phantom/PhantomAnatomy';
import { PHANTOM_CLASSES } from '../../../src/core/phantom/lesionStats';

const ROOT = join(__dirname, '..', '..', '..');
const SIZE = 384;
const SEED = 2022;

/** Class colours of the grid figure (docs/phantom.md has the legend). */
export const CLASS_COLOURS: Record<string, [number, number, number]> = {
  Atelectasis: [255, 200, 0], Cardiomegaly: [255, 60, 60], Effusion: [0, 170, 255], Infiltrate: [0, 220, 120],
  Mass: [200, 90, 255], Nodule: [255, 120, 200], Pneumonia: [255, 140, 0], Pneumothorax: [0, 255, 255],
};

function display8(img: PhantomImage): Uint8Array {
  const out = new Uint8Array(img.width * img.height);
  const inv = img.photometric === 'MONOCHROME1';
  const lo = img.window.center - img.window.width / 2;
  for (let i = 0; i < out.length; i++) {
    let v = ((img.pixels[i]! - lo) / img.window.width) * 255;
    v = v < 0 ? 0 : v > 255 ? 255 : v;
    out[i] = inv ? 255 - v : v;
  }
  return out;
}

function mean(img: Uint8Array, S: number, x: number, y: number, r: number): number {
  let s = 0, n = 0;
  for (let yy = Math.max(0, Math.round(y - r)); yy <= Math.min(S - 1, Math.round(y + r)); yy++) {
    for (let xx = Math.max(0, Math.round(x - r)); xx <= Math.min(S - 1, Math.round(x + r)); xx++) { s += img[yy * S + xx]!; n++; }
  }
  return s / n;
}

test('a 4x4 grid of phantoms looks like chest radiographs with lesions (artifacts/phantom-grid.png)', () => {
  const n = 4, S = SIZE, W = n * S;
  const grey = new Uint8Array(W * W);
  const overlays: { ox: number; oy: number; lesions: PhantomImage['lesions'] }[] = [];
  const classesSeen = new Set<string>();
  // Pick 16 images that between them show every class (indices found once for this seed, then fixed).
  const picks: number[] = [];
  for (let i = 0; picks.length < 16 && i < 200; i++) {
    const im = generatePhantomImage(SEED, i, { size: 32 });
    const newClass = im.lesions.some((l) => !classesSeen.has(l.className));
    if (newClass || (classesSeen.size === PHANTOM_CLASSES.length && im.lesions.length > 0)) { picks.push(i); im.lesions.forEach((l) => classesSeen.add(l.className)); }
  }
  assert.deepEqual([...classesSeen].sort(), [...PHANTOM_CLASSES].sort(), 'the grid shows all eight classes');
  picks.forEach((index, k) => {
    // Mix in a MONOCHROME1 image: the display must still be bright bone, dark lung.
    const im = generatePhantomImage(SEED, index, { size: S, monochrome: k === 5 ? 'MONOCHROME1' : 'MONOCHROME2' });
    const g = display8(im);
    // Anatomy sanity on the displayed image: lungs darker than mediastinum and abdomen.
    const an = new PhantomAnatomy(im.anatomy);
    const p = im.anatomy;
    const vMid = (p.apexY + p.domeY[0]) / 2;
    const toPx = (u: number, v: number) => an.toImage(u, v).map((c) => c * S) as [number, number];
    const lungR = mean(g, S, ...toPx(p.cx - (an.lateral(0, vMid) + an.medial(0, vMid)) / 2, vMid - 0.05), S * 0.02);
    const lungL = mean(g, S, ...toPx(p.cx + (an.lateral(1, vMid) + an.medial(1, vMid)) / 2, vMid - 0.08), S * 0.02);
    const mediastinum = mean(g, S, ...toPx(p.cx, p.apexY + 0.2), S * 0.015);
    const abdomen = mean(g, S, ...toPx(p.cx - 0.15, Math.max(p.cpY[0], p.cpY[1]) + 0.08), S * 0.02);
    assert.ok(lungR < mediastinum - 40 && lungL < mediastinum - 40, `image ${index}: lungs ${lungR.toFixed(0)}/${lungL.toFixed(0)} vs mediastinum ${mediastinum.toFixed(0)}`);
    assert.ok(lungR < abdomen - 40, `image ${index}: lung ${lungR.toFixed(0)} vs abdomen ${abdomen.toFixed(0)}`);
    const ox = (k % n) * S, oy = Math.floor(k / n) * S;
    for (let y = 0; y < S; y++) grey.set(g.subarray(y * S, (y + 1) * S), (oy + y) * W + ox);
    overlays.push({ ox, oy, lesions: im.lesions });
  });
  const dir = join(ROOT, 'artifacts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'phantom-grid.png'), encode({ width: W, height: W, data: withOverlays(grey, W, 1, overlays), channels: 3, depth: 8 }));
  // A 2:1 reduced copy for the README figure (docs/images/phantom-grid.png is a copy of this file).
  writeFileSync(join(dir, 'phantom-grid-small.png'), encode({ width: W / 2, height: W / 2, data: withOverlays(grey, W, 2, overlays), channels: 3, depth: 8 }, { zlib: { level: 9 } }));
});

/** The grey grid reduced by `scale`, in RGB, with each lesion's box (dashed) and click (cross) in its class colour. */
function withOverlays(grey: Uint8Array, W: number, scale: number, overlays: { ox: number; oy: number; lesions: PhantomImage['lesions'] }[]): Uint8Array {
  const w = W / scale, rgb = new Uint8Array(w * w * 3);
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) sum += grey[(y * scale + dy) * W + x * scale + dx]!;
      const v = Math.round(sum / (scale * scale)), o = (y * w + x) * 3;
      rgb[o] = v; rgb[o + 1] = v; rgb[o + 2] = v;
    }
  }
  for (const { ox, oy, lesions } of overlays) {
    const tile = (W / 4) / scale;
    for (const l of lesions) {
      const c = CLASS_COLOURS[l.className]!;
      const put = (x: number, y: number) => {
        if (x < 0 || y < 0 || x >= tile || y >= tile) return;
        const o = ((oy / scale + y) * w + ox / scale + x) * 3;
        rgb[o] = c[0]; rgb[o + 1] = c[1]; rgb[o + 2] = c[2];
      };
      const [bx, by, bw, bh] = l.bbox.map((v) => Math.round(v / scale)) as [number, number, number, number];
      // Dashed box (the lesion stays visible through it) and a cross at the click.
      for (let x = bx; x <= bx + bw; x++) if ((x >> 2) % 2 === 0) { put(x, by); put(x, by + bh); }
      for (let y = by; y <= by + bh; y++) if ((y >> 2) % 2 === 0) { put(bx, y); put(bx + bw, y); }
      const [px, py] = l.point.map((v) => Math.round(v / scale)) as [number, number];
      for (let d = -3; d <= 3; d++) { put(px + d, py); put(px, py + d); }
    }
  }
  return rgb;
}

test('lesions are visible where their box is and nowhere else (render with vs without lesions)', () => {
  const S = 256;
  let checked = 0;
  for (let index = 0; index < 40; index++) {
    const withL = generatePhantomImage(7, index, { size: S });
    if (withL.lesions.length !== 1 || withL.lesions[0]!.className === 'Cardiomegaly') continue;
    const without = generatePhantomImage(7, index, { size: S, lesions: false });
    const l = withL.lesions[0]!;
    let x0 = S, y0 = S, x1 = -1, y1 = -1, sum = 0;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const d = withL.pixels[y * S + x]! - without.pixels[y * S + x]!;
        if (d === 0) continue;
        sum += Math.abs(d);
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
    const [bx, by, bw, bh] = l.bbox;
    // Only the detector blur (2 px) may carry a lesion past its box.
    const tol = 3;
    assert.ok(x0 >= bx - tol && y0 >= by - tol && x1 <= bx + bw + tol && y1 <= by + bh + tol,
      `${l.className} on image ${index}: changed pixels [${x0},${y0},${x1},${y1}] leave box ${l.bbox.join(',')}`);
    // And the lesion fills most of its box (the box is its true extent, not a loose frame).
    assert.ok(x1 - x0 >= 0.7 * bw && y1 - y0 >= 0.7 * bh, `${l.className} on image ${index}: changed extent ${x1 - x0}x${y1 - y0} vs box ${bw}x${bh}`);
    assert.ok(sum / (bw * bh) > 8, `${l.className} on image ${index}: too faint (${(sum / (bw * bh)).toFixed(1)} per pixel)`);
    checked++;
  }
  assert.ok(checked >= 10, `checked ${checked} single-lesion images`);
});

test('MONOCHROME1 stores the inverted data of MONOCHROME2 (same patient), and "mixed" makes about a quarter MONOCHROME1', () => {
  const m2 = generatePhantomImage(12, 3, { size: 64, monochrome: 'MONOCHROME2' });
  const m1 = generatePhantomImage(12, 3, { size: 64, monochrome: 'MONOCHROME1' });
  assert.equal(m1.photometric, 'MONOCHROME1');
  for (let i = 0; i < m2.pixels.length; i++) assert.equal(m1.pixels[i], 4095 - m2.pixels[i]!);
  assert.equal(m1.window.center, 4095 - m2.window.center);
  assert.equal(m1.window.width, m2.window.width);
  let mono1 = 0;
  for (let i = 0; i < 200; i++) if (generatePhantomImage(12, i, { size: 32, monochrome: 'mixed' }).photometric === 'MONOCHROME1') mono1++;
  assert.ok(mono1 > 30 && mono1 < 70, `${mono1} of 200 MONOCHROME1`);
  // 12 bits stored: nothing above 4095, and the window lies inside the data range.
  assert.ok(m2.pixels.every((v) => v <= 4095));
  assert.ok(m2.window.width > 500 && m2.window.center > 0 && m2.window.center < 4095);
});
