/**
 * Issue 13, part 1: does the pseudo-label pipeline keep up with its model? All in one run, interleaved:
 * each round measures, back to back, the model alone (batches of ready inputs), the whole pipeline on 1024x1024
 * DICOM and PNG phantoms (read + decode + letterbox in the worker pool, inference, map back, atomic dataset
 * write), and decode + letterbox alone through the same pool (the "preprocess only" ceiling a GPU would see).
 * Several rounds; best and median of each; the ratios pair each round's pipeline with the same round's model.
 * Also: the one-pass letterbox against the step-by-step path it replaced, single thread, same decoded images.
 *
 * POINTBOX_BENCH_DEVICE=cuda (or webgpu, ...) runs the model on that execution provider and reports the one
 * that actually ran (an explicit provider that cannot load is an error, never a silent CPU run);
 * POINTBOX_BENCH_BATCH (default pipelineDefaults), POINTBOX_BENCH_ROUNDS (default 5), POINTBOX_BENCH_MODEL
 * (default the shipped v1 model).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { DatasetDocument } from '../src/core/dataset/DatasetDocument';
import { decodeImage } from '../src/core/imaging/decodeImage';
import { nodeImagingPlatform } from '../src/core/imaging/nodeImagingPlatform';
import { readImageFile } from '../src/core/imaging/readImageFile';
import { prepareModelImage, prepareModelImageReference } from '../src/core/inference/modelInput';
import { PointBoxModelWorker } from '../src/core/inference/PointBoxModelWorker';
import type { DevicePreference } from '../src/core/inference/executionProviders';
import type { PrepareReply, PrepareRequest } from '../src/core/inference/modelInputMessages';
import { applyPseudoBoxes, collectJobs, pipelineDefaults, runPointToBox } from '../src/core/inference/pseudoLabelPipeline';
import { WorkerPool } from '../src/core/workers/WorkerPool';
import { poolWorkerEnv, resolveWorkerScript } from '../src/core/workers/workerScripts';
import { threadPriorityAvailable } from '../src/core/workers/threadPriority';

const root = join(__dirname, '..');
const ROUNDS = Number(process.env.POINTBOX_BENCH_ROUNDS ?? 5);
const DEVICE = (process.env.POINTBOX_BENCH_DEVICE ?? 'cpu') as DevicePreference;
const IMAGES = 80;
const N_POINTS = 4;

const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };
const best = (a: number[]) => Math.max(...a);
const f0 = (v: number) => v.toFixed(0);
const f2 = (v: number) => v.toFixed(2);

async function main() {
  const modelFile = process.env.POINTBOX_BENCH_MODEL ?? join(root, 'models', 'pointbox-pbc-v1.onnx');
  console.log('## Pseudo-label pipeline at the model\'s pace (issue 13)\n');
  if (!existsSync(modelFile)) { console.log(`No model at ${modelFile}: nothing to measure.`); return; }
  const cores = availableParallelism();
  const auto = pipelineDefaults(cores);
  const tmp = mkdtempSync(join(tmpdir(), 'pointbox-bench-pipe-'));
  const dirs: Record<'dicom' | 'png', string> = { dicom: join(tmp, 'dicom'), png: join(tmp, 'png') };
  for (const format of ['dicom', 'png'] as const) {
    execFileSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'phantom', '--out', dirs[format], '--images', String(IMAGES), '--seed', '7', '--size', '1024', '--format', format, '--box-ratio', '0'], { stdio: 'ignore', cwd: root });
  }
  const load0 = loadavg()[0]!;

  // The pipeline's model: onnxruntime in its worker thread, threads and spinning as the pipeline sets them.
  const model = await PointBoxModelWorker.load(modelFile, { device: DEVICE, threads: auto.threads, spinning: false });
  // The model alone as onnxruntime runs it by default: every core, spin-waiting on (nothing else competes for the cores).
  const modelSpin = await PointBoxModelWorker.load(modelFile, { device: DEVICE, threads: cores, spinning: true });
  // The other thread count: every core where the defaults give onnxruntime half of them (decoders at lower
  // priority, Linux), else half.
  const otherThreads = auto.threads === cores ? Math.max(1, Math.floor(cores / 2)) : cores;
  const modelOther = otherThreads !== auto.threads ? await PointBoxModelWorker.load(modelFile, { device: DEVICE, threads: otherThreads, spinning: false }) : undefined;
  const S = model.info.inputSize;
  const B = Number(process.env.POINTBOX_BENCH_BATCH) || auto.batchSize;
  const preprocessScript = resolveWorkerScript('preprocess', join(root, 'src', 'core', 'inference', 'preprocess.worker.ts'));
  const pool = new WorkerPool<PrepareRequest, PrepareReply>(preprocessScript, { size: auto.workers });
  // The reference: the previous default, decoders at normal priority and onnxruntime on every core (where the
  // defaults differ from it, i.e. where decoders can be niced).
  const niced = threadPriorityAvailable() && auto.threads !== cores;
  const poolRef = niced ? new WorkerPool<PrepareRequest, PrepareReply>(preprocessScript, { size: auto.workers, env: { ...poolWorkerEnv(auto.workers), POINTBOX_DECODER_NICE: '0' } }) : undefined;

  const batch = () => ({
    batch: B, points: N_POINTS, image: Float32Array.from({ length: B * S * S }, (_, i) => Math.sin(i)),
    pointsXY: Float32Array.from({ length: B * N_POINTS * 2 }, (_, i) => 0.2 + 0.01 * (i % 50)), labels: new BigInt64Array(B * N_POINTS), mask: new Uint8Array(B * N_POINTS).fill(1),
  });
  /** Model alone: 10 batches of ready inputs, submitted one after another (images/s). */
  const modelOnly = async (m: PointBoxModelWorker) => {
    const inputs = Array.from({ length: 10 }, batch);
    await m.run(batch());
    const t0 = performance.now();
    for (const b of inputs) await m.run(b);
    return (10 * B) / ((performance.now() - t0) / 1000);
  };
  // Real PNGs as NIH ships them (1024x1024 8-bit grey, most rows Paeth-filtered), which the phantoms (every row
  // unfiltered, noisy, so nearly all of their decode is inflate) do not represent; read from ../shared/data.
  const nihDir = join(root, '..', 'shared', 'data', 'cxr-png', 'images');
  const nihFiles = existsSync(nihDir) ? readdirSync(nihDir).filter((f) => f.endsWith('.png')).map((f) => join(nihDir, f)) : [];
  /** Decode + letterbox alone, through the same pool, as many in flight as the pipeline keeps (images/s). */
  const preprocessOnly = async (format: 'dicom' | 'png' | 'nih') => {
    const files = format === 'nih' ? [...nihFiles, ...nihFiles] : readdirSync(join(dirs[format], 'images')).map((f) => join(dirs[format], 'images', f));
    const t0 = performance.now();
    let next = 0;
    const lane = async () => { while (next < files.length) { const f = files[next++]!; const r = await pool.run({ file: f, size: S, normalization: model.info.normalization }); if (!r.ok) throw new Error(r.error); } };
    await Promise.all(Array.from({ length: B + Math.max(B, 2 * pool.size) }, lane));
    return files.length / ((performance.now() - t0) / 1000);
  };
  /** The whole pipeline, as `pointbox pseudo-label` runs it, on a fresh copy of the dataset's pseudo-boxes. */
  const pipeline = async (format: 'dicom' | 'png', m = model, p = pool) => {
    const doc = DatasetDocument.load(join(dirs[format], 'dataset.pointbox.json'));
    const jobs = collectJobs(doc.data);
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const t0 = performance.now();
    const r = await runPointToBox(dirs[format], doc.data.categories, jobs, m, { batchSize: B, pool: p });
    applyPseudoBoxes(doc, r, { modelId: 'bench', executionProvider: r.executionProvider });
    await doc.save({ force: true });
    const s = (performance.now() - t0) / 1000;
    lag.disable();
    if (r.failed.length) throw new Error(`pipeline: ${r.failed.length} images failed: ${r.failed[0]!.error}`);
    const n = r.completedImageIds.length;
    return { ips: n / s, stallMs: lag.max / 1e6, stage: r.stageMs, n, ep: r.executionProvider };
  };

  /** The machine's own noise: the longest event-loop delay of this idle thread over 1 s. */
  const noiseFloor = async () => {
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    await new Promise((r) => setTimeout(r, 1000));
    lag.disable();
    return lag.max / 1e6;
  };
  /** Read + decode + letterbox on this thread, one image after another: ms per image (one core's pace), and decode's part. */
  const singleThreadSplit = async (format: 'dicom' | 'png' | 'nih') => {
    const files = format === 'nih' ? nihFiles.slice(0, 20) : readdirSync(join(dirs[format], 'images')).slice(0, 20).map((f) => join(dirs[format], 'images', f));
    let decodeMs = 0;
    const t0 = performance.now();
    for (const f of files) {
      const { bytes, wordOr } = readImageFile(f);
      const d0 = performance.now();
      const img = await decodeImage(bytes, nodeImagingPlatform, { fileName: basename(f), ownsInput: true, wordOr, noHeader: true });
      decodeMs += performance.now() - d0;
      prepareModelImage(img, S, model.info.normalization);
    }
    return { ms: (performance.now() - t0) / files.length, decodeMs: decodeMs / files.length };
  };
  const singleThread = async (format: 'dicom' | 'png') => (await singleThreadSplit(format)).ms;

  // Warm up: workers started and codecs loaded, onnxruntime's first runs.
  await preprocessOnly('dicom'); await preprocessOnly('png'); if (nihFiles.length) await preprocessOnly('nih');
  if (poolRef && modelOther) await pipeline('dicom', modelOther, poolRef); // its workers started before round 1 too
  await modelOnly(model); await modelOnly(modelSpin);

  const rows = { model: [] as number[], modelSpin: [] as number[], dicom: [] as number[], png: [] as number[], preDicom: [] as number[], prePng: [] as number[], rDicom: [] as number[], rPng: [] as number[], stall: [] as number[], alt: [] as number[], modelOther: [] as number[], floor: [] as number[], oneDicom: [] as number[], onePng: [] as number[], preNih: [] as number[], oneNih: [] as number[], decodeNih: [] as number[], refDicom: [] as number[], refPng: [] as number[], rRefDicom: [] as number[], rRefPng: [] as number[] };
  let stages: Record<string, { read: number; decode: number; prepare: number; infer: number; post: number; n: number }> = {};
  let ep = '';
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so neither side always runs first in a round.
    const m1 = round % 2 ? await modelOnly(modelSpin) : await modelOnly(model);
    const d = await pipeline('dicom');
    const pd = await preprocessOnly('dicom');
    const p = await pipeline('png');
    const pp = await preprocessOnly('png');
    if (modelOther) rows.alt.push((await pipeline('dicom', modelOther)).ips);
    const refD = poolRef && modelOther ? (await pipeline('dicom', modelOther, poolRef)).ips : 0;
    const refP = poolRef && modelOther ? (await pipeline('png', modelOther, poolRef)).ips : 0;
    rows.floor.push(await noiseFloor());
    rows.oneDicom.push(await singleThread('dicom')); rows.onePng.push(await singleThread('png'));
    if (nihFiles.length) {
      rows.preNih.push(await preprocessOnly('nih'));
      const one = await singleThreadSplit('nih');
      rows.oneNih.push(one.ms); rows.decodeNih.push(one.decodeMs);
    }
    const m2 = round % 2 ? await modelOnly(model) : await modelOnly(modelSpin);
    const mOff = round % 2 ? m2 : m1; const mOn = round % 2 ? m1 : m2;
    const mOther = modelOther ? await modelOnly(modelOther) : 0;
    const m = Math.max(mOff, mOn, mOther);
    rows.modelOther.push(mOther);
    rows.model.push(mOff); rows.modelSpin.push(mOn); rows.dicom.push(d.ips); rows.png.push(p.ips); rows.preDicom.push(pd); rows.prePng.push(pp);
    rows.rDicom.push(d.ips / m); rows.rPng.push(p.ips / m);
    if (refD) { rows.refDicom.push(refD); rows.refPng.push(refP); rows.rRefDicom.push(refD / m); rows.rRefPng.push(refP / m); } rows.stall.push(Math.max(d.stallMs, p.stallMs));
    stages = { DICOM: { ...d.stage, n: d.n }, PNG: { ...p.stage, n: p.n } };
    ep = d.ep;
  }
  const load1 = loadavg()[0]!;

  // One-pass vs step-by-step letterbox, single thread, on decoded phantoms (best of 15 per image kind).
  const letterboxRows: string[] = [];
  for (const format of ['dicom', 'png'] as const) {
    const file = join(dirs[format], 'images', readdirSync(join(dirs[format], 'images'))[0]!);
    const { bytes, wordOr } = readImageFile(file);
    const img = await decodeImage(bytes, nodeImagingPlatform, { fileName: basename(file), ownsInput: true, wordOr, noHeader: true });
    const time = (fn: typeof prepareModelImage) => { const t: number[] = []; for (let i = 0; i < 15; i++) { const t0 = performance.now(); fn(img, S, model.info.normalization); t.push(performance.now() - t0); } return Math.min(...t); };
    time(prepareModelImage); time(prepareModelImageReference);
    let a = Infinity; let b = Infinity;
    for (let k = 0; k < 3; k++) { a = Math.min(a, time(prepareModelImage)); b = Math.min(b, time(prepareModelImageReference)); }
    letterboxRows.push(`| ${format.toUpperCase()} ${img.width}x${img.height} ${img.bitsStored}-bit -> ${S}x${S} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b / a).toFixed(1)}x |`);
  }
  await pool.close(); await poolRef?.close(); await model.dispose(); await modelSpin.dispose(); await modelOther?.dispose();
  rmSync(tmp, { recursive: true, force: true });

  console.log(`Model ${basename(modelFile)} (input ${S}x${S}, ${N_POINTS} points per image) on **${ep}** (asked: ${DEVICE}); ${cores} cores, so batch ${B}${B !== auto.batchSize ? ' (POINTBOX_BENCH_BATCH)' : ''}, ${auto.workers} decode workers${niced ? ' at lower priority (nice 10)' : ''}, ${auto.threads} onnxruntime thread${auto.threads > 1 ? 's' : ''} (pipelineDefaults; --batch/--workers/--threads override). ` +
    `${IMAGES} phantom CXRs of 1024x1024 per format (DICOM: 12-bit raw explicit LE; PNG: 8-bit grey). ` +
    `${load0 >= 1.5 ? '**Other work was running on this 2-core machine when the bench started**' : 'Nothing else was running when the bench started'} (1-min load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end, which counts the bench's own work); every figure is measured ${ROUNDS} times, interleaved (model, DICOM pipeline, DICOM preprocess, PNG pipeline, PNG preprocess, DICOM pipeline with the other thread count${niced ? ', the previous default on DICOM and PNG' : ''}, idle noise floor, one-thread preprocess, the other model settings; the first two model settings alternate first), and reported as best and median over the rounds. ` +
    'Pipeline = read + decode + letterbox in the worker pool (already started, as in the extension), inference, boxes mapped back, one atomic dataset write. ' +
    `Model-only = batches of ${B} ready inputs through an onnxruntime worker, in the pipeline's setting (${auto.threads} thread${auto.threads > 1 ? 's' : ''}, spin-waiting off), with onnxruntime's default spin-waiting on, and on ${otherThreads} thread${otherThreads > 1 ? 's' : ''}; the ratio divides each round's pipeline by the best of that round's model figures (the model's own best pace that round).\n`);
  console.log('| measure (images/s) | best | median | target | met (median) |');
  console.log('|---|---:|---:|---|---|');
  console.log(`| model only: pipeline setting / spin-waiting on / ${otherThreads} thread${otherThreads > 1 ? 's' : ''} | ${f0(best(rows.model))} / ${f0(best(rows.modelSpin))} / ${modelOther ? f0(best(rows.modelOther)) : '-'} | ${f0(median(rows.model))} / ${f0(median(rows.modelSpin))} / ${modelOther ? f0(median(rows.modelOther)) : '-'} | | |`);
  console.log(`| pipeline, DICOM 1024x1024 | ${f0(best(rows.dicom))} | ${f0(median(rows.dicom))} | | |`);
  console.log(`| pipeline, PNG 1024x1024 | ${f0(best(rows.png))} | ${f0(median(rows.png))} | | |`);
  console.log(`| **DICOM pipeline / model only** | ${f2(best(rows.rDicom))} | ${f2(median(rows.rDicom))} | >= 0.5 | ${median(rows.rDicom) >= 0.5 ? 'yes' : 'no'} |`);
  console.log(`| **PNG pipeline / model only** | ${f2(best(rows.rPng))} | ${f2(median(rows.rPng))} | >= 0.35 | ${median(rows.rPng) >= 0.35 ? 'yes' : 'no'} |`);
  if (modelOther) console.log(`| pipeline, DICOM, onnxruntime on ${otherThreads} thread${otherThreads > 1 ? 's' : ''} instead of ${auto.threads}${niced ? ' (decoders niced)' : ' (the rejected choice)'} | ${f0(best(rows.alt))} | ${f0(median(rows.alt))} | | |`);
  if (rows.refDicom.length) {
    console.log(`| reference: the previous default (decoders at normal priority, onnxruntime on all ${cores} cores), DICOM / PNG | ${f0(best(rows.refDicom))} / ${f0(best(rows.refPng))} | ${f0(median(rows.refDicom))} / ${f0(median(rows.refPng))} | | |`);
    console.log(`| reference / model only, DICOM / PNG | ${f2(best(rows.rRefDicom))} / ${f2(best(rows.rRefPng))} | ${f2(median(rows.rRefDicom))} / ${f2(median(rows.rRefPng))} | | |`);
  }
  console.log(`| preprocess only (decode + letterbox, ${auto.workers} workers), DICOM | ${f0(best(rows.preDicom))} | ${f0(median(rows.preDicom))} | >= 150 | ${median(rows.preDicom) >= 150 ? 'yes' : 'no'} |`);
  console.log(`| preprocess only, PNG | ${f0(best(rows.prePng))} | ${f0(median(rows.prePng))} | | |`);
  console.log(`| preprocess on one thread (read + decode + letterbox, ms per image; best / median round), DICOM | ${rows.oneDicom.length ? Math.min(...rows.oneDicom).toFixed(1) : '-'} ms = ${f0(1000 / Math.min(...rows.oneDicom))}/s per core | ${median(rows.oneDicom).toFixed(1)} ms | | |`);
  console.log(`| the same, PNG | ${Math.min(...rows.onePng).toFixed(1)} ms = ${f0(1000 / Math.min(...rows.onePng))}/s per core | ${median(rows.onePng).toFixed(1)} ms | | |`);
  if (nihFiles.length) {
    console.log(`| preprocess only, real NIH PNGs (${nihFiles.length} files of ../shared/data/cxr-png, each twice) | ${f0(best(rows.preNih))} | ${f0(median(rows.preNih))} | | |`);
    console.log(`| the same on one thread, ms per image (decode part) | ${Math.min(...rows.oneNih).toFixed(1)} ms (${Math.min(...rows.decodeNih).toFixed(1)}) | ${median(rows.oneNih).toFixed(1)} ms (${median(rows.decodeNih).toFixed(1)}) | | |`);
  }
  console.log(`| longest main-thread stall during the pipelines (ms; best / median round) | ${f0(Math.min(...rows.stall))} | ${f0(median(rows.stall))} | < 50 | ${median(rows.stall) < 50 ? 'yes' : 'no'} |`);
  console.log(`| noise floor: longest stall of the idle thread over 1 s (ms; best / median round) | ${f0(Math.min(...rows.floor))} | ${f0(median(rows.floor))} | | |`);
  console.log(`\nAll rounds (images/s): model in the pipeline's setting ${rows.model.map(f0).join(', ')}; spin-waiting on ${rows.modelSpin.map(f0).join(', ')}; on ${otherThreads} thread(s) ${rows.modelOther.map(f0).join(', ')}; DICOM ${rows.dicom.map(f0).join(', ')}; PNG ${rows.png.map(f0).join(', ')}; DICOM with onnxruntime on ${otherThreads} thread(s) ${rows.alt.map(f0).join(', ')}; reference DICOM ${rows.refDicom.map(f0).join(', ')}, PNG ${rows.refPng.map(f0).join(', ')}; preprocess DICOM ${rows.preDicom.map(f0).join(', ')}, PNG ${rows.prePng.map(f0).join(', ')}; pipeline stalls ${rows.stall.map(f0).join(', ')} ms, noise floor ${rows.floor.map(f0).join(', ')} ms.`);
  const share = (s: (typeof stages)[string]) => `read ${(s.read / s.n).toFixed(1)}, decode ${(s.decode / s.n).toFixed(1)}, letterbox ${(s.prepare / s.n).toFixed(1)}, infer ${(s.infer / s.n).toFixed(1)}, map back ${(s.post / s.n).toFixed(2)}`;
  console.log(`\nWall ms per image and stage in the last round (worker stages summed over workers, so on a loaded machine they include time the worker waited for a core): DICOM ${share(stages.DICOM!)}; PNG ${share(stages.PNG!)}.`);
  console.log('\nOne-pass letterbox (`prepareModelImage`) vs the step-by-step path it replaced (`prepareModelImageReference`: full-size float grey image, min-max, resize, normalize), single thread, same decoded image, best of 45 runs each; outputs agree within 1e-5 of the grey range (test/unit/inference/modelInputFast.test.ts):\n');
  console.log('| image | one pass ms | step by step ms | speed-up |');
  console.log('|---|---:|---:|---:|');
  for (const r of letterboxRows) console.log(r);
}

main().catch((e) => { console.error(e); process.exit(1); });
