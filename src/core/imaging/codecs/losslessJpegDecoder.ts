/**
 * JPEG lossless (process 14) through jpeg-lossless-decoder-js 2.1.2 with its end-of-data bug fixed.
 *
 * The bug: the decoder treats a marker (0xFF followed by a non-zero byte) that it has already pulled into
 * its bit buffer as "reached" when 8 *or fewer* bits remain in that buffer (`index < markerIndex`, with
 * markerIndex = 9). The marker's own byte is those last 8 bits, so exactly 8 remaining bits means the
 * preceding code ended on a byte boundary and the marker has not been touched. When the last sample's code
 * (and its additional bits) ends exactly on a byte boundary before EOI (no fill bits: about one file in eight
 * from an encoder that pads with 1-bits, e.g. GDCM's or a hand-rolled one), that sample was dropped and
 * read 0 (issue 12: a CT whose last pixel is -2000 decoded as 0). Upstream had patched one of the three
 * places for the last pixel only (`isLastPixel()`); the same off-by-one also dropped the sample before a
 * restart marker, and could stop an RGB scan early. Here the test is "fewer than 8 bits remain" in every
 * place. The two methods are the upstream ones with only that comparison changed (MIT, RII-UTHSCSA).
 *
 * Predictor 7 is overridden too (integer halving; see select7). Each fix has conformance files that fail
 * without it (test/unit/imaging/conformance.test.ts: ct_lastpixel_pad0.*, *.ljpeg_ri*, mf_rgb.*_e1 frame 1,
 * ct16s.dcmcjpeg_sv7).
 *
 * The decoder also ignores the point transform (Pt, scan header Al): `decodeLosslessJpeg` corrects for it
 * (values are shifted left by Pt; the decoder's initial predictor 2^(P-1) instead of 2^(P-Pt-1) only adds a
 * constant, removed modulo 2^16) and refuses what it cannot decode right.
 */
import { Decoder } from 'jpeg-lossless-decoder-js';

const MSB = 0x80000000;

interface Stream { get8(): number }

class FixedLosslessDecoder extends Decoder {
  /** Marker bits reached: fewer than 8 bits left in the buffer once a marker byte was read into it. */
  private reachedMarker(index: number): boolean { return this.markerIndex !== 0 && index < 8; }

  private readByte(temp: number[]): void {
    const stream = this.stream as Stream;
    const input = stream.get8();
    if (input === 0xff) {
      this.marker = stream.get8();
      if (this.marker !== 0) this.markerIndex = 9;
    }
    temp[0] = (temp[0]! << 8) | input;
  }

  /**
   * Predictor 7 is (Ra + Rb) / 2 in integers (ISO 10918-1 H.1.2.1: a right shift). Upstream divides in
   * floating point; the half it keeps is truncated toward zero when the sample is stored, which is one too
   * high whenever the prediction plus the difference wraps below zero (16-bit signed data).
   */
  override select7(compOffset?: number): number {
    return (this.getPreviousX(compOffset) + this.getPreviousY(compOffset)) >> 1;
  }

  override getHuffmanValue(table: number[], temp: number[], index: number[]): number {
    const mask = 0xffff;
    if (!this.stream) throw new Error('stream not initialized');
    if (index[0]! < 8) this.readByte(temp);
    else index[0]! -= 8;
    let code = table[temp[0]! >> index[0]!]!;
    if ((code & MSB) !== 0) {
      if (this.markerIndex !== 0) { this.markerIndex = 0; return 0xff00 | this.marker; }
      temp[0]! &= mask >> (16 - index[0]!);
      this.readByte(temp);
      code = table[(code & 0xff) * 256 + (temp[0]! >> index[0]!)]!;
      index[0]! += 8;
    }
    index[0]! += 8 - (code >> 8);
    if (index[0]! < 0) throw new Error(`index=${index[0]} temp=${temp[0]} code=${code} in HuffmanValue()`);
    if (this.reachedMarker(index[0]!)) { this.markerIndex = 0; return 0xff00 | this.marker; }
    temp[0]! &= mask >> (16 - index[0]!);
    return code & 0xff;
  }

