/**
 * Reads a DICOM file into a tree of elements that can be written back, and writes such a tree (PS3.5 chapter 7
 * and PS3.10 chapter 7). This is the de-identifier's own reader/writer, separate from the imaging reader
 * (dicom-parser): a writer needs what a viewer does not keep - the exact bytes of every value, the byte range of
 * encapsulated Pixel Data (copied, never re-fragmented), the order and byte order of each element, sequences
 * inside UN elements (CP-246), and elements that dicom-parser merges (duplicates).
 *
 * Supported: implicit VR little endian, explicit VR little and big endian, deflated explicit VR little endian,
 * every encapsulated syntax (the data set is explicit VR LE, Pixel Data's items are copied as read), files with
 * or without the 128-byte preamble and file meta. Values stay in the byte order they were read in; a writer in
 * another order swaps the binary ones.
 */
import { inflateRawSync, deflateRawSync } from 'node:zlib';
import { dictionaryVr, tagString } from './dicomDictionary';

export const TS = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflated: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

export const PIXEL_DATA = 0x7fe00010;
const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;
const UNDEFINED = 0xffffffff;

/** VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const VRS = new Set(['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV']);
/** Binary VRs and the size of the unit a byte-order change swaps. */
const SWAP_UNIT: Record<string, number> = { US: 2, SS: 2, OW: 2, AT: 2, UL: 4, SL: 4, FL: 4, OF: 4, OL: 4, FD: 8, OD: 8, SV: 8, UV: 8, OV: 8 };
export const TEXT_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);

export interface DicomEl {
  /** 0xGGGGEEEE. */
  tag: number;
  /** The VR as read (explicit VR) or looked up (implicit VR; 'UN' when unknown); 'SQ' for every sequence. */
  vr: string;
  /** The value's bytes as read, in the byte order `little` (absent for sequences and encapsulated Pixel Data). */
  value?: Uint8Array;
  /** A sequence's items, each a data set. */
  items?: DicomEl[][];
  /** Encapsulated Pixel Data: its items and the sequence delimiter exactly as read. */
  encapsulated?: Uint8Array;
  /** Byte order of `value`. */
  little: boolean;
}

export interface DicomFileTree {
  /** The file meta group (0002,xxxx) as read; empty for files without one. */
  meta: DicomEl[];
  /** The transfer syntax of the data set: the meta's, or guessed for files without one. */
  transferSyntax: string;
  dataSet: DicomEl[];
  /** Why something had to be guessed or was skipped. */
  warnings: string[];
}

/** A file that is not DICOM this reader can take apart (truncated, malformed, unknown encoding). */
export class DicomStructureError extends Error {
  override name = 'DicomStructureError';
}

interface Ctx { explicit: boolean; little: boolean }
const IMPLICIT_LE: Ctx = { explicit: false, little: true };

export function syntaxContext(ts: string): Ctx & { deflated: boolean } {
  if (ts === TS.implicitLittle) return { explicit: false, little: true, deflated: false };
  if (ts === TS.explicitBig) return { explicit: true, little: false, deflated: false };
  return { explicit: true, little: true, deflated: ts === TS.deflated };
}

class Reader {
  readonly dv: DataView;
  constructor(readonly b: Uint8Array) { this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength); }
  u16(p: number, little: boolean): number { return this.dv.getUint16(p, little); }
  u32(p: number, little: boolean): number { return this.dv.getUint32(p, little); }
  tag(p: number, little: boolean): number { return ((this.u16(p, little) << 16) | this.u16(p + 2, little)) >>> 0; }
  chars(p: number): string { return String.fromCharCode(this.b[p]!, this.b[p + 1]!); }
}

const MAX_DEPTH = 64;

