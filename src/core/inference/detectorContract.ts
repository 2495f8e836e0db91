/**
 * The PointBox *detector* ONNX contract (models/README.md, "Detector contract"): the student detector that
 * `pbc_trainer detector` trains on boxes + pseudo-boxes. It is not a point->box model (no points in, no
 * one-box-per-point out), so it has its own contract and metadata kind, and the model registry, the
 * point->box commands and the viewer's detector layer tell the two apart by `pointbox.kind`.
 *
 * Input `image` float32 [B,1,S,S]: the same letterboxed, normalized grey image as the point->box contract.
 * Outputs `boxes` float32 [B,A,4] (x1,y1,x2,y2 in [0,1] of the input, one per location of every FPN level, in
 * order) and `scores` float32 [B,A,C] (per class). Metadata `pointbox.detector` holds the post-processing the
 * trainer evaluated with (score threshold, top-k per level, per-class NMS IoU, detections per image) and the
 * locations per level; detectorPostprocess.ts applies it.
 */
import { InferenceError } from './InferenceError';
import type { OnnxModelFacts } from './readOnnxMetadata';
import type { ModelNormalization, TensorInfo } from './modelContract';

export const DETECTOR_CONTRACT_VERSIONS: readonly string[] = ['1'];

/** What `pointbox.kind` says a model is. Models without the key are point->box models (contracts 1 and 2). */
export type ModelKind = 'point-to-box' | 'detector';

export function modelKindOf(metadata: Record<string, string>): ModelKind {
  return metadata['pointbox.kind'] === 'detector' ? 'detector' : 'point-to-box';
}

export interface DetectorPostprocessParams {
  scoreThreshold: number;
  nmsIou: number;
  topkCandidates: number;
  detectionsPerImage: number;
  /** Locations per FPN level, in output order (A = their sum). */
  levels: number[];
}

export interface DetectorModelInfo {
  kind: 'detector';
  file: string;
  sha256: string;
  classes: string[];
  inputSize: number;
  normalization: ModelNormalization;
  contractVersion: string;
  postprocess: DetectorPostprocessParams;
  /** A = sum of levels. */
  anchors: number;
  opset: number;
  producer: string;
  training?: unknown;
  description?: unknown;
}

