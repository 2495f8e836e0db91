/**
 * Runs (or resumes) a PBC benchmark in its folder: split -> teacher -> pseudo-labels -> student -> eval for
 * every (box ratio, seed, method), one step at a time (two cores do not train two models faster), each
 * finished step recorded in benchmark.json with its wall time and figures, so a resume keeps it.
 *
 * Training steps are ordinary training runs (src/core/training: detached, run.json, metrics.jsonl, train.log)
 * under `<benchmark>/runs/`, so the Runs view lists them and they outlive the window: a resume finds a
 * teacher or student still training and re-attaches to it instead of starting it again; one that died is
 * started afresh. Pseudo-labels and evaluation run through the same code as Generate Pseudo-Boxes and the
 * detector layer, with the models the caller loads (a worker thread in the extension host, in-thread in the
 * CLI). After every evaluation the results (results.md, results.csv, plot.svg) are rewritten.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DatasetDocument } from '../dataset/DatasetDocument';
import { serializeDataset } from '../dataset/datasetJson';
import { imageRootsOf } from '../dataset/imagePaths';
import type { DatasetFile } from '../dataset/schema';
import { writeFileAtomic } from '../dataset/writeFileAtomic';
import { evaluateDetector } from '../eval/evaluateDetector';
import type { ImageDetector } from '../inference/DetectorModel';
import type { PointToBoxModel } from '../inference/PointToBoxModel';
import { applyPseudoBoxes, collectJobs, runPointToBox } from '../inference/pseudoLabelPipeline';
import { DETECTOR_MODE, launchTrainingRun, watchTrainingRun, type TrainingProgress, type TrainingRun, type TrainingRunOptions } from '../training/launchTrainingRun';
import { isLocalRun, readRunDirectory, trainerAlive, type RunSummary } from '../training/runDirectory';
import { benchmarkPlotSvg } from '../../shared/benchmarkPlot';
import { iouXyxy, xywhToXyxy } from '../../shared/geometry';
import { collectResults, resultsCsv, resultsMarkdown } from './benchmarkResults';
import { makeCellDataset, type CellSummary } from './benchmarkSplit';
import { checkSpec, METHOD_LABELS, paths, planSteps, sameSpec, type BenchmarkSpec, type StepRef } from './benchmarkSpec';
import { otherRunner, readBenchmarkState, writeBenchmarkState, type BenchmarkState, type StepState } from './benchmarkState';

export interface BenchmarkDeps {
  /** The folder holding pbc_trainer (models/). */
  modelsDir: string;
  python?: string;
  env?: NodeJS.ProcessEnv;
  loadPointToBox(file: string): Promise<PointToBoxModel>;
  loadDetector(file: string): Promise<ImageDetector>;
  signal?: AbortSignal;
  onEvent?: (e: BenchmarkEvent) => void;
  log?: (line: string) => void;
  /** Training runs' metrics/process poll interval. */
  pollMs?: number;
  /** SIGTERM -> SIGKILL delay when a training step is cancelled. */
  graceMs?: number;
}

export type BenchmarkEvent =
  /** benchmark.json changed (a step started, finished or failed). */
  | { type: 'state'; state: BenchmarkState }
  /** Progress inside the running step. */
  | { type: 'progress'; step: string; message: string }
  /** A training step started its run (or re-attached to it): the Runs view can show it. */
  | { type: 'training'; step: string; run: TrainingRun };

export class BenchmarkCancelled extends Error {
  override name = 'BenchmarkCancelled';
}

/** Benchmarks this process runs now (a second start in the same process is refused like one from another). */
const runningHere = new Set<string>();

export function isRunningHere(dir: string): boolean {
  return runningHere.has(resolve(dir));
}

/**
 * Starts `spec` in `dir`, or resumes the benchmark there (with `spec`: its ratios, methods and seeds are
 * added; its dataset, splits and budgets must be the same). Resolves with the final state (completed, failed
 * or cancelled); rejects only when it cannot start (bad spec, another process runs it, no state and no spec).
 */