/** Elements from `pos` to `end` (or to an item delimiter when `inItem`, or while the group is `onlyGroup`). */
function readElements(r: Reader, pos: number, end: number, ctx: Ctx, opts: { inItem?: boolean; onlyGroup?: number; depth: number }): { els: DicomEl[]; pos: number } {
  if (opts.depth > MAX_DEPTH) throw new DicomStructureError(`sequences nested deeper than ${MAX_DEPTH}`);
  const els: DicomEl[] = [];
  while (pos < end) {
    if (opts.onlyGroup !== undefined && (end - pos < 2 || r.u16(pos, ctx.little) !== opts.onlyGroup)) return { els, pos };
    if (end - pos < 8) {
      // A few NUL bytes after the last element: padding written by some systems, not data.
      if (!opts.inItem && r.b.subarray(pos, end).every((x) => x === 0)) return { els, pos: end };
      throw new DicomStructureError(`truncated element header at byte ${pos}`);
    }
    const tag = r.tag(pos, ctx.little);
    if (tag === ITEM_DELIMITER) {
      if (opts.inItem) return { els, pos: pos + 8 };
      throw new DicomStructureError(`item delimiter outside an item at byte ${pos}`);
    }
    if (tag >>> 16 === 0xfffe) throw new DicomStructureError(`unexpected ${tagString(tag)} at byte ${pos}`);
    let vr: string; let len: number; let hdr: number;
    if (ctx.explicit) {
      vr = r.chars(pos + 4);
      if (!VRS.has(vr)) throw new DicomStructureError(`invalid VR ${JSON.stringify(vr)} for ${tagString(tag)} at byte ${pos}`);
      if (LONG_VRS.has(vr)) {
        if (end - pos < 12) throw new DicomStructureError(`truncated element header at byte ${pos}`);
        len = r.u32(pos + 8, ctx.little); hdr = 12;
      } else { len = r.u16(pos + 6, ctx.little); hdr = 8; }
    } else {
      vr = dictionaryVr(tag) ?? 'UN';
      len = r.u32(pos + 4, ctx.little); hdr = 8;
    }
    const p = pos + hdr;
    const el: DicomEl = { tag, vr, little: ctx.little };
    if (len === UNDEFINED) {
      if (tag === PIXEL_DATA && vr !== 'SQ') {
        // Encapsulated Pixel Data, also inside an Icon Image Sequence item.
        const q = skipEncapsulated(r, p, end, ctx.little);
        el.encapsulated = r.b.subarray(p, q);
        pos = q;
      } else if (vr === 'SQ' || vr === 'UN' || !ctx.explicit) {
        // Undefined-length UN holds a sequence in implicit VR little endian (PS3.5 6.2.2, CP-246).
        const inner = vr === 'UN' && ctx.explicit ? IMPLICIT_LE : ctx;
        const s = readItems(r, p, end, inner, true, opts.depth);
        el.vr = 'SQ'; el.items = s.items;
        pos = s.pos;
      } else throw new DicomStructureError(`undefined length on ${tagString(tag)} with VR ${vr}`);
    } else {
      if (p + len > end) throw new DicomStructureError(`${tagString(tag)} says ${len} bytes but only ${end - p} remain (truncated file?)`);
      const dictSq = dictionaryVr(tag) === 'SQ';
      const startsWithItem = len >= 8 && r.tag(p, vr === 'UN' ? true : ctx.little) === ITEM;
      if (vr === 'SQ' || (!ctx.explicit && dictSq)) {
        el.items = readItems(r, p, p + len, ctx, false, opts.depth).items;
        el.vr = 'SQ';
      } else if (!ctx.explicit && vr === 'UN' && startsWithItem) {
        // An element the dictionary does not know (private, newer than PS3.6 here) that holds items.
        try { el.items = readItems(r, p, p + len, ctx, false, opts.depth).items; el.vr = 'SQ'; } catch { el.value = r.b.subarray(p, p + len); }
      } else if (vr === 'UN' && dictSq && startsWithItem) {
        // A sequence that passed through a system that did not know it: its content is implicit VR LE.
        try { el.items = readItems(r, p, p + len, IMPLICIT_LE, false, opts.depth).items; el.vr = 'SQ'; } catch { el.value = r.b.subarray(p, p + len); }
      } else el.value = r.b.subarray(p, p + len);
      pos = p + len;
    }
    els.push(el);
  }
  if (opts.inItem) throw new DicomStructureError('item without its delimiter (truncated file?)');
  return { els, pos };
}

