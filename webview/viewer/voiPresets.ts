/**
 * The viewer's window/level presets and VOI state, from the core grey pipeline's own choice (chooseVoi):
 * no DOM here, so it is unit-tested in plain Node (test/unit/viewer).
 */
import type { DecodedImage } from '../../src/core/imaging/DecodedImage';
import { chooseVoi } from '../../src/core/imaging/greyPipeline';

/** The VOI the viewer applies: an explicit window (presets and drags) or one of the file's VOI LUTs. */
export type ViewerVoi =
  | { kind: 'window'; center: number; width: number }
  | { kind: 'lut'; index: number };

export interface VoiPreset { label: string; voi: ViewerVoi }

/** The file's own windows and VOI LUTs, then the full range of the values present. */
export function voiPresets(img: DecodedImage): VoiPreset[] {
  if (img.samplesPerPixel !== 1) return [];
  const out: VoiPreset[] = [];
  img.voi.windows.forEach((w, i) => out.push({ label: `File ${i + 1}: W ${fmt(w.width)} L ${fmt(w.center)}${w.explanation ? ` (${w.explanation})` : ''}`, voi: { kind: 'window', center: w.center, width: w.width } }));
  img.voi.luts.forEach((l, i) => out.push({ label: `File VOI LUT ${i + 1}${l.explanation ? ` (${l.explanation})` : ''}`, voi: { kind: 'lut', index: i } }));
  out.push({ label: 'Full range', voi: fullRange(img) });
  return out;
}

/** What the file asks for by default (chooseVoi with no options), as a viewer VOI. */
export function defaultVoi(img: DecodedImage): ViewerVoi {
  const v = chooseVoi(img);
  if (v.kind === 'lut') return { kind: 'lut', index: Math.max(0, img.voi.luts.indexOf(v.lut)) };
  return { kind: 'window', center: v.center, width: v.width };
}

/** The modality-value range present in the image: chooseVoi's own min-max fallback, asked for directly. */
export function fullRange(img: DecodedImage): ViewerVoi & { kind: 'window' } {
  const v = chooseVoi({ ...img, voi: { windows: [], luts: [], function: 'LINEAR' } });
  const w = v.kind === 'window' ? v : { center: 128, width: 256 };
  return { kind: 'window', center: w.center, width: w.width };
}

/** The window a drag starts from: the current window, or the full range when a VOI LUT is shown. */
export function windowOf(img: DecodedImage, voi: ViewerVoi): { center: number; width: number } {
  const w = voi.kind === 'window' ? voi : fullRange(img);
  return { center: w.center, width: w.width };
}

export function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(Math.abs(x) >= 100 ? 0 : 2);
}
