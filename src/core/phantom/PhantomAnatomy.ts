import { PhantomRng } from './PhantomRng';

/** Which side of the image (not of the patient: on a PA film the patient's right is on the image left). */
export type ImageSide = 'left' | 'right';

/**
 * One patient's anatomy, in "anatomy coordinates": fractions of the image size, before the small in-plane
 * rotation. Everything the renderer draws and every landmark a lesion is anchored to comes from here, so
 * the geometry (for statistics tests) can be sampled without rendering pixels.
 */
export interface PhantomAnatomyParams {
  view: 'PA' | 'AP';
  /** Midline x. */
  cx: number;
  /** Patient size relative to the average framing. */
  size: number;
  /** In-plane rotation in radians (positive = clockwise on screen). */
  rotation: number;
  /** Lung apex y (top of the lung fields). */
  apexY: number;
  /** Dome tops of the hemidiaphragms, image-left (patient right) and image-right (patient left). */
  domeY: [number, number];
  /** Costophrenic angle y per side: the lowest, most lateral point of each lung. */
  cpY: [number, number];
  /** Lateral half-width of each lung field at its base, measured from the midline. */
  lungHalfWidth: [number, number];
  /** Heart silhouette box [x0, y0, x1, y1] in anatomy coordinates (axis-aligned on the final image). */
  heart: [number, number, number, number];
  /** Fraction of the heart's width that lies left of its widest point (the right heart border is smaller). */
  heartSplit: number;
  /** Half-width of the soft-tissue body and of the neck. */
  bodyHalfWidth: number;
  neckHalfWidth: number;
  /** Spinous-process offset from the midline: axial rotation shows as this asymmetry. */
  spineOffset: number;
  /** Posterior rib spacing and the y of the first posterior rib at the spine. */
  ribSpacing: number;
  firstRibY: number;
  /** Clavicle medial-head y and lateral-end y. */
  clavicleMedialY: number;
  clavicleLateralY: number;
  gastricBubble: boolean;
  /** Breast / pectoral soft-tissue shadow over the lower lung zones (0 = none). */
  breast: number;
  /** Exposure: display gain and offset of the 12-bit data, and quantum-noise level. */
  gain: number;
  offset: number;
  noise: number;
}

export function sampleAnatomy(rng: PhantomRng): PhantomAnatomyParams {
  const view: 'PA' | 'AP' = rng.chance(0.7) ? 'PA' : 'AP';
  const size = rng.range(0.86, 1.04);
  const cx = 0.5 + rng.normal() * 0.012;
  const dy = rng.range(-0.03, 0.03);
  // AP films are taken supine or sitting, usually with a poorer inspiration: the domes ride higher.
  const insp = view === 'AP' ? -0.03 : 0;
  const apexY = 0.135 + dy;
  const domeR = 0.655 + dy + insp + rng.range(-0.02, 0.02);
  const domeL = domeR + rng.range(0.01, 0.04);
  const lw = 0.395 * size;
  const lungHalfWidth: [number, number] = [lw * rng.range(0.98, 1.03), lw * rng.range(0.96, 1.01)];
  // Cardiothoracic ratio of a normal heart (0.40-0.49); AP magnifies the heart a little.
  const ctr = rng.range(0.4, 0.49) * (view === 'AP' ? 1.08 : 1);
  const hw = ctr * (lungHalfWidth[0] + lungHalfWidth[1]);
  const hh = hw * rng.range(0.72, 0.85);
  const hx0 = cx - hw * rng.range(0.3, 0.38);
  const hBottom = domeL + 0.03;
  return {
    view, cx, size, rotation: (rng.normal() * 1.5 * Math.PI) / 180,
    apexY, domeY: [domeR, domeL], cpY: [domeR + rng.range(0.065, 0.09), domeL + rng.range(0.06, 0.085)],
    lungHalfWidth, heart: [hx0, hBottom - hh, hx0 + hw, hBottom], heartSplit: rng.range(0.36, 0.44),
    bodyHalfWidth: 0.5 * size * rng.range(0.95, 1.1), neckHalfWidth: 0.12 * size,
    spineOffset: rng.normal() * 0.008,
    ribSpacing: (domeR + 0.02 - apexY) / 9.2, firstRibY: apexY - 0.005,
    clavicleMedialY: apexY + (view === 'AP' ? 0.03 : 0.065), clavicleLateralY: apexY + (view === 'AP' ? 0.01 : -0.005),
    gastricBubble: rng.chance(0.6),
    breast: rng.chance(0.5) ? rng.range(0.06, 0.12) : rng.range(0.0, 0.04),
    gain: rng.range(2700, 3200), offset: rng.range(120, 380), noise: rng.range(26, 44),
  };
}

