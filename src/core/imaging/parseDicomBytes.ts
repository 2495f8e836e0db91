import * as dicomParser from 'dicom-parser';
import { DicomDecodeError } from './ImagingError';
import type { ImagingPlatform } from './ImagingPlatform';
import { transferSyntaxInfo, type TransferSyntaxInfo } from './transferSyntax';

export interface ParsedDicom {
  dataSet: dicomParser.DataSet;
  transferSyntax: TransferSyntaxInfo;
  /** false for files with no preamble/meta header (raw data sets), true for Part-10 files. */
  hasMetaHeader: boolean;
  /** Why the transfer syntax had to be guessed, when it was. */
  warnings: string[];
}

export interface ParseOptions {
  fileName?: string;
  /** Upper bound for an inflated deflate data set (zip bombs). */
  maxInflatedBytes?: number;
}

const DEFLATED = '1.2.840.10008.1.2.1.99';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const VRS = new Set(['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV']);

interface MetaScan { hasPreamble: boolean; metaEnd: number; transferSyntaxUID?: string }

/**
 * Reads the file meta group ourselves (it is always explicit VR LE) so we know the transfer syntax and
 * where the data set starts before dicom-parser runs: that lets us inflate deflated data sets
 * asynchronously (the browser has no synchronous inflate) and recover files whose meta lacks (0002,0010).
 */
function scanMeta(b: Uint8Array): MetaScan {
  const hasPreamble = b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
  if (!hasPreamble) return { hasPreamble, metaEnd: 0 };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 132;
  let ts: string | undefined;
  while (p + 8 <= b.length) {
    const group = dv.getUint16(p, true);
    if (group !== 0x0002) break;
    const elem = dv.getUint16(p + 2, true);
    const vr = String.fromCharCode(b[p + 4]!, b[p + 5]!);
    let len: number; let hdr: number;
    if (['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OD', 'OL', 'OV', 'SV', 'UV'].includes(vr)) {
      if (p + 12 > b.length) break;
      len = dv.getUint32(p + 8, true); hdr = 12;
    } else { len = dv.getUint16(p + 6, true); hdr = 8; }
    if (len === 0xffffffff || p + hdr + len > b.length) break;
    if (elem === 0x0010) ts = String.fromCharCode(...b.subarray(p + hdr, p + hdr + len)).replace(/[\0 ]+$/, '').trim();
    p += hdr + len;
  }
  return { hasPreamble, metaEnd: p, transferSyntaxUID: ts || undefined };
}

/** Guess the encoding of a data set that starts at `pos` with no meta header telling us. */
function sniffTransferSyntax(b: Uint8Array, pos: number): string {
  if (pos + 8 > b.length) return IMPLICIT_LE;
  const vr = String.fromCharCode(b[pos + 4]!, b[pos + 5]!);
  const explicit = VRS.has(vr);
  // Big endian data sets start with group 0x0008 (or 0x0002) written high byte first.
  const bigEndian = b[pos] === 0x00 && b[pos + 1] !== 0x00;
  if (explicit) return bigEndian ? EXPLICIT_BE : EXPLICIT_LE;
  return IMPLICIT_LE;
}

function messageOf(e: unknown): string {
  if (e && typeof e === 'object' && 'exception' in e) return messageOf((e as { exception: unknown }).exception);
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Parse DICOM bytes into a dicom-parser data set, mapping every failure to a DicomDecodeError. */
export async function parseDicomBytes(bytes: Uint8Array, platform: ImagingPlatform, opts: ParseOptions = {}): Promise<ParsedDicom> {
  const file = opts.fileName;
  if (bytes.length < 8) throw new DicomDecodeError('TRUNCATED', `file too short to be DICOM (${bytes.length} bytes)`, file);
  const meta = scanMeta(bytes);
  const warnings: string[] = [];
  let input = bytes;
  let options: dicomParser.ParseDicomOptions = {};
  let tsUid: string;
  if (!meta.hasPreamble) {
    // No Part-10 header: must look like a data set (group 0008 or 0002 first), or it is not DICOM at all.
    const g = bytes[0]! | (bytes[1]! << 8);
    const gBE = (bytes[0]! << 8) | bytes[1]!;
    if (![0x0002, 0x0008].includes(g) && ![0x0002, 0x0008].includes(gBE)) {
      throw new DicomDecodeError('NOT_DICOM', 'no DICM prefix and no DICOM data set at offset 0', file);
    }
    tsUid = sniffTransferSyntax(bytes, 0);
    warnings.push(`no file meta header: transfer syntax guessed as ${transferSyntaxInfo(tsUid).name}`);
    options = { TransferSyntaxUID: tsUid };
  } else if (!meta.transferSyntaxUID) {
    tsUid = sniffTransferSyntax(bytes, meta.metaEnd);
    warnings.push(`file meta header has no TransferSyntaxUID: guessed ${transferSyntaxInfo(tsUid).name}`);
    // dicom-parser insists on (0002,0010) when it sees DICM, so hand it the data set alone.
    input = bytes.subarray(meta.metaEnd);
    options = { TransferSyntaxUID: tsUid };
  } else {
    tsUid = meta.transferSyntaxUID;
    if (tsUid === DEFLATED) {
      let inflated: Uint8Array;
      try {
        inflated = await platform.inflateRaw(bytes.subarray(meta.metaEnd), opts.maxInflatedBytes ?? 1 << 30);
      } catch (e) {
        throw new DicomDecodeError(/larger|exceed|too large|buffer/i.test(messageOf(e)) ? 'TOO_LARGE' : 'BAD_HEADER', `cannot inflate deflated data set: ${messageOf(e)}`, file);
      }
      // Hand dicom-parser the inflated data set alone as explicit VR LE: its own deflate path restarts
      // the stream at offset 0 of header+data and needs a synchronous inflater the browser lacks.
      input = inflated;
      options = { TransferSyntaxUID: EXPLICIT_LE };
    }
  }
  let dataSet: dicomParser.DataSet;
  try {
    dataSet = dicomParser.parseDicom(input, options);
  } catch (e) {
    const msg = messageOf(e);
    const code = /past end|overrun|overread|beyond|end of buffer|truncat|length/i.test(msg) ? 'TRUNCATED' : 'BAD_HEADER';
    throw new DicomDecodeError(code, `cannot parse DICOM: ${msg}`, file);
  }
  return { dataSet, transferSyntax: transferSyntaxInfo(tsUid), hasMetaHeader: meta.hasPreamble, warnings };
}
