import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { findWorkerScript } from '../workers/workerScripts';
import { WorkerPool } from '../workers/WorkerPool';
import type { Annotation, Category, DatasetFile, ImageRecord, LabelLevel, SplitName } from '../dataset/schema';
import { DATASET_SCHEMA_VERSION } from '../dataset/schema';
import { writeFileAtomic } from '../dataset/writeFileAtomic';
import { serializeDataset } from '../dataset/datasetJson';
import { PHANTOM_CLASSES } from './lesionStats';
import type { MonochromeOption } from './generatePhantomImage';
import type { DicomTransferSyntax } from './encodeDicomPart10';
import { renderPhantomFile } from './renderPhantomFile';
import type { PhantomFileResult, PhantomFileTask, PhantomFormat } from './renderPhantomFile';
import { PhantomRng } from './PhantomRng';

export const PHANTOM_DATASET_FILE = 'dataset.pointbox.json';
/** Bumped whenever the same seed would render different pixels, so datasets record which generator made them. */
export const PHANTOM_GENERATOR_VERSION = 1;

export interface PhantomDatasetOptions {
  /** Output folder; gets `dataset.pointbox.json` and `images/`. */
  out: string;
  images: number;
  seed: number;
  /** Square image size in pixels (default 1024). */
  size?: number;
  format?: PhantomFormat;
  /** PBC protocol: fraction (0..1) of train images that keep their boxes; the rest are label_level 'points'. */
  boxRatio?: number;
  valFraction?: number;
  testFraction?: number;
  monochrome?: MonochromeOption;
  transferSyntax?: DicomTransferSyntax;
  pngBitDepth?: 8 | 16;
  /** Worker threads (default: one per core, at most 8); 0 renders in this thread. */
  workers?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface PhantomDatasetResult {
  datasetFile: string;
  dataset: DatasetFile;
  images: number;
  lesions: number;
  workers: number;
  ms: number;
}

/**
 * Generates a phantom dataset: images (DICOM and/or PNG) plus a PointBox dataset file with every lesion's
 * box and click, PBC-style splits and label levels. Deterministic: the same options give byte-identical
 * files whatever the number of workers (every image is a pure function of seed and index).
 */
export async function generatePhantomDataset(o: PhantomDatasetOptions): Promise<PhantomDatasetResult> {
  const t0 = performance.now();
  const n = Math.floor(o.images);
  if (!(n >= 1)) throw new RangeError(`images must be >= 1, got ${o.images}`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`seed must be an integer, got ${o.seed}`);
  const size = o.size ?? 1024;
  if (!(Number.isInteger(size) && size >= 32 && size <= 8192)) throw new RangeError(`size must be an integer 32..8192, got ${size}`);
  const boxRatio = o.boxRatio ?? 0.2, val = o.valFraction ?? 0.1, test = o.testFraction ?? 0.2;
  for (const [k, v] of [['boxRatio', boxRatio], ['valFraction', val], ['testFraction', test]] as const) {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`${k} must be in [0, 1], got ${v}`);
  }
  if (val + test > 1) throw new RangeError(`valFraction + testFraction must be <= 1, got ${val + test}`);
  const out = resolve(o.out);
  mkdirSync(join(out, 'images'), { recursive: true });
  o.signal?.throwIfAborted();

  const base: Omit<PhantomFileTask, 'index'> = {
    seed: o.seed, size, format: o.format ?? 'dicom', monochrome: o.monochrome ?? 'MONOCHROME2',
    transferSyntax: o.transferSyntax ?? 'explicitLittle', pngBitDepth: o.pngBitDepth ?? 8, outDir: out,
  };
  const results = new Array<PhantomFileResult | undefined>(n);
  const want = o.workers ?? Math.min(8, availableParallelism());
  const file = want > 0 ? workerFile() : undefined;
  const nWorkers = file ? Math.max(1, Math.min(want, Math.ceil(n / 4))) : 0;
  if (file && nWorkers > 0) await runInWorkers(file, nWorkers, n, base, results, o);
  else {
    for (let i = 0; i < n; i++) {
      o.signal?.throwIfAborted();
      results[i] = renderPhantomFile({ ...base, index: i });
      o.onProgress?.(i + 1, n);
      // Let the event loop breathe (abort, progress rendering) every few images.
      if (i % 8 === 7) await new Promise<void>((r) => setImmediate(r));
    }
  }
  const dataset = buildDataset(results as PhantomFileResult[], o, { size, boxRatio, val, test });
  const datasetFile = join(out, PHANTOM_DATASET_FILE);
  await writeFileAtomic(datasetFile, serializeDataset(dataset)); // the dataset format's own writer: no timestamps, so reproducible
  return { datasetFile, dataset, images: n, lesions: dataset.annotations.length, workers: nWorkers, ms: performance.now() - t0 };
}

/** The worker script: the bundle's dist/workers/phantom.js, or the .ts source when running under tsx. */
function workerFile(): string | undefined {
  return findWorkerScript('phantom', join(__dirname, 'phantom.worker.ts'));
}

