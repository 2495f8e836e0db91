import { PhantomAnatomy, ramp as rampShared } from './PhantomAnatomy';
import type { PhantomAnatomyParams } from './PhantomAnatomy';
import { PhantomRng } from './PhantomRng';
import { samplePhantomGeometry } from './samplePhantomGeometry';
import type { PhantomLesion } from './samplePhantomGeometry';
import { renderLesion, pneumothoraxMask } from './renderLesion';

/** Bound once: a cross-module call in a per-pixel loop goes through a getter when run from source (tsx/CJS). */
const ramp = rampShared;

export type Photometric = 'MONOCHROME1' | 'MONOCHROME2';
/** 'mixed' makes about a quarter of the images MONOCHROME1 (as CR archives are), chosen per image by the seed. */
export type MonochromeOption = Photometric | 'mixed';

export interface PhantomImageOptions {
  /** Width and height in pixels (square, like NIH and RSNA). Default 1024. */
  size?: number;
  monochrome?: MonochromeOption;
  /**
   * false renders the same patient without its lesions (same anatomy, same noise): a normal control, and
   * how the tests check that each lesion's pixels stay inside its box. Default true.
   */
  lesions?: boolean;
}

export interface PhantomImage {
  /** Stored values, row-major, BitsStored = 12 in 16-bit words, in the given photometric interpretation. */
  pixels: Uint16Array;
  width: number;
  height: number;
  bitsStored: 12;
  photometric: Photometric;
  /** A sensible VOI window for the stored values (DICOM WindowCenter/WindowWidth). */
  window: { center: number; width: number };
  /** Pixel spacing in mm (row, column). */
  pixelSpacing: [number, number];
  view: 'PA' | 'AP';
  lesions: PhantomLesion[];
  anatomy: PhantomAnatomyParams;
}

/** Field of view of an adult chest detector (a 43 cm cassette), so pixel spacing scales with --size. */
const FIELD_MM = 430;

/** A standard-normal table indexed by random bits: the noise loop needs a Gaussian per pixel, fast. */
const GAUSS = (() => {
  const n = 4096;
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // Inverse normal CDF by bisection on a good erf: done once per process.
    const p = (i + 0.5) / n;
    let lo = -6, hi = 6;
    for (let k = 0; k < 50; k++) { const m = (lo + hi) / 2; if (cdf(m) < p) lo = m; else hi = m; }
    t[i] = (lo + hi) / 2;
  }
  return t;
  function cdf(z: number): number {
    const x = Math.abs(z) / Math.SQRT2, tt = 1 / (1 + 0.3275911 * x);
    const y = 1 - ((((1.061405429 * tt - 1.453152027) * tt + 1.421413741) * tt - 0.284496736) * tt + 0.254829592) * tt * Math.exp(-x * x);
    return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
  }
})();

/**
 * Renders phantom `index` of dataset `seed`: a synthetic chest radiograph with its lesions and their
 * ground truth. Pure function of (seed, index, options): same inputs, same bytes (every transcendental
 * goes through V8's own fdlibm port, so this holds across machines for a given Node major version).
 *
 * The image is built as a "density" map (how much the body attenuates along each ray, the quantity a
 * processed radiograph displays): soft tissue minus lung air, plus bones, vessels and lesions, then
 * detector blur, quantum noise and the exposure's gain/offset into 12-bit stored values.
 */
