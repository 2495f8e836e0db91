/**
 * Which colour transform a 3-component DCT JPEG frame in a DICOM file gets, and making libjpeg-turbo apply
 * exactly that one.
 *
 * DICOM says it in PhotometricInterpretation: the stream holds YCbCr when it is YBR_FULL / YBR_FULL_422
 * (PS3.5 8.2.1), and the samples as they are when it is RGB. dcmtk (dcmdjpeg's default `+cp`), GDCM and
 * pydicom+GDCM all decide by PhotometricInterpretation alone and ignore the JFIF/Adobe markers and the
 * component ids (checked on every combination of PI x {no marker, JFIF, Adobe transform 0/1} x
 * component ids {1,2,3 | 'R','G','B' | 0,1,2}, in scripts/fixtures-imaging.py's colour-JPEG set; GDCM warns
 * "DICOM says RGB but JPEG says YCbCr" and still follows the DICOM header). libjpeg-turbo on its own
 * guesses from the markers, then the ids, and falls back to YCbCr: an RGB-labelled stream with no marker
 * and ids 1,2,3 was turned from "YCbCr" into RGB a second time (issue 12: up to 148 levels off).
 *
 * The cornerstone libjpeg-turbo codec has no colour-space option, so the stream is rewritten (a copy):
 * JFIF APP0 and Adobe APP14 segments become comments (same length) and one Adobe APP14 segment whose
 * transform flag says what PhotometricInterpretation says is put after SOI. libjpeg-turbo honours that flag
 * before any other hint, and the entropy-coded data is untouched.
 */

/** true: the samples are YCbCr and must become RGB; false: keep them as they are. */
export function jpegHoldsYcbcr(photometric: string): boolean {
  return photometric.startsWith('YBR_');
}

function u16(b: Uint8Array, p: number): number { return ((b[p] ?? 0) << 8) | (b[p + 1] ?? 0); }

const ADOBE = [0x41, 0x64, 0x6f, 0x62, 0x65]; // 'Adobe'
const JFIF = [0x4a, 0x46, 0x49, 0x46, 0x00]; // 'JFIF\0'
const startsWith = (b: Uint8Array, p: number, sig: number[]) => sig.every((v, i) => b[p + i] === v);

/**
 * A copy of `frame` that libjpeg decodes with (ycc = true) or without (false) the YCbCr->RGB transform.
 * Returns `frame` itself when it is not a JPEG stream it can read the header segments of.
 */
export function withJpegColourTransform(frame: Uint8Array, ycc: boolean): Uint8Array {
  if (frame[0] !== 0xff || frame[1] !== 0xd8) return frame;
  const adobe = new Uint8Array([0xff, 0xee, 0x00, 0x0e, ...ADOBE, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, ycc ? 1 : 0]);
  const out = new Uint8Array(frame.length + adobe.length);
  out.set(frame.subarray(0, 2), 0);
  out.set(adobe, 2);
  out.set(frame.subarray(2), 2 + adobe.length);
  // Header segments up to the first SOS: neutralize the markers libjpeg would read a colour space from.
  let p = 2 + adobe.length;
  while (p + 4 <= out.length) {
    if (out[p] !== 0xff) return frame; // not a marker where one must be: leave the stream to the codec as is
    const m = out[p + 1]!;
    if (m === 0xff) { p++; continue; } // fill byte
    if (m === 0xda) break;
    const len = u16(out, p + 2);
    if (len < 2) return frame;
    if ((m === 0xe0 && startsWith(out, p + 4, JFIF)) || (m === 0xee && startsWith(out, p + 4, ADOBE))) out[p + 1] = 0xfe; // -> COM
    p += 2 + len;
  }
  return out;
}
