/** Messages between DetectorModelWorker (caller thread) and detector.worker.ts (where onnxruntime runs the detector). */
import type { DevicePreference } from './executionProviders';
import type { DetectorModelInfo } from './detectorContract';
import type { InferenceErrorCode } from './InferenceError';
import type { FileDetections } from './DetectorModel';

export type DetectorRequest =
  | { id: number; type: 'load'; file: string; device: DevicePreference; threads?: number }
  | { id: number; type: 'detectFile'; file: string }
  | { id: number; type: 'dispose' };

export type DetectorReply =
  | { id: number; ok: true; type: 'loaded'; info: DetectorModelInfo; executionProvider: DevicePreference; skipped: { ep: DevicePreference; reason: string }[]; attempts: { ep: DevicePreference; error?: string }[] }
  | { id: number; ok: true; type: 'detected'; result: FileDetections }
  | { id: number; ok: true; type: 'disposed' }
  | { id: number; ok: false; error: string; code?: InferenceErrorCode | string; file?: string };