export function generatePhantomImage(seed: number, index: number, opts: PhantomImageOptions = {}): PhantomImage {
  const S = Math.round(opts.size ?? 1024);
  if (!(S >= 32 && S <= 8192)) throw new RangeError(`phantom size must be 32..8192, got ${S}`);
  const geom = samplePhantomGeometry(seed, index, S);
  if (opts.lesions === false) geom.lesions = [];
  const p = geom.anatomy;
  const an = new PhantomAnatomy(p);
  const rng = new PhantomRng(seed, index, 2);
  const N = S * S;
  // D and air are fully overwritten by composeSoftTissue; V accumulates, so it starts at zero.
  const { D, air, V, tmp } = scratch(S);
  V.fill(0);

  drawVessels(V, S, an, rng);
  const ptx = geom.lesions.find((l) => l.className === 'Pneumothorax');
  let ptxMask: Float32Array | undefined;
  if (ptx) {
    ptxMask = pneumothoraxMask(ptx, S);
    // Beyond the visceral pleural line there is no lung, hence no lung markings.
    for (let i = 0; i < N; i++) V[i] = V[i]! * (1 - ptxMask[i]!);
  }
  const cardio = geom.lesions.find((l) => l.className === 'Cardiomegaly');
  composeSoftTissue(D, air, V, S, an, rng, cardio, ptxMask);
  drawBronchi(D, S, an);
  drawBones(D, air, S, an, rng);
  for (const l of geom.lesions) renderLesion(D, air, S, l, ptxMask);
  // Detector blur, horizontal pass here; the vertical pass is fused into the quantisation loop below.
  blurRows(D, S, tmp);

  const photometric: Photometric = opts.monochrome === 'mixed' ? (rng.chance(0.25) ? 'MONOCHROME1' : 'MONOCHROME2') : (opts.monochrome ?? 'MONOCHROME2');
  const pixels = new Uint16Array(N);
  const hist = new Uint32Array(4096);
  let state = rng.nextU32() | 1;
  const gain = p.gain, off = p.offset, nz = p.noise;
  for (let y = 0; y < S; y++) {
    // Heel effect / exposure falloff along the tube axis.
    const rowGain = gain * (1.02 - 0.05 * (y / S));
    const row = y * S;
    const r0 = Math.max(0, y - 2) * S, r1 = Math.max(0, y - 1) * S, r3 = Math.min(S - 1, y + 1) * S, r4 = Math.min(S - 1, y + 2) * S;
    for (let x = 0; x < S; x++) {
      const i = row + x;
      // Vertical [1 4 6 4 1]/16 of the row-blurred density.
      let d = (D[r0 + x]! + D[r4 + x]! + 4 * (D[r1 + x]! + D[r3 + x]!) + 6 * D[i]!) * 0.0625;
      if (d < 0) d = 0;
      state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
      // Fewer photons behind dense parts: noise grows with density in the log-processed image.
      let v = off + rowGain * d + nz * (0.6 + 0.7 * d) * GAUSS[(state >>> 20) & 4095]!;
      v = v < 0 ? 0 : v > 4095 ? 4095 : v;
      const q = v | 0;
      pixels[i] = q;
      hist[q]!++;
    }
  }
  const lo = percentile(hist, N * 0.01), hi = percentile(hist, N * 0.999) + 40;
  let center = Math.round((lo + hi) / 2);
  const width = Math.max(64, Math.round(hi - lo));
  if (photometric === 'MONOCHROME1') {
    for (let i = 0; i < N; i++) pixels[i] = 4095 - pixels[i]!;
    center = 4095 - center;
  }
  const mm = Math.round((FIELD_MM / S) * 1e4) / 1e4;
  return { pixels, width: S, height: S, bitsStored: 12, photometric, window: { center, width }, pixelSpacing: [mm, mm], view: p.view, lesions: geom.lesions, anatomy: p };
}

/** Heart half-width (0..1) at relative height t; widest (1) at tPeak, rounding off onto the diaphragm below. */
function heartProfile(t: number, tPeak: number, power: number): number {
  if (t <= 0 || t >= 1.0001) return 0;
  if (t < tPeak) return Math.pow(Math.sin((Math.PI / 2) * (t / tPeak)), power);
  const q = (t - tPeak) / (1 - tPeak);
  return 1 - 0.15 * q * q;
}

/**
 * Per-thread float buffers, reused between images of the same size: a 1024 phantom needs 12 MB of
 * scratch, and allocating it per image made the garbage collector a visible share of the time.
 */
let scratchCache: { S: number; D: Float32Array; air: Float32Array; V: Float32Array; tmp: Float32Array } | undefined;
function scratch(S: number) {
  if (scratchCache?.S !== S) {
    const N = S * S;
    scratchCache = { S, D: new Float32Array(N), air: new Float32Array(N), V: new Float32Array(N), tmp: new Float32Array(S) };
  }
  return scratchCache;
}

function percentile(hist: Uint32Array, rank: number): number {
  let acc = 0;
  for (let v = 0; v < hist.length; v++) { acc += hist[v]!; if (acc >= rank) return v; }
  return hist.length - 1;
}

