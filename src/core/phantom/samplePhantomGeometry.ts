import type { CocoBox, Point } from '../dataset/schema';
import { PhantomAnatomy, sampleAnatomy } from './PhantomAnatomy';
import type { PhantomAnatomyParams } from './PhantomAnatomy';
import { PHANTOM_CLASSES, lesionStats, sampleQuantile } from './lesionStats';
import type { PhantomClass } from './lesionStats';
import { PhantomRng, normalCdf } from './PhantomRng';

/** One lesion: its class, its true extent (the ground-truth box) and the click an annotator would make. */
export interface PhantomLesion {
  className: PhantomClass;
  /** [x, y, w, h] in pixels of the generated image. */
  bbox: CocoBox;
  /** [x, y] in pixels, inside the lesion. */
  point: Point;
  /** Which way the lesion's shape faces: the image side it sits on (lateral edge) and a shape seed. */
  side: 0 | 1;
  shapeSeed: number;
}

export interface PhantomGeometry {
  size: number;
  anatomy: PhantomAnatomyParams;
  lesions: PhantomLesion[];
}

/** Lesions per image: mostly one, as in NIH/RSNA positives; some negatives so a detector sees normals. */
const LESION_COUNT_CDF = [0.08, 0.62, 0.9, 1];

/**
 * Samples one phantom's anatomy and lesions, without pixels (cheap: the 5,000-lesion statistics test and
 * the renderer both start here). Box sizes come from the real per-class quantile tables through a
 * Gaussian copula (so width and height keep their real rank correlation and their real medians);
 * positions come from the real centre distributions, conditioned on landing in a lung (or anchored to the
 * anatomy for classes that have a fixed place: the heart, the costophrenic angle, the pleural edge).
 */
export function samplePhantomGeometry(seed: number, index: number, size: number): PhantomGeometry {
  const rng = new PhantomRng(seed, index, 1);
  const params = sampleAnatomy(rng);
  const anatomy = new PhantomAnatomy(params);
  const u = rng.next();
  const count = LESION_COUNT_CDF.findIndex((c) => u < c);
  const lesions: PhantomLesion[] = [];
  const used = new Set<string>();
  for (let i = 0; i < count; i++) {
    let cls: PhantomClass = rng.pick(PHANTOM_CLASSES);
    // One heart, one pneumothorax per image; re-draw rather than stack the same singular finding.
    for (let k = 0; k < 4 && (cls === 'Cardiomegaly' || cls === 'Pneumothorax') && used.has(cls); k++) cls = rng.pick(PHANTOM_CLASSES);
    if ((cls === 'Cardiomegaly' || cls === 'Pneumothorax') && used.has(cls)) continue;
    used.add(cls);
    const l = sampleLesion(rng, anatomy, cls, size, lesions);
    // Pleural findings stay apart: a second one mostly inside the first (e.g. next to a bilateral
    // effusion) would be drawn twice over the same place.
    const pleural = (c: string) => c === 'Effusion' || c === 'Pneumothorax';
    if (pleural(cls) && lesions.some((o) => pleural(o.className) && overlapFraction(l.bbox, o.bbox) > 0.3)) continue;
    lesions.push(l);
  }
  return { size, anatomy: params, lesions };
}

