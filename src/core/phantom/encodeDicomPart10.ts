import { deflateRawSync } from 'node:zlib';
import { endianness } from 'node:os';

/**
 * A small DICOM Part-10 writer: 128-byte preamble, "DICM", the file meta group (0002) in explicit VR
 * little endian with its group length, then the data set in explicit VR little endian - native, RLE
 * Lossless (encapsulated) or Deflated (the data set after the meta is raw-deflated). It writes what the
 * phantom generator needs (flat data sets, one 16-bit or 8-bit monochrome frame), correctly, and nothing
 * more: no sequences, no big endian, no implicit VR.
 */

export const TRANSFER_SYNTAX = {
  explicitLittle: '1.2.840.10008.1.2.1',
  deflated: '1.2.840.10008.1.2.1.99',
  rle: '1.2.840.10008.1.2.5',
} as const;
export type DicomTransferSyntax = keyof typeof TRANSFER_SYNTAX;

/** PointBox's implementation class UID (2.25 = UUID-derived root, fixed for the product). */
export const POINTBOX_IMPLEMENTATION_UID = '2.25.262305617932740566316934586812343510127';
export const POINTBOX_IMPLEMENTATION_VERSION = 'POINTBOX_010';

export type DicomValue = string | number | number[] | Uint8Array | Uint16Array;
/** One element: tag as 0xGGGGEEEE, its VR, and its value (strings for text VRs, numbers for US/UL/...). */
export interface DicomElement {
  tag: number;
  vr: string;
  value: DicomValue;
}

export interface DicomImageFrame {
  rows: number;
  columns: number;
  bitsAllocated: 8 | 16;
  /** Stored samples, row-major, one channel. */
  pixels: Uint8Array | Uint16Array;
}

/** VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);
const TEXT_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);

/** Encodes one element's value bytes, padded to even length as the standard requires. */
function valueBytes(vr: string, value: DicomValue): Uint8Array {
  if (TEXT_VRS.has(vr)) {
    if (typeof value !== 'string') throw new TypeError(`VR ${vr} needs a string`);
    if (!/^[\x20-\x7e]*$/.test(value)) throw new RangeError(`only printable ASCII is written, got ${JSON.stringify(value)}`);
    let b = Buffer.from(value, 'latin1');
    // UI pads with NUL, every other text VR with a space.
    if (b.length % 2) b = Buffer.concat([b, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
    return b;
  }
  const nums = typeof value === 'number' ? [value] : value;
  switch (vr) {
    case 'US': case 'UL': case 'SS': case 'SL': case 'FL': case 'FD': {
      if (typeof nums === 'string' || nums instanceof Uint8Array || nums instanceof Uint16Array) throw new TypeError(`VR ${vr} needs numbers`);
      const size = vr === 'US' || vr === 'SS' ? 2 : vr === 'FD' ? 8 : 4;
      const b = Buffer.alloc(size * nums.length);
      nums.forEach((n, i) => {
        const o = i * size;
        if (vr === 'US') b.writeUInt16LE(n, o); else if (vr === 'SS') b.writeInt16LE(n, o);
        else if (vr === 'UL') b.writeUInt32LE(n, o); else if (vr === 'SL') b.writeInt32LE(n, o);
        else if (vr === 'FL') b.writeFloatLE(n, o); else b.writeDoubleLE(n, o);
      });
      return b;
    }
    case 'OB': case 'OW': case 'UN': {
      let b: Uint8Array;
      if (value instanceof Uint16Array) b = littleEndianBytes(value);
      else if (value instanceof Uint8Array) b = value;
      else throw new TypeError(`VR ${vr} needs bytes`);
      if (b.length % 2) { const p = new Uint8Array(b.length + 1); p.set(b); b = p; }
      return b;
    }
    default:
      throw new RangeError(`VR ${vr} is not supported by this writer`);
  }
}

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

function littleEndianBytes(a: Uint16Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.length * 2);
  // Typed arrays use the platform's byte order: copy as-is on little-endian hosts, swap on big-endian ones.
  for (let i = 0, o = 0; i < a.length; i++, o += 2) { const v = a[i]!; out[o] = v & 0xff; out[o + 1] = v >>> 8; }
  return out;
}

function header(tag: number, vr: string, length: number): Uint8Array {
  const long = LONG_VRS.has(vr);
  const b = Buffer.alloc(long ? 12 : 8);
  b.writeUInt16LE(tag >>> 16, 0);
  b.writeUInt16LE(tag & 0xffff, 2);
  b.write(vr, 4, 'latin1');
  if (long) b.writeUInt32LE(length >>> 0, 8);
  else {
    if (length > 0xffff) throw new RangeError(`value of ${tagName(tag)} too long for VR ${vr}`);
    b.writeUInt16LE(length, 6);
  }
  return b;
}

function tagName(tag: number): string {
  return `(${(tag >>> 16).toString(16).padStart(4, '0')},${(tag & 0xffff).toString(16).padStart(4, '0')})`;
}

/** Serialises elements (sorted by tag, as the standard requires) in explicit VR little endian. */
export function encodeElements(elements: readonly DicomElement[]): Uint8Array[] {
  const sorted = [...elements].sort((a, b) => (a.tag >>> 0) - (b.tag >>> 0));
  const parts: Uint8Array[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.tag === e.tag) throw new RangeError(`duplicate element ${tagName(e.tag)}`);
    const v = valueBytes(e.vr, e.value);
    parts.push(header(e.tag, e.vr, v.length), v);
  }
  return parts;
}