/** Lookup tables of the lung outline per anatomy row/column, so the per-pixel loop does no geometry. */
function outlineTables(an: PhantomAnatomy, S: number) {
  const n = S + 1;
  const lat0 = new Float32Array(n), lat1 = new Float32Array(n), med0 = new Float32Array(n), med1 = new Float32Array(n), body = new Float32Array(n);
  const top0 = new Float32Array(n), top1 = new Float32Array(n), bot0 = new Float32Array(n), bot1 = new Float32Array(n);
  const p = an.p;
  for (let i = 0; i < n; i++) {
    const v = i / S; // rows: anatomy v in [0, 1]
    lat0[i] = an.lateral(0, v); lat1[i] = an.lateral(1, v);
    med0[i] = an.medial(0, v); med1[i] = an.medial(1, v);
    // Neck, then the shoulders' slope, then the chest wall.
    // Trapezius slope: from the neck at the top edge down and out to the shoulders by the lung apices.
    const t = Math.min(1, Math.max(0, (v + 0.02) / (p.apexY + 0.02)));
    body[i] = p.neckHalfWidth + (p.bodyHalfWidth - p.neckHalfWidth) * Math.pow(t, 0.8) + 0.02 * Math.max(0, v - 0.5);
    const d = (i / S) * 0.6; // columns: distance from the midline in [0, 0.6]
    top0[i] = an.top(0, d); top1[i] = an.top(1, d);
    bot0[i] = an.bottom(0, d); bot1[i] = an.bottom(1, d);
  }
  return { lat0, lat1, med0, med1, body, top0, top1, bot0, bot1 };
}

/** A coarse value-noise field, bilinearly sampled: lung parenchyma mottling and lesion patchiness. */
export class ValueNoise {
  private readonly g: Float32Array;
  constructor(private readonly cells: number, rng: PhantomRng) {
    this.g = new Float32Array((cells + 2) * (cells + 2));
    for (let i = 0; i < this.g.length; i++) this.g[i] = rng.next();
  }
  /** fx, fy in [0, 1]. */
  at(fx: number, fy: number): number {
    const c = this.cells;
    const gx = Math.min(c, Math.max(0, fx * c)), gy = Math.min(c, Math.max(0, fy * c));
    const ix = gx | 0, iy = gy | 0, tx = gx - ix, ty = gy - iy;
    const w = c + 2, i = iy * w + ix, g = this.g;
    const a = g[i]! + (g[i + 1]! - g[i]!) * tx;
    const b = g[i + w]! + (g[i + w + 1]! - g[i + w]!) * tx;
    return a + (b - a) * ty;
  }
}

/**
 * The smooth anatomy (soft tissue, lung air, heart, mediastinum, spine, trachea, ...) is evaluated on a
 * half-resolution grid for images of 256 px and more and bilinearly upsampled: its sharpest edge (the
 * diaphragm) is 5 px wide at 1024, so nothing visible is lost, and this loop was half the render time.
 * Vessels, bones, lesions and noise stay at full resolution.
 */
function composeSoftTissue(D: Float32Array, air: Float32Array, V: Float32Array, S: number, an: PhantomAnatomy, rng: PhantomRng,
  cardio: PhantomLesion | undefined, ptxMask: Float32Array | undefined): void {
  const k = S >= 256 && S % 2 === 0 ? 2 : 1;
  const G = S / k;
  const { DH, AH } = k === 1 ? { DH: D, AH: air } : halfScratch(G);
  const tex = new ValueNoise(40, rng);
  composeGrid(DH, AH, G, k, S, an, tex, cardio);
  if (k === 1) for (let i = 0; i < S * S; i++) D[i] = D[i]! + air[i]! * V[i]!;
  else upsample(D, air, V, DH, AH, G, k, S);
  if (ptxMask) removeInterstitium(D, air, S, an, tex, ptxMask);
}

/**
 * Beyond the visceral pleural line there is no lung tissue: the parenchymal mottle goes (the vessels
 * already went), at full resolution so the pneumothorax stays inside its box.
 */
function removeInterstitium(D: Float32Array, air: Float32Array, S: number, an: PhantomAnatomy, tex: ValueNoise, ptxMask: Float32Array): void {
  const c = Math.cos(an.p.rotation), s = Math.sin(an.p.rotation);
  for (let y = 0; y < S; y++) {
    const fy = (y + 0.5) / S - 0.5, row = y * S;
    for (let x = 0; x < S; x++) {
      const m = ptxMask[row + x]!;
      if (m === 0) continue;
      const fx = (x + 0.5) / S - 0.5;
      D[row + x] = D[row + x]! - air[row + x]! * 0.08 * tex.at(0.5 + c * fx + s * fy, 0.5 - s * fx + c * fy) * m;
    }
  }
}

