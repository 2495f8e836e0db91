/**
 * Metadata out of PNG and JPEG files, pixels untouched: the image data (PNG IDAT chunks, JPEG scans and the
 * tables that decode them) is copied byte for byte, everything that can carry text about the patient, the
 * place or the device is dropped.
 *
 * PNG (ISO/IEC 15948): kept are the critical chunks and the ancillary chunks that change how pixels look
 * (tRNS, gAMA, cHRM, sRGB, iCCP, sBIT, cICP, mDCV, cLLI, bKGD, hIST, pHYs, sPLT); dropped are tEXt, zTXt, iTXt,
 * eXIf, tIME, APNG frames and every other ancillary or private chunk, and any bytes after IEND. An unknown
 * critical chunk cannot be dropped without breaking the image, so it makes the file unusable here.
 * JPEG (ITU T.81): kept are SOF/DHT/DQT/DRI/DAC/DNL/SOS and the entropy-coded data, the JFIF APP0 header (its
 * thumbnail removed), ICC profiles (APP2 "ICC_PROFILE") and the Adobe APP14 marker (colour transform); dropped
 * are EXIF and XMP (APP1), IPTC (APP13), every other APPn, comments (COM), JFXX thumbnails, and bytes after EOI.
 * An EXIF orientation goes with EXIF: PointBox never applied it (annotations are in stored-pixel coordinates).
 */

export class ImageMetadataError extends Error {
  override name = 'ImageMetadataError';
}

export type RasterKind = 'png' | 'jpeg';

