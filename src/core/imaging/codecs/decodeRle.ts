import { DicomDecodeError } from '../ImagingError';

/**
 * DICOM RLE Lossless (PS3.5 Annex G). Written here rather than taken from a package because it is small
 * and we can decode straight into the interleaved little-endian output: segment k holds byte
 * (bytesPerSample-1-k%bps) of sample k/bps, so each PackBits run is written with a stride, no planar
 * intermediate and no second pass.
 */
export function decodeRle(frame: Uint8Array, width: number, height: number, samplesPerPixel: number, bitsAllocated: number, file?: string): Uint8Array {
  const bps = bitsAllocated >> 3;
  const pixels = width * height;
  const stride = samplesPerPixel * bps;
  const out = new Uint8Array(pixels * stride);
  if (frame.length < 64) throw new DicomDecodeError('CODEC_ERROR', 'RLE frame shorter than its 64-byte header', file);
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const nseg = dv.getUint32(0, true);
  const expected = samplesPerPixel * bps;
  if (nseg !== expected) throw new DicomDecodeError('CODEC_ERROR', `RLE header has ${nseg} segments, expected ${expected}`, file);
  for (let s = 0; s < nseg; s++) {
    const start = dv.getUint32(4 + 4 * s, true);
    const end = s + 1 < nseg ? dv.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || start > frame.length || end < start || end > frame.length) {
      throw new DicomDecodeError('CODEC_ERROR', `RLE segment ${s} offsets ${start}..${end} outside the ${frame.length}-byte frame`, file);
    }
    const sample = Math.floor(s / bps);
    const byteInSample = bps - 1 - (s % bps);
    let o = sample * bps + byteInSample;
    const oEnd = o + pixels * stride; // one past the last byte this segment may write
    let p = start;
    while (p < end && o < oEnd) {
      const n = frame[p++]!;
      if (n < 128) {
        // literal run of n+1 bytes
        let cnt = n + 1;
        if (p + cnt > end) cnt = end - p;
        for (let k = 0; k < cnt && o < oEnd; k++) { out[o] = frame[p + k]!; o += stride; }
        p += cnt;
      } else if (n > 128) {
        // replicate the next byte 257-n times
        if (p >= end) break;
        const v = frame[p++]!;
        const cnt = 257 - n;
        for (let k = 0; k < cnt && o < oEnd; k++) { out[o] = v; o += stride; }
      }
      // n === 128 is a no-op
    }
    if (o < oEnd) throw new DicomDecodeError('CODEC_ERROR', `RLE segment ${s} ends early (${(oEnd - o) / stride} samples missing)`, file);
  }
  return out;
}
