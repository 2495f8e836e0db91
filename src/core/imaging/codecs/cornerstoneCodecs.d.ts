// The cornerstone codec packages ship Emscripten glue without type declarations.
declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (moduleArg?: Record<string, unknown>) => Promise<unknown>;
  export default factory;
}
declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (moduleArg?: Record<string, unknown>) => Promise<unknown>;
  export default factory;
}
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (moduleArg?: Record<string, unknown>) => Promise<unknown>;
  export default factory;
}
declare module '@cornerstonejs/codec-openjph/wasmjs' {
  const factory: (moduleArg?: Record<string, unknown>) => Promise<unknown>;
  export default factory;
}
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    decode(buffer: ArrayBufferLike, offset?: number, length?: number, numBytes?: number): Uint8Array | Uint16Array;
    // What losslessJpegDecoder.ts overrides or reads (public in the package's TypeScript source).
    stream: unknown;
    marker: number;
    markerIndex: number;
    getHuffmanValue(table: number[], temp: number[], index: number[]): number;
    getn(pred: number[], n: number, temp: number[], index: number[]): number;
    select7(compOffset?: number): number;
    getPreviousX(compOffset?: number): number;
    getPreviousY(compOffset?: number): number;
  }
}
