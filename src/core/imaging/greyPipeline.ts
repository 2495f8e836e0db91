import type { DecodedImage, LookupTable, ModalityLut, VoiFunction, VoiWindow } from './DecodedImage';

/**
 * The grey-level pipeline of PS3.3 C.11: stored value -> Modality LUT -> VOI LUT -> presentation
 * (MONOCHROME1 inverted). The display path builds one 8-bit table over every possible stored value
 * (2^BitsStored entries) and maps the image in a single pass, so window/level of a 16-bit image costs one
 * table lookup per pixel however complex the LUT chain is.
 */

export function applyModality(m: ModalityLut, sv: number): number {
  if (m.kind === 'rescale') return sv * m.slope + m.intercept;
  return lutLookup(m.lut, sv);
}

function lutLookup(lut: LookupTable, x: number): number {
  let i = Math.round(x) - lut.firstMapped;
  if (i < 0) i = 0; else if (i >= lut.data.length) i = lut.data.length - 1;
  return lut.data[i]!;
}

/** VOI output scaled to [0, 1]; PS3.3 C.11.2.1.2 (LINEAR), C.11.2.1.3.1 (LINEAR_EXACT), C.11.2.1.3.2 (SIGMOID). */
export function voiWindow(x: number, c: number, w: number, fn: VoiFunction): number {
  if (fn === 'SIGMOID') return 1 / (1 + Math.exp((-4 * (x - c)) / w));
  if (fn === 'LINEAR_EXACT') {
    if (x <= c - w / 2) return 0;
    if (x > c + w / 2) return 1;
    return (x - c) / w + 0.5;
  }
  if (w < 1) w = 1;
  if (x <= c - 0.5 - (w - 1) / 2) return 0;
  if (x > c - 0.5 + (w - 1) / 2) return 1;
  return (x - (c - 0.5)) / (w - 1) + 0.5;
}

/** Modality values (e.g. HU) as float32, interleaved like `data`. */
export function modalityValues(img: DecodedImage): Float32Array {
  const d = img.data;
  const out = new Float32Array(d.length);
  const m = img.modality;
  if (m.kind === 'rescale') {
    const { slope, intercept } = m;
    if (slope === 1 && intercept === 0) { out.set(d); return out; }
    for (let i = 0; i < d.length; i++) out[i] = d[i]! * slope + intercept;
    return out;
  }
  for (let i = 0; i < d.length; i++) out[i] = lutLookup(m.lut, d[i]!);
  return out;
}

