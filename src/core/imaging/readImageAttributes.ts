import type { DataSet, Element } from 'dicom-parser';
import { DicomDecodeError } from './ImagingError';
import type { LookupTable, ModalityLut, VoiFunction, VoiSettings, VoiWindow } from './DecodedImage';

/** The image pixel module and LUT attributes, validated: numbers are finite and mutually consistent. */
export interface ImageAttributes {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  photometricInterpretation: string;
  planarConfiguration: number;
  frames: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  modality: ModalityLut;
  voi: VoiSettings;
  /** Raw (0028,1050)/(0028,1051) with their value multiplicity: a number, an array, or null. */
  windowCenter: number | number[] | null;
  windowWidth: number | number[] | null;
  pixelSpacing: [number, number] | null;
  pixelSpacingSource: 'PixelSpacing' | 'ImagerPixelSpacing' | null;
  warnings: string[];
}

const t = (g: string) => `x${g.toLowerCase()}`;

function safe<T>(f: () => T): T | undefined {
  try { return f(); } catch { return undefined; }
}

function us(ds: DataSet, tag: string): number | undefined {
  const el = ds.elements[t(tag)];
  if (!el || el.length < 2) return undefined;
  return safe(() => ds.uint16(t(tag)));
}

function str(ds: DataSet, tag: string): string | undefined {
  const el = ds.elements[t(tag)];
  if (!el || el.length > 4096) return undefined;
  return safe(() => ds.string(t(tag)));
}

/** All values of a DS/IS element, skipping unparseable ones. */
function decimals(ds: DataSet, tag: string): number[] {
  const el = ds.elements[t(tag)];
  if (!el || el.length === 0 || el.length > 4096) return [];
  const raw = safe(() => ds.string(t(tag))) ?? '';
  // dicom-parser's string() returns only the first value for index undefined? It returns the whole string
  // for no index; split ourselves so multi-valued windows survive.
  const all = (safe(() => {
    const n = ds.numStringValues(t(tag)) ?? 1;
    const vals: number[] = [];
    for (let i = 0; i < n; i++) { const v = ds.floatString(t(tag), i); if (v !== undefined) vals.push(v); }
    return vals;
  }) ?? []).filter((v) => Number.isFinite(v));
  if (all.length === 0 && raw) return raw.split('\\').map(Number).filter((v) => Number.isFinite(v));
  return all;
}

function vm(values: number[]): number | number[] | null {
  return values.length === 0 ? null : values.length === 1 ? values[0]! : values;
}

function readLut(item: DataSet, signedFirst: boolean): LookupTable | undefined {
  const desc = item.elements.x00283002;
  const dataEl = item.elements.x00283006;
  if (!desc || !dataEl || desc.length < 6) return undefined;
  let n = safe(() => item.uint16('x00283002', 0)) ?? 0;
  if (n === 0) n = 65536;
  const firstRaw = safe(() => item.uint16('x00283002', 1)) ?? 0;
  // The descriptor's first-mapped value is US or SS depending on the pixel representation (PS3.3 C.11.1.1).
  const firstMapped = signedFirst && firstRaw >= 32768 ? firstRaw - 65536 : firstRaw;
  const bits = safe(() => item.uint16('x00283002', 2)) ?? 16;
  const explanation = safe(() => item.string('x00283003'));
  const len = dataEl.length;
  const byteArray = item.byteArray;
  if (dataEl.dataOffset + len > byteArray.length) return undefined;
  const data = new Uint16Array(n);
  if (len >= 2 * n) {
    for (let i = 0; i < n; i++) data[i] = item.byteArrayParser.readUint16(byteArray, dataEl.dataOffset + 2 * i);
  } else if (len >= n && bits <= 8) {
    // Some writers store 8-bit entries one per byte.
    for (let i = 0; i < n; i++) data[i] = byteArray[dataEl.dataOffset + i]!;
  } else {
    return undefined;
  }
  return { firstMapped, bits: Math.min(Math.max(bits, 1), 16), data, explanation: explanation || undefined };
}

function firstItem(el: Element | undefined): DataSet | undefined {
  return el?.items?.[0]?.dataSet;
}