export async function runBenchmark(dir: string, spec: BenchmarkSpec | undefined, deps: BenchmarkDeps): Promise<BenchmarkState> {
  const root = resolve(dir);
  if (runningHere.has(root)) throw new Error(`the benchmark in ${root} is already running in this window/process`);
  mkdirSync(root, { recursive: true });
  let state = readBenchmarkState(root);
  if (!state && !spec) throw new Error(`${root} holds no benchmark (benchmark.json) to resume; give a dataset to start one`);
  if (state) {
    const who = otherRunner(state);
    if (who) throw new Error(`the benchmark in ${root} cannot be resumed here: ${who}`);
    if (spec) {
      const diff = sameSpec(state.spec, spec);
      if (diff) throw new Error(`the benchmark in ${root} was started with another ${diff}; start a new benchmark folder to change it`);
      const union = <T>(a: T[], b: T[]) => [...a, ...b.filter((x) => !a.includes(x))];
      state.spec = { ...state.spec, ratios: union(state.spec.ratios, spec.ratios).sort((a, b) => a - b), methods: union(state.spec.methods, spec.methods), seeds: union(state.spec.seeds, spec.seeds) };
    }
  } else {
    state = { version: 1, spec: spec!, created: new Date().toISOString(), updated: '', status: 'running', steps: {} };
  }
  checkSpec(state.spec);
  if (!existsSync(state.spec.dataset)) throw new Error(`the benchmark's dataset ${state.spec.dataset} does not exist`);
  const plan = planSteps(state.spec);
  for (const s of plan) state.steps[s.id] ??= { status: 'pending', kind: s.kind };
  state.status = 'running';
  delete state.error;
  // `started` is this process's start (not the benchmark's): trainerAlive tells a reused pid apart by it.
  state.runner = { pid: process.pid, host: hostname(), started: new Date(Date.now() - process.uptime() * 1000).toISOString() };
  runningHere.add(root);
  const st = state;
  const log = deps.log ?? (() => undefined);
  const save = async () => { await writeBenchmarkState(root, st); deps.onEvent?.({ type: 'state', state: st }); };
  try {
    await save();
    log(`benchmark ${root}: ${plan.length} steps (${plan.filter((s) => st.steps[s.id]!.status === 'done').length} done before)`);
    let source: { data: DatasetFile; dir: string } | undefined;
    const sourceData = () => (source ??= { data: DatasetDocument.load(st.spec.dataset).data, dir: dirname(st.spec.dataset) });
    for (const step of plan) {
      const s = st.steps[step.id]!;
      if (s.status === 'done' && outputsExist(root, step, s)) continue;
      if (deps.signal?.aborted) throw new BenchmarkCancelled('cancelled');
      for (const need of step.needs) if (st.steps[need]?.status !== 'done') throw new Error(`step ${step.id} needs ${need}, which is not done`);
      Object.assign(s, { status: 'running', started: new Date().toISOString() });
      delete s.error; delete s.finished;
      await save();
      const t0 = performance.now();
      // A signal per step: the steps' own listeners (export job, pseudo-labelling, trainer) go with it,
      // instead of piling up on the benchmark's signal over dozens of steps.
      const stepAc = new AbortController();
      const onAbort = () => stepAc.abort();
      if (deps.signal?.aborted) stepAc.abort();
      deps.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const out = await runStep(root, st, step, { ...deps, signal: stepAc.signal }, sourceData);
        Object.assign(s, { status: 'done', finished: new Date().toISOString(), seconds: Math.round((performance.now() - t0) / 100) / 10, ...out });
        log(`benchmark: ${step.id} done in ${s.seconds} s`);
      } catch (e) {
        const cancelled = e instanceof BenchmarkCancelled || deps.signal?.aborted;
        Object.assign(s, { status: cancelled ? 'cancelled' : 'failed', finished: new Date().toISOString(), error: e instanceof Error ? e.message : String(e) });
        throw cancelled ? new BenchmarkCancelled(s.error) : e;
      } finally {
        deps.signal?.removeEventListener('abort', onAbort);
        await save();
      }
      if (step.kind === 'eval') await writeResults(root, st);
    }
    st.status = 'completed';
  } catch (e) {
    st.status = e instanceof BenchmarkCancelled ? 'cancelled' : 'failed';
    st.error = e instanceof Error ? e.message : String(e);
    log(`benchmark ${root}: ${st.status}: ${st.error}`);
  } finally {
    delete st.runner;
    await writeResults(root, st).catch(() => undefined);
    await save().catch(() => undefined);
    runningHere.delete(root);
  }
  return st;
}