function upsample(D: Float32Array, air: Float32Array, V: Float32Array, DH: Float32Array, AH: Float32Array, G: number, k: number, S: number): void {
  // Bilinear upsampling (pixel centres: full-res x maps to grid coordinate (x + 0.5) / 2 - 0.5): each grid
  // row is widened horizontally once, then every image row is a vertical blend of two widened rows.
  const ix0 = new Int32Array(S), ix1 = new Int32Array(S), wx = new Float32Array(S);
  for (let x = 0; x < S; x++) {
    const g = Math.min(G - 1, Math.max(0, (x + 0.5) / k - 0.5));
    ix0[x] = Math.floor(g); ix1[x] = Math.min(G - 1, ix0[x]! + 1); wx[x] = g - ix0[x]!;
  }
  const wide = (gy: number, dD: Float32Array, dA: Float32Array) => {
    const r = gy * G;
    for (let x = 0; x < S; x++) {
      const a0 = r + ix0[x]!, a1 = r + ix1[x]!, w = wx[x]!;
      dD[x] = DH[a0]! + (DH[a1]! - DH[a0]!) * w;
      dA[x] = AH[a0]! + (AH[a1]! - AH[a0]!) * w;
    }
  };
  let topD = new Float32Array(S), topA = new Float32Array(S), botD = new Float32Array(S), botA = new Float32Array(S);
  let topRow = -1, botRow = -1;
  for (let y = 0; y < S; y++) {
    const g = Math.min(G - 1, Math.max(0, (y + 0.5) / k - 0.5));
    const y0 = Math.floor(g), y1 = Math.min(G - 1, y0 + 1), wy = g - y0;
    if (y0 !== topRow) {
      if (y0 === botRow) { [topD, botD] = [botD, topD]; [topA, botA] = [botA, topA]; topRow = y0; botRow = -1; } else { wide(y0, topD, topA); topRow = y0; }
    }
    if (y1 !== botRow) { wide(y1, botD, botA); botRow = y1; }
    const row = y * S;
    for (let x = 0; x < S; x++) {
      const a = topA[x]! + (botA[x]! - topA[x]!) * wy;
      const i = row + x;
      // Vessels and interstitium put back some of the density the air took.
      D[i] = topD[x]! + (botD[x]! - topD[x]!) * wy + a * V[i]!;
      air[i] = a;
    }
  }
}

let halfCache: { G: number; DH: Float32Array; AH: Float32Array } | undefined;
function halfScratch(G: number) {
  if (halfCache?.G !== G) halfCache = { G, DH: new Float32Array(G * G), AH: new Float32Array(G * G) };
  return halfCache;
}