/**
 * Encapsulates one frame as RLE Lossless (PS3.5 Annex G): one segment per byte plane, most significant
 * plane first; each segment PackBits-encoded row by row (runs never cross a row); a 64-byte RLE header
 * with the segment count and offsets; inside an item after a one-entry Basic Offset Table.
 */
export function encodeRleFrame(frame: DicomImageFrame): Uint8Array {
  const { rows, columns, pixels, bitsAllocated } = frame;
  const planes = bitsAllocated / 8;
  const segments: Uint8Array[] = [];
  const plane = new Uint8Array(columns);
  for (let s = 0; s < planes; s++) {
    const shift = (planes - 1 - s) * 8;
    const out = new PackBitsBuffer(rows * (columns + Math.ceil(columns / 128)));
    for (let r = 0; r < rows; r++) {
      const o = r * columns;
      for (let c = 0; c < columns; c++) plane[c] = (pixels[o + c]! >>> shift) & 0xff;
      out.encodeRow(plane);
    }
    segments.push(out.bytes());
  }
  const head = Buffer.alloc(64);
  head.writeUInt32LE(segments.length, 0);
  let off = 64;
  segments.forEach((seg, i) => { head.writeUInt32LE(off, 4 + 4 * i); off += seg.length; });
  let total = off;
  const padded = total % 2 === 1;
  if (padded) total++;
  const frameBytes = new Uint8Array(total);
  frameBytes.set(head, 0);
  let p = 64;
  for (const seg of segments) { frameBytes.set(seg, p); p += seg.length; }
  return frameBytes;
}

class PackBitsBuffer {
  private buf: Uint8Array;
  private n = 0;
  constructor(capacity: number) { this.buf = new Uint8Array(capacity); }
  bytes(): Uint8Array { return this.buf.subarray(0, this.n); }
  private push(v: number): void { this.buf[this.n++] = v; }
  encodeRow(row: Uint8Array): void {
    const len = row.length;
    let i = 0;
    while (i < len) {
      // Runs of 3+ equal bytes become a replicate packet (header 257-n as a byte, i.e. 1-n signed);
      // shorter runs stay inside literals, which bounds the output at 129 bytes per 128 input bytes.
      let run = 1;
      while (i + run < len && run < 128 && row[i + run] === row[i]) run++;
      if (run >= 3) {
        this.push(257 - run);
        this.push(row[i]!);
        i += run;
        continue;
      }
      // Literal packet: up to 128 bytes, until 3 equal bytes start.
      let lit = 1;
      while (i + lit < len && lit < 128 && !(i + lit + 2 < len && row[i + lit] === row[i + lit + 1] && row[i + lit] === row[i + lit + 2])) lit++;
      this.push(lit - 1);
      for (let k = 0; k < lit; k++) this.push(row[i + k]!);
      i += lit;
    }
  }
}