export function readImageAttributes(ds: DataSet, file?: string): ImageAttributes {
  const warnings: string[] = [];
  const pixel = ds.elements.x7fe00010 ?? ds.elements.x7fe00008 ?? ds.elements.x7fe00009;
  const rows = us(ds, '00280010');
  const columns = us(ds, '00280011');
  if (!pixel) throw new DicomDecodeError('NO_PIXEL_DATA', 'no Pixel Data (7FE0,0010) element', file);
  if (!rows || !columns) throw new DicomDecodeError('NO_PIXEL_DATA', `missing or zero Rows/Columns (${rows ?? '-'}x${columns ?? '-'})`, file);
  const samplesPerPixel = us(ds, '00280002') ?? 1;
  const bitsAllocated = us(ds, '00280100') ?? 0;
  const bitsStoredRaw = us(ds, '00280101') ?? bitsAllocated;
  const pixelRepresentation = us(ds, '00280103') ?? 0;
  const photometric = (str(ds, '00280004') ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2')).trim().toUpperCase();
  const planarConfiguration = us(ds, '00280006') ?? 0;
  if (![8, 16, 32].includes(bitsAllocated)) throw new DicomDecodeError('UNSUPPORTED_IMAGE', `BitsAllocated ${bitsAllocated} (only 8, 16 and 32 are supported)`, file);
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3) throw new DicomDecodeError('BAD_HEADER', `SamplesPerPixel ${samplesPerPixel}`, file);
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) throw new DicomDecodeError('BAD_HEADER', `PixelRepresentation ${pixelRepresentation}`, file);
  let bitsStored = bitsStoredRaw;
  if (bitsStored < 1 || bitsStored > bitsAllocated) {
    warnings.push(`BitsStored ${bitsStored} invalid for BitsAllocated ${bitsAllocated}: using ${bitsAllocated}`);
    bitsStored = bitsAllocated;
  }
  let highBit = us(ds, '00280102') ?? bitsStored - 1;
  if (highBit < bitsStored - 1 || highBit >= bitsAllocated) { warnings.push(`HighBit ${highBit} inconsistent: using ${bitsStored - 1}`); highBit = bitsStored - 1; }
  const framesRaw = safe(() => ds.intString('x00280008'));
  const frames = framesRaw !== undefined && Number.isFinite(framesRaw) && framesRaw >= 1 ? Math.floor(framesRaw) : 1;

  // Modality LUT: a LUT sequence wins over rescale (PS3.3 C.11.1).
  let slope = decimals(ds, '00281053')[0] ?? 1;
  let intercept = decimals(ds, '00281052')[0] ?? 0;
  if (slope === 0) { warnings.push('RescaleSlope 0 ignored'); slope = 1; }
  if (!Number.isFinite(intercept)) intercept = 0;
  const rescaleType = str(ds, '00281054');
  let modality: ModalityLut = { kind: 'rescale', slope, intercept, type: rescaleType || undefined };
  const mItem = firstItem(ds.elements.x00283000);
  if (mItem) {
    const lut = readLut(mItem, pixelRepresentation === 1);
    if (lut) modality = { kind: 'lut', lut, type: safe(() => mItem.string('x00283004')) || undefined };
    else warnings.push('unreadable Modality LUT Sequence ignored');
  }

  // VOI: windows (possibly several), a function, and/or LUTs.
  const centers = decimals(ds, '00281050');
  const widths = decimals(ds, '00281051');
  const explanations = (str(ds, '00281055') ?? '').split('\\');
  const windows: VoiWindow[] = [];
  for (let i = 0; i < Math.min(centers.length, widths.length); i++) {
    const width = widths[i]!;
    if (!(width >= 1)) { warnings.push(`window ${i} has width ${width} (< 1): ignored`); continue; }
    windows.push({ center: centers[i]!, width, explanation: explanations[i]?.trim() || undefined });
  }
  const fnRaw = (str(ds, '00281056') ?? 'LINEAR').trim().toUpperCase();
  const fn: VoiFunction = fnRaw === 'SIGMOID' || fnRaw === 'LINEAR_EXACT' ? fnRaw : 'LINEAR';
  const luts: LookupTable[] = [];
  for (const item of ds.elements.x00283010?.items ?? []) {
    if (!item.dataSet) continue;
    // VOI LUT input is the modality output; its first-mapped value is signed when that can be negative.
    const lut = readLut(item.dataSet, pixelRepresentation === 1 || (modality.kind === 'rescale' && modality.intercept < 0));
    if (lut) luts.push(lut); else warnings.push('unreadable VOI LUT Sequence item ignored');
  }

  let pixelSpacing: [number, number] | null = null;
  let pixelSpacingSource: ImageAttributes['pixelSpacingSource'] = null;
  for (const [tag, name] of [['00280030', 'PixelSpacing'], ['00181164', 'ImagerPixelSpacing']] as const) {
    const v = decimals(ds, tag);
    if (v.length === 0) continue;
    if (v.length >= 2 && v[0]! > 0 && v[1]! > 0) { pixelSpacing = [v[0]!, v[1]!]; pixelSpacingSource = name; break; }
    warnings.push(`${name} ${v.join('\\')} is invalid (must be two positive numbers): ignored`);
  }

  return {
    rows, columns, samplesPerPixel, bitsAllocated, bitsStored, highBit, pixelRepresentation,
    photometricInterpretation: photometric, planarConfiguration, frames,
    rescaleSlope: slope, rescaleIntercept: intercept, modality,
    voi: { windows, function: fn, luts },
    windowCenter: vm(centers), windowWidth: vm(widths),
    pixelSpacing, pixelSpacingSource, warnings,
  };
}
