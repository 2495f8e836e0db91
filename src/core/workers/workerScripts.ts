/**
 * Where worker_threads entry points live and how to start them, for WorkerPool (the one pool: inference
 * preprocessing, the phantom generator, dataset import/export jobs) and PointBoxModelWorker.
 *
 * Bundled, an entry `src/**\/<name>.worker.ts` is `dist/workers/<name>.js` (scripts/build.mjs); the calling
 * code sits in `dist/` (extension.js, cli.js) or in `dist/workers/` (code running inside another worker).
 * From source (tests, benches under tsx) the `.ts` file is used. Node 20 resolves a worker's main script
 * before any `--import` loader runs, so a `.ts` entry is started through tsx's CommonJS hook, required by
 * absolute path because an eval worker resolves modules from the process's cwd, not from this file.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';

function tsxCjsHook(): string | undefined {
  try { return require.resolve('tsx/cjs'); } catch { return undefined; }
}

/** The entry for `name`, or undefined when neither the bundle nor a runnable source is there. */
export function findWorkerScript(name: string, sourceFile: string): string | undefined {
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  const bundled = [join(here, 'workers', `${name}.js`), ...(basename(here) === 'workers' ? [join(here, `${name}.js`)] : [])];
  const found = bundled.find((p) => existsSync(p));
  if (found) return found;
  if (existsSync(sourceFile) && tsxCjsHook()) return sourceFile;
  return undefined;
}

/** Like findWorkerScript, but a missing entry is an error that says how to fix it. */
export function resolveWorkerScript(name: string, sourceFile: string): string {
  const found = findWorkerScript(name, sourceFile);
  if (!found) throw new Error(`worker script '${name}' not found (looked for dist/workers/${name}.js and ${sourceFile}); run npm run build`);
  return found;
}

/**
 * The message a pool worker posts once its entry module has loaded (see `startWorker`'s `announceReady`):
 * a worker that dies before it is a worker that could not start (a bad bundle, a missing module), which a
 * pool must not retry forever, unlike a worker that died on a task.
 */
export const WORKER_READY = '__pointbox_worker_ready__';

/**
 * Starts a worker on a bundled `.js` entry or, through tsx, on a `.ts` source entry. With `announceReady`
 * the entry is required from a small eval wrapper that posts WORKER_READY after the module loaded, so the
 * entry scripts themselves need no start-up protocol.
 */
export function startWorker(script: string, options: WorkerOptions = {}, announceReady = false): Worker {
  const ts = script.endsWith('.ts');
  if (!ts && !announceReady) return new Worker(script, options);
  let code = '';
  if (ts) {
    const hook = tsxCjsHook();
    if (!hook) throw new Error(`cannot start ${script}: tsx is not installed (source entries need it; bundles do not)`);
    code += `require(${JSON.stringify(hook)}); `;
  }
  code += `require(${JSON.stringify(script)});`;
  if (announceReady) code += ` require('node:worker_threads').parentPort.postMessage(${JSON.stringify(WORKER_READY)});`;
  return new Worker(code, { ...options, eval: true });
}

/**
 * Environment for the workers of a pool of `poolSize`: such a pool already decodes that many files at once,
 * so each worker's multithreaded JPEG 2000 decoder (codecs/openjpeg-mt) gets cores / poolSize threads (at
 * least 1, at most 4) rather than all cores, which would put poolSize x cores threads, each with its own stack and
 * WASM thread state, on the machine. An explicit POINTBOX_J2K_THREADS wins.
 */
export function poolWorkerEnv(poolSize: number): NodeJS.ProcessEnv {
  if (process.env.POINTBOX_J2K_THREADS !== undefined && process.env.POINTBOX_J2K_THREADS.trim() !== '') return { ...process.env };
  // Capped like the per-process default (j2kThreadCount: min(4, cores)): 4 threads measured no faster than 2.
  return { ...process.env, POINTBOX_J2K_THREADS: String(Math.max(1, Math.min(4, Math.floor(availableParallelism() / Math.max(1, poolSize))))) };
}
