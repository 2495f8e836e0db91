import type { DataSet, Element } from 'dicom-parser';
import { DicomDecodeError } from './ImagingError';
import type { ImagingPlatform } from './ImagingPlatform';
import type { DecodedImage, StoredArray } from './DecodedImage';
import { parseDicomBytes, type ParsedDicom } from './parseDicomBytes';
import { readImageAttributes, type ImageAttributes } from './readImageAttributes';
import { headerSummary } from './headerSummary';
import { decodeCompressedFrame } from './codecs/decodeCompressedFrame';
import { storedValues } from './storedValues';
import type { WordOrSummary } from './wordOrSummary';
import { planarToInterleaved, ybr422ToYbrFull, ybrFullToRgb } from './colour';
import { isDecodable } from './transferSyntax';

export interface DicomDecodeOptions {
  /** 0-based frame index (default 0). */
  frame?: number;
  /** Used in error messages. */
  fileName?: string;
  /** Refuse images with more samples than this (memory bound against lying headers). Default 100 M. */
  maxSamples?: number;
  /** Skip building the header summary (hot paths that only need pixels). */
  noHeader?: boolean;
  /**
   * The caller hands over `bytes` (e.g. a buffer it just read from disk): pixels may then be returned as a
   * view into it instead of a copy, which makes native decoding nearly free. Its ArrayBuffer is then shared
   * with the result (and transferred with it).
   */
  ownsInput?: boolean;
  /** Block ORs of `bytes`' buffer made while reading it (readImageFile): the raw high-bit check then needs no extra pass. */
  wordOr?: WordOrSummary;
}

const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function now(): number { return typeof performance !== 'undefined' ? performance.now() : Date.now(); }

/** The byte ranges of a frame's fragments in an encapsulated Pixel Data element. */
function encapsulatedFrame(ds: DataSet, pe: Element, frameIndex: number, frames: number, file?: string): Uint8Array {
  const frags = pe.fragments ?? [];
  const bytes = ds.byteArray as Uint8Array;
  for (const f of frags) {
    if (f.position + f.length > bytes.length) throw new DicomDecodeError('TRUNCATED', `pixel data fragment at ${f.position} (${f.length} bytes) runs past the end of the file`, file);
  }
  if (frags.length === 0) throw new DicomDecodeError('NO_PIXEL_DATA', 'encapsulated Pixel Data has no fragments', file);
  let first: number; let count: number;
  const bot = pe.basicOffsetTable ?? [];
  if (frames === 1) { first = 0; count = frags.length; }
  else if (frags.length === frames) { first = frameIndex; count = 1; }
  else if (bot.length === frames) {
    const start = bot[frameIndex]!; const end = frameIndex + 1 < frames ? bot[frameIndex + 1]! : Infinity;
    first = frags.findIndex((f) => f.offset === start);
    if (first < 0) throw new DicomDecodeError('BAD_HEADER', `basic offset table entry ${start} matches no fragment`, file);
    count = 0;
    while (first + count < frags.length && frags[first + count]!.offset < end) count++;
  } else {
    // No usable offset table: a new frame starts at each fragment that begins a codestream (JPEG SOI,
    // J2K SOC). This is how several writers lay out multi-fragment frames.
    const starts: number[] = [];
    frags.forEach((f, i) => {
      const a = bytes[f.position]; const b = bytes[f.position + 1];
      if (a === 0xff && (b === 0xd8 || b === 0x4f)) starts.push(i);
    });
    if (starts.length !== frames) throw new DicomDecodeError('BAD_HEADER', `cannot locate frame ${frameIndex}: ${frags.length} fragments, ${frames} frames and no offset table`, file);
    first = starts[frameIndex]!;
    count = (frameIndex + 1 < frames ? starts[frameIndex + 1]! : frags.length) - first;
  }
  if (count === 1) { const f = frags[first]!; return bytes.subarray(f.position, f.position + f.length); }
  let total = 0;
  for (let i = 0; i < count; i++) total += frags[first + i]!.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (let i = 0; i < count; i++) { const f = frags[first + i]!; out.set(bytes.subarray(f.position, f.position + f.length), o); o += f.length; }
  return out;
}

