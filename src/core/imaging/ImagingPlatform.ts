/**
 * What the imaging core needs from its host environment. The core itself runs unchanged in Node worker
 * threads, the CLI and a browser web worker; only these few capabilities differ (zlib vs
 * DecompressionStream, reading .wasm from disk vs fetching it, and how the Emscripten codec glue is
 * imported: the npm glue references 'fs'/'path' and cannot be bundled for the browser as is).
 */
export type CodecModuleName = 'openjpeg' | 'charls' | 'libjpegturbo' | 'openjph';

/** The part of an Emscripten/embind codec module we use (cornerstone codec packages). */
export interface EmscriptenCodecModule {
  J2KDecoder?: new () => EmbindDecoder;
  JpegLSDecoder?: new () => EmbindDecoder;
  JPEGDecoder?: new () => EmbindDecoder;
  HTJ2KDecoder?: new () => EmbindDecoder;
}

export interface CodecFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

export interface EmbindDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  getInterleaveMode?(): number;
  getNearLossless?(): number;
  delete(): void;
}

/** A JPEG 2000 frame decoded by a platform's own codec (see ImagingPlatform.decodeJ2kMultithreaded). */
export interface J2kPlatformFrame {
  /** Pixel-interleaved samples in host order, in a buffer of their own. */
  data: Uint8Array | Uint16Array | Int16Array;
  width: number;
  height: number;
  components: number;
  bitsPerSample: number;
  signed: boolean;
}

export interface ImagingPlatform {
  /** Inflate raw DEFLATE data; must throw (or reject) when the output would exceed maxOutputBytes. */
  inflateRaw(data: Uint8Array, maxOutputBytes: number): Promise<Uint8Array>;
  /**
   * Synchronous zlib (RFC 1950) inflate where the platform has a native one (Node); lets PNGs skip fast-png's
   * JavaScript inflate. Must throw when the output would exceed maxOutputBytes.
   */
  inflateZlibSync?(data: Uint8Array, maxOutputBytes: number): Uint8Array;
  /** Instantiated codec module; implementations cache it (one instance per thread). */
  loadCodec(name: CodecModuleName): Promise<EmscriptenCodecModule>;
  /** Forget a codec instance (after a WASM abort/trap its memory state is unusable); the next load re-instantiates. */
  resetCodec?(name: CodecModuleName): void;
  /**
   * Optional faster JPEG 2000 decoder (Node: OpenJPEG built with WASM threads; the browser webview is not
   * cross-origin isolated, so it has none). Resolves null when it does not handle this frame or cannot run
   * here: the caller then decodes with the 'openjpeg' codec module. Rejects with DicomDecodeError for a bad
   * codestream.
   */
  decodeJ2kMultithreaded?(frame: Uint8Array, file?: string): Promise<J2kPlatformFrame | null>;
}