/** Evaluates the smooth anatomy on a G x G grid whose cells are k x k image pixels (k = 1 or 2). */
function composeGrid(D: Float32Array, air: Float32Array, G: number, k: number, S: number, an: PhantomAnatomy, tex: ValueNoise,
  cardio: PhantomLesion | undefined): void {
  const p = an.p;
  const T = outlineTables(an, S);
  const c = Math.cos(p.rotation), s = Math.sin(p.rotation);
  const cx = p.cx;
  // Heart silhouette in final-image pixels (axis-aligned: the lesion box is the heart's true extent).
  let hx0: number, hy0: number, hx1: number, hy1: number;
  if (cardio) {
    [hx0, hy0] = [cardio.bbox[0], cardio.bbox[1]];
    hx1 = hx0 + cardio.bbox[2]; hy1 = hy0 + cardio.bbox[3];
  } else {
    const [ax, ay] = an.toImage((p.heart[0] + p.heart[2]) / 2, (p.heart[1] + p.heart[3]) / 2);
    const hw = (p.heart[2] - p.heart[0]) * S, hh = (p.heart[3] - p.heart[1]) * S;
    hx0 = ax * S - hw / 2; hx1 = hx0 + hw; hy0 = ay * S - hh / 2; hy1 = hy0 + hh;
  }
  const hs = hx0 + (hx1 - hx0) * p.heartSplit;
  const hEdge = 1 / Math.max(1, 0.012 * S);
  const hrl = hs - hx0, hrr = hx1 - hs;
  // Mediastinal edges (image pixels) at heart level, where the heart's upper borders begin.
  const medR = (cx + an.medial(1, p.heart[1]) * 0.9) * S, medL = (cx - an.medial(0, p.heart[1]) * 0.9) * S;
  const [gbx, gby] = an.toImage(cx + 0.15 * p.size, p.domeY[1] + 0.055);
  const gbrx = 0.055 * S, gbry = 0.03 * S;
  const spine = cx + p.spineOffset;
  const carina = p.apexY + 0.17;
  const dScale = S / 0.6;
  const { body, lat0, lat1, med0, med1, top0, top1, bot0, bot1 } = T;
  // Soft-tissue thickness profile of an elliptical-ish chest cross-section, tabulated (no pow per pixel).
  const bodyProf = new Float32Array(1025);
  for (let k = 0; k <= 1024; k++) { const q = k / 1024; bodyProf[k] = 0.26 + 0.62 * Math.pow(1 - q * q, 0.6); }
  const gby0 = (gby * S - gbry) | 0, gby1 = Math.ceil(gby * S + gbry);
  const apexLo = p.apexY - 0.06;
  const vertFreq = 1 / (p.ribSpacing * 0.55);
  const gradTop = p.apexY + 0.1, gradScale = 1 / Math.max(0.1, p.domeY[0] - gradTop);
  const armGap = 0.012, armW = 0.11 * p.size, armTop = p.apexY + 0.02, armAmp = 0.62, armNorm = 2 / armW;
  const brAmp = p.breast, brX = 0.27 * p.size, brY = p.domeY[0] - 0.02, brInv = 1 / (0.2 * p.size), brInvY = 1 / 0.2;
  for (let gy = 0; gy < G; gy++) {
    // Image-pixel coordinates of this grid cell's centre.
    const py = (gy + 0.5) * k;
    const fy = py / S - 0.5;
    const u0 = 0.5 + s * fy, v0 = 0.5 + c * fy;
    const row = gy * G;
    const inHeartRow = py >= hy0 && py <= hy1;
    const ht = (py - hy0) / (hy1 - hy0);
    // The heart's borders start from the mediastinal edges (no notch where they meet), bulging out below.
    const inH = ht > 0 && ht < 1;
    const hWR = inH ? Math.max(heartProfile(ht, 0.9, 0.75) * hrr, medR - hs) : 0;
    const hWL = inH ? Math.max(heartProfile(ht, 0.72, 0.6) * hrl, hs - medL) : 0;
    const bubbleRow = p.gastricBubble && py >= gby0 && py <= gby1;
    for (let gx = 0; gx < G; gx++) {
      const i = row + gx;
      const px = (gx + 0.5) * k;
      const fx = px / S - 0.5;
      const u = u0 + c * fx, v = v0 - s * fx;
      let vi = (v * S) | 0; vi = vi < 0 ? 0 : vi > S ? S : vi;
      const du = u - cx, d = du < 0 ? -du : du;
      // Soft tissue: thickest mid-chest; nothing outside the body (air around the patient).
      const bw = body[vi]!;
      if (d >= bw) {
        // Arms hanging beside the chest, with a thin band of air in the axilla gap; nothing beyond.
        const ad = d - bw - armGap;
        D[i] = ad > 0 && ad < armW && v > armTop ? armAmp * Math.sqrt(ad * (armW - ad)) * armNorm * ramp(v - armTop, 0.08) : 0;
        air[i] = 0;
        continue;
      }
      let dens = (bodyProf[((d / bw) * 1024) | 0]! + (d < 0.125 ? 0.08 - 0.64 * d : 0)) * ramp(bw - d, 0.03);
      let di = (d * dScale) | 0; di = di > S ? S : di;
      // Lung air: product of soft edges (lateral wall, mediastinum, apex, diaphragm - the sharpest edge).
      let a = 0;
      const left = du < 0;
      const lat = left ? lat0[vi]! : lat1[vi]!;
      if (d < lat) {
        const med = left ? med0[vi]! : med1[vi]!;
        const top = left ? top0[di]! : top1[di]!;
        const bot = left ? bot0[di]! : bot1[di]!;
        if (d > med && v > top && v < bot) a = ramp(lat - d, 0.06) * ramp(d - med, 0.025) * ramp(v - top, 0.035) * ramp(bot - v, 0.005);
      }
      if (inHeartRow && a > 0) {
        // Heart: widest near the diaphragm (left ventricle apex on the image right), narrowing up into the
        // mediastinum; the right heart border (image left) is smaller and rounder.
        const ex = px - hs;
        const e = ((ex > 0 ? hWR - ex : hWL + ex)) * hEdge;
        if (e > 0) a *= e >= 1 ? 0 : 1 - e * e * (3 - 2 * e);
      }
      if (a > 0) {
        const t = tex.at(u, v);
        // Air lowers the density (composeSoftTissue adds the vessels back). Lower zones carry more
        // overlying soft tissue than the apices: a gentle cranio-caudal gradient.
        dens -= a * (0.55 - 0.08 * t - 0.07 * Math.min(1, Math.max(0, (v - gradTop) * gradScale)));
      }
      // Breast / pectoral soft tissue: denser lower lateral lung zones, fading upwards.
      if (brAmp > 0) {
        const bx = (d - brX) * brInv, by = (v - brY) * brInvY;
        const b2 = bx * bx + by * by;
        if (b2 < 1) dens += brAmp * (1 - b2) * (by > 0 ? 1 : 1 + by);
      }
      // Thoracic spine behind the mediastinum: a denser column with cortical margins.
      const ds = (u - spine) * 26;
      if (ds > -1 && ds < 1 && v > apexLo) {
        // Vertebral bodies with darker disc spaces; pedicles as faint cortical margins.
        const seg = (v - p.apexY) * vertFreq;
        const f = seg - Math.floor(seg);
        const disc = f < 0.16 ? 0.4 : 1;
        dens += (0.012 + 0.012 * ds * ds * ds * ds) * disc;
      }
      // Trachea: an air column down to the carina.
      if (d < 0.02 && v < carina) dens -= 0.045 * ramp(0.02 - d, 0.012) * ramp(carina - v, 0.05);
      // Gastric bubble under the left hemidiaphragm.
      if (bubbleRow) {
        const bx2 = (px - gbx * S) / gbrx, by2 = (py - gby * S) / gbry;
        const g2 = bx2 * bx2 + by2 * by2;
        if (g2 < 1) dens -= 0.14 * ramp(1 - g2, 0.3) * (by2 < 0 ? 1 : 0.6);
      }
      D[i] = dens;
      air[i] = a;
    }
  }
}