export interface StrippedImage {
  bytes: Uint8Array;
  /** What was dropped, e.g. ['tEXt', 'eXIf'] or ['APP1 Exif', 'COM']: one entry per chunk/segment. */
  removed: string[];
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_KEEP = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND', 'tRNS', 'gAMA', 'cHRM', 'sRGB', 'iCCP', 'sBIT', 'cICP', 'mDCV', 'cLLI', 'bKGD', 'hIST', 'pHYs', 'sPLT']);

export function rasterKind(b: Uint8Array): RasterKind | undefined {
  if (b.length >= 8 && PNG_SIGNATURE.every((x, i) => b[i] === x)) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  return undefined;
}

const u32be = (b: Uint8Array, p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
const u16be = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;
const ascii = (b: Uint8Array, p: number, n: number) => String.fromCharCode(...b.subarray(p, p + n));

export interface PngChunk { type: string; start: number; end: number }

/** The chunks of a PNG (start/end include length, type and CRC), up to IEND. */
export function pngChunks(b: Uint8Array): { chunks: PngChunk[]; trailing: number } {
  if (rasterKind(b) !== 'png') throw new ImageMetadataError('not a PNG file');
  const chunks: PngChunk[] = [];
  let p = 8;
  for (;;) {
    if (p + 12 > b.length) throw new ImageMetadataError('PNG ends before IEND (truncated?)');
    const len = u32be(b, p);
    const type = ascii(b, p + 4, 4);
    const end = p + 12 + len;
    if (!/^[A-Za-z]{4}$/.test(type)) throw new ImageMetadataError(`bad PNG chunk at byte ${p}`);
    if (end > b.length) throw new ImageMetadataError(`PNG chunk ${type} at byte ${p} runs past the end of the file (truncated?)`);
    chunks.push({ type, start: p, end });
    p = end;
    if (type === 'IEND') return { chunks, trailing: b.length - p };
  }
}

export function stripPngMetadata(b: Uint8Array): StrippedImage {
  const { chunks, trailing } = pngChunks(b);
  const keep: Uint8Array[] = [b.subarray(0, 8)];
  const removed: string[] = [];
  for (const c of chunks) {
    if (PNG_KEEP.has(c.type)) keep.push(b.subarray(c.start, c.end));
    else if (c.type.charCodeAt(0) < 0x61) throw new ImageMetadataError(`unknown critical PNG chunk ${c.type}`);
    else removed.push(c.type);
  }
  if (trailing > 0) removed.push(`${trailing} bytes after IEND`);
  return { bytes: Buffer.concat(keep), removed };
}

export interface JpegSegment {
  marker: number;
  /** Start of the marker (0xFF) and end of the segment (for SOS: end of the entropy-coded data that follows). */
  start: number;
  end: number;
  /** For APPn: the identifier string at the start of the payload ("JFIF", "Exif", "http://ns.adobe.com/xap/1.0/", ...). */
  id?: string;
}

/** The segments of a JPEG from SOI to EOI. */
export function jpegSegments(b: Uint8Array): { segments: JpegSegment[]; trailing: number } {
  if (rasterKind(b) !== 'jpeg') throw new ImageMetadataError('not a JPEG file');
  const segments: JpegSegment[] = [{ marker: 0xd8, start: 0, end: 2 }];
  let p = 2;
  for (;;) {
    if (p >= b.length) throw new ImageMetadataError('JPEG ends before EOI (truncated?)');
    if (b[p] !== 0xff) throw new ImageMetadataError(`expected a JPEG marker at byte ${p}`);
    let q = p;
    while (q < b.length && b[q] === 0xff) q++; // fill bytes
    if (q >= b.length) throw new ImageMetadataError('JPEG ends inside a marker');
    const marker = b[q]!;
    const start = q - 1;
    if (marker === 0xd9) { segments.push({ marker, start, end: q + 1 }); return { segments, trailing: b.length - (q + 1) }; }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { segments.push({ marker, start, end: q + 1 }); p = q + 1; continue; }
    if (q + 3 > b.length) throw new ImageMetadataError('JPEG ends inside a segment header');
    const len = u16be(b, q + 1);
    let end = q + 1 + len;
    if (len < 2 || end > b.length) throw new ImageMetadataError(`bad JPEG segment length at byte ${start}`);
    let id: string | undefined;
    if (marker >= 0xe0 && marker <= 0xef) {
      const payload = b.subarray(q + 3, Math.min(end, q + 3 + 40));
      const z = payload.indexOf(0);
      id = ascii(payload, 0, z >= 0 ? z : payload.length);
    }
    if (marker === 0xda) {
      // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a restart marker.
      let e = end;
      while (e + 1 < b.length && !(b[e] === 0xff && b[e + 1] !== 0x00 && !(b[e + 1]! >= 0xd0 && b[e + 1]! <= 0xd7) && b[e + 1] !== 0xff)) e++;
      if (e + 1 >= b.length) throw new ImageMetadataError('JPEG scan runs to the end of the file (no EOI)');
      end = e;
    }
    segments.push({ marker, start, end, ...(id !== undefined ? { id } : {}) });
    p = end;
  }
}

/** A JFIF APP0 segment rewritten without its thumbnail (density kept). */
function jfifWithoutThumbnail(b: Uint8Array, s: JpegSegment): Uint8Array {
  const q = s.start + 4; // payload: "JFIF\0" ver(2) units(1) xd(2) yd(2) xt(1) yt(1) thumb
  if (s.end - q < 14) return b.subarray(s.start, s.end);
  const out = new Uint8Array(2 + 2 + 14);
  out.set([0xff, 0xe0, 0x00, 16]);
  out.set(b.subarray(q, q + 12), 4);
  out[16] = 0; out[17] = 0;
  return out;
}

/** Names for the APPn identifiers worth telling apart; any other identifier is free text and is not repeated. */
const APP_NAMES: Record<string, string> = {
  JFIF: 'JFIF', JFXX: 'JFXX', Exif: 'Exif', 'http://ns.adobe.com/xap/1.0/': 'XMP', 'http://ns.adobe.com/xmp/extension/': 'XMP extension',
  ICC_PROFILE: 'ICC_PROFILE', 'Photoshop 3.0': 'Photoshop/IPTC', MPF: 'MPF', Ducky: 'Ducky', FPXR: 'FlashPix',
};
const appName = (s: JpegSegment) => `APP${s.marker - 0xe0}${s.id !== undefined && APP_NAMES[s.id] ? ` ${APP_NAMES[s.id]}` : s.id?.startsWith('Adobe') ? ' Adobe' : ''}`;

export function stripJpegMetadata(b: Uint8Array): StrippedImage {
  const { segments, trailing } = jpegSegments(b);
  const keep: Uint8Array[] = [];
  const removed: string[] = [];
  for (const s of segments) {
    const m = s.marker;
    if (m >= 0xe0 && m <= 0xef) {
      const name = appName(s);
      if (m === 0xe0 && s.id === 'JFIF') {
        const j = jfifWithoutThumbnail(b, s);
        if (j.length !== s.end - s.start) removed.push('JFIF thumbnail');
        keep.push(j);
      } else if ((m === 0xe2 && s.id === 'ICC_PROFILE') || (m === 0xee && s.id?.startsWith('Adobe'))) keep.push(b.subarray(s.start, s.end));
      else removed.push(name);
    } else if (m === 0xfe) removed.push('COM');
    else keep.push(b.subarray(s.start, s.end));
  }
  if (trailing > 0) removed.push(`${trailing} bytes after EOI`);
  return { bytes: Buffer.concat(keep), removed };
}

/** Dispatch on the file's signature. */
export function stripRasterMetadata(b: Uint8Array): StrippedImage & { kind: RasterKind } {
  const kind = rasterKind(b);
  if (kind === 'png') return { kind, ...stripPngMetadata(b) };
  if (kind === 'jpeg') return { kind, ...stripJpegMetadata(b) };
  throw new ImageMetadataError('neither PNG nor JPEG');
}

/** Metadata a raster file carries (for the PHI report): the names of what stripRasterMetadata would drop. */
export function rasterMetadata(b: Uint8Array): string[] {
  return stripRasterMetadata(b).removed;
}