/** Smooth 0..1 ramp over [0, w] (clamped linear, squared-off by smoothstep). */
export function ramp(x: number, w: number): number {
  if (x <= 0) return 0;
  if (x >= w) return 1;
  const t = x / w;
  return t * t * (3 - 2 * t);
}

/** Lung-field geometry queries shared by the renderer and the lesion sampler. */
export class PhantomAnatomy {
  constructor(readonly p: PhantomAnatomyParams) {}

  /** Distance from the midline to the lateral lung edge at height v (0 above the apex). */
  lateral(side: 0 | 1, v: number): number {
    const p = this.p;
    const t = (v - p.apexY) / (p.cpY[side] - p.apexY);
    if (t <= 0) return 0;
    // The rib cage widens quickly below the apex and is widest at the base.
    return p.lungHalfWidth[side] * (0.5 + 0.5 * Math.sqrt(Math.min(1, t)));
  }

  /** Distance from the midline to the medial lung edge (mediastinum; the aortic knob bulges on the image right). */
  medial(side: 0 | 1, v: number): number {
    const p = this.p;
    const base = 0.04 * p.size + 0.02 * Math.max(0, Math.min(1, (v - p.apexY) / 0.3));
    if (side === 1) {
      const k = (v - (p.apexY + 0.14)) / 0.035;
      return base + 0.03 * Math.exp(-k * k);
    }
    return base;
  }

  /** The lung's top edge at distance d from the midline (rounded apex). */
  top(side: 0 | 1, d: number): number {
    const p = this.p;
    const a = (d - p.lungHalfWidth[side] * 0.55) / p.lungHalfWidth[side];
    return p.apexY + 0.3 * a * a;
  }

  /** The hemidiaphragm (dome) at distance d from the midline: highest mid-lung, down to the CP angle laterally. */
  bottom(side: 0 | 1, d: number): number {
    const p = this.p;
    const lw = p.lungHalfWidth[side];
    const a = (d - lw * 0.45) / (lw * 0.55);
    // Medially the dome flattens under the heart (the cardiophrenic angle is hidden by the heart anyway).
    return p.domeY[side] + (p.cpY[side] - p.domeY[side]) * (a < 0 ? 0.25 * a * a : Math.min(1.6, a * a));
  }

  /** Midline x of anatomy row v for a side (0 = image left). */
  sideOf(u: number): 0 | 1 {
    return u < this.p.cx ? 0 : 1;
  }

  /** 0..1: how much of (u, v) is aerated lung (ignores the heart). */
  lungMask(u: number, v: number): number {
    const s = this.sideOf(u);
    const d = Math.abs(u - this.p.cx);
    return ramp(this.lateral(s, v) - d, 0.03) * ramp(d - this.medial(s, v), 0.02) * ramp(v - this.top(s, d), 0.03) * ramp(this.bottom(s, d) - v, 0.01);
  }

  /** Anatomy coordinates -> final image coordinates (fractions), through the in-plane rotation about the centre. */
  toImage(u: number, v: number): [number, number] {
    const c = Math.cos(this.p.rotation), s = Math.sin(this.p.rotation);
    const du = u - 0.5, dv = v - 0.5;
    return [0.5 + c * du - s * dv, 0.5 + s * du + c * dv];
  }

  toAnatomy(x: number, y: number): [number, number] {
    const c = Math.cos(this.p.rotation), s = Math.sin(this.p.rotation);
    const dx = x - 0.5, dy = y - 0.5;
    return [0.5 + c * dx + s * dy, 0.5 - s * dx + c * dy];
  }
}
