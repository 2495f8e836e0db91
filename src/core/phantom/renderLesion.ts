import { ramp as rampShared } from './PhantomAnatomy';
import { PhantomRng } from './PhantomRng';
import type { PhantomLesion } from './samplePhantomGeometry';

/** Bound once: a cross-module call in a per-pixel loop goes through a getter when run from source (tsx/CJS). */
const ramp = rampShared;

/**
 * Draws one lesion into the density map, inside its box, with a class-typical look. Every shape is built
 * so that its support is exactly the box (it touches all four sides), which is what makes the box the
 * lesion's true extent without measuring pixels. Local coordinates: a = 0 at the lesion's lateral edge
 * and 1 at its medial edge (mirrored by side), b = 0 at the top and 1 at the bottom.
 */
export function renderLesion(D: Float32Array, air: Float32Array, S: number, l: PhantomLesion, ptxMask: Float32Array | undefined): void {
  if (l.className === 'Cardiomegaly') return; // drawn as the heart silhouette itself
  const [bx, by, bw, bh] = l.bbox;
  const rng = new PhantomRng(l.shapeSeed, 7);
  const noise = new LocalNoise(l.className === 'Infiltrate' ? 5 : 4, rng);
  const xa = Math.max(0, Math.floor(bx)), xb = Math.min(S - 1, Math.ceil(bx + bw));
  const ya = Math.max(0, Math.floor(by)), yb = Math.min(S - 1, Math.ceil(by + bh));
  const amp = rng.range(0.85, 1.15);
  const lobePhase = rng.range(0, 2 * Math.PI);
  const bilateral = isBilateral(l, S);
  for (let y = ya; y <= yb; y++) {
    const b = (y + 0.5 - by) / bh;
    if (b <= 0 || b >= 1) continue;
    for (let x = xa; x <= xb; x++) {
      const lx = (x + 0.5 - bx) / bw;
      if (lx <= 0 || lx >= 1) continue;
      const a = l.side === 0 ? lx : 1 - lx;
      const ex = 2 * lx - 1, ey = 2 * b - 1;
      const i = y * S + x;
      let dd = 0;
      switch (l.className) {
        case 'Nodule': {
          // Small, round, well-defined: the projection of a sphere.
          const r2 = ex * ex + ey * ey;
          if (r2 < 1) dd = 0.16 * Math.sqrt(1 - r2) + 0.04 * ramp(1 - r2, 0.05);
          break;
        }
        case 'Mass': {
          // Larger and lobulated; the lobulation vanishes on the axes so the box stays the extent.
          const th = Math.atan2(ey, ex);
          const s2 = Math.sin(2 * th);
          const rmax = 1 - 0.14 * s2 * s2 * (1 + 0.5 * Math.sin(3 * th + lobePhase));
          const q = Math.sqrt(ex * ex + ey * ey) / rmax;
          if (q < 1) dd = 0.2 * Math.cbrt(1 - q * q);
          break;
        }
        case 'Infiltrate': {
          // Patchy, ill-defined opacity.
          const q = superEllipse(ex, ey);
          if (q < 1) dd = 0.34 * Math.sqrt(1 - q) * (0.3 + 0.7 * noise.at(lx, b));
          break;
        }
        case 'Pneumonia': {
          // Airspace consolidation: denser and more confluent than an infiltrate.
          const q = superEllipse(ex, ey);
          if (q < 1) dd = 0.4 * Math.sqrt(1 - q) * (0.55 + 0.45 * noise.at(lx, b));
          break;
        }
        case 'Atelectasis': {
          // Plate/wedge of collapsed lung along the box diagonal (lateral-top to medial-bottom).
          const e = Math.abs(b - a);
          if (e < 0.24) dd = 0.26 * Math.sqrt(1 - e / 0.24) * (0.75 + 0.25 * noise.at(lx, b));
          break;
        }
        case 'Effusion': {
          // Dependent fluid with a meniscus: highest at the lateral wall, filling the costophrenic angle.
          // A box wider than a hemithorax is a bilateral effusion (NIH boxes some that way): two menisci.
          const m = 0.85 * Math.pow(bilateral ? 2 * Math.min(lx, 1 - lx) : a, 1.7);
          if (b > m) dd = 0.36 * ramp(b - m, 0.1) * (0.6 + 0.4 * b) * ramp(a * bw, 3) * ramp((1 - b) * bh, 3);
          break;
        }
        case 'Pneumothorax': {
          // Lucent rim: more air and (see generatePhantomImage) no lung markings; a thin visceral pleural line.
          const m = ptxMask ? ptxMask[i]! : 0;
          dd = -0.13 * m * Math.min(1, air[i]! * 3);
          const distPx = Math.abs(a - pleuralLine(b)) * bw;
          if (distPx < 1.8) dd += 0.07 * (1 - distPx / 1.8) * Math.min(1, air[i]! * 2);
          break;
        }
      }
      if (dd === 0) continue;
      // Airspace disease and fluid replace air, so they show where there was lung; a solid mass adds tissue
      // anywhere but stands out far less over the mediastinum or the abdomen than against lung.
      if (l.className === 'Nodule' || l.className === 'Mass') dd *= 0.4 + 0.6 * Math.min(1, air[i]! * 1.6);
      else if (l.className !== 'Pneumothorax') dd *= 0.06 + 0.94 * Math.min(1, air[i]! * 1.6);
      D[i] = D[i]! + amp * dd;
    }
  }
}

