/**
 * The PointBox point->box ONNX contract (models/README.md), checked before a model is used so that a model
 * that does not fit fails with a message naming the file and every mismatch, instead of a shape error deep
 * inside onnxruntime halfway through a batch.
 */
import { InferenceError } from './InferenceError';
import type { OnnxModelFacts } from './readOnnxMetadata';
import { checkBoxPrior, type BoxPrior } from './boxPrior';

/**
 * Contract versions this PointBox reads. Inputs and outputs are the same in both; version 2 adds the
 * metadata `pointbox.box_prior` (the class-conditional prior a prior-residual model predicts around).
 */
export const CONTRACT_VERSIONS: readonly string[] = ['1', '2'];

export interface TensorInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

export interface ModelNormalization {
  mean: number;
  std: number;
  /** Where the resized image sits in the square input. */
  letterbox: 'top-left' | 'center';
}

export interface PointBoxModelInfo {
  file: string;
  sha256: string;
  classes: string[];
  inputSize: number;
  normalization: ModelNormalization;
  contractVersion: string;
  /** dtype the model wants for point_mask ('bool' or 'float32'). */
  pointMaskType: 'bool' | 'float32';
  opset: number;
  producer: string;
  /** Training provenance and model description from the metadata, as JSON when it parses. */
  training?: unknown;
  description?: unknown;
  /** Contract v2: the model's box prior (classes it never learned return exactly this box). */
  boxPrior?: BoxPrior;
}

interface Expect { name: string; types: string[]; rank: number; fixed?: Record<number, number> }

const INPUTS: Expect[] = [
  { name: 'image', types: ['float32'], rank: 4, fixed: { 1: 1 } },
  { name: 'points', types: ['float32'], rank: 3, fixed: { 2: 2 } },
  { name: 'labels', types: ['int64'], rank: 2 },
  { name: 'point_mask', types: ['bool', 'float32'], rank: 2 },
];
const OUTPUTS: Expect[] = [
  { name: 'boxes', types: ['float32'], rank: 3, fixed: { 2: 4 } },
  { name: 'scores', types: ['float32'], rank: 2 },
];

function checkTensors(kind: string, want: Expect[], got: readonly TensorInfo[], problems: string[]): void {
  for (const w of want) {
    const g = got.find((x) => x.name === w.name);
    if (!g) { problems.push(`${kind} '${w.name}' is missing (model has: ${got.map((x) => x.name).join(', ') || 'none'})`); continue; }
    if (!g.isTensor) { problems.push(`${kind} '${w.name}' is not a tensor`); continue; }
    if (g.type && !w.types.includes(g.type)) problems.push(`${kind} '${w.name}' has dtype ${g.type}, expected ${w.types.join(' or ')}`);
    if (g.shape && g.shape.length > 0) {
      if (g.shape.length !== w.rank) problems.push(`${kind} '${w.name}' has rank ${g.shape.length} [${g.shape.join(',')}], expected ${w.rank}`);
      else for (const [axis, size] of Object.entries(w.fixed ?? {})) {
        const d = g.shape[Number(axis)];
        if (typeof d === 'number' && d !== size) problems.push(`${kind} '${w.name}' axis ${axis} is ${d}, expected ${size}`);
      }
    }
  }
}

function parseJson(s: string | undefined): unknown {
  if (s === undefined) return undefined;
  try { return JSON.parse(s); } catch { return undefined; }
}

export function checkModelContract(
  file: string, sha256: string, facts: OnnxModelFacts,
  inputs: readonly TensorInfo[], outputs: readonly TensorInfo[],
): PointBoxModelInfo {
  if (facts.metadata['pointbox.kind'] === 'detector') {
    // A detector (detectorContract.ts) is a different kind of model, not a broken point->box model.
    throw new InferenceError('model-contract', `${file} is a detector (metadata pointbox.kind = "detector"), not a point->box model: it finds lesions without clicks. Use it as the viewer's detector layer (PointBox: Select Detector), not for pseudo-boxes.`, file);
  }
  const problems: string[] = [];
  checkTensors('input', INPUTS, inputs, problems);
  checkTensors('output', OUTPUTS, outputs, problems);
  const md = facts.metadata;
  const version = md['pointbox.contract_version'];
  if (version === undefined) problems.push("metadata 'pointbox.contract_version' is missing (not exported by the PointBox trainer?)");
  else if (!CONTRACT_VERSIONS.includes(version)) problems.push(`metadata 'pointbox.contract_version' is ${JSON.stringify(version)}; this PointBox reads versions ${CONTRACT_VERSIONS.join(' and ')} (a newer PointBox may read it)`);
  const classes = parseJson(md['pointbox.classes']);
  const classesOk = Array.isArray(classes) && classes.length > 0 && classes.every((c) => typeof c === 'string' && c.length > 0);
  if (!classesOk) {
    problems.push(`metadata 'pointbox.classes' must be a non-empty JSON array of class names (got ${md['pointbox.classes'] ?? 'nothing'})`);
  }
  let boxPrior: BoxPrior | undefined;
  if (version === '2') {
    const r = checkBoxPrior(md['pointbox.box_prior'], classesOk ? (classes as string[]) : undefined);
    problems.push(...r.problems.map((p) => `metadata ${p}`));
    boxPrior = r.prior;
  }
  const inputSize = Number(md['pointbox.input_size']);
  if (!Number.isInteger(inputSize) || inputSize < 16 || inputSize > 4096) problems.push(`metadata 'pointbox.input_size' must be an integer 16..4096 (got ${md['pointbox.input_size'] ?? 'nothing'})`);
  const imageShape = inputs.find((x) => x.name === 'image')?.shape;
  if (imageShape && Number.isInteger(inputSize)) {
    for (const axis of [2, 3]) {
      const d = imageShape[axis];
      if (typeof d === 'number' && d !== inputSize) problems.push(`input 'image' axis ${axis} is ${d} but metadata says input_size ${inputSize}`);
    }
  }
  const norm = parseJson(md['pointbox.normalization']) as Record<string, unknown> | undefined;
  const mean = Number(norm?.mean);
  const std = Number(norm?.std);
  if (!norm || !Number.isFinite(mean) || !Number.isFinite(std) || std <= 0) problems.push(`metadata 'pointbox.normalization' must be JSON with numeric mean and std > 0 (got ${md['pointbox.normalization'] ?? 'nothing'})`);
  if (problems.length) {
    throw new InferenceError('model-contract', `${file} does not fit the PointBox model contract (models/README.md):\n- ${problems.join('\n- ')}`, file);
  }
  const lbText = typeof norm!.letterbox === 'string' ? norm!.letterbox : '';
  const maskType = inputs.find((x) => x.name === 'point_mask')?.type === 'bool' ? 'bool' : 'float32';
  return {
    file, sha256,
    classes: classes as string[],
    inputSize,
    normalization: { mean, std, letterbox: /center|centre/i.test(lbText) ? 'center' : 'top-left' },
    contractVersion: version!,
    pointMaskType: maskType,
    opset: facts.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0,
    producer: `${facts.producerName} ${facts.producerVersion}`.trim(),
    training: parseJson(md['pointbox.training']),
    description: parseJson(md['pointbox.model']),
    ...(boxPrior ? { boxPrior } : {}),
  };
}