  override getn(pred: number[], n: number, temp: number[], index: number[]): number {
    const mask = 0xffff;
    if (this.stream === null) throw new Error('stream not initialized');
    if (n === 0) return 0;
    if (n === 16) return pred[0]! >= 0 ? -32768 : 32768;
    index[0]! -= n;
    let result: number;
    if (index[0]! >= 0) {
      if (this.reachedMarker(index[0]!)) { this.markerIndex = 0; return (0xff00 | this.marker) << 8; }
      result = temp[0]! >> index[0]!;
      temp[0]! &= mask >> (16 - index[0]!);
    } else {
      this.readByte(temp);
      index[0]! += 8;
      if (index[0]! < 0) {
        if (this.markerIndex !== 0) { this.markerIndex = 0; return (0xff00 | this.marker) << 8; }
        this.readByte(temp);
        index[0]! += 8;
      }
      if (index[0]! < 0) throw new Error(`index=${index[0]} in getn()`);
      if (this.reachedMarker(index[0]!)) { this.markerIndex = 0; return (0xff00 | this.marker) << 8; }
      result = temp[0]! >> index[0]!;
      temp[0]! &= mask >> (16 - index[0]!);
    }
    if (result < 1 << (n - 1)) result += (-1 << n) + 1;
    return result;
  }
}

/** What the scan header says, read before decoding (the decoder keeps it private until it has run). */
interface ScanInfo { precision: number; components: number; selection: number; pointTransform: number; restartInterval: number }

function u16(b: Uint8Array, p: number): number { return ((b[p] ?? 0) << 8) | (b[p + 1] ?? 0); }

/** SOF3/SOF7 precision, components, and the first scan's predictor and point transform. */
export function readLosslessScanInfo(b: Uint8Array): ScanInfo | undefined {
  let p = 2; let precision = 0; let components = 0; let restartInterval = 0;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) { p++; continue; }
    const m = b[p + 1]!;
    if (m === 0xff) { p++; continue; }
    const len = u16(b, p + 2);
    if (m === 0xc3 || m === 0xc7) { precision = b[p + 4] ?? 0; components = b[p + 9] ?? 0; }
    if (m === 0xdd) restartInterval = u16(b, p + 4);
    if (m === 0xda) {
      const ns = b[p + 4] ?? 0;
      const q = p + 5 + 2 * ns;
      return { precision, components, selection: b[q] ?? 0, pointTransform: (b[q + 2] ?? 0) & 0x0f, restartInterval };
    }
    if (len < 2) return undefined;
    p += 2 + len;
  }
  return undefined;
}

/**
 * Decodes a process-14 JPEG lossless frame: samples pixel-interleaved, 8-bit (bytesPerSample 1) or 16-bit
 * (2). Throws Error with a message for streams it cannot decode right.
 */
export function decodeLosslessJpeg(frame: Uint8Array, bytesPerSample: 1 | 2): Uint8Array | Uint16Array {
  const info = readLosslessScanInfo(frame);
  if (!info) throw new Error('no lossless scan header');
  if (info.components !== 1 && info.components !== 3) throw new Error(`${info.components} components are not supported`);
  if (info.components === 3 && bytesPerSample !== 1) throw new Error('colour JPEG lossless above 8 bits is not supported');
  const out = new FixedLosslessDecoder().decode(frame.buffer, frame.byteOffset, frame.byteLength, bytesPerSample);
  const pt = info.pointTransform;
  if (pt > 0) {
    // The decoder started from 2^(P-1) instead of 2^(P-Pt-1): every sample is off by that constant (all
    // predictors are affine with weights summing to 1), modulo 2^16. Remove it, then undo the transform.
    const offset = (1 << (info.precision - 1)) - (1 << (info.precision - pt - 1));
    const m = bytesPerSample === 1 ? 0xff : 0xffff;
    for (let i = 0; i < out.length; i++) out[i] = ((out[i]! - offset) << pt) & m;
  }
  return out;
}
