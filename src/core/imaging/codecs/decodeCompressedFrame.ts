// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- the webview tsconfig must see these ambient codec declarations too
/// <reference path="./cornerstoneCodecs.d.ts" />
import { JpegImage } from './vendor/jpegBaseline12.js';
import { DicomDecodeError } from '../ImagingError';
import type { CodecModuleName, EmbindDecoder, ImagingPlatform } from '../ImagingPlatform';
import type { TransferSyntaxInfo } from '../transferSyntax';
import { decodeRle } from './decodeRle';
import { planarToInterleaved } from '../colour';
import { readCodestreamHeader } from './jpegFrameHeader';
import { decodeLosslessJpeg } from './losslessJpegDecoder';
import { jpegHoldsYcbcr, withJpegColourTransform } from './jpegColourTransform';

/** What the DICOM header says the frame should be; codec output is checked against it. */
export interface FrameGeometry {
  width: number; height: number; samplesPerPixel: number; bitsAllocated: number; bitsStored: number; signed: boolean;
  /** PhotometricInterpretation: decides the colour transform of 3-component DCT JPEG (jpegColourTransform.ts). */
  photometric?: string;
}

/** Decoded samples, pixel-interleaved, in host (little-endian) order. */
export interface CodecOutput {
  data: Uint8Array | Uint16Array | Int16Array;
  /**
   * true when the codec already turned YCbCr into RGB (libjpeg-turbo does for 3-component JPEG). JPEG 2000
   * says false: OpenJPEG/OpenJPH undo the RCT/ICT (YBR_RCT/YBR_ICT come out as RGB), but a YBR_FULL
   * J2K stream without a component transform still needs converting.
   */
  rgb: boolean;
}

function bytesToSamples(bytes: Uint8Array, bitsAllocated: number, signed: boolean): Uint8Array | Uint16Array | Int16Array {
  if (bitsAllocated <= 8) return bytes;
  // bytes is a fresh copy (offset 0), so the 16-bit view is aligned.
  return signed ? new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1) : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
}


async function runEmbind(platform: ImagingPlatform, module: CodecModuleName, cls: 'J2KDecoder' | 'JpegLSDecoder' | 'JPEGDecoder' | 'HTJ2KDecoder', frame: Uint8Array, file?: string) {
  const mod = await platform.loadCodec(module);
  const Ctor = mod[cls];
  if (!Ctor) throw new DicomDecodeError('CODEC_ERROR', `codec module ${module} has no ${cls}`, file);
  const dec: EmbindDecoder = new Ctor();
  try {
    dec.getEncodedBuffer(frame.length).set(frame);
    dec.decode();
    const info = dec.getFrameInfo();
    // The decoded buffer is a view into WASM memory that the next decode reuses: copy it out.
    const bytes = dec.getDecodedBuffer().slice();
    const interleave = dec.getInterleaveMode ? dec.getInterleaveMode() : 2;
    return { info, bytes, interleave };
  } catch (e) {
    if (e instanceof DicomDecodeError) throw e;
    // A trap or abort (not a C++ exception, which arrives as a number) leaves the module's memory in an
    // unknown state: drop it so the next file gets a fresh instance.
    if (typeof e !== 'number') platform.resetCodec?.(module);
    const msg = typeof e === 'number' ? `WASM exception ${e}` : e instanceof Error ? e.message : String(e);
    throw new DicomDecodeError('CODEC_ERROR', `${module} failed: ${msg}`, file);
  } finally {
    try { dec.delete(); } catch {}
  }
}

function checkDims(g: FrameGeometry, w: number, h: number, c: number, what: string, file?: string) {
  if (w !== g.width || h !== g.height || c !== g.samplesPerPixel) {
    throw new DicomDecodeError('CODEC_ERROR', `${what} codestream is ${w}x${h}x${c} but the header says ${g.width}x${g.height}x${g.samplesPerPixel}`, file);
  }
}