function outputsExist(root: string, step: StepRef, s: StepState): boolean {
  if (!s.output) return false;
  const p = join(root, s.output);
  if (step.kind === 'teacher' || step.kind === 'student') return existsSync(join(p, 'model.onnx'));
  return existsSync(p);
}

/** results.md, results.csv and plot.svg (mAP) + plot-ap50.svg from the state as it is. */
export async function writeResults(root: string, st: BenchmarkState): Promise<void> {
  const r = collectResults(st);
  const title = `${basename(st.spec.dataset)}: ${st.spec.preset ?? 'custom'} benchmark`;
  await writeFileAtomic(join(root, 'results.md'), resultsMarkdown(r, { title }));
  await writeFileAtomic(join(root, 'results.csv'), resultsCsv(r));
  const pts = (metric: 'map' | 'ap50') => r.rows.map((row) => ({ ratio: row.ratio, method: row.method, label: METHOD_LABELS[row.method], values: (metric === 'map' ? row.map : row.ap50).values }));
  await writeFileAtomic(join(root, 'plot.svg'), benchmarkPlotSvg(pts('map'), { metric: 'mAP@[.5:.95]', title: 'Student detector mAP vs box ratio' }));
  await writeFileAtomic(join(root, 'plot-ap50.svg'), benchmarkPlotSvg(pts('ap50'), { metric: 'AP50', title: 'Student detector AP50 vs box ratio' }));
}