function readItems(r: Reader, p: number, end: number, ctx: Ctx, undefinedLength: boolean, depth: number): { items: DicomEl[][]; pos: number } {
  const items: DicomEl[][] = [];
  for (;;) {
    if (!undefinedLength && p >= end) return { items, pos: p };
    if (p + 8 > end) throw new DicomStructureError(`truncated sequence at byte ${p}`);
    const tag = r.tag(p, ctx.little);
    if (tag === SEQUENCE_DELIMITER) return { items, pos: p + 8 };
    if (tag !== ITEM) throw new DicomStructureError(`expected an item, found ${tagString(tag)} at byte ${p}`);
    const len = r.u32(p + 4, ctx.little);
    p += 8;
    if (len === UNDEFINED) {
      const x = readElements(r, p, end, ctx, { inItem: true, depth: depth + 1 });
      items.push(x.els); p = x.pos;
    } else {
      if (p + len > end) throw new DicomStructureError(`item of ${len} bytes at byte ${p - 8} overruns its sequence`);
      items.push(readElements(r, p, p + len, ctx, { depth: depth + 1 }).els);
      p += len;
    }
  }
}

/** End of encapsulated Pixel Data starting at `p` (its first item): after the sequence delimiter. */
function skipEncapsulated(r: Reader, p: number, end: number, little: boolean): number {
  for (;;) {
    if (p + 8 > end) throw new DicomStructureError('encapsulated Pixel Data without its sequence delimiter (truncated file?)');
    const tag = r.tag(p, little);
    const len = r.u32(p + 4, little);
    if (tag === SEQUENCE_DELIMITER) return p + 8;
    if (tag !== ITEM || len === UNDEFINED) throw new DicomStructureError(`bad encapsulated Pixel Data item ${tagString(tag)} at byte ${p}`);
    if (p + 8 + len > end) throw new DicomStructureError(`encapsulated Pixel Data fragment of ${len} bytes overruns the file (truncated?)`);
    p += 8 + len;
  }
}

/** Guesses the encoding of a data set that starts at `pos` with no meta saying (PS3.5 makes the first element tell). */
function sniffSyntax(b: Uint8Array, pos: number): string {
  if (pos + 8 > b.length) return TS.implicitLittle;
  const explicit = VRS.has(String.fromCharCode(b[pos + 4]!, b[pos + 5]!));
  const big = b[pos] === 0x00 && b[pos + 1] !== 0x00;
  if (explicit) return big ? TS.explicitBig : TS.explicitLittle;
  return TS.implicitLittle;
}