/** Effusion boxes wider than about one hemithorax (the widest 4 % of NIH's) are drawn on both sides. */
export function isBilateral(l: PhantomLesion, S: number): boolean {
  return l.className === 'Effusion' && l.bbox[2] > 0.45 * S;
}

/** |x|^2.5 + |y|^2.5 without pow: a rounded-rectangle envelope that touches all four sides of the box. */
function superEllipse(x: number, y: number): number {
  const ax = x < 0 ? -x : x, ay = y < 0 ? -y : y;
  return ax * ax * Math.sqrt(ax) + ay * ay * Math.sqrt(ay);
}

/**
 * Where the visceral pleural line is (as a) at height b: the air between lung and chest wall is a crescent,
 * thin where the lung edge meets the wall at the top and bottom of the box, widest (the whole box) midway.
 */
export function pleuralLine(b: number): number {
  return 0.08 + 0.92 * Math.pow(Math.sin(Math.PI * b), 0.6);
}

/** The pneumothorax region (lateral to the visceral pleural line), 0..1 over the whole image. */
export function pneumothoraxMask(l: PhantomLesion, S: number): Float32Array {
  const M = new Float32Array(S * S);
  const [bx, by, bw, bh] = l.bbox;
  const xa = Math.max(0, Math.floor(bx)), xb = Math.min(S - 1, Math.ceil(bx + bw));
  const ya = Math.max(0, Math.floor(by)), yb = Math.min(S - 1, Math.ceil(by + bh));
  for (let y = ya; y <= yb; y++) {
    const b = (y + 0.5 - by) / bh;
    if (b <= 0 || b >= 1) continue;
    const f = pleuralLine(b);
    for (let x = xa; x <= xb; x++) {
      const lx = (x + 0.5 - bx) / bw;
      if (lx <= 0 || lx >= 1) continue;
      const a = l.side === 0 ? lx : 1 - lx;
      if (a < f) M[y * S + x] = ramp((f - a) * bw, 2);
    }
  }
  return M;
}

/** Value noise over a lesion's box (cells x cells), for patchy opacities. */
class LocalNoise {
  private readonly g: Float32Array;
  constructor(private readonly cells: number, rng: PhantomRng) {
    this.g = new Float32Array((cells + 2) * (cells + 2));
    for (let i = 0; i < this.g.length; i++) this.g[i] = rng.next();
  }
  at(fx: number, fy: number): number {
    const c = this.cells, gx = fx * c, gy = fy * c;
    const ix = Math.min(c, gx | 0), iy = Math.min(c, gy | 0), tx = gx - ix, ty = gy - iy;
    const w = c + 2, i = iy * w + ix, g = this.g;
    const sx = tx * tx * (3 - 2 * tx), sy = ty * ty * (3 - 2 * ty);
    const a = g[i]! + (g[i + 1]! - g[i]!) * sx, b2 = g[i + w]! + (g[i + w + 1]! - g[i + w]!) * sx;
    return a + (b2 - a) * sy;
  }
}