/** Lung vessels: branching trees from each hilum, stamped with max() so branch joints do not double up. */
function drawVessels(V: Float32Array, S: number, an: PhantomAnatomy, rng: PhantomRng): void {
  const p = an.p;
  const hila: [number, number, number][] = [[p.cx - 0.1 * p.size, p.apexY + 0.27, 0], [p.cx + 0.09 * p.size, p.apexY + 0.25, 1]];
  for (const [hu, hv, side] of hila) {
    const [hx, hy] = an.toImage(hu, hv);
    // Hilar shadows: the pulmonary artery trunks (descending and upper-lobe), thick and short.
    const out = side === 0 ? -1 : 1;
    stampSegment(V, S, hx * S, hy * S, (hx + out * 0.02) * S, (hy + 0.1) * S, 0.011 * S, 0.13);
    stampSegment(V, S, hx * S, hy * S, (hx + out * 0.025) * S, (hy - 0.06) * S, 0.008 * S, 0.1);
    const roots = 5;
    for (let r = 0; r < roots; r++) {
      // Fan from up-and-out to down-and-out (image angles, y down).
      let ang = (-80 + (160 * (r + rng.range(0.2, 0.8))) / roots) * (Math.PI / 180);
      ang = side === 0 ? Math.PI - ang : ang;
      branch(hx * S, hy * S, ang, 0.06 * S * rng.range(0.8, 1.1), 0.006 * S, 0);
    }
  }
  function branch(x: number, y: number, ang: number, len: number, rad: number, depth: number): void {
    // Two sub-segments with a small kink: vessels curve, a straight web of lines looks artificial.
    const bend = rng.range(-0.3, 0.3);
    const xm = x + Math.cos(ang + bend) * len * 0.5, ym = y + Math.sin(ang + bend) * len * 0.5;
    const x2 = xm + Math.cos(ang - bend * 0.5) * len * 0.5, y2 = ym + Math.sin(ang - bend * 0.5) * len * 0.5;
    // Projected density scales with the vessel's calibre; the vessel tapers along its length.
    const amp = 0.12 * Math.min(1, rad / (0.005 * S));
    stampSegment(V, S, x, y, xm, ym, rad, amp);
    stampSegment(V, S, xm, ym, x2, y2, rad * 0.88, amp * 0.92);
    // Below about a third of a pixel a branch is invisible: small images stop early (26k-image fixtures).
    if (depth >= 6 || rad < Math.max(0.0008 * S, 0.35)) return;
    const n = depth < 1 ? 3 : 2;
    for (let k = 0; k < n; k++) {
      const spread = (n === 3 ? (k - 1) * 0.5 : (k - 0.5) * rng.range(0.5, 0.9)) + rng.range(-0.25, 0.25);
      branch(x2, y2, ang + spread, len * rng.range(0.72, 0.9), rad * rng.range(0.7, 0.8), depth + 1);
    }
  }
}

/** Main bronchi: air columns from the carina, the left one longer and more horizontal. */
function drawBronchi(D: Float32Array, S: number, an: PhantomAnatomy): void {
  const p = an.p;
  const [cx, cy] = an.toImage(p.cx, p.apexY + 0.17);
  for (const [du, dv] of [[-0.045, 0.05], [0.06, 0.045]] as const) {
    const [ex, ey] = an.toImage(p.cx + du * p.size, p.apexY + 0.17 + dv);
    carveSegment(D, S, cx * S, cy * S, ex * S, ey * S, 0.011 * S, 0.035);
  }
}