function parseJson(s: string | undefined): unknown {
  if (s === undefined) return undefined;
  try { return JSON.parse(s); } catch { return undefined; }
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

/** Checks a detector model's tensors and metadata; throws InferenceError('model-contract') naming every mismatch. */
export function checkDetectorContract(
  file: string, sha256: string, facts: OnnxModelFacts,
  inputs: readonly TensorInfo[], outputs: readonly TensorInfo[],
): DetectorModelInfo {
  const problems: string[] = [];
  const md = facts.metadata;
  if (modelKindOf(md) !== 'detector') problems.push(`metadata 'pointbox.kind' is ${JSON.stringify(md['pointbox.kind'] ?? null)}, expected "detector" (a point->box model? select it with PointBox: Select Model)`);
  const version = md['pointbox.detector_contract_version'];
  if (version === undefined) problems.push("metadata 'pointbox.detector_contract_version' is missing");
  else if (!DETECTOR_CONTRACT_VERSIONS.includes(version)) problems.push(`metadata 'pointbox.detector_contract_version' is ${JSON.stringify(version)}; this PointBox reads ${DETECTOR_CONTRACT_VERSIONS.join(', ')}`);
  const image = inputs.find((x) => x.name === 'image');
  if (!image) problems.push(`input 'image' is missing (model has: ${inputs.map((x) => x.name).join(', ') || 'none'})`);
  else if (image.type && image.type !== 'float32') problems.push(`input 'image' has dtype ${image.type}, expected float32`);
  else if (image.shape && image.shape.length > 0 && image.shape.length !== 4) problems.push(`input 'image' has rank ${image.shape.length}, expected 4`);
  if (inputs.length !== 1) problems.push(`a detector has one input ('image'); this model has ${inputs.length}: ${inputs.map((x) => x.name).join(', ')}`);
  const boxes = outputs.find((x) => x.name === 'boxes');
  const scores = outputs.find((x) => x.name === 'scores');
  if (!boxes) problems.push("output 'boxes' is missing");
  else if (boxes.shape && boxes.shape.length > 0 && (boxes.shape.length !== 3 || (typeof boxes.shape[2] === 'number' && boxes.shape[2] !== 4))) problems.push(`output 'boxes' has shape [${boxes.shape.join(',')}], expected [B,A,4]`);
  if (!scores) problems.push("output 'scores' is missing");
  else if (scores.shape && scores.shape.length > 0 && scores.shape.length !== 3) problems.push(`output 'scores' has shape [${scores.shape.join(',')}], expected [B,A,C]`);
  const classes = parseJson(md['pointbox.classes']);
  const classesOk = Array.isArray(classes) && classes.length > 0 && classes.every((c) => typeof c === 'string' && c.length > 0);
  if (!classesOk) problems.push(`metadata 'pointbox.classes' must be a non-empty JSON array of class names (got ${md['pointbox.classes'] ?? 'nothing'})`);
  const inputSize = Number(md['pointbox.input_size']);
  if (!Number.isInteger(inputSize) || inputSize < 16 || inputSize > 4096) problems.push(`metadata 'pointbox.input_size' must be an integer 16..4096 (got ${md['pointbox.input_size'] ?? 'nothing'})`);
  const norm = parseJson(md['pointbox.normalization']) as Record<string, unknown> | undefined;
  const mean = Number(norm?.mean);
  const std = Number(norm?.std);
  if (!norm || !Number.isFinite(mean) || !Number.isFinite(std) || std <= 0) problems.push(`metadata 'pointbox.normalization' must be JSON with numeric mean and std > 0`);
  const det = parseJson(md['pointbox.detector']) as Record<string, unknown> | undefined;
  const levels = Array.isArray(det?.levels) ? (det!.levels as unknown[]).map((l) => num((l as Record<string, unknown>)?.locations)) : [];
  const pp: DetectorPostprocessParams = {
    scoreThreshold: num(det?.score_threshold), nmsIou: num(det?.nms_iou), topkCandidates: num(det?.topk_candidates),
    detectionsPerImage: num(det?.detections_per_image), levels,
  };
  if (!det) problems.push("metadata 'pointbox.detector' (post-processing parameters, JSON) is missing");
  else {
    if (!(pp.scoreThreshold >= 0 && pp.scoreThreshold < 1)) problems.push("metadata 'pointbox.detector'.score_threshold must be in [0, 1)");
    if (!(pp.nmsIou > 0 && pp.nmsIou <= 1)) problems.push("metadata 'pointbox.detector'.nms_iou must be in (0, 1]");
    if (!(Number.isInteger(pp.topkCandidates) && pp.topkCandidates > 0)) problems.push("metadata 'pointbox.detector'.topk_candidates must be a positive integer");
    if (!(Number.isInteger(pp.detectionsPerImage) && pp.detectionsPerImage > 0)) problems.push("metadata 'pointbox.detector'.detections_per_image must be a positive integer");
    if (levels.length === 0 || !levels.every((n) => Number.isInteger(n) && n > 0)) problems.push("metadata 'pointbox.detector'.levels must list each level's locations");
  }
  const anchors = levels.reduce((a, b) => a + b, 0);
  const aDim = boxes?.shape?.[1];
  if (typeof aDim === 'number' && anchors > 0 && aDim !== anchors) problems.push(`output 'boxes' has ${aDim} locations but metadata levels sum to ${anchors}`);
  const cDim = scores?.shape?.[2];
  if (typeof cDim === 'number' && classesOk && cDim !== (classes as string[]).length) problems.push(`output 'scores' has ${cDim} classes but metadata lists ${(classes as string[]).length}`);
  if (problems.length) {
    throw new InferenceError('model-contract', `${file} does not fit the PointBox detector contract (models/README.md):\n- ${problems.join('\n- ')}`, file);
  }
  const lbText = typeof norm!.letterbox === 'string' ? norm!.letterbox : '';
  return {
    kind: 'detector', file, sha256, classes: classes as string[], inputSize,
    normalization: { mean, std, letterbox: /center|centre/i.test(lbText) ? 'center' : 'top-left' },
    contractVersion: version!, postprocess: pp, anchors,
    opset: facts.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0,
    producer: `${facts.producerName} ${facts.producerVersion}`.trim(),
    training: parseJson(md['pointbox.training']),
    description: parseJson(md['pointbox.model']),
  };
}
