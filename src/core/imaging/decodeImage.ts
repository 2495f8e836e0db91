import { DicomDecodeError, ImagingError } from './ImagingError';
import type { ImagingPlatform } from './ImagingPlatform';
import type { DecodedImage } from './DecodedImage';
import { decodeDicom, type DicomDecodeOptions } from './decodeDicom';
import { decodeJpegBytes, decodePngBytes, isJpeg, isPng } from './decodeRaster';
import { decodePngFast } from './decodePngFast';

export type DecodeImageOptions = DicomDecodeOptions;

/**
 * Platform-neutral entry: sniff the bytes (PNG, JPEG, else DICOM) and decode one frame. Used as is by the
 * browser web worker; Node callers use decodeImageFile in index.ts.
 */
export async function decodeImage(bytes: Uint8Array, platform: ImagingPlatform, opts: DecodeImageOptions = {}): Promise<DecodedImage> {
  try {
    if (isPng(bytes)) {
      const inflate = platform.inflateZlibSync;
      const fast = inflate ? decodePngFast(bytes, (d, max) => inflate(d, max), opts.fileName, opts.maxSamples) : undefined;
      return fast ?? decodePngBytes(bytes, opts.fileName, opts.maxSamples);
    }
    if (isJpeg(bytes)) return await decodeJpegBytes(bytes, platform, opts.fileName, opts.maxSamples);
    return await decodeDicom(bytes, platform, opts);
  } catch (e) {
    if (e instanceof ImagingError) throw e;
    // A bug or an unexpected codec exception must still surface as a typed error naming the file.
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new DicomDecodeError(e instanceof RangeError ? 'TOO_LARGE' : 'CODEC_ERROR', `unexpected failure: ${msg}`, opts.fileName);
  }
}

/** Pixel spacing for measurements; throws when the file has none or an invalid one (e.g. RG1's 0\0). */
export function requirePixelSpacing(img: DecodedImage, fileName?: string): [number, number] {
  if (!img.pixelSpacing) throw new DicomDecodeError('BAD_HEADER', 'no valid pixel spacing (absent or zero)', fileName);
  return img.pixelSpacing;
}