export function minMax(a: ArrayLike<number>): [number, number] {
  let lo = Infinity; let hi = -Infinity;
  for (let i = 0; i < a.length; i++) { const v = a[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
  return a.length ? [lo, hi] : [0, 0];
}

export interface DisplayOptions {
  /** Explicit window (overrides the header's). */
  window?: VoiWindow;
  /** VOI LUT function for an explicit window (default: the header's). */
  voiFunction?: VoiFunction;
  /** Which header window / VOI LUT to use (default 0). */
  voiIndex?: number;
  /** Prefer the header's VOI LUT Sequence over its windows. */
  preferVoiLut?: boolean;
  /** Invert the output; default: true for MONOCHROME1. */
  invert?: boolean;
}

export type VoiChoice =
  | { kind: 'window'; center: number; width: number; function: VoiFunction; source: 'option' | 'header' | 'min-max' }
  | { kind: 'lut'; lut: LookupTable };

/** The VOI transform toDisplay8 will apply: the caller's window, the header's, its LUT, or the modality range. */
export function chooseVoi(img: DecodedImage, opts: DisplayOptions = {}): VoiChoice {
  const fn = opts.voiFunction ?? img.voi.function;
  if (opts.window) return { kind: 'window', center: opts.window.center, width: Math.max(opts.window.width, fn === 'LINEAR' ? 1 : Number.MIN_VALUE), function: fn, source: 'option' };
  const idx = opts.voiIndex ?? 0;
  const lut = img.voi.luts[Math.min(idx, img.voi.luts.length - 1)];
  const win = img.voi.windows[Math.min(idx, img.voi.windows.length - 1)];
  if (lut && (opts.preferVoiLut || !win)) return { kind: 'lut', lut };
  if (win) return { kind: 'window', center: win.center, width: win.width, function: fn, source: 'header' };
  // No VOI in the file: show the full range of modality values actually present.
  const [lo, hi] = modalityRange(img);
  return { kind: 'window', center: (lo + hi + 1) / 2, width: Math.max(1, hi - lo + 1), function: 'LINEAR', source: 'min-max' };
}

function modalityRange(img: DecodedImage): [number, number] {
  const [lo, hi] = minMax(img.data);
  const a = applyModality(img.modality, lo); const b = applyModality(img.modality, hi);
  if (img.modality.kind === 'rescale') return a <= b ? [a, b] : [b, a];
  // A LUT need not be monotonic: scan the entries in range.
  return minMax(Array.from({ length: hi - lo + 1 }, (_, k) => applyModality(img.modality, lo + k)));
}

/**
 * out[i] = table[d[i] - lo]. The hot loop of window/level: kept in its own function so V8 optimizes it
 * alone, and writing four output bytes per 32-bit store (out is a fresh, aligned array).
 */
function mapThroughTable(d: ArrayLike<number>, lo: number, table: Uint8Array, out: Uint8Array): void {
  const n = d.length;
  const n4 = n & ~3;
  const o32 = new Uint32Array(out.buffer, out.byteOffset, n4 >> 2);
  let i = 0;
  for (let j = 0; i < n4; i += 4, j++) {
    o32[j] = table[d[i]! - lo]! | (table[d[i + 1]! - lo]! << 8) | (table[d[i + 2]! - lo]! << 16) | (table[d[i + 3]! - lo]! << 24);
  }
  for (; i < n; i++) out[i] = table[d[i]! - lo]!;
}

function mapU16(d: Uint16Array, table: Uint8Array, out: Uint8Array): void {
  const n = d.length;
  const n4 = n & ~3;
  const o32 = new Uint32Array(out.buffer, out.byteOffset, n4 >> 2);
  let i = 0;
  for (let j = 0; i < n4; i += 4, j++) {
    o32[j] = table[d[i]!]! | (table[d[i + 1]!]! << 8) | (table[d[i + 2]!]! << 16) | (table[d[i + 3]!]! << 24);
  }
  for (; i < n; i++) out[i] = table[d[i]!]!;
}

/** 8-bit display image (grey: one byte per pixel; RGB: three, interleaved). */
export function toDisplay8(img: DecodedImage, opts: DisplayOptions = {}): Uint8Array {
  const d = img.data;
  if (img.samplesPerPixel !== 1) return d instanceof Uint8Array ? d.slice() : Uint8Array.from(d, (v) => Math.max(0, Math.min(255, v)));
  const invert = opts.invert ?? img.photometric === 'MONOCHROME1';
  const voi = chooseVoi(img, opts);
  const m = img.modality;
  const map = (sv: number): number => {
    const x = applyModality(m, sv);
    let y: number;
    if (voi.kind === 'lut') y = lutLookup(voi.lut, x) / ((2 ** voi.lut.bits) - 1);
    else y = voiWindow(x, voi.center, voi.width, voi.function);
    let v = Math.round(y * 255);
    if (v < 0) v = 0; else if (v > 255) v = 255;
    return invert ? 255 - v : v;
  };
  const out = new Uint8Array(d.length);
  if (img.bitsAllocated <= 16) {
    const bs = img.bitsStored;
    const lo = img.isSigned ? -(2 ** (bs - 1)) : 0;
    const size = 2 ** bs;
    const table = new Uint8Array(size);
    for (let k = 0; k < size; k++) table[k] = map(lo + k);
    if (d instanceof Uint16Array) mapU16(d, table, out); // the CXR case, monomorphic
    else mapThroughTable(d, lo, table, out);
    return out;
  }
  for (let i = 0; i < d.length; i++) out[i] = map(d[i]!);
  return out;
}

/** Luminance as float32 in [0, 1] of the display image (model input before letterboxing). */
export function toGreyFloat32(img: DecodedImage, opts: DisplayOptions = {}): Float32Array {
  const disp = toDisplay8(img, opts);
  const n = img.width * img.height;
  const out = new Float32Array(n);
  if (img.samplesPerPixel === 1) { for (let i = 0; i < n; i++) out[i] = disp[i]! / 255; return out; }
  for (let i = 0; i < n; i++) out[i] = (0.299 * disp[3 * i]! + 0.587 * disp[3 * i + 1]! + 0.114 * disp[3 * i + 2]!) / 255;
  return out;
}
