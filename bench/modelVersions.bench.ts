/**
 * Inference cost of each shipped model version (issue 11: v2 within 1.5x of v1's ms per image on CPU), in one
 * run on this machine: every models/*.onnx in onnxruntime-node, CPU, 2 threads, batch 1 with 4 points, the
 * models timed in interleaved rounds so a noisy neighbour slows all of them alike. The reference is the first
 * version (pointbox-pbc-v1); the ratio is ms(model) / ms(v1), lower is better.
 */
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PointBoxModel } from '../src/core/inference/PointBoxModel';

const root = join(__dirname, '..');
const THREADS = Math.min(2, cpus().length);
const N_POINTS = 4;
const ROUNDS = 20;
const PER_ROUND = 10;

function median(a: number[]): number { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]!; }

async function main() {
  const files = readdirSync(join(root, 'models')).filter((f) => /^pointbox-.*\.onnx$/.test(f)).sort();
  console.log('## Inference cost per shipped model version (issue 11)\n');
  if (files.length === 0) { console.log('No shipped model in models/: nothing to measure.'); return; }
  const models = [];
  for (const f of files) models.push({ file: f, model: await PointBoxModel.load(join(root, 'models', f), { device: 'cpu', threads: THREADS, spinning: true }), times: [] as number[] });
  const S = models[0]!.model.info.inputSize;
  const batch = { batch: 1, points: N_POINTS, image: Float32Array.from({ length: S * S }, (_, i) => Math.sin(i)), pointsXY: Float32Array.from({ length: N_POINTS * 2 }, (_, i) => 0.2 + 0.1 * i), labels: new BigInt64Array(N_POINTS), mask: new Uint8Array(N_POINTS).fill(1) };
  for (const m of models) for (let i = 0; i < 5; i++) await m.model.run(batch);
  for (let r = 0; r < ROUNDS; r++) {
    for (const m of models) {
      for (let i = 0; i < PER_ROUND; i++) { const t0 = performance.now(); await m.model.run(batch); m.times.push(performance.now() - t0); }
    }
  }
  const base = median(models[0]!.times);
  console.log(`onnxruntime-node, CPU execution provider, ${THREADS} threads, batch 1, ${N_POINTS} points, input ${S}x${S}; ${ROUNDS} interleaved rounds of ${PER_ROUND} runs per model.\n`);
  console.log('| model | contract | ms per image (median) | best | vs ' + models[0]!.file + ' | target |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const m of models) {
    const med = median(m.times);
    console.log(`| ${m.file} | ${m.model.info.contractVersion} | ${med.toFixed(2)} | ${Math.min(...m.times).toFixed(2)} | ${(med / base).toFixed(2)}x | ${m === models[0] ? 'reference' : '<= 1.5x'} |`);
  }
  for (const m of models) await m.model.dispose();
}

main().catch((e) => { console.error(e); process.exit(1); });