async function runStep(root: string, st: BenchmarkState, step: StepRef, deps: BenchmarkDeps, sourceData: () => { data: DatasetFile; dir: string }): Promise<Partial<StepState>> {
  const spec = st.spec;
  const { ratio, seed } = step;
  const m = step.method!;
  const splitFile = join(root, paths.split(ratio, seed));
  const progress = (message: string) => deps.onEvent?.({ type: 'progress', step: step.id, message });
  switch (step.kind) {
    case 'split': {
      const src = sourceData();
      const { data, summary } = makeCellDataset(src.data, src.dir, ratio, seed, spec);
      if (summary.boxImagesWithBoxes === 0) throw new Error(`${Math.round(ratio * 1000) / 10} % of ${summary.trainImages} train images leaves no box-level image with boxes: use a larger ratio or more images`);
      mkdirSync(dirname(splitFile), { recursive: true });
      await writeFileAtomic(splitFile, serializeDataset(data));
      return { output: paths.split(ratio, seed), result: { ...summary } };
    }
    case 'teacher': {
      const rel = paths.teacherRun(m, ratio, seed);
      const t = spec.teacher;
      const s = await trainingStep(root, rel, step, deps, {
        dataset: splitFile, mode: m === 'pbc' ? 'pbc' : 'pointdetr', epochs: t.epochs, imageSize: t.imageSize, batch: t.batch, device: spec.device,
        extraArgs: ['--seed', String(seed), ...(t.stepsPerEpoch ? ['--steps-per-epoch', String(t.stepsPerEpoch)] : []), ...(t.extraArgs ?? [])],
      });
      return { output: rel, result: { valAp50: s.lastAp50, epochs: s.epochsDone, run: rel } };
    }
    case 'pseudo': {
      const rel = paths.pseudo(m, ratio, seed);
      const file = join(root, rel);
      const teacher = join(root, paths.teacherRun(m, ratio, seed), 'model.onnx');
      const data = JSON.parse(readFileSync(splitFile, 'utf8')) as DatasetFile;
      mkdirSync(dirname(file), { recursive: true });
      const doc = DatasetDocument.create(file, data);
      const jobs = collectJobs(doc.data, { split: 'train' });
      const model = await deps.loadPointToBox(teacher);
      try {
        const r = await runPointToBox(imageRootsOf(doc.data, dirname(file)), doc.data.categories, jobs, model, {
          batchSize: 8, signal: deps.signal,
          onProgress: (p) => progress(`pseudo-labels ${p.done}/${p.total} images`),
        });
        if (r.cancelled || deps.signal?.aborted) throw new BenchmarkCancelled('cancelled during pseudo-labelling');
        if (r.failed.length) deps.log?.(`benchmark: ${step.id}: ${r.failed.length} image(s) failed, e.g. ${r.failed[0]!.file}: ${r.failed[0]!.error}`);
        const applied = applyPseudoBoxes(doc, r, { modelId: `${m}-teacher r${ratio} s${seed}`, sha256: model.info.sha256, executionProvider: r.executionProvider });
        await doc.save({ force: true });
        return { output: rel, result: { ...pseudoQuality(doc.data), added: applied.added, failedImages: r.failed.length, imagesPerSecond: r.imagesPerSecond } };
      } finally {
        await model.dispose();
      }
    }
    case 'student': {
      const rel = paths.studentRun(m, ratio, seed);
      const b = spec.student;
      const cell = st.steps[`split:${step.id.split(':').pop()}`]?.result as unknown as CellSummary | undefined;
      // The same optimizer steps for every method of a cell: one pass over all train images with lesions
      // per epoch, whether the student sees them (with pseudo-boxes) or not (boxes only).
      const perEpoch = b.stepsPerEpoch ?? Math.max(1, Math.ceil(((cell?.boxImages ?? 0) + (cell?.pointImagesWithLesions ?? 0)) / b.batch));
      const s = await trainingStep(root, rel, step, deps, {
        dataset: m === 'boxes' ? splitFile : join(root, paths.pseudo(m, ratio, seed)), mode: DETECTOR_MODE, pseudo: m === 'boxes' ? 'none' : 'all',
        epochs: b.epochs, imageSize: b.imageSize, batch: b.batch, device: spec.device,
        extraArgs: ['--seed', String(seed), '--steps-per-epoch', String(perEpoch), ...(b.extraArgs ?? [])],
      });
      const final = readRunJsonFinal(join(root, rel));
      return { output: rel, result: { valMap: final?.map, valAp50: final?.ap50 ?? s.lastAp50, stepsPerEpoch: perEpoch, trainImages: final?.trainImages, run: rel } };
    }
    case 'eval': {
      const rel = paths.eval(m, ratio, seed);
      const onnx = join(root, paths.studentRun(m, ratio, seed), 'model.onnx');
      const data = JSON.parse(readFileSync(splitFile, 'utf8')) as DatasetFile;
      const det = await deps.loadDetector(onnx);
      try {
        const split = spec.evalSplit === 'auto' ? undefined : spec.evalSplit;
        const ev = await evaluateDetector(data, imageRootsOf(data, dirname(splitFile)), det, { split, signal: deps.signal, onProgress: (d, n) => progress(`evaluating ${d}/${n} images`) });
        mkdirSync(dirname(join(root, rel)), { recursive: true });
        await writeFileAtomic(join(root, rel), JSON.stringify({ ...ev, method: m, ratio, seed }, null, 2) + '\n');
        return { output: rel, result: { map: ev.map, ap50: ev.ap50, ap75: ev.ap75, mapCi: ev.ci.map, ap50Ci: ev.ci.ap50, split: ev.split, images: ev.images, failed: ev.failed.length } };
      } catch (e) {
        if (deps.signal?.aborted) throw new BenchmarkCancelled('cancelled during evaluation');
        throw e;
      } finally {
        await det.dispose();
      }
    }
  }
}

