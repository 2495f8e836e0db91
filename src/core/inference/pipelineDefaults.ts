import { availableParallelism } from 'node:os';
import { threadPriorityAvailable } from '../workers/threadPriority';

/**
 * Batch size, decode workers and model threads for this machine (issue 13), each overridable (CLI --batch,
 * --workers, --threads; settings pointbox.inference.batchSize / threads, where 0 means this choice).
 * Decode + letterbox of a 1024 px image costs a third to a half of the model's CPU per image here, so every
 * core gets a decode worker. Where the decoders run at lower priority (Linux: threadPriority.ts) onnxruntime
 * gets half the cores: its threads then run whenever they have work, the decoders fill every cycle left, and
 * one onnxruntime thread costs fewer core-ms per image than two (3.8 vs 5.4 on 2 cores). Measured on 2 cores
 * against every core at equal priority, interleaved in the same rounds (BENCHMARKS.md, pipeline): PNG 7-9 %
 * faster in each of three 9-round runs; DICOM even (ahead in two runs, 10 % behind in one), since one thread
 * caps the model at about 250 images/s. Without lower-priority decoders half the cores measured slower (the
 * model's thread waited behind decoders), so there onnxruntime gets every core.
 * Spin-waiting is off either way: a spinning thread would hold a core a decoder could use, for nothing.
 * Batch 8 amortizes the per-call cost of the model without holding many images in memory; it grows with the cores.
 */
export function pipelineDefaults(cores = availableParallelism(), nicedDecoders = threadPriorityAvailable()): { batchSize: number; workers: number; threads: number } {
  const c = Math.max(1, Math.floor(cores));
  return { batchSize: Math.min(32, Math.max(8, 2 * c)), workers: Math.min(8, c), threads: nicedDecoders ? Math.max(1, Math.floor(c / 2)) : c };
}
