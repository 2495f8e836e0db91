import { decode as decodePng, convertIndexedToRgb } from 'fast-png';
import * as jpegJs from 'jpeg-js';
import { RasterDecodeError } from './ImagingError';
import type { ImagingPlatform } from './ImagingPlatform';
import type { DecodedImage, StoredArray } from './DecodedImage';

export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}
export function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function now(): number { return typeof performance !== 'undefined' ? performance.now() : Date.now(); }

function baseImage(source: 'png' | 'jpeg', width: number, height: number, spp: 1 | 3, data: StoredArray, bits: number, t0: number): DecodedImage {
  return {
    source, width, height, samplesPerPixel: spp,
    photometric: spp === 1 ? 'MONOCHROME2' : 'RGB', sourcePhotometric: spp === 1 ? 'MONOCHROME2' : 'RGB',
    bitsAllocated: bits > 8 ? 16 : 8, bitsStored: bits, isSigned: false, data,
    modality: { kind: 'rescale', slope: 1, intercept: 0 },
    voi: { windows: [], function: 'LINEAR', luts: [] },
    frames: 1, frameIndex: 0, pixelSpacing: null, pixelSpacingSource: null, warnings: [], decodeMs: now() - t0,
  };
}

/** Drop alpha (the NIH release has RGBA PNGs whose alpha is constant) and keep the colour channels. */
function dropChannel(src: ArrayLike<number>, pixels: number, from: number, to: number, bits: number): StoredArray {
  const out = bits > 8 ? new Uint16Array(pixels * to) : new Uint8Array(pixels * to);
  for (let i = 0; i < pixels; i++) for (let c = 0; c < to; c++) out[i * to + c] = src[i * from + c]!;
  return out;
}

/** PNG: 1-16 bit grey, grey+alpha, RGB, RGBA, palette. 16-bit grey keeps all 16 bits. */
export function decodePngBytes(bytes: Uint8Array, fileName?: string, maxSamples = 100_000_000): DecodedImage {
  const t0 = now();
  let png: ReturnType<typeof decodePng>;
  try {
    png = decodePng(bytes);
  } catch (e) {
    throw new RasterDecodeError('CODEC_ERROR', `PNG decode failed: ${e instanceof Error ? e.message : String(e)}`, fileName);
  }
  const { width, height } = png;
  const pixels = width * height;
  if (!width || !height) throw new RasterDecodeError('BAD_HEADER', 'PNG with zero size', fileName);
  if (pixels * png.channels > maxSamples) throw new RasterDecodeError('TOO_LARGE', `${width}x${height} PNG exceeds the sample limit`, fileName);
  const bits = png.depth;
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    const ch = rgb.length / pixels;
    return baseImage('png', width, height, 3, ch === 3 ? Uint8Array.from(rgb) : dropChannel(rgb, pixels, ch, 3, 8), 8, t0);
  }
  const data = png.data;
  if (data.length < pixels * png.channels) throw new RasterDecodeError('TRUNCATED', `PNG data holds ${data.length} samples, expected ${pixels * png.channels}`, fileName);
  const typed = (arr: ArrayLike<number>): StoredArray => (bits > 8 ? (arr instanceof Uint16Array ? arr : Uint16Array.from(arr)) : (arr instanceof Uint8Array ? arr : Uint8Array.from(arr)));
  switch (png.channels) {
    case 1: return baseImage('png', width, height, 1, typed(data), bits, t0);
    case 2: return baseImage('png', width, height, 1, dropChannel(data, pixels, 2, 1, bits), bits, t0);
    case 3: return baseImage('png', width, height, 3, typed(data), bits, t0);
    case 4: return baseImage('png', width, height, 3, dropChannel(data, pixels, 4, 3, bits), bits, t0);
    default: throw new RasterDecodeError('UNSUPPORTED_IMAGE', `PNG with ${png.channels} channels`, fileName);
  }
}

/** JPEG files (not DICOM-encapsulated): libjpeg-turbo (WASM), falling back to jpeg-js for streams it rejects. */
export async function decodeJpegBytes(bytes: Uint8Array, platform: ImagingPlatform, fileName?: string, maxSamples = 100_000_000): Promise<DecodedImage> {
  const t0 = now();
  try {
    const mod = await platform.loadCodec('libjpegturbo');
    if (!mod.JPEGDecoder) throw new Error('no JPEGDecoder');
    const dec = new mod.JPEGDecoder();
    try {
      dec.getEncodedBuffer(bytes.length).set(bytes);
      dec.decode();
      const info = dec.getFrameInfo();
      if (info.width * info.height * info.componentCount > maxSamples) throw new RasterDecodeError('TOO_LARGE', 'JPEG exceeds the sample limit', fileName);
      const data = dec.getDecodedBuffer().slice();
      if (info.componentCount === 1) return baseImage('jpeg', info.width, info.height, 1, data, 8, t0);
      if (info.componentCount === 3) return baseImage('jpeg', info.width, info.height, 3, data, 8, t0);
    } finally { try { dec.delete(); } catch {} }
  } catch (e) {
    if (e instanceof RasterDecodeError) throw e;
  }
  try {
    const j = jpegJs.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: maxSamples / 3e6 * 3, maxMemoryUsageInMB: 1024 });
    const pixels = j.width * j.height;
    const rgb = j.data;
    let grey = true;
    for (let i = 0; i < pixels && grey; i += 97) grey = rgb[3 * i] === rgb[3 * i + 1] && rgb[3 * i] === rgb[3 * i + 2];
    if (grey) return baseImage('jpeg', j.width, j.height, 1, dropChannel(rgb, pixels, 3, 1, 8), 8, t0);
    return baseImage('jpeg', j.width, j.height, 3, Uint8Array.from(rgb), 8, t0);
  } catch (e) {
    throw new RasterDecodeError('CODEC_ERROR', `JPEG decode failed: ${e instanceof Error ? e.message : String(e)}`, fileName);
  }
}