/**
 * Renders on the shared WorkerPool: small batches, a few in flight per worker, handed out in order, so
 * fast and slow images balance and progress stays smooth. A worker that dies fails the run with its error.
 */
async function runInWorkers(file: string, nWorkers: number, n: number, base: Omit<PhantomFileTask, 'index'>,
  results: (PhantomFileResult | undefined)[], o: PhantomDatasetOptions): Promise<void> {
  const batch = Math.max(1, Math.min(8, Math.floor(n / (nWorkers * 8))));
  const pool = new WorkerPool<{ tasks: PhantomFileTask[] }, { results?: PhantomFileResult[]; error?: string }>(file, { size: nWorkers, timeoutMs: 600_000 });
  let next = 0, done = 0;
  const feed = async (): Promise<void> => {
    while (next < n) {
      const tasks: PhantomFileTask[] = [];
      for (let k = 0; k < batch && next < n; k++) tasks.push({ ...base, index: next++ });
      const m = await pool.run({ tasks }, [], { signal: o.signal });
      if (m.error !== undefined) throw new Error(`phantom worker: ${m.error}`);
      for (const r of m.results ?? []) { results[r.index] = r; done++; }
      o.onProgress?.(done, n);
    }
  };
  try {
    await Promise.all(Array.from({ length: nWorkers * 2 }, feed));
  } catch (e) {
    // An abort is the caller's signal reason, as before the pool.
    if (o.signal?.aborted) throw o.signal.reason ?? e;
    throw e;
  } finally {
    await pool.close();
  }
}

/** PBC splits: val/test get boxes (they are for evaluation); a boxRatio share of train keeps boxes. */
export function assignPhantomSplits(n: number, seed: number, val: number, test: number, boxRatio: number): { split: SplitName; level: LabelLevel }[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = new PhantomRng(seed, 0x5917, n);
  for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j]!, order[i]!]; }
  const nTest = Math.round(n * test), nVal = Math.min(n - nTest, Math.round(n * val));
  const nTrain = n - nTest - nVal;
  const nBoxes = Math.round(nTrain * boxRatio);
  const out = new Array<{ split: SplitName; level: LabelLevel }>(n);
  order.forEach((img, k) => {
    if (k < nTest) out[img] = { split: 'test', level: 'boxes' };
    else if (k < nTest + nVal) out[img] = { split: 'val', level: 'boxes' };
    else out[img] = { split: 'train', level: k - nTest - nVal < nBoxes ? 'boxes' : 'points' };
  });
  return out;
}

function buildDataset(results: PhantomFileResult[], o: PhantomDatasetOptions, p: { size: number; boxRatio: number; val: number; test: number }): DatasetFile {
  const categories: Category[] = PHANTOM_CLASSES.map((name, i) => ({ id: i + 1, name, supercategory: 'lesion' }));
  const catId = new Map<string, number>(categories.map((c) => [c.name, c.id]));
  const splits = assignPhantomSplits(results.length, o.seed, p.val, p.test, p.boxRatio);
  const images: ImageRecord[] = [];
  const annotations: Annotation[] = [];
  for (const r of results) {
    const s = splits[r.index]!;
    const attributes: Record<string, string | number | boolean> = {
      phantom: true, view_position: r.view, photometric: r.photometric, rotation_deg: r.rotationDeg,
    };
    if (r.files[1]) attributes.png_file = r.files[1];
    images.push({ id: r.index + 1, file_name: r.files[0]!, width: r.width, height: r.height, split: s.split, label_level: s.level, attributes });
    for (const l of r.lesions) {
      // Every annotation keeps its true box: label_level says what a trainer may use (PBC hides the boxes
      // of 'points' images from training), and the hidden boxes are what pseudo-boxes are scored against.
      annotations.push({
        id: annotations.length + 1, image_id: r.index + 1, category_id: catId.get(l.className)!,
        bbox: l.bbox, area: Math.round(l.bbox[2] * l.bbox[3] * 100) / 100, iscrowd: 0, point: l.point,
      });
    }
  }
  return {
    pointbox: { schema_version: DATASET_SCHEMA_VERSION },
    info: {
      name: `phantom-seed-${o.seed}`,
      description: 'Synthetic chest radiographs with lesions (PointBox phantom generator). Not patient data.',
      source: {
        format: 'phantom',
        options: {
          generator_version: PHANTOM_GENERATOR_VERSION, seed: o.seed, images: results.length, size: p.size, format: o.format ?? 'dicom',
          monochrome: o.monochrome ?? 'MONOCHROME2', transfer_syntax: o.transferSyntax ?? 'explicitLittle', png_bits: o.pngBitDepth ?? 8,
          box_ratio: p.boxRatio, val_fraction: p.val, test_fraction: p.test,
        },
      },
    },
    categories, images, annotations, pseudo_boxes: [],
  };
}