function item(tagElement: number, payload: Uint8Array): Uint8Array[] {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(0xfffe, 0);
  h.writeUInt16LE(tagElement, 2);
  h.writeUInt32LE(payload.length, 4);
  return [h, payload];
}

export interface EncodeDicomOptions {
  transferSyntax: DicomTransferSyntax;
  sopClassUid: string;
  sopInstanceUid: string;
  /** Data set elements, without Pixel Data and without group 0002. */
  elements: readonly DicomElement[];
  frame: DicomImageFrame;
  /** zlib level for Deflated (default 6). */
  deflateLevel?: number;
}

/** Writes a complete Part-10 file. */
export function encodeDicomPart10(opts: EncodeDicomOptions): Uint8Array {
  const ts = TRANSFER_SYNTAX[opts.transferSyntax];
  const metaBody = encodeElements([
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
    { tag: 0x00020002, vr: 'UI', value: opts.sopClassUid },
    { tag: 0x00020003, vr: 'UI', value: opts.sopInstanceUid },
    { tag: 0x00020010, vr: 'UI', value: ts },
    { tag: 0x00020012, vr: 'UI', value: POINTBOX_IMPLEMENTATION_UID },
    { tag: 0x00020013, vr: 'SH', value: POINTBOX_IMPLEMENTATION_VERSION },
  ]);
  const metaLen = metaBody.reduce((s, b) => s + b.length, 0);
  const groupLength = encodeElements([{ tag: 0x00020000, vr: 'UL', value: metaLen }]);
  for (const e of opts.elements) if (e.tag >>> 16 === 0x0002 || e.tag === 0x7fe00010) throw new RangeError(`element ${tagName(e.tag)} is written by the encoder`);

  const ds = encodeElements(opts.elements);
  const { frame } = opts;
  const expected = frame.rows * frame.columns;
  if (frame.pixels.length !== expected) throw new RangeError(`pixel count ${frame.pixels.length} != rows*columns ${expected}`);
  if (opts.transferSyntax === 'rle') {
    const fr = encodeRleFrame(frame);
    // Undefined-length OB, Basic Offset Table with the one frame at offset 0, the fragment, delimiter.
    const h = Buffer.alloc(12);
    h.writeUInt16LE(0x7fe0, 0); h.writeUInt16LE(0x0010, 2); h.write('OB', 4, 'latin1'); h.writeUInt32LE(0xffffffff, 8);
    const bot = new Uint8Array(4);
    const delim = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
    ds.push(h, ...item(0xe000, bot), ...item(0xe000, fr), delim);
  } else {
    const px = frame.bitsAllocated === 16 ? littleEndianBytes(frame.pixels as Uint16Array) : (frame.pixels as Uint8Array);
    const vr = frame.bitsAllocated === 16 ? 'OW' : 'OB';
    const v = valueBytes(vr, px);
    ds.push(header(0x7fe00010, vr, v.length), v);
  }
  let body: Uint8Array[] = ds;
  if (opts.transferSyntax === 'deflated') {
    const z = deflateRawSync(Buffer.concat(ds), { level: opts.deflateLevel ?? 6 });
    // PS3.5 A.5: an odd-length deflated stream is padded with one trailing NUL.
    body = z.length % 2 ? [z, new Uint8Array(1)] : [z];
  }
  const pre = new Uint8Array(132);
  pre.set([0x44, 0x49, 0x43, 0x4d], 128);
  return Buffer.concat([pre, ...groupLength, ...metaBody, ...body]);
}
