/**
 * Reads the frame header (SOFn, JPEG-LS SOF55, or the J2K SIZ marker) of a codestream without decoding it,
 * so a stream whose dimensions disagree with the DICOM header is rejected before a codec allocates for it:
 * that is what bounds memory and time on lying or corrupt files.
 */
export interface CodestreamHeader {
  kind: 'jpeg' | 'jpeg-ls' | 'j2k'; width: number; height: number; components: number; precision: number; sof?: number;
  /** J2K: the first component's Ssiz sign bit; `sizOffset` is where the SIZ marker segment starts. */
  signed?: boolean; sizOffset?: number;
}

export function readCodestreamHeader(b: Uint8Array): CodestreamHeader | undefined {
  if (b.length < 4) return undefined;
  if (b[0] === 0xff && b[1] === 0xd8) return readJpegHeader(b);
  if (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) return readSiz(b, 2);
  // JP2 file format wrapper: look for the codestream box start.
  for (let i = 0; i + 4 < Math.min(b.length, 4096); i++) {
    if (b[i] === 0xff && b[i + 1] === 0x4f && b[i + 2] === 0xff && b[i + 3] === 0x51) return readSiz(b, i + 2);
  }
  return undefined;
}

function u16(b: Uint8Array, p: number): number { return ((b[p] ?? 0) << 8) | (b[p + 1] ?? 0); }
function u32(b: Uint8Array, p: number): number { return u16(b, p) * 65536 + u16(b, p + 2); }

function readJpegHeader(b: Uint8Array): CodestreamHeader | undefined {
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) { p++; continue; }
    const m = b[p + 1]!;
    if (m === 0xff) { p++; continue; }
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) { p += 2; continue; }
    const len = u16(b, p + 2);
    const isSof = (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xf7;
    if (isSof) {
      if (p + 10 > b.length) return undefined;
      return { kind: m === 0xf7 ? 'jpeg-ls' : 'jpeg', precision: b[p + 4]!, height: u16(b, p + 5), width: u16(b, p + 7), components: b[p + 9]!, sof: m };
    }
    if (m === 0xda || len < 2) return undefined; // scan before frame header: malformed
    p += 2 + len;
  }
  return undefined;
}

function readSiz(b: Uint8Array, p: number): CodestreamHeader | undefined {
  // SIZ: marker(2) Lsiz(2) Rsiz(2) Xsiz(4) Ysiz(4) XOsiz(4) YOsiz(4) XTsiz.. YTsiz.. XTOsiz.. YTOsiz.. Csiz(2) Ssiz..
  if (p + 40 > b.length) return undefined;
  const xsiz = u32(b, p + 6); const ysiz = u32(b, p + 10);
  const xo = u32(b, p + 14); const yo = u32(b, p + 18);
  const csiz = u16(b, p + 38);
  const ssiz = b[p + 40] ?? 0;
  return { kind: 'j2k', width: xsiz - xo, height: ysiz - yo, components: csiz, precision: (ssiz & 0x7f) + 1, signed: (ssiz & 0x80) !== 0, sizOffset: p };
}