/** Subtracts a tube's projection (an air column) along a segment. */
function carveSegment(D: Float32Array, S: number, x1: number, y1: number, x2: number, y2: number, rad: number, amp: number): void {
  const r = Math.max(1, rad), r2 = r * r;
  const xa = Math.max(0, Math.floor(Math.min(x1, x2) - r)), xb = Math.min(S - 1, Math.ceil(Math.max(x1, x2) + r));
  const ya = Math.max(0, Math.floor(Math.min(y1, y2) - r)), yb = Math.min(S - 1, Math.ceil(Math.max(y1, y2) + r));
  const dx = x2 - x1, dy = y2 - y1, l2 = dx * dx + dy * dy || 1;
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const px = x + 0.5 - x1, py = y + 0.5 - y1;
      let t = (px * dx + py * dy) / l2;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - t * dx, ey = py - t * dy, e2 = ex * ex + ey * ey;
      if (e2 < r2) D[y * S + x] = D[y * S + x]! - amp * Math.sqrt(1 - e2 / r2) * Math.min(1, t * 8, (1 - t) * 8 + 0.3);
    }
  }
}

/** A cylinder of radius rad between two points, max-blended (projection of a tube: sqrt profile). */
export function stampSegment(buf: Float32Array, S: number, x1: number, y1: number, x2: number, y2: number, rad: number, amp: number): void {
  // Sub-pixel-thin vessels are drawn 1.3 px wide and proportionally fainter (same projected mass).
  const r = Math.max(1.3, 0.0016 * S, rad);
  amp *= rad / r;
  const xa = Math.max(0, Math.floor(Math.min(x1, x2) - r - 1)), xb = Math.min(S - 1, Math.ceil(Math.max(x1, x2) + r + 1));
  const ya = Math.max(0, Math.floor(Math.min(y1, y2) - r - 1)), yb = Math.min(S - 1, Math.ceil(Math.max(y1, y2) + r + 1));
  const dx = x2 - x1, dy = y2 - y1, l2 = dx * dx + dy * dy || 1;
  const a = amp;
  const r2 = r * r;
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const px = x + 0.5 - x1, py = y + 0.5 - y1;
      let t = (px * dx + py * dy) / l2;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - t * dx, ey = py - t * dy;
      const e2 = ex * ex + ey * ey;
      if (e2 < r2) {
        // Softer than a hard tube: vessels are blurred by motion and partial volume.
        const q = 1 - e2 / r2;
        const val = a * q * Math.sqrt(q);
        const i = y * S + x;
        if (val > buf[i]!) buf[i] = val;
      }
    }
  }
}

/**
 * Draws a bone as a band along a curve that is a function of x in the final image (ribs and clavicles
 * are; the rotation is a few degrees). Column by column: cheap, and the band's thickness is corrected
 * for the curve's slope. The profile has bright cortical edges, as tubular bones show on a radiograph.
 */
function drawBand(D: Float32Array, air: Float32Array, S: number, pts: [number, number][], halfThick: (f: number) => number, amp: number, floor = 0.3): void {
  if (pts.length < 2) return;
  // Sort by x so the band can be walked column by column whichever way the curve was sampled.
  const P = pts.map(([x, y]) => [x * S, y * S] as [number, number]).sort((a, b) => a[0] - b[0]);
  const xStart = Math.max(0, Math.ceil(P[0]![0])), xEnd = Math.min(S - 1, Math.floor(P[P.length - 1]![0]));
  let seg = 0;
  const span = P[P.length - 1]![0] - P[0]![0] || 1;
  for (let x = xStart; x <= xEnd; x++) {
    while (seg < P.length - 2 && P[seg + 1]![0] < x) seg++;
    const [ax, ay] = P[seg]!, [bx, by] = P[seg + 1]!;
    const slope = (by - ay) / (bx - ax || 1e-6);
    const yc = ay + slope * (x - ax);
    const f = (x - P[0]![0]) / span;
    const th = halfThick(f) * S * Math.sqrt(1 + Math.min(9, slope * slope));
    // Ends taper so bones do not stop with a square edge.
    const endFade = Math.min(1, f * 12, (1 - f) * 12);
    const ya = Math.max(0, Math.ceil(yc - th)), yb = Math.min(S - 1, Math.floor(yc + th));
    for (let y = ya; y <= yb; y++) {
      const t = (y + 0.5 - yc) / th;
      const t2 = t * t;
      if (t2 >= 1) continue;
      // Bone shows best against lung; over the mediastinum and abdomen it is mostly washed out.
      const i = y * S + x;
      D[i] = D[i]! + (floor + (1 - floor) * air[i]!) * amp * endFade * (0.55 * Math.sqrt(1 - t2) + 0.45 * t2 * t2 * t2) * Math.min(1, (1 - Math.abs(t)) * th);
    }
  }
}

