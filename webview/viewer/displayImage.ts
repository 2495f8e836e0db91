/**
 * Window/level for the viewer. The full-precision stored values stay in the webview (the DecodedImage
 * from the worker); the 8-bit display image comes from the core grey pipeline (toDisplay8: Modality LUT,
 * VOI window or VOI LUT, MONOCHROME1 inversion), recomputed only when the window or inversion changes.
 * Pan and zoom only redraw this cached bitmap with a transform. For grey images up to 16 bits the
 * pipeline runs once per stored value (displayLut.ts) and the pixels go through that table straight into
 * RGBA.
 */
import type { DecodedImage } from '../../src/core/imaging/DecodedImage';
import { toDisplay8, type DisplayOptions } from '../../src/core/imaging/greyPipeline';
import type { ViewerVoi } from './voiPresets';
import { displayLut, mapToRgba } from './displayLut';

/** Palette from grey levels to opaque RGBA words (little-endian ABGR), so expansion is one lookup per pixel. */
const GREY_RGBA = (() => {
  const t = new Uint32Array(256);
  for (let g = 0; g < 256; g++) t[g] = (0xff000000 | (g << 16) | (g << 8) | g) >>> 0;
  return t;
})();

/**
 * Renders the display image into `target` (an offscreen canvas of the image's size). `invert` is the
 * user's toggle, relative to the file's own presentation (a MONOCHROME1 image is already inverted by the
 * pipeline; inverting it again shows it as stored).
 */
export function renderDisplay(img: DecodedImage, voi: ViewerVoi, invert: boolean, target: HTMLCanvasElement): void {
  const { width, height } = img;
  const opts: DisplayOptions = { invert: invert !== (img.photometric === 'MONOCHROME1') };
  if (voi.kind === 'window') opts.window = { center: voi.center, width: voi.width };
  else { opts.preferVoiLut = true; opts.voiIndex = voi.index; }
  if (target.width !== width) target.width = width;
  if (target.height !== height) target.height = height;
  const ctx = target.getContext('2d')!;
  // One ImageData per canvas, reused across W/L changes: a 2.5k x 3k frame is 30 MB of RGBA.
  let out = imageDataOf.get(target);
  if (!out || out.width !== width || out.height !== height) { out = ctx.createImageData(width, height); imageDataOf.set(target, out); }
  const o32 = new Uint32Array(out.data.buffer);
  const n = width * height;
  const lut = displayLut(img, opts);
  if (lut) mapToRgba(img.data, lut, o32);
  else {
    const d8 = toDisplay8(img, opts);
    if (img.samplesPerPixel === 1) {
      for (let i = 0; i < n; i++) o32[i] = GREY_RGBA[d8[i]!]!;
    } else {
      // Colour (RGB) images: toDisplay8 passes them through; the invert toggle applies here.
      const x = invert ? 255 : 0;
      for (let i = 0, j = 0; i < n; i++, j += 3) o32[i] = (0xff000000 | ((d8[j + 2]! ^ x) << 16) | ((d8[j + 1]! ^ x) << 8) | (d8[j]! ^ x)) >>> 0;
    }
  }
  ctx.putImageData(out, 0, 0);
}

const imageDataOf = new WeakMap<HTMLCanvasElement, ImageData>();