export function textOf(v: Uint8Array | undefined): string {
  if (!v) return '';
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

export interface ReadOptions {
  /** Upper bound for an inflated deflated data set (zip bombs). Default 2 GiB. */
  maxInflatedBytes?: number;
}

/** Takes a DICOM file apart. Throws DicomStructureError on anything it cannot read completely. */
export function readDicomTree(bytes: Uint8Array, opts: ReadOptions = {}): DicomFileTree {
  const warnings: string[] = [];
  if (bytes.length < 8) throw new DicomStructureError(`too short to be DICOM (${bytes.length} bytes)`);
  const r0 = new Reader(bytes);
  let pos = 0;
  let meta: DicomEl[] = [];
  if (bytes.length >= 132 && r0.chars(128) === 'DI' && r0.chars(130) === 'CM') {
    pos = 132;
    const m = readElements(r0, pos, bytes.length, { explicit: true, little: true }, { onlyGroup: 0x0002, depth: 0 });
    meta = m.els; pos = m.pos;
  } else if (r0.chars(0) === 'DI' && r0.chars(2) === 'CM') {
    // "DICM" without the preamble (some writers drop it).
    pos = 4;
    const m = readElements(r0, pos, bytes.length, { explicit: true, little: true }, { onlyGroup: 0x0002, depth: 0 });
    meta = m.els; pos = m.pos;
  } else if (r0.u16(0, true) === 0x0002) {
    const m = readElements(r0, 0, bytes.length, { explicit: true, little: true }, { onlyGroup: 0x0002, depth: 0 });
    meta = m.els; pos = m.pos;
  }
  let ts = textOf(meta.find((e) => e.tag === 0x00020010)?.value);
  if (!ts) {
    ts = sniffSyntax(bytes, pos);
    warnings.push(meta.length ? `the file meta has no Transfer Syntax UID: read as ${ts}` : `no file meta: read as ${ts}`);
  }
  let ctx = syntaxContext(ts);
  let body = bytes; let start = pos;
  if (ctx.deflated) {
    try {
      body = inflateRawSync(bytes.subarray(pos), { maxOutputLength: opts.maxInflatedBytes ?? 2 ** 31 - 1 });
    } catch (e) { throw new DicomStructureError(`deflated data set does not inflate: ${(e as Error).message}`); }
    start = 0;
  } else if (ctx.explicit && bytes.length >= start + 8 && !VRS.has(String.fromCharCode(bytes[start + 4]!, bytes[start + 5]!))) {
    // The meta says explicit VR, the data set is implicit (a known writer bug): read what is there.
    warnings.push(`the meta says ${ts} but the data set is implicit VR: read as implicit VR little endian`);
    ctx = { ...IMPLICIT_LE, deflated: false };
    ts = TS.implicitLittle;
  }
  const r = new Reader(body);
  const ds = readElements(r, start, body.length, ctx, { depth: 0 });
  return { meta, transferSyntax: ts, dataSet: ds.els, warnings };
}

// ---------------------------------------------------------------------------------------------------- writer

class Out {
  readonly parts: Uint8Array[] = [];
  push(b: Uint8Array): void { this.parts.push(b); }
}

function elementHeader(tag: number, vr: string, len: number, ctx: Ctx): Uint8Array {
  const long = !ctx.explicit || LONG_VRS.has(vr);
  const b = Buffer.alloc(ctx.explicit && long ? 12 : 8);
  if (ctx.little) { b.writeUInt16LE(tag >>> 16, 0); b.writeUInt16LE(tag & 0xffff, 2); } else { b.writeUInt16BE(tag >>> 16, 0); b.writeUInt16BE(tag & 0xffff, 2); }
  if (!ctx.explicit) { if (ctx.little) b.writeUInt32LE(len >>> 0, 4); else b.writeUInt32BE(len >>> 0, 4); return b; }
  b.write(vr, 4, 'latin1');
  if (long) { if (ctx.little) b.writeUInt32LE(len >>> 0, 8); else b.writeUInt32BE(len >>> 0, 8); } else {
    if (len > 0xffff) throw new RangeError(`value of ${tagString(tag)} (${len} bytes) is too long for VR ${vr}`);
    if (ctx.little) b.writeUInt16LE(len, 6); else b.writeUInt16BE(len, 6);
  }
  return b;
}

function delimiter(tag: number, len: number, little: boolean): Uint8Array {
  const b = Buffer.alloc(8);
  if (little) { b.writeUInt16LE(0xfffe, 0); b.writeUInt16LE(tag & 0xffff, 2); b.writeUInt32LE(len >>> 0, 4); } else { b.writeUInt16BE(0xfffe, 0); b.writeUInt16BE(tag & 0xffff, 2); b.writeUInt32BE(len >>> 0, 4); }
  return b;
}

function swapped(v: Uint8Array, unit: number): Uint8Array {
  const out = new Uint8Array(v.length);
  for (let i = 0; i + unit <= v.length; i += unit) for (let k = 0; k < unit; k++) out[i + k] = v[i + unit - 1 - k]!;
  return out;
}

function writeElements(els: readonly DicomEl[], ctx: Ctx, out: Out): void {
  for (const el of els) {
    if (el.items) {
      if (el.items.length === 0) { out.push(elementHeader(el.tag, 'SQ', 0, ctx)); continue; }
      out.push(elementHeader(el.tag, 'SQ', UNDEFINED, ctx));
      for (const item of el.items) {
        out.push(delimiter(ITEM, UNDEFINED, ctx.little));
        writeElements(item, ctx, out);
        out.push(delimiter(ITEM_DELIMITER, 0, ctx.little));
      }
      out.push(delimiter(SEQUENCE_DELIMITER, 0, ctx.little));
      continue;
    }
    if (el.encapsulated) {
      if (!ctx.little) throw new RangeError('encapsulated Pixel Data in a big endian data set');
      out.push(elementHeader(el.tag, el.vr === 'OW' ? 'OW' : 'OB', UNDEFINED, ctx));
      out.push(el.encapsulated);
      continue;
    }
    let v = el.value ?? new Uint8Array(0);
    let vr = el.vr;
    const unit = SWAP_UNIT[vr];
    if (unit && el.little !== ctx.little) v = swapped(v, unit);
    if (v.length % 2) {
      const p = new Uint8Array(v.length + 1);
      p.set(v);
      p[v.length] = TEXT_VRS.has(vr) && vr !== 'UI' ? 0x20 : 0;
      v = p;
    }
    // A value too long for its VR's 16-bit length (only possible after a VR was looked up): keep it as UN.
    if (ctx.explicit && !LONG_VRS.has(vr) && v.length > 0xffff) vr = 'UN';
    out.push(elementHeader(el.tag, vr, v.length, ctx));
    out.push(v);
  }
}

/** Serialises a data set in the encoding of transfer syntax `ts` (deflated: the caller deflates). */
export function encodeDataSet(els: readonly DicomEl[], ts: string): Uint8Array {
  const ctx = syntaxContext(ts);
  const out = new Out();
  writeElements(els, ctx, out);
  return Buffer.concat(out.parts);
}

/**
 * A complete Part-10 file: preamble (zeros), "DICM", the meta group in explicit VR LE with its group length
 * computed, then the data set in `ts` (deflated data sets are raw-deflated and padded to even length).
 */
export function encodePart10(meta: readonly DicomEl[], dataSet: readonly DicomEl[], ts: string): Uint8Array {
  const metaCtx: Ctx = { explicit: true, little: true };
  const m = new Out();
  writeElements(meta.filter((e) => e.tag !== 0x00020000).slice().sort((a, b) => a.tag - b.tag), metaCtx, m);
  const metaBytes = Buffer.concat(m.parts);
  const gl = Buffer.alloc(4); gl.writeUInt32LE(metaBytes.length, 0);
  const g = new Out();
  writeElements([{ tag: 0x00020000, vr: 'UL', value: gl, little: true }], metaCtx, g);
  let body = encodeDataSet(dataSet, ts);
  if (syntaxContext(ts).deflated) {
    const z = deflateRawSync(body);
    body = z.length % 2 ? Buffer.concat([z, new Uint8Array(1)]) : z;
  }
  const pre = new Uint8Array(132);
  pre.set([0x44, 0x49, 0x43, 0x4d], 128);
  return Buffer.concat([pre, ...g.parts, metaBytes, body]);
}

/** A text element's value bytes (padded to even length: NUL for UI, space for the others). */
export function textValue(vr: string, s: string): Uint8Array {
  let b = Buffer.from(s, 'latin1');
  if (b.length % 2) b = Buffer.concat([b, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
  return b;
}