function nativeFrame(ds: DataSet, pe: Element, a: ImageAttributes, frameIndex: number, littleEndian: boolean, file?: string): Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array {
  const bytes = ds.byteArray as Uint8Array;
  const pixels = a.rows * a.columns;
  const is422 = a.photometricInterpretation === 'YBR_FULL_422' && a.bitsAllocated === 8;
  const bytesPerSample = a.bitsAllocated >> 3;
  const frameBytes = is422 ? pixels * 2 : pixels * a.samplesPerPixel * bytesPerSample;
  const start = pe.dataOffset + frameIndex * frameBytes;
  const available = Math.min(pe.length >>> 0, bytes.length - pe.dataOffset);
  if ((frameIndex + 1) * frameBytes > available) {
    throw new DicomDecodeError('TRUNCATED', `Pixel Data holds ${available} bytes, frame ${frameIndex} needs bytes ${frameIndex * frameBytes}..${(frameIndex + 1) * frameBytes}`, file);
  }
  const src = bytes.subarray(start, start + frameBytes);
  if (bytesPerSample === 1) return src;
  const swap = littleEndian !== hostLittleEndian;
  let aligned: Uint8Array = src;
  if (swap || (src.byteOffset % bytesPerSample) !== 0) aligned = src.slice();
  if (swap) {
    if (bytesPerSample === 2) for (let i = 0; i < aligned.length; i += 2) { const t = aligned[i]!; aligned[i] = aligned[i + 1]!; aligned[i + 1] = t; }
    else for (let i = 0; i < aligned.length; i += 4) { const t0 = aligned[i]!; const t1 = aligned[i + 1]!; aligned[i] = aligned[i + 3]!; aligned[i + 1] = aligned[i + 2]!; aligned[i + 2] = t1; aligned[i + 3] = t0; }
  }
  const n = frameBytes / bytesPerSample;
  if (bytesPerSample === 2) return a.pixelRepresentation ? new Int16Array(aligned.buffer, aligned.byteOffset, n) : new Uint16Array(aligned.buffer, aligned.byteOffset, n);
  return a.pixelRepresentation ? new Int32Array(aligned.buffer, aligned.byteOffset, n) : new Uint32Array(aligned.buffer, aligned.byteOffset, n);
}

/** Parse + decode one frame of a DICOM file held in memory. */
export async function decodeDicom(bytes: Uint8Array, platform: ImagingPlatform, opts: DicomDecodeOptions = {}): Promise<DecodedImage> {
  const t0 = now();
  const file = opts.fileName;
  const parsed = await parseDicomBytes(bytes, platform, { fileName: file });
  return decodeParsedDicom(parsed, platform, opts, t0);
}

