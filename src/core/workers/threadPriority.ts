/**
 * Lower scheduling priority for one worker thread (issue 13). The pseudo-label pipeline's decode workers and
 * onnxruntime share the cores; at equal priority the OS time-slices the model's thread with the decoders, so
 * the model, the slower stage, waits for a core. With the decoders niced the model's threads run whenever
 * they have work and the decoders take every cycle left over (BENCHMARKS.md, pipeline section).
 *
 * Linux schedules threads as tasks: setpriority() on a thread id changes that thread only, and raising a
 * nice value needs no privilege. Elsewhere (macOS, Windows) there is no per-thread nice through Node, so
 * nothing changes there.
 */
import { existsSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

let available: boolean | undefined;
/** Whether this platform can lower one thread's priority (Linux, /proc/thread-self); checked once per thread. */
export function threadPriorityAvailable(): boolean {
  return (available ??= process.platform === 'linux' && existsSync('/proc/thread-self'));
}

/** Id of the calling thread (Linux); undefined elsewhere. */
function currentThreadId(): number | undefined {
  if (!threadPriorityAvailable()) return undefined;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** Sets the calling thread's nice value to `nice` (0-19; 0 = leave it). Returns whether it was applied. */
export function lowerThisThreadPriority(nice: number): boolean {
  if (!(nice > 0)) return false;
  const tid = currentThreadId();
  if (tid === undefined) return false;
  try {
    setPriority(tid, Math.min(19, Math.round(nice)));
    return true;
  } catch {
    return false; // a sandbox that forbids it: run at normal priority
  }
}