function drawBones(D: Float32Array, air: Float32Array, S: number, an: PhantomAnatomy, rng: PhantomRng): void {
  const p = an.p;
  const img = (u: number, v: number) => an.toImage(u, v);
  for (const side of [0, 1] as const) {
    const sg = side === 0 ? -1 : 1;
    const lw = p.lungHalfWidth[side];
    // Posterior ribs: from the spine, a short rise then down and out along the chest wall.
    for (let i = 0; i < 10; i++) {
      const vi = p.firstRibY + i * p.ribSpacing * rng.range(0.97, 1.03);
      const pts: [number, number][] = [];
      const latW = an.lateral(side, vi + 0.05) || lw * 0.5;
      const dEnd = latW * 1.12;
      for (let k = 0; k <= 28; k++) {
        const d = 0.03 + (dEnd - 0.03) * (k / 28);
        // q: 0 at the spine, 1 at the lateral lung edge, where the rib turns down along the chest wall.
        const q = d / latW, bend = Math.max(0, q - 0.72);
        pts.push(img(p.cx + sg * d, vi - 0.04 * q + 0.07 * q * q + 0.45 * bend * bend));
      }
      const th = 0.0125 - i * 0.0002;
      drawBand(D, air, S, pts, (f) => th * (0.85 + 0.3 * f), 0.15);
    }
    // Anterior ribs: from the lateral wall, down and in towards the (invisible) costal cartilage.
    for (let j = 1; j <= 6; j++) {
      const vEnd = p.firstRibY + j * p.ribSpacing + 0.06;
      const pts: [number, number][] = [];
      const dLat = an.lateral(side, vEnd) + 0.02;
      for (let k = 0; k <= 16; k++) {
        const d = dLat - (dLat - 0.3 * lw) * (k / 16);
        const t = (dLat - d) / dLat;
        pts.push(img(p.cx + sg * d, vEnd - 0.01 + 0.2 * t * (1 - 0.2 * t)));
      }
      drawBand(D, air, S, pts, () => 0.0105, 0.12);
    }
    // Clavicle: a gentle S from the sternal head up and out to the acromion.
    const cpts: [number, number][] = [];
    for (let k = 0; k <= 20; k++) {
      const t = k / 20;
      const d = 0.035 + t * (lw + 0.07);
      cpts.push(img(p.cx + sg * d, p.clavicleMedialY + (p.clavicleLateralY - p.clavicleMedialY) * t + 0.012 * Math.sin(t * 2 * Math.PI)));
    }
    drawBand(D, air, S, cpts, (f) => 0.016 * (0.75 + 0.4 * f), 0.22, 0.75);
    // Scapular margin over the upper lateral chest.
    const spts: [number, number][] = [];
    for (let k = 0; k <= 12; k++) {
      const t = k / 12;
      spts.push(img(p.cx + sg * (lw + 0.05 - 0.07 * t), p.apexY + 0.06 + 0.28 * t));
    }
    drawBand(D, air, S, spts, () => 0.006, 0.05);
  }
}

/** Detector blur, horizontal half of a separable [1 4 6 4 1]/16 (about a 1-pixel Gaussian), in place. */
function blurRows(D: Float32Array, S: number, line: Float32Array): void {
  for (let y = 0; y < S; y++) {
    const o = y * S;
    line.set(D.subarray(o, o + S));
    D[o] = (11 * line[0]! + 4 * line[1]! + line[2]!) * 0.0625;
    D[o + 1] = (5 * line[0]! + 6 * line[1]! + 4 * line[2]! + line[3]!) * 0.0625;
    for (let x = 2; x < S - 2; x++) D[o + x] = (line[x - 2]! + line[x + 2]! + 4 * (line[x - 1]! + line[x + 1]!) + 6 * line[x]!) * 0.0625;
    D[o + S - 2] = (line[S - 4]! + 4 * line[S - 3]! + 6 * line[S - 2]! + 5 * line[S - 1]!) * 0.0625;
    D[o + S - 1] = (line[S - 3]! + 4 * line[S - 2]! + 11 * line[S - 1]!) * 0.0625;
  }
}
