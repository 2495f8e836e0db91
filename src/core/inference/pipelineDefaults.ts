import { availableParallelism } from 'node:os';

/**
 * Batch size, decode workers and model threads for this machine (issue 13), each overridable (CLI --batch,
 * --workers, --threads; settings pointbox.inference.batchSize / threads, where 0 means this choice).
 * Decode + letterbox of a 1024 px image costs a third to a half of the model's CPU per image here, so every
 * core gets a decode worker and onnxruntime gets every core too, with its spin-waiting off: a spinning
 * thread would hold a core a decoder could use, for nothing. The operating system then hands whichever core
 * is free to whichever stage has work. (Half the cores for onnxruntime, so its threads never wait for each
 * other behind a decoder, measured slower on 2 cores in interleaved runs: BENCHMARKS.md.) Batch 8 amortizes
 * the per-call cost of the model without holding many images in memory; it grows with the cores.
 */
export function pipelineDefaults(cores = availableParallelism()): { batchSize: number; workers: number; threads: number } {
  const c = Math.max(1, Math.floor(cores));
  return { batchSize: Math.min(32, Math.max(8, 2 * c)), workers: Math.min(8, c), threads: c };
}
