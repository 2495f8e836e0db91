/** Messages between the pseudo-labeling pipeline and preprocess.worker.ts (decode + letterbox off the main thread). */
import type { Letterbox } from '../../shared/geometry';
import type { ModelNormalization } from './modelContract';

export interface PrepareRequest {
  file: string;
  size: number;
  normalization: ModelNormalization;
}

export type PrepareReply =
  | { ok: true; data: Float32Array; lb: Letterbox; width: number; height: number; readMs: number; decodeMs: number; prepareMs: number }
  /** `code`: the ImagingError code when decoding failed (a typed error, not a crash). */
  | { ok: false; error: string; code?: string };
