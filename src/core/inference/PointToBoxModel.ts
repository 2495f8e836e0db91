/**
 * What the pipeline needs from a point->box model, whether onnxruntime runs in this thread (PointBoxModel,
 * the CLI) or in a worker thread (PointBoxModelWorker, the extension host, whose main thread must not stall).
 */
import type { DevicePreference } from './executionProviders';
import type { PointBoxModelInfo } from './modelContract';

export interface ModelBatch {
  batch: number;
  points: number;
  /** [B,1,S,S] normalized grey. */
  image: Float32Array;
  /** [B,N,2] in [0,1] of the model input. */
  pointsXY: Float32Array;
  /** [B,N] class indices of the model. */
  labels: BigInt64Array;
  /** [B,N] 1 = real point, 0 = padding. */
  mask: Uint8Array;
}

export interface ModelOutput {
  /** [B,N,4] x1,y1,x2,y2 in [0,1] of the model input. */
  boxes: Float32Array;
  /** [B,N] predicted IoU. */
  scores: Float32Array;
}

export interface PointToBoxModel {
  readonly kind: 'onnx';
  readonly info: PointBoxModelInfo;
  /** The execution provider that loaded (cpu, cuda, webgpu, dml, coreml). */
  readonly executionProvider: DevicePreference;
  /** Why each better provider was skipped. */
  readonly skipped: { ep: DevicePreference; reason: string }[];
  run(batch: ModelBatch): Promise<ModelOutput>;
  dispose(): Promise<void>;
}
