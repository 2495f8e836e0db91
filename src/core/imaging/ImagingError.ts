/**
 * Typed errors of the imaging core. Callers (CLI, worker pool, extension) branch on `code`, never on
 * message text, and every error names the file so a batch report can say which input was bad.
 */
export type ImagingErrorCode =
  | 'NOT_DICOM'          // no DICM prefix and nothing that looks like a DICOM data set
  | 'NOT_AN_IMAGE'       // neither DICOM, PNG nor JPEG
  | 'TRUNCATED'          // the file ends before an element / the pixel data it declares
  | 'BAD_HEADER'         // unparseable or inconsistent header (bad VR, impossible lengths, ...)
  | 'NO_PIXEL_DATA'      // a DICOM without (7FE0,0010) or without the image attributes to read it
  | 'UNSUPPORTED_SYNTAX' // transfer syntax we have no codec for (the message names it)
  | 'UNSUPPORTED_IMAGE'  // photometric / bit depth combination we do not handle
  | 'BAD_FRAME'          // frame index out of range
  | 'CODEC_ERROR'        // a codec rejected the stream or returned something inconsistent with the header
  | 'TOO_LARGE'          // over the configured pixel / byte limits (guards memory against lying headers)
  | 'TIMEOUT'            // a worker task ran past its deadline
  | 'ABORTED'            // cancelled through an AbortSignal
  | 'WORKER_FAILED';     // a pool worker died

export class ImagingError extends Error {
  override name = 'ImagingError';
  constructor(readonly code: ImagingErrorCode, message: string, readonly file?: string) {
    super(file ? `${file}: ${message}` : message);
  }
}

/** Anything that goes wrong reading a DICOM file. */
export class DicomDecodeError extends ImagingError {
  override name = 'DicomDecodeError';
}

/** Anything that goes wrong reading a PNG or JPEG file. */
export class RasterDecodeError extends ImagingError {
  override name = 'RasterDecodeError';
}

/** Serializable form, so errors survive postMessage between threads with their code intact. */
export interface ImagingErrorData { name: string; code: ImagingErrorCode; message: string; file?: string }

export function imagingErrorToData(e: unknown, file?: string): ImagingErrorData {
  if (e instanceof ImagingError) return { name: e.name, code: e.code, message: e.message, file: e.file ?? file };
  const msg = e instanceof Error ? e.message : String(e);
  return { name: 'DicomDecodeError', code: 'CODEC_ERROR', message: file ? `${file}: ${msg}` : msg, file };
}

export function imagingErrorFromData(d: ImagingErrorData): ImagingError {
  const Ctor = d.name === 'RasterDecodeError' ? RasterDecodeError : d.name === 'DicomDecodeError' ? DicomDecodeError : ImagingError;
  const e = new Ctor(d.code, '', d.file);
  e.message = d.message; // already carries the file prefix
  return e;
}