/** A copy of a J2K codestream whose SIZ marks every component unsigned (Ssiz bit 7 cleared). */
function j2kMarkedUnsigned(frame: Uint8Array, sizOffset: number, components: number): Uint8Array {
  const out = frame.slice();
  // SIZ: FF51 Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz, then Ssiz XRsiz YRsiz per component.
  for (let c = 0; c < components; c++) { const p = sizOffset + 40 + 3 * c; if (p < out.length) out[p] = out[p]! & 0x7f; }
  return out;
}

export async function decodeCompressedFrame(ts: TransferSyntaxInfo, frame: Uint8Array, g: FrameGeometry, platform: ImagingPlatform, file?: string): Promise<CodecOutput> {
  const pixels = g.width * g.height;
  if (ts.codec === 'rle') {
    const bytes = decodeRle(frame, g.width, g.height, g.samplesPerPixel, g.bitsAllocated, file);
    return { data: bytesToSamples(bytes, g.bitsAllocated, g.signed), rgb: false };
  }
  // Check the codestream's own dimensions first: a stream claiming 60000x60000 must not reach the codec.
  const hdr = readCodestreamHeader(frame);
  if (!hdr) throw new DicomDecodeError('CODEC_ERROR', `no ${ts.name} codestream header found in the frame`, file);
  checkDims(g, hdr.width, hdr.height, hdr.components, ts.name, file);
  if (hdr.precision > g.bitsAllocated) throw new DicomDecodeError('CODEC_ERROR', `${ts.name} codestream has ${hdr.precision}-bit samples but BitsAllocated is ${g.bitsAllocated}`, file);
  switch (ts.codec) {
    case 'jpeg-baseline':
    case 'jpeg-extended': {
      if (hdr.kind !== 'jpeg') throw new DicomDecodeError('CODEC_ERROR', `expected a JPEG stream for ${ts.name}`, file);
      // DCT JPEG has 8- or 12-bit samples (ISO 10918-1). GDCM writes 16-bit "lossy JPEG" for 16-bit data; dcmtk
      // refuses it ("Unsupported JPEG data precision 16") and so does PointBox, rather than guess its IDCT.
      if (hdr.precision !== 8 && hdr.precision !== 12) throw new DicomDecodeError('UNSUPPORTED_IMAGE', `${ts.name} with ${hdr.precision}-bit samples is outside the JPEG standard (8 or 12 bits)`, file);
      if (hdr.precision > 8) {
        // libjpeg-turbo in WASM is 8-bit only; 12-bit DCT (process 4) goes to the pdf.js-derived decoder.
        if (g.samplesPerPixel !== 1) throw new DicomDecodeError('UNSUPPORTED_IMAGE', `12-bit colour JPEG is not supported`, file);
        try {
          const j = new JpegImage();
          j.parse(frame);
          const d = j.getData16(g.width, g.height);
          return { data: g.signed ? new Int16Array(d.buffer, d.byteOffset, d.length) : d, rgb: false };
        } catch (e) {
          throw new DicomDecodeError('CODEC_ERROR', `12-bit JPEG decode failed: ${e instanceof Error ? e.message : String(e)}`, file);
        }
      }
      // Colour: the transform PhotometricInterpretation names, not libjpeg's guess from markers and ids.
      const ycc = hdr.components === 3 && jpegHoldsYcbcr(g.photometric ?? 'RGB');
      const stream = hdr.components === 3 ? withJpegColourTransform(frame, ycc) : frame;
      const r = await runEmbind(platform, 'libjpegturbo', 'JPEGDecoder', stream, file);
      checkDims(g, r.info.width, r.info.height, r.info.componentCount, ts.name, file);
      return { data: r.bytes, rgb: ycc };
    }
    case 'jpeg-lossless': {
      if (hdr.kind !== 'jpeg' || (hdr.sof !== 0xc3 && hdr.sof !== 0xc7)) throw new DicomDecodeError('CODEC_ERROR', `expected a lossless (SOF3) JPEG stream for ${ts.name}`, file);
      let out: Uint8Array | Uint16Array;
      try {
        out = decodeLosslessJpeg(frame, g.bitsAllocated > 8 ? 2 : 1);
      } catch (e) {
        throw new DicomDecodeError('CODEC_ERROR', `JPEG lossless decode failed: ${e instanceof Error ? e.message : String(e)}`, file);
      }
      if (out.length !== pixels * g.samplesPerPixel) throw new DicomDecodeError('CODEC_ERROR', `JPEG lossless produced ${out.length} samples, expected ${pixels * g.samplesPerPixel}`, file);
      if (g.bitsAllocated > 8 && g.signed && out instanceof Uint16Array) return { data: new Int16Array(out.buffer, out.byteOffset, out.length), rgb: false };
      return { data: out, rgb: false };
    }
    case 'jpeg-ls': {
      if (hdr.kind !== 'jpeg-ls') throw new DicomDecodeError('CODEC_ERROR', `expected a JPEG-LS (SOF55) stream for ${ts.name}`, file);
      const r = await runEmbind(platform, 'charls', 'JpegLSDecoder', frame, file);
      checkDims(g, r.info.width, r.info.height, r.info.componentCount, ts.name, file);
      let data = bytesToSamples(r.bytes, r.info.bitsPerSample > 8 ? 16 : 8, g.signed);
      if (r.info.componentCount > 1 && r.interleave === 0) data = planarToInterleaved(data, pixels, r.info.componentCount);
      return { data, rgb: false };
    }
    case 'jpeg2000': {
      if (hdr.kind !== 'j2k') throw new DicomDecodeError('CODEC_ERROR', `expected a JPEG 2000 codestream for ${ts.name}`, file);
      // Node: the multithreaded OpenJPEG build, same samples as below; null -> the cornerstone codec.
      const mt = platform.decodeJ2kMultithreaded ? await platform.decodeJ2kMultithreaded(frame, file) : null;
      if (mt) {
        checkDims(g, mt.width, mt.height, mt.components, ts.name, file);
        return { data: mt.data, rgb: false };
      }
      // @cornerstonejs/codec-openjpeg clamps signed samples of 8 bits or fewer to 0..255 (negatives become
      // 0). OpenJPEG's signed and unsigned decodes differ only by the final DC level shift of 2^(P-1), with
      // no clamping inside the range: so decode the stream marked unsigned and take 2^(P-1) off again.
      const signed8 = hdr.signed === true && hdr.precision <= 8;
      const r = await runEmbind(platform, 'openjpeg', 'J2KDecoder', signed8 ? j2kMarkedUnsigned(frame, hdr.sizOffset!, hdr.components) : frame, file);
      checkDims(g, r.info.width, r.info.height, r.info.componentCount, ts.name, file);
      if (signed8) {
        const shift = 1 << (hdr.precision - 1);
        const out = r.bytes;
        for (let i = 0; i < out.length; i++) out[i] = (out[i]! - shift) & 0xff; // two's complement in 8 bits
        return { data: out, rgb: false };
      }
      const signed = r.info.isSigned === true;
      const data = bytesToSamples(r.bytes, r.info.bitsPerSample > 8 ? 16 : 8, signed);
      return { data, rgb: false };
    }
    case 'htj2k': {
      if (hdr.kind !== 'j2k') throw new DicomDecodeError('CODEC_ERROR', `expected a JPEG 2000 (HTJ2K) codestream for ${ts.name}`, file);
      const r = await runEmbind(platform, 'openjph', 'HTJ2KDecoder', frame, file);
      checkDims(g, r.info.width, r.info.height, r.info.componentCount, ts.name, file);
      const data = bytesToSamples(r.bytes, r.info.bitsPerSample > 8 ? 16 : 8, r.info.isSigned === true);
      return { data, rgb: false };
    }
    default:
      throw new DicomDecodeError('UNSUPPORTED_SYNTAX', `no decoder for transfer syntax ${ts.name} (${ts.uid})`, file);
  }
}
