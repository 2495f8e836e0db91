/** Messages between PointBoxModelWorker (caller thread) and inference.worker.ts (where onnxruntime runs). */
import type { DevicePreference } from './executionProviders';
import type { PointBoxModelInfo } from './modelContract';
import type { InferenceErrorCode } from './InferenceError';
import type { ModelBatch, ModelOutput } from './PointToBoxModel';

export type InferenceRequest =
  | { id: number; type: 'load'; file: string; device: DevicePreference; threads?: number; spinning?: boolean }
  | { id: number; type: 'run'; batch: ModelBatch }
  | { id: number; type: 'dispose' };

export type InferenceReply =
  | { id: number; ok: true; type: 'loaded'; info: PointBoxModelInfo; executionProvider: DevicePreference; skipped: { ep: DevicePreference; reason: string }[]; attempts: { ep: DevicePreference; error?: string }[] }
  | { id: number; ok: true; type: 'ran'; output: ModelOutput }
  | { id: number; ok: true; type: 'disposed' }
  | { id: number; ok: false; error: string; code?: InferenceErrorCode; file?: string };
