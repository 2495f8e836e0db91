/** Options shared by `pointbox pseudo-label` and `pointbox eval`: which predictor, device, batch, class map, prior table. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../command';
import { optNumber, optString, requireString, type ParsedArgs } from '../args';
import { DEVICE_PREFERENCES, type DevicePreference } from '../../core/inference/executionProviders';
import { PointBoxModelWorker } from '../../core/inference/PointBoxModelWorker';
import { PriorBoxPredictor } from '../../core/inference/PriorBoxPredictor';
import { readPriorTable, type PriorTable } from '../../core/inference/priorTable';
import type { DatasetFile } from '../../core/dataset/schema';
import { DatasetDocument } from '../../core/dataset/DatasetDocument';
import { pipelineDefaults, type Predictor } from '../../core/inference/pseudoLabelPipeline';

export const inferenceValueOptions = ['model', 'device', 'batch', 'workers', 'split', 'class-map', 'threads', 'prior-table'];

/** `--prior-table <csv|json|onnx>`: per-class prior box sizes from a file instead of learning them from the dataset. */
export function loadPriorTable(p: ParsedArgs, cwd: string): PriorTable | undefined {
  const f = optString(p, 'prior-table');
  return f ? readPriorTable(resolve(cwd, f)) : undefined;
}

/**
 * The prior for classes the model does not know: the dataset's prior by the usual rules (train split,
 * else leave-one-image-out), or the prior table. Undefined when there is nothing to learn from.
 */
export function fallbackPriorFor(data: DatasetFile, table: PriorTable | undefined): PriorBoxPredictor | undefined {
  return PriorBoxPredictor.tryFromDataset(data, { table });
}

/** The one dataset file a command takes as its positional argument, loaded. */
export function loadDatasetArg(p: ParsedArgs, cwd: string): { path: string; doc: DatasetDocument } {
  const file = p.positionals[0];
  if (!file || p.positionals.length !== 1) throw new UsageError('give one dataset file');
  const path = resolve(cwd, file);
  return { path, doc: DatasetDocument.load(path) };
}

export function parseClassMap(p: ParsedArgs, cwd: string): Record<string, string> {
  const v = optString(p, 'class-map');
  if (!v) return {};
  // Either a JSON file or inline pairs "Dataset Name=Model Name,Other=Class".
  if (v.trim().startsWith('{') || v.endsWith('.json')) {
    const text = v.trim().startsWith('{') ? v : readFileSync(resolve(cwd, v), 'utf8');
    try { return JSON.parse(text) as Record<string, string>; } catch (e) { throw new UsageError(`--class-map: not valid JSON (${(e as Error).message})`); }
  }
  return Object.fromEntries(v.split(',').map((pair) => {
    const i = pair.indexOf('=');
    if (i <= 0) throw new UsageError(`--class-map: expected "dataset=model" pairs, got '${pair}'`);
    return [pair.slice(0, i).trim(), pair.slice(i + 1).trim()];
  }));
}

export async function loadPredictor(p: ParsedArgs, cwd: string, data: DatasetFile, log: (s: string) => void, table?: PriorTable): Promise<Predictor> {
  const m = requireString(p, 'model');
  if (m === 'prior') {
    const prior = PriorBoxPredictor.fromDataset(data, { table });
    log(`prior: ${prior.report.description}`);
    for (const c of prior.report.fewBoxClasses) log(`prior: class '${c.name}' has ${c.boxes} box(es) to learn from (< ${prior.report.minBoxes}): it uses the median over all classes`);
    for (const c of prior.report.thinClasses) log(`prior: class '${c.name}' is learned from only ${c.boxes} box(es) (< 5): its size is noisy`);
    return prior;
  }
  const device = (optString(p, 'device') ?? 'auto') as DevicePreference;
  if (!DEVICE_PREFERENCES.includes(device)) throw new UsageError(`--device must be one of ${DEVICE_PREFERENCES.join(', ')}`);
  // onnxruntime in its own thread, so this thread keeps handing images to the decode workers while a batch
  // runs (in-process, a batch would block the dispatch and leave the decoders idle); no spin-waiting, since
  // the decoders share its cores.
  const model = await PointBoxModelWorker.load(resolve(cwd, m), {
    device, threads: optNumber(p, 'threads', 0) || pipelineDefaults().threads, spinning: false,
    onProviderAttempt: (ep, err) => { if (err) log(`${ep}: not available (${err})`); },
  });
  log(`model ${model.info.file} (${model.info.classes.length} classes, input ${model.info.inputSize}) on ${model.executionProvider}`);
  return model;
}

/** `--batch N` and `--workers N` (0 or absent: chosen from the cores, see pipelineDefaults). */
export function pipelineSizes(p: ParsedArgs): { batchSize: number; workers: number } {
  const auto = pipelineDefaults();
  const get = (name: string, dflt: number) => {
    const v = optNumber(p, name, 0)!;
    if (!Number.isInteger(v) || v < 0) throw new UsageError(`--${name} must be a whole number >= 1 (0: automatic), got ${v}`);
    return v || dflt;
  };
  return { batchSize: get('batch', auto.batchSize), workers: get('workers', auto.workers) };
}
