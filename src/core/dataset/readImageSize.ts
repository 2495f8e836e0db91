import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import * as dicomParser from 'dicom-parser';

/**
 * Width and height of an image file read from its header only (importers need sizes for 30k images, so
 * decoding pixels is out of the question). PNG: the IHDR chunk; JPEG: the first SOFn marker; DICOM
 * (with or without the Part-10 preamble): Rows/Columns via dicom-parser on the first bytes of the file.
 * Deliberately independent of src/core/imaging (the full decoder).
 */
export interface ImageSize { width: number; height: number; format: 'png' | 'jpeg' | 'dicom' }

/** First read; enough for every DICOM header we have seen (pixel data starts after a few KB). */
const HEAD_BYTES = 64 * 1024;

function readHead(file: string, max: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const n = Math.min(size, max);
    const buf = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const r = readSync(fd, buf, off, n - off, off);
      if (r === 0) break;
      off += r;
    }
    return off === n ? buf : buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** Returns the size, or undefined when the file is not a PNG/JPEG/DICOM we can read. Throws on I/O errors (ENOENT, ...). */
export function readImageSize(file: string): ImageSize | undefined {
  const head = readHead(file, HEAD_BYTES);
  const s = sizeFromBytes(head);
  if (s || !looksLikeDicom(head)) return s ?? (looksLikeJpeg(head) ? sizeFromBytes(readHead(file, Number.MAX_SAFE_INTEGER)) : undefined);
  // A DICOM whose Rows/Columns are not in the first 64 KB (huge private tags) or that is deflated: read it all.
  return dicomSize(readHead(file, Number.MAX_SAFE_INTEGER), true);
}

export function sizeFromBytes(b: Uint8Array): ImageSize | undefined {
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    // IHDR is always the first chunk: length(4) 'IHDR'(4) width(4) height(4).
    return { width: dv.getUint32(16), height: dv.getUint32(20), format: 'png' };
  }
  if (looksLikeJpeg(b)) return jpegSize(b);
  if (looksLikeDicom(b)) return dicomSize(b, false);
  return undefined;
}

function looksLikeJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function jpegSize(b: Uint8Array): ImageSize | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) { i++; continue; }
    const m = b[i + 1]!;
    if (m === 0xff) { i++; continue; }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { i += 2; continue; }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      const h = (b[i + 5]! << 8) | b[i + 6]!;
      const w = (b[i + 7]! << 8) | b[i + 8]!;
      return w > 0 && h > 0 ? { width: w, height: h, format: 'jpeg' } : undefined;
    }
    i += 2 + len;
  }
  return undefined;
}

function looksLikeDicom(b: Uint8Array): boolean {
  if (b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d) return true;
  // No preamble (raw data set, e.g. old Fuji CR files): starts with a group 0x0008 (or 0x0002) tag, little endian.
  return b.length >= 8 && (b[1] === 0x00) && (b[0] === 0x08 || b[0] === 0x02) && b[3] === 0x00;
}

function dicomSize(b: Uint8Array, whole: boolean): ImageSize | undefined {
  const hasPreamble = b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
  const opts: dicomParser.ParseDicomOptions = { untilTag: 'x7fe00010' };
  if (!hasPreamble) {
    // A raw data set has no transfer syntax; guess from the first element: two upper-case letters where an
    // explicit VR would be mean explicit VR LE, otherwise implicit VR LE (the default transfer syntax).
    const explicit = b.length > 6 && b[4]! >= 0x41 && b[4]! <= 0x5a && b[5]! >= 0x41 && b[5]! <= 0x5a;
    opts.TransferSyntaxUID = explicit ? '1.2.840.10008.1.2.1' : '1.2.840.10008.1.2';
  }
  if (whole) opts.inflater = (arr: Uint8Array, position: number) => {
    const inflated = inflateRawSync(Buffer.from(arr.buffer, arr.byteOffset + position, arr.byteLength - position));
    const out = new Uint8Array(position + inflated.length);
    out.set(arr.subarray(0, position));
    out.set(inflated, position);
    return out;
  };
  let ds: dicomParser.DataSet | undefined;
  try {
    ds = dicomParser.parseDicom(b instanceof Uint8Array ? b : new Uint8Array(b), opts);
  } catch (e) {
    // dicom-parser throws { exception, dataSet } when it runs off the end of a truncated buffer:
    // what it parsed before that is still good (we only need two early tags).
    ds = (e as { dataSet?: dicomParser.DataSet }).dataSet;
  }
  const rows = ds?.uint16('x00280010');
  const cols = ds?.uint16('x00280011');
  return rows && cols ? { width: cols, height: rows, format: 'dicom' } : undefined;
}
