/** Options shared by `pointbox pseudo-label` and `pointbox eval`: which predictor, device, batch, class map. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../command';
import { optNumber, optString, requireString, type ParsedArgs } from '../args';
import { DEVICE_PREFERENCES, type DevicePreference } from '../../core/inference/executionProviders';
import { PointBoxModel } from '../../core/inference/PointBoxModel';
import { PriorBoxPredictor } from '../../core/inference/PriorBoxPredictor';
import type { DatasetFile } from '../../core/dataset/schema';
import { DatasetDocument } from '../../core/dataset/DatasetDocument';
import type { Predictor } from '../../core/inference/pseudoLabelPipeline';

export const inferenceValueOptions = ['model', 'device', 'batch', 'split', 'class-map', 'threads'];

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

export async function loadPredictor(p: ParsedArgs, cwd: string, data: DatasetFile, log: (s: string) => void): Promise<Predictor> {
  const m = requireString(p, 'model');
  if (m === 'prior') return PriorBoxPredictor.fromDataset(data);
  const device = (optString(p, 'device') ?? 'auto') as DevicePreference;
  if (!DEVICE_PREFERENCES.includes(device)) throw new UsageError(`--device must be one of ${DEVICE_PREFERENCES.join(', ')}`);
  const model = await PointBoxModel.load(resolve(cwd, m), {
    device, threads: optNumber(p, 'threads', 0),
    onProviderAttempt: (ep, err) => { if (err) log(`${ep}: not available (${err})`); },
  });
  log(`model ${model.info.file} (${model.info.classes.length} classes, input ${model.info.inputSize}) on ${model.executionProvider}`);
  return model;
}
