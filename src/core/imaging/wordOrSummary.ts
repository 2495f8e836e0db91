/**
 * A per-block OR of a byte buffer's 32-bit words, computed while the buffer is being filled.
 *
 * Why: a raw 16-bit CXR must be checked for set bits above BitsStored (overlays or garbage in real files)
 * before its pixels can be handed out as stored values without a copy. That check reads every pixel word.
 * Done as a separate pass after reading a 7 MB file it costs as much as the read itself on this kind of
 * machine (the freshly written pages are slow to touch again); done block by block right after each block
 * is read, the words are still in cache and the check is nearly free. The reader (Node: readImageFile.ts)
 * fills `ors`; storedValues asks `orOfWords` for the OR of its pixel words and only scans the parts that
 * no whole block covers (the header bytes before the pixels and the file's tail).
 */
export interface WordOrSummary {
  /** The buffer the summary describes (must not be modified after summarizing). */
  buffer: ArrayBufferLike;
  /** Block size in bytes, a multiple of 4; block k covers bytes [k*blockBytes, (k+1)*blockBytes). */
  blockBytes: number;
  /** OR of the Int32 words of each complete block, in order. Blocks after the last complete one are absent. */
  ors: Int32Array;
}

/** OR of every word; a small separate function so V8 optimizes this hot loop on its own. */
export function orAll(s: Int32Array): number {
  let a0 = 0; let a1 = 0; let a2 = 0; let a3 = 0;
  const n = s.length; const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) { a0 |= s[i]!; a1 |= s[i + 1]!; a2 |= s[i + 2]!; a3 |= s[i + 3]!; }
  for (; i < n; i++) a0 |= s[i]!;
  return a0 | a1 | a2 | a3;
}

/** OR of the Int32 words of one block [start, start + blockBytes) of `buffer`, for the reader. */
export function orBlock(buffer: ArrayBufferLike, start: number, blockBytes: number): number {
  return orAll(new Int32Array(buffer, start, blockBytes >> 2));
}

/**
 * OR of all words of `words`, using `summary` for the whole blocks it covers when it describes the same
 * buffer; otherwise (or with no summary) a full scan.
 */
export function orOfWords(words: Int32Array, summary?: WordOrSummary): number {
  if (!summary || summary.buffer !== words.buffer) return orAll(words);
  const B = summary.blockBytes;
  const start = words.byteOffset; const end = start + words.byteLength;
  const k0 = Math.ceil(start / B);
  const k1 = Math.min(Math.floor(end / B), summary.ors.length);
  if (k1 <= k0) return orAll(words);
  let acc = 0;
  const headWords = (k0 * B - start) >> 2;
  if (headWords > 0) acc |= orAll(words.subarray(0, headWords));
  for (let k = k0; k < k1; k++) acc |= summary.ors[k]!;
  const tailFrom = (k1 * B - start) >> 2;
  if (tailFrom < words.length) acc |= orAll(words.subarray(tailFrom));
  return acc;
}