export async function decodeParsedDicom(parsed: ParsedDicom, platform: ImagingPlatform, opts: DicomDecodeOptions = {}, t0 = now()): Promise<DecodedImage> {
  const file = opts.fileName;
  const { dataSet: ds, transferSyntax: ts } = parsed;
  const a = readImageAttributes(ds, file);
  const frameIndex = opts.frame ?? 0;
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= a.frames) {
    throw new DicomDecodeError('BAD_FRAME', `frame ${frameIndex} requested, the file has ${a.frames}`, file);
  }
  const samples = a.rows * a.columns * a.samplesPerPixel;
  if (samples > (opts.maxSamples ?? 100_000_000)) throw new DicomDecodeError('TOO_LARGE', `${a.columns}x${a.rows}x${a.samplesPerPixel} exceeds the sample limit`, file);
  if (!isDecodable(ts)) throw new DicomDecodeError('UNSUPPORTED_SYNTAX', `no decoder for transfer syntax ${ts.name} (${ts.uid})`, file);
  const photometricIn = a.photometricInterpretation;
  if (photometricIn === 'PALETTE COLOR') throw new DicomDecodeError('UNSUPPORTED_IMAGE', 'PALETTE COLOR images are not supported', file);
  // PointBox keeps colour as 8-bit RGB (viewer, model input): deeper colour is refused before any decoding,
  // by name, rather than cut to 8 bits (the webview's J2K codec also returns zeros for 16-bit colour).
  if (a.samplesPerPixel > 1 && a.bitsAllocated !== 8) throw new DicomDecodeError('UNSUPPORTED_IMAGE', `colour with BitsAllocated ${a.bitsAllocated} is not supported (PointBox shows 8-bit colour only)`, file);
  const pe = ds.elements.x7fe00010;
  if (!pe) throw new DicomDecodeError('NO_PIXEL_DATA', 'no Pixel Data (7FE0,0010) element (float/double pixel data is not supported)', file);
  const warnings = [...parsed.warnings, ...ds.warnings.slice(0, 5), ...a.warnings];
  const signed = a.pixelRepresentation === 1;
  const pixels = a.rows * a.columns;

  let raw: Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;
  let alreadyRgb = false;
  let codecOwned = false; // raw is a fresh buffer we may keep (not a view into the file)
  const encapsulated = pe.encapsulatedPixelData === true || (pe.length >>> 0) === 0xffffffff;
  if (ts.codec === 'native' || ts.codec === 'deflate') {
    if (encapsulated) throw new DicomDecodeError('BAD_HEADER', `encapsulated Pixel Data in a native transfer syntax (${ts.name})`, file);
    raw = nativeFrame(ds, pe, a, frameIndex, ts.littleEndian, file);
    codecOwned = raw.buffer !== ds.byteArray.buffer;
  } else {
    if (!encapsulated) throw new DicomDecodeError('BAD_HEADER', `${ts.name} requires encapsulated Pixel Data`, file);
    const frame = encapsulatedFrame(ds, pe, frameIndex, a.frames, file);
    const out = await decodeCompressedFrame(ts, frame, { width: a.columns, height: a.rows, samplesPerPixel: a.samplesPerPixel, bitsAllocated: a.bitsAllocated, bitsStored: a.bitsStored, signed, photometric: photometricIn }, platform, file);
    raw = out.data; alreadyRgb = out.rgb; codecOwned = true;
    if (raw.length < samples) throw new DicomDecodeError('CODEC_ERROR', `codec returned ${raw.length} samples, expected ${samples}`, file);
    if (raw.length > samples) raw = raw.subarray(0, samples);
    // A codec may return 8-bit samples for BitsAllocated 16 (e.g. an 8-bit JPEG in a 16-bit header): widen.
    if (a.bitsAllocated === 16 && raw instanceof Uint8Array) raw = Uint16Array.from(raw);
  }

  let data: StoredArray;
  let photometric: DecodedImage['photometric'];
  if (a.samplesPerPixel === 1) {
    if (photometricIn !== 'MONOCHROME1' && photometricIn !== 'MONOCHROME2') warnings.push(`PhotometricInterpretation ${photometricIn} with 1 sample: treated as MONOCHROME2`);
    photometric = photometricIn === 'MONOCHROME1' ? 'MONOCHROME1' : 'MONOCHROME2';
    data = storedValues(raw, a.bitsAllocated, a.bitsStored, a.highBit, signed, opts.wordOr);
    if (!codecOwned && !opts.ownsInput && data.buffer === ds.byteArray.buffer) data = data.slice();
  } else {
    let rgb = raw instanceof Uint8Array ? raw : Uint8Array.from(raw);
    const nativeLike = ts.codec === 'native' || ts.codec === 'deflate';
    if (nativeLike && photometricIn === 'YBR_FULL_422') rgb = ybr422ToYbrFull(rgb, a.columns, a.rows);
    else if (nativeLike && a.planarConfiguration === 1) rgb = planarToInterleaved(rgb, pixels, 3);
    if (alreadyRgb && photometricIn !== 'YBR_FULL' && photometricIn !== 'YBR_FULL_422') warnings.push(`PhotometricInterpretation ${photometricIn}: converted to RGB with the full-range YCbCr equations`);
    if (!alreadyRgb && (photometricIn === 'YBR_FULL' || photometricIn === 'YBR_FULL_422')) rgb = ybrFullToRgb(rgb, pixels);
    else if (!alreadyRgb && photometricIn !== 'RGB' && photometricIn !== 'YBR_RCT' && photometricIn !== 'YBR_ICT') warnings.push(`PhotometricInterpretation ${photometricIn}: samples shown as RGB`);
    if (!opts.ownsInput && rgb.buffer === ds.byteArray.buffer) rgb = rgb.slice();
    data = rgb;
    photometric = 'RGB';
  }

  return {
    source: 'dicom',
    width: a.columns, height: a.rows, samplesPerPixel: a.samplesPerPixel,
    photometric, sourcePhotometric: photometricIn,
    bitsAllocated: a.bitsAllocated, bitsStored: a.samplesPerPixel === 1 ? a.bitsStored : 8, isSigned: signed && a.samplesPerPixel === 1,
    data,
    modality: a.samplesPerPixel === 1 ? a.modality : { kind: 'rescale', slope: 1, intercept: 0 },
    voi: a.samplesPerPixel === 1 ? a.voi : { windows: [], function: 'LINEAR', luts: [] },
    frames: a.frames, frameIndex,
    pixelSpacing: a.pixelSpacing, pixelSpacingSource: a.pixelSpacingSource,
    transferSyntaxUID: ts.uid,
    header: opts.noHeader ? undefined : headerSummary(ds),
    warnings,
    decodeMs: now() - t0,
  };
}

/** Header-only read (no pixel decode) for `dicom info` and dataset scans. */
export async function readDicomInfo(bytes: Uint8Array, platform: ImagingPlatform, fileName?: string): Promise<{ parsed: ParsedDicom; attributes: ImageAttributes }> {
  const parsed = await parseDicomBytes(bytes, platform, { fileName });
  return { parsed, attributes: readImageAttributes(parsed.dataSet, fileName) };
}