/** Samples one lesion of a class next to `others` (for callers that want lesions of a given class). */
export function sampleLesion(rng: PhantomRng, anatomy: PhantomAnatomy, cls: PhantomClass, size: number, others: readonly PhantomLesion[] = []): PhantomLesion {
  const st = lesionStats.classes[cls];
  const lv = lesionStats.quantileLevels;
  const k = size / lesionStats.pixelGrid;
  // Gaussian copula on (w, h); the normals' Pearson r that gives Spearman's rho is 2 sin(pi rho / 6).
  const r = 2 * Math.sin((Math.PI * st.spearmanWH) / 6);
  const z1 = rng.normal();
  const z2 = r * z1 + Math.sqrt(Math.max(0, 1 - r * r)) * rng.normal();
  // Real boxes have at least a few pixels; so do ours (matters for small --size).
  const w = Math.max(4, sampleQuantile(lv, st.quantiles.w, normalCdf(z1)) * k);
  const h = Math.max(4, sampleQuantile(lv, st.quantiles.h, normalCdf(z2)) * k);
  const p = anatomy.p;
  const shapeSeed = rng.nextU32();
  let x0: number, y0: number;
  let side: 0 | 1 = rng.chance(st.fractionImageLeft) ? 0 : 1;
  // Fluid and free air on the same side would be a hydropneumothorax, not two findings: use the other side.
  if ((cls === 'Effusion' || cls === 'Pneumothorax') && others.some((o) => (o.className === 'Effusion' || o.className === 'Pneumothorax') && o.side === side)) side = side === 0 ? 1 : 0;

  if (cls === 'Cardiomegaly') {
    // The enlarged heart is the box: centred a little to the patient's left, sitting on the left dome.
    const [hx, hy] = anatomy.toImage(p.cx + 0.03 * p.size + rng.normal() * 0.01, p.domeY[1] + 0.03);
    x0 = hx * size - w * 0.45;
    y0 = hy * size - h;
    side = 1;
  } else if (cls === 'Effusion') {
    // Fluid collects at the costophrenic angle: the box's lateral-bottom corner sits on it.
    const d = anatomy.lateral(side, p.cpY[side]) + 0.01;
    const [ex, ey] = anatomy.toImage(side === 0 ? p.cx - d : p.cx + d, p.cpY[side] + 0.012);
    x0 = side === 0 ? ex * size : ex * size - w;
    y0 = ey * size - h;
  } else if (cls === 'Pneumothorax') {
    // Air collects along the lateral/apical pleura: the box's lateral edge is the chest wall.
    const cyReal = sampleQuantile(lv, st.quantiles.cy, rng.next()) * k;
    // Between the apex and the diaphragm; a box taller than that hemithorax starts at the apex.
    let v = Math.min(cyReal / size, p.domeY[side] - 0.04 - h / 2 / size);
    v = Math.max(v, p.apexY + h / 2 / size);
    const d = anatomy.lateral(side, v) + 0.005;
    const [ex, ey] = anatomy.toImage(side === 0 ? p.cx - d : p.cx + d, v);
    x0 = side === 0 ? ex * size : ex * size - w;
    y0 = ey * size - h / 2;
  } else {
    // Parenchymal lesions: real centre marginals, re-drawn until the centre is in a lung (and not on top of
    // another lesion); after 12 tries, pulled to the middle of the nearer lung.
    let cx = 0, cy = 0, ok = false;
    const [hcx, hcy] = anatomy.toImage((p.heart[0] + p.heart[2]) / 2, (p.heart[1] + p.heart[3]) / 2);
    const hw = (p.heart[2] - p.heart[0]) * size, hh = (p.heart[3] - p.heart[1]) * size;
    const heartBox: CocoBox = [hcx * size - hw / 2, hcy * size - hh / 2, hw, hh];
    for (let t = 0; t < 12 && !ok; t++) {
      cx = sampleQuantile(lv, st.quantiles.cx, rng.next()) * k;
      cy = sampleQuantile(lv, st.quantiles.cy, rng.next()) * k;
      const [ua, va] = anatomy.toAnatomy(cx / size, cy / size);
      // In aerated lung: not behind the heart (where an opacity would hardly show), not on another lesion.
      ok = anatomy.lungMask(ua, va) > 0.5 && !inEllipse(heartBox, cx, cy) &&
        !others.some((o) => o.className === 'Cardiomegaly' ? inEllipse(o.bbox, cx, cy)
          : Math.abs(o.bbox[0] + o.bbox[2] / 2 - cx) < (o.bbox[2] + w) / 3 && Math.abs(o.bbox[1] + o.bbox[3] / 2 - cy) < (o.bbox[3] + h) / 3);
    }
    if (!ok) {
      const s = anatomy.sideOf(anatomy.toAnatomy(cx / size, cy / size)[0]);
      const v = (p.apexY + p.domeY[s]) / 2;
      const d = (anatomy.lateral(s, v) + anatomy.medial(s, v)) / 2;
      const [ix, iy] = anatomy.toImage(s === 0 ? p.cx - d : p.cx + d, v);
      cx = ix * size; cy = iy * size;
    }
    side = cx < p.cx * size ? 0 : 1;
    x0 = cx - w / 2;
    y0 = cy - h / 2;
  }
  // Keep the whole box on the image (shift, never shrink, so the size statistics stay those sampled).
  const wc = Math.min(w, size - 2), hc = Math.min(h, size - 2);
  x0 = Math.min(Math.max(1, x0), size - 1 - wc);
  y0 = Math.min(Math.max(1, y0), size - 1 - hc);
  const bbox: CocoBox = [round2(x0), round2(y0), round2(wc), round2(hc)];
  return { className: cls, bbox, point: clickFor(cls, bbox, side, rng), side, shapeSeed };
}

/** Fraction of box a's area that lies inside box b. */
function overlapFraction(a: CocoBox, b: CocoBox): number {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? (w * h) / (a[2] * a[3]) : 0;
}

/** Inside the ellipse inscribed in a box? (The heart silhouette, approximately.) */
function inEllipse([x, y, w, h]: CocoBox, px: number, py: number): boolean {
  const ex = (px - x - w / 2) / (w / 2), ey = (py - y - h / 2) / (h / 2);
  return ex * ex + ey * ey < 1;
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/**
 * Where an annotator clicks: on the lesion's most characteristic part, with hand jitter. Each point lies
 * inside the lesion's rendered shape (see renderLesion's shapes), not just inside its box.
 */
function clickFor(cls: PhantomClass, [x, y, w, h]: CocoBox, side: 0 | 1, rng: PhantomRng): Point {
  const j = () => rng.normal() * 0.06;
  // a: 0 at the lesion's lateral edge, 1 at its medial edge; b: 0 top, 1 bottom.
  let a: number, b: number;
  switch (cls) {
    case 'Effusion': a = 0.25 + j(); b = 0.82 + j() / 2; break;
    case 'Pneumothorax': a = 0.12 + j() / 2; b = 0.3 + j(); break;
    case 'Atelectasis': { a = 0.5 + j() * 2; b = a; break; }
    default: a = 0.5 + j(); b = 0.5 + j(); break;
  }
  a = Math.min(0.92, Math.max(0.08, a));
  b = Math.min(0.92, Math.max(0.08, b));
  const px = side === 0 ? x + a * w : x + (1 - a) * w;
  return [round2(px), round2(y + b * h)];
}
