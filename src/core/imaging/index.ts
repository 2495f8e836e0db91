/**
 * PointBox imaging core, Node entry (CLI, extension-host worker threads, tests). The browser web worker
 * imports decodeImage.ts with its own platform instead (this file pulls in node:fs and node:zlib).
 */
import { basename } from 'node:path';
import { decodeImage, type DecodeImageOptions } from './decodeImage';
import { nodeImagingPlatform } from './nodeImagingPlatform';
import { DicomDecodeError } from './ImagingError';
import type { DecodedImage } from './DecodedImage';
import { readDicomInfo } from './decodeDicom';
import { readImageFile } from './readImageFile';
import type { WordOrSummary } from './wordOrSummary';

export * from './DecodedImage';
export * from './ImagingError';
export { decodeImage, requirePixelSpacing } from './decodeImage';
export { decodeDicom, readDicomInfo } from './decodeDicom';
export { decodePngBytes, decodeJpegBytes, isPng, isJpeg } from './decodeRaster';
export { toDisplay8, toGreyFloat32, modalityValues, chooseVoi, voiWindow, applyModality, minMax, type DisplayOptions, type VoiChoice } from './greyPipeline';
export { letterbox, resizeGrey, modelToImage, imageToModel, type LetterboxResult } from './letterbox';
export { transferSyntaxInfo, isDecodable, type TransferSyntaxInfo } from './transferSyntax';
export type { HeaderEntry, HeaderSummary } from './headerSummary';
export type { ImageAttributes } from './readImageAttributes';
export { nodeImagingPlatform } from './nodeImagingPlatform';

function readBytes(source: string | Uint8Array, fileName?: string): { bytes: Uint8Array; wordOr?: WordOrSummary } {
  if (typeof source !== 'string') return { bytes: source };
  try {
    return readImageFile(source);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DicomDecodeError('NOT_AN_IMAGE', `cannot read file (${code ?? (e instanceof Error ? e.message : e)})`, fileName ?? source);
  }
}

/**
 * Decode a DICOM/PNG/JPEG file (path or bytes) in this thread (batches: the inference preprocess worker on WorkerPool). A path is read
 * synchronously (readImageFile.ts): this runs in worker threads and the CLI, not on the extension host's
 * main thread.
 */
export async function decodeImageFile(source: string | Uint8Array, opts: DecodeImageOptions = {}): Promise<DecodedImage> {
  const fileName = opts.fileName ?? (typeof source === 'string' ? basename(source) : undefined);
  const { bytes, wordOr } = readBytes(source, fileName);
  return decodeImage(bytes, nodeImagingPlatform, { ...opts, fileName, wordOr, ownsInput: opts.ownsInput ?? typeof source === 'string' });
}

/** Header-only DICOM read (no pixel decode). */
export async function readDicomFileInfo(source: string | Uint8Array, fileName?: string) {
  const name = fileName ?? (typeof source === 'string' ? basename(source) : undefined);
  return readDicomInfo(readBytes(source, name).bytes, nodeImagingPlatform, name);
}
