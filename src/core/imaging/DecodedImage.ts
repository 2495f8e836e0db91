/**
 * The one image type every decoder (DICOM, PNG, JPEG) produces and every consumer (viewer, CLI,
 * inference preprocessing) reads. Plain typed arrays + numbers only, so it crosses postMessage with its
 * pixel buffer transferred, never copied or turned into JSON.
 */
import type { HeaderSummary } from './headerSummary';

/** Stored pixel values: the narrowest array that holds them (after BitsStored masking / sign extension). */
export type StoredArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

export interface LookupTable {
  /** First stored (or modality) value mapped by entry 0; values below/above clamp to the first/last entry. */
  firstMapped: number;
  /** Bits per entry from the LUT descriptor (output range 0 .. 2^bits-1). */
  bits: number;
  data: Uint16Array | Int16Array;
  explanation?: string;
}

export type ModalityLut =
  | { kind: 'rescale'; slope: number; intercept: number; type?: string }
  | { kind: 'lut'; lut: LookupTable; type?: string };

export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

export interface VoiWindow { center: number; width: number; explanation?: string }

export interface VoiSettings {
  windows: VoiWindow[];
  function: VoiFunction;
  luts: LookupTable[];
}

export interface DecodedImage {
  source: 'dicom' | 'png' | 'jpeg';
  width: number;
  height: number;
  /** 1 (grey) or 3 (colour, interleaved RGB). Alpha is dropped; YBR is converted to RGB. */
  samplesPerPixel: number;
  /** MONOCHROME1, MONOCHROME2 or RGB: the interpretation of `data` (after any YBR->RGB conversion). */
  photometric: 'MONOCHROME1' | 'MONOCHROME2' | 'RGB';
  /** The file's own Photometric Interpretation (e.g. YBR_FULL_422), for display in the header panel. */
  sourcePhotometric: string;
  bitsAllocated: number;
  bitsStored: number;
  isSigned: boolean;
  data: StoredArray;
  modality: ModalityLut;
  voi: VoiSettings;
  frames: number;
  frameIndex: number;
  /** [row spacing, column spacing] in mm, or null when absent or invalid (e.g. 0\0). */
  pixelSpacing: [number, number] | null;
  pixelSpacingSource: 'PixelSpacing' | 'ImagerPixelSpacing' | null;
  transferSyntaxUID?: string;
  header?: HeaderSummary;
  /** Non-fatal oddities (guessed transfer syntax, invalid spacing, ...). */
  warnings: string[];
  decodeMs: number;
}
