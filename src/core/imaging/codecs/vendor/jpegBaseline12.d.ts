/** pdf.js-derived baseline/extended DCT decoder that keeps 12-bit precision (getData16). */
export class JpegImage {
  width: number;
  height: number;
  components: unknown[];
  parse(data: Uint8Array): void;
  getData(width: number, height: number): Uint8Array;
  getData16(width: number, height: number): Uint16Array;
}
