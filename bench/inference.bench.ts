/**
 * Inference benchmark (issue 7), all in one run on this machine:
 *  1. the shipped ONNX model in onnxruntime-node vs the trainer's PyTorch model in eager mode (Debian's torch),
 *     same threads, same input (batch 1, 4 points): ms per image and the speed-up (target >= 5x);
 *  2. closeness to the limit: the model's achieved FLOP/s on onnxruntime CPU as a fraction of onnxruntime's
 *     own 1024^3 MatMul FLOP/s in the same run (target >= 0.5);
 *  3. end-to-end pseudo-labeling of 1024x1024 phantoms (PNG and DICOM): decode + preprocess in worker threads +
 *     inference + write (target >= 20 images/s), with the share of time per stage.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { PointBoxModel } from '../src/core/inference/PointBoxModel';
import { PointBoxModelWorker } from '../src/core/inference/PointBoxModelWorker';
import { readOnnxMetadata } from '../src/core/inference/readOnnxMetadata';
import { applyPseudoBoxes, collectJobs, runPointToBox } from '../src/core/inference/pseudoLabelPipeline';
import { DatasetDocument } from '../src/core/dataset/DatasetDocument';

const root = join(__dirname, '..');
const THREADS = Math.min(2, cpus().length);
const N_POINTS = 4;

function median(a: number[]): number { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]!; }

async function main() {
  const shipped = readdirSync(join(root, 'models')).filter((f) => f.endsWith('.onnx'));
  const modelFile = process.env.POINTBOX_BENCH_MODEL ?? (shipped[0] ? join(root, 'models', shipped[0]) : undefined);
  console.log('## Inference: point->box model (issue 7)\n');
  if (!modelFile || !existsSync(modelFile)) { console.log('No shipped model in models/*.onnx: nothing to measure.'); return; }
  const meta = readOnnxMetadata(readFileSync(modelFile), modelFile).metadata;
  const cfg = JSON.parse(meta['pointbox.model'] ?? '{}').config;
  const tmp = mkdtempSync(join(tmpdir(), 'pointbox-bench-inf-'));
  const gemmFile = join(tmp, 'gemm1024.onnx');
  const ref = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'bench', 'python', 'torch_reference.py'), JSON.stringify(cfg), String(THREADS), String(N_POINTS), '20', gemmFile],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(THREADS) } }).trim().split('\n').pop()!);

  // 1. onnxruntime-node, same shape and threads.
  const model = await PointBoxModel.load(modelFile, { device: 'cpu', threads: THREADS, spinning: true });
  const S = model.info.inputSize;
  const batch = { batch: 1, points: N_POINTS, image: Float32Array.from({ length: S * S }, (_, i) => Math.sin(i)), pointsXY: Float32Array.from({ length: N_POINTS * 2 }, (_, i) => 0.2 + 0.1 * i), labels: new BigInt64Array(N_POINTS), mask: new Uint8Array(N_POINTS).fill(1) };
  for (let i = 0; i < 5; i++) await model.run(batch);
  const ortTimes: number[] = [];
  for (let i = 0; i < 50; i++) { const t0 = performance.now(); await model.run(batch); ortTimes.push(performance.now() - t0); }
  const ortMs = median(ortTimes);
  const ortBest = Math.min(...ortTimes);

  // 2. onnxruntime's own large-GEMM FLOP/s (best of 10), same threads.
  const gemm = await ort.InferenceSession.create(gemmFile, { intraOpNumThreads: THREADS, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const n = 1024;
  const a = new ort.Tensor('float32', Float32Array.from({ length: n * n }, () => Math.random()), [n, n]);
  const b = new ort.Tensor('float32', Float32Array.from({ length: n * n }, () => Math.random()), [n, n]);
  await gemm.run({ a, b });
  let best = Infinity;
  for (let i = 0; i < 10; i++) { const t0 = performance.now(); await gemm.run({ a, b }); best = Math.min(best, performance.now() - t0); }
  const peak = (2 * n * n * n) / (best / 1000);
  const achieved = ref.flops / (ortBest / 1000);

  console.log(`Model ${shipped[0] ?? modelFile}: ${(ref.params / 1e6).toFixed(2)} M parameters, input ${S}x${S}, ${N_POINTS} points, ${(ref.flops / 1e9).toFixed(2)} GFLOP per image (torch.profiler); ${THREADS} threads each.\n`);
  console.log('| measure | PointBox (onnxruntime-node CPU) | reference | ratio | target |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| ms per image, batch 1, median (of 50 / 20 runs) | ${ortMs.toFixed(1)} | ${ref.median_ms.toFixed(1)} (PyTorch ${ref.torch} eager) | ${(ref.median_ms / ortMs).toFixed(1)}x faster | >= 5x |`);
  console.log(`| ms per image, batch 1, best run | ${ortBest.toFixed(1)} | ${ref.best_ms.toFixed(1)} | ${(ref.best_ms / ortBest).toFixed(1)}x faster | >= 5x |`);
  console.log(`| achieved FLOP/s (best run) vs onnxruntime's 1024^3 MatMul (best of 10) | ${(achieved / 1e9).toFixed(1)} GFLOP/s | ${(peak / 1e9).toFixed(1)} GFLOP/s | ${(achieved / peak).toFixed(2)} | >= 0.5 |`);

  // 3. End to end on 1024x1024 phantoms, the way the extension host runs it: onnxruntime in a worker thread.
  const hostModel = await PointBoxModelWorker.load(modelFile, { device: 'cpu', threads: THREADS });
  const rows: string[] = [];
  for (const format of ['png', 'dicom'] as const) {
    const dir = join(tmp, format);
    execFileSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'phantom', '--out', dir, '--images', '80', '--seed', '7', '--size', '1024', '--format', format, '--box-ratio', '0'], { stdio: 'ignore', cwd: root });
    const file = join(dir, 'dataset.pointbox.json');
    const doc = DatasetDocument.load(file);
    const jobs = collectJobs(doc.data);
    // The extension host runs this same code: watch its event loop for stalls while it works.
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const t0 = performance.now();
    const r = await runPointToBox(dir, doc.data.categories, jobs, hostModel, { batchSize: 4 });
    const tw = performance.now();
    applyPseudoBoxes(doc, r, { modelId: 'bench', executionProvider: r.executionProvider });
    await doc.save();
    const write = performance.now() - tw;
    lag.disable();
    const maxStall = lag.max / 1e6;
    const total = (performance.now() - t0) / 1000;
    const ips = r.completedImageIds.length / total;
    const st = r.stageMs;
    // Worker stages overlap with inference; shares are of summed busy time.
    const busy = st.read + st.decode + st.prepare + st.infer + st.post + write;
    const share = (v: number) => `${((100 * v) / busy).toFixed(0)}%`;
    rows.push(`| ${format.toUpperCase()} 1024x1024, ${r.completedImageIds.length} images, batch 4 | ${ips.toFixed(1)} | 20 | ${(ips / 20).toFixed(2)} | read ${share(st.read)}, decode ${share(st.decode)}, letterbox ${share(st.prepare)}, infer ${share(st.infer)}, map back ${share(st.post)}, write ${share(write)} | ${maxStall.toFixed(0)} ms |`);
  }
  console.log('\nEnd-to-end pseudo-labeling (decode + preprocess in worker threads, inference, atomic dataset write):\n');
  console.log('| input | images/s | target | ratio | share of busy time per stage | longest main-thread stall (target < 50 ms) |');
  console.log('|---|---:|---:|---:|---|---:|');
  for (const r of rows) console.log(r);
  await model.dispose();
  await hostModel.dispose();
}

main().catch((e) => { console.error(e); process.exit(1); });
