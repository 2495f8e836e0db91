import type { StoredArray } from './DecodedImage';
import { orOfWords, type WordOrSummary } from './wordOrSummary';

/**
 * Turns raw decoded samples into stored values: keep only BitsStored bits (at HighBit), and for signed
 * pixels sign-extend from BitsStored. Unused high bits may carry overlays or garbage in real files, and a
 * 12-bit signed value in a 16-bit word is negative only after sign extension, so both steps matter.
 * Returns an array of the narrowest type for (BitsAllocated, PixelRepresentation): `raw` itself when it
 * already holds exactly the stored values, else a fresh array. `wordOr` (when `raw` is a view into a buffer
 * that was summarized while it was read) spares the high-bit check its own pass over the pixels.
 */
export function storedValues(raw: Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array, bitsAllocated: number, bitsStored: number, highBit: number, signed: boolean, wordOr?: WordOrSummary): StoredArray {
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
      const m = (1 << bitsStored) - 1;
      if (shift === 0 && src.byteOffset % 2 === 0) {
        // Two pixels per 32-bit word: halves the loop count on the hot raw-16-bit path. Pixel data often
        // starts 2 bytes off a 4-byte boundary, so the first sample may be handled on its own.
        const m2 = m | (m << 16);
        const head = (src.byteOffset & 3) === 2 ? 1 : 0;
        const words = (n - head) >> 1;
        const tail = n - head - 2 * words; // 0 or 1
        const s32 = new Int32Array(src.buffer, src.byteOffset + 2 * head, words); // Int32: no uint->double boxing
        // Most files keep the unused bits zero: a read-only check lets us skip the copy (raw decode speed).
        let acc = (head ? src[0]! | (src[0]! << 16) : 0) | (tail ? src[n - 1]! | (src[n - 1]! << 16) : 0);
        acc |= orOfWords(s32, wordOr);
        if ((acc & ~m2) === 0) return src;
        // Give the output the same 4-byte phase as the input so both 32-bit views are aligned.
        const buf = new ArrayBuffer(2 * (n + head));
        const out = new Uint16Array(buf, 2 * head, n);
        if (head) out[0] = src[0]! & m;
        if (tail) out[n - 1] = src[n - 1]! & m;
        const o32 = new Int32Array(buf, 4 * head, words);
        for (let j = 0; j < words; j++) o32[j] = s32[j]! & m2;
        return out;
      }
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = (src[i]! >> shift) & m;
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