function readRunJsonFinal(dir: string): { map?: number; ap50?: number; trainImages?: number } | undefined {
  try {
    const r = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { final?: { map?: number; ap50?: number }; data?: { train_images?: number } };
    return { map: r.final?.map, ap50: r.final?.ap50, trainImages: r.data?.train_images };
  } catch { return undefined; }
}

/** How good the pending pseudo-boxes are: mean IoU with the hidden true box of their click, and the share with IoU >= 0.5. */
export function pseudoQuality(d: DatasetFile): { boxes: number; meanIou: number; hit50: number } {
  const ann = new Map(d.annotations.map((a) => [a.id, a]));
  let n = 0; let sum = 0; let hit = 0;
  for (const p of d.pseudo_boxes) {
    const a = p.annotation_id !== undefined ? ann.get(p.annotation_id) : undefined;
    if (!a?.bbox) continue;
    const iou = iouXyxy(xywhToXyxy(p.bbox), xywhToXyxy(a.bbox));
    n++; sum += iou; if (iou >= 0.5) hit++;
  }
  return { boxes: n, meanIou: n ? sum / n : NaN, hit50: n ? hit / n : NaN };
}

/**
 * One training step: a completed run with a model is kept; a run still training on this machine is
 * re-attached to; anything else (failed, cancelled, dead, half-made) is removed and started again.
 */
async function trainingStep(root: string, rel: string, step: StepRef, deps: BenchmarkDeps, o: Omit<TrainingRunOptions, 'runsRoot' | 'runDir' | 'modelsDir'>): Promise<RunSummary> {
  const runDir = join(root, rel);
  const onProgress = (p: TrainingProgress) => {
    const s = p.summary;
    const ap = s.lastAp50 !== undefined ? ` · val AP50 ${(s.lastAp50 * 100).toFixed(1)}` : '';
    deps.onEvent?.({ type: 'progress', step: step.id, message: `epoch ${Math.min(s.epochsDone + (p.record.type === 'epoch' ? 0 : 1), s.epochsTotal ?? Infinity)}/${s.epochsTotal ?? '?'}${ap}` });
  };
  let run: TrainingRun | undefined;
  if (existsSync(join(runDir, 'run.json'))) {
    const s = readRunDirectory(runDir);
    if (s.status === 'completed' && s.modelOnnx) return s;
    if (s.status === 'running' && s.pid !== undefined && isLocalRun(s) && trainerAlive(s.pid, s.started)) {
      deps.log?.(`benchmark: ${step.id}: re-attaching to the running trainer (pid ${s.pid})`);
      run = await watchTrainingRun(runDir, { onProgress, signal: deps.signal, pollMs: deps.pollMs, graceMs: deps.graceMs });
    }
  }
  if (!run) {
    if (existsSync(runDir)) rmSync(runDir, { recursive: true, force: true });
    mkdirSync(dirname(runDir), { recursive: true });
    run = await launchTrainingRun({ ...o, runsRoot: dirname(runDir), runDir, modelsDir: deps.modelsDir, python: deps.python, env: deps.env, onProgress, signal: deps.signal, pollMs: deps.pollMs, graceMs: deps.graceMs });
  }
  deps.onEvent?.({ type: 'training', step: step.id, run });
  const s = await run.done;
  if (deps.signal?.aborted || s.status === 'cancelled') throw new BenchmarkCancelled(`${step.id} cancelled`);
  if (s.status !== 'completed') throw new Error(`${step.id}: training run ${runDir} ${s.status}${s.error ? `: ${s.error.split('\n')[0]}` : ''} (see its train.log)`);
  if (!s.modelOnnx) throw new Error(`${step.id}: training run ${runDir} completed without a model.onnx`);
  return s;
}
