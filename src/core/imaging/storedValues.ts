import type { StoredArray } from './DecodedImage';

/**
 * Turns raw decoded samples into stored values: keep only BitsStored bits (at HighBit), and for signed
 * pixels sign-extend from BitsStored. Unused high bits may carry overlays or garbage in real files, and a
 * 12-bit signed value in a 16-bit word is negative only after sign extension, so both steps matter.
 * Writes into a fresh array of the narrowest type for (BitsAllocated, PixelRepresentation).
 */
export function storedValues(raw: Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array, bitsAllocated: number, bitsStored: number, highBit: number, signed: boolean): StoredArray {
  const n = raw.length;
  const shift = highBit + 1 - bitsStored;
  const full = bitsStored === bitsAllocated && shift === 0;
  if (!signed) {
    if (bitsAllocated === 8) {
      if (full && raw instanceof Uint8Array) return raw;
      const out = new Uint8Array(n); const m = (1 << bitsStored) - 1;
      for (let i = 0; i < n; i++) out[i] = (raw[i]! >> shift) & m;
      return out;
    }
    if (bitsAllocated === 16) {
      if (full) return raw instanceof Uint16Array ? raw : new Uint16Array(raw.buffer, raw.byteOffset, n);
      const src = raw instanceof Uint16Array ? raw : new Uint16Array(raw.buffer, raw.byteOffset, n);
      const out = new Uint16Array(n); const m = (1 << bitsStored) - 1;
      if (shift === 0 && src.byteOffset % 4 === 0) {
        // Two pixels per 32-bit word: halves the loop count on the hot raw-16-bit path.
        const m2 = (m | (m << 16)) >>> 0;
        const half = n >> 1;
        const s32 = new Uint32Array(src.buffer, src.byteOffset, half);
        const o32 = new Uint32Array(out.buffer, 0, half);
        for (let i = 0; i < half; i++) o32[i] = s32[i]! & m2;
        if (n & 1) out[n - 1] = src[n - 1]! & m;
      } else {
        for (let i = 0; i < n; i++) out[i] = (src[i]! >> shift) & m;
      }
      return out;
    }
    const src = raw instanceof Uint32Array ? raw : new Uint32Array(raw.buffer, raw.byteOffset, n);
    if (full) return src;
    const out = new Uint32Array(n); const m = bitsStored >= 32 ? 0xffffffff : (2 ** bitsStored) - 1;
    for (let i = 0; i < n; i++) out[i] = ((src[i]! >>> shift) & m) >>> 0;
    return out;
  }
  const k = 32 - bitsStored;
  if (bitsAllocated === 8) {
    const out = new Int8Array(n);
    for (let i = 0; i < n; i++) out[i] = ((raw[i]! >> shift) << k) >> k;
    return out;
  }
  if (bitsAllocated === 16) {
    if (full && raw instanceof Int16Array) return raw;
    const out = new Int16Array(n);
    if (raw instanceof Int16Array && shift === 0) {
      for (let i = 0; i < n; i++) out[i] = (raw[i]! << k) >> k;
    } else {
      const src = raw instanceof Uint16Array ? raw : new Uint16Array(raw.buffer, raw.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = ((src[i]! >> shift) << k) >> k;
    }
    return out;
  }
  const src = raw instanceof Int32Array ? raw : new Int32Array(raw.buffer, raw.byteOffset, n);
  if (full) return src;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = ((src[i]! >>> shift) << k) >> k;
  return out;
}
