/**
 * Node-only JPEG 2000 decoder: OpenJPEG 2.5 built for WebAssembly with pthreads and SIMD
 * (scripts/build-openjpeg-mt.sh; the outputs are committed in ./prebuilt and copied to dist/openjpeg-mt by
 * scripts/build.mjs). OpenJPEG decodes code-blocks and wavelet rows on several threads, which a
 * single-threaded build cannot; on a 2-core machine the RG1 lossless chest decodes in about half the time.
 *
 * - Loaded lazily, once per JavaScript thread (CLI main thread, each pool worker). Emscripten's glue
 *   is not bundled: its pthread workers load the glue by path, so it is required at run time from disk.
 * - The pthread workers are spawned once, at load (PTHREAD_POOL_SIZE), and unref'd: they never keep a
 *   process alive; a decode in flight holds a timer instead.
 * - A decode runs on its own pthread (pbj2k_start) and completion is awaited with Atomics.waitAsync, so
 *   the JavaScript thread never blocks on WASM threads. A thread that traps surfaces as the worker's
 *   'error' event: the pending decode fails with CODEC_ERROR and the instance is discarded.
 * - Returns null (caller falls back to @cornerstonejs/codec-openjpeg) when the build cannot load here or
 *   the image is one the fallback treats specially (see openjpegDecode.c).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { DicomDecodeError } from '../../ImagingError';
import type { J2kPlatformFrame } from '../../ImagingPlatform';


// The project's lib (ES2022, no DOM) has no WebAssembly or Atomics.waitAsync typings: the little used here.
interface WasmMemory { readonly buffer: SharedArrayBuffer }
declare const WebAssembly: { instantiate(bytes: Uint8Array, imports: unknown): Promise<{ instance: unknown; module: unknown }> };
type WaitAsync = (a: Int32Array, index: number, value: number, timeoutMs?: number) =>
  { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

/** What the Emscripten factory gives us (see openjpegDecode.c for the C side). */
interface NodeWorkerLike { unref(): void; terminate(): unknown; once(event: 'exit', cb: (code: number) => void): unknown; onerror?: (e: unknown) => void }
interface OpenJpegMtModule {
  wasmMemory: WasmMemory;
  PThread: {
    unusedWorkers: NodeWorkerLike[];
    runningWorkers: NodeWorkerLike[];
    loadWasmModuleToWorker(worker: NodeWorkerLike, onFinishedLoading?: () => void): unknown;
  };
  _pbj2k_job_new(inLen: number): number;
  _pbj2k_job_free(job: number): void;
  _pbj2k_start(job: number, threads: number): number;
  _pbj2k_decode(job: number, threads: number): number;
  _pbj2k_start_crash_test(job: number): number;
}
type Factory = (args: Record<string, unknown>) => Promise<OpenJpegMtModule>;

/** Word offsets into the C pb_job struct (all fields 32-bit). */
const JOB = { state: 0, status: 1, inPtr: 2, threads: 4, outPtr: 5, outLen: 6, width: 7, height: 8, comps: 9, prec: 10, sgnd: 11, bytesPerSample: 12, msgLen: 13 } as const;
const JOB_MSG_BYTE_OFFSET = 14 * 4;
const STATUS_OK = 0, STATUS_UNSUPPORTED = 2;
const GLUE = 'openjpeg-mt.js', WASM = 'openjpeg-mt.wasm', PTHREAD_JS = 'openjpeg-mt.worker.js';
const LOAD_TIMEOUT_MS = 10_000; // a last resort: a worker that dies while loading fails the load at once

/**
 * OpenJPEG threads per decode. POINTBOX_J2K_THREADS: 0 = do not use this build (the single-threaded
 * cornerstone codec decodes), 1 = this build on one thread, N = N threads. Default min(4, cores).
 */
export function j2kThreadCount(): number {
  const env = process.env.POINTBOX_J2K_THREADS;
  if (env !== undefined && env.trim() !== '') {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 0) return Math.min(n, 16);
  }
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** Directory holding the build: dist/openjpeg-mt next to a bundle, or ./prebuilt beside this source file. */
export function locateOpenJpegMt(): string | undefined {
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  const candidates = [join(here, 'openjpeg-mt'), join(here, '..', 'openjpeg-mt'), join(here, 'prebuilt')];
  return candidates.find((d) => [GLUE, WASM, PTHREAD_JS].every((f) => existsSync(join(d, f))));
}

class Instance {
  private broken: Error | undefined;
  private onBroken: ((e: Error) => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly mod: OpenJpegMtModule, private readonly onDiscard: () => void) {}

  /** Ends this instance's threads; pending and later decodes on it fail with `e`. */
  discard(e: Error = new Error('openjpeg-mt instance discarded')) {
    if (this.broken) return;
    this.broken = e;
    this.onDiscard();
    terminateAll(this.mod.PThread);
    this.onBroken?.(e);
  }

  /** One decode at a time per instance: concurrent callers queue (threads are the parallelism). */
  decode(frame: Uint8Array, threads: number, file?: string, crashTest = false): Promise<J2kPlatformFrame | null> {
    const run = this.queue.then(() => this.decodeNow(frame, threads, file, crashTest));
    this.queue = run.catch(() => {});
    return run;
  }

  private async decodeNow(frame: Uint8Array, threads: number, file: string | undefined, crashTest: boolean): Promise<J2kPlatformFrame | null> {
    if (this.broken) throw new DicomDecodeError('CODEC_ERROR', `openjpeg-mt failed: ${this.broken.message}`, file);
    const mod = this.mod;
    const job = mod._pbj2k_job_new(frame.length);
    if (!job) throw new DicomDecodeError('CODEC_ERROR', `openjpeg-mt: out of memory for a ${frame.length}-byte codestream`, file);
    let keepAlive: ReturnType<typeof setInterval> | undefined;
    try {
      const i32 = () => new Int32Array(mod.wasmMemory.buffer);
      const w = job >> 2;
      new Uint8Array(mod.wasmMemory.buffer, i32()[w + JOB.inPtr]! >>> 0, frame.length).set(frame);
      // OpenJPEG pool threads: 0 decodes on the job thread itself (a pool of 1 would only add a hop).
      const opjThreads = threads >= 2 ? threads : 0;
      const started = crashTest ? mod._pbj2k_start_crash_test(job) : mod._pbj2k_start(job, opjThreads);
      if (started !== 0) return null; // no thread to run on: let the fallback decode
      keepAlive = setInterval(() => {}, 60_000);
      await new Promise<void>((resolve, reject) => {
        this.onBroken = reject;
        const poll = () => {
          if (this.broken) return reject(this.broken);
          const r = waitAsync!(i32(), w + JOB.state, 0, 1000);
          if (!r.async) return resolve();
          void r.value.then((v) => (v === 'timed-out' ? poll() : resolve()));
        };
        poll();
      }).finally(() => { this.onBroken = undefined; });
      const h = i32();
      const status = h[w + JOB.status]!;
      if (status === STATUS_UNSUPPORTED) return null;
      if (status !== STATUS_OK) {
        const len = h[w + JOB.msgLen]!;
        const msg = Buffer.from(new Uint8Array(mod.wasmMemory.buffer, job + JOB_MSG_BYTE_OFFSET, len)).toString('utf8');
        throw new DicomDecodeError('CODEC_ERROR', `openjpeg failed: ${msg || 'decode failed'}`, file);
      }
      const outLen = h[w + JOB.outLen]! >>> 0;
      const bytes = new Uint8Array(outLen);
      bytes.set(new Uint8Array(mod.wasmMemory.buffer, h[w + JOB.outPtr]! >>> 0, outLen));
      const bitsPerSample = h[w + JOB.prec]!;
      const signed = h[w + JOB.sgnd]! !== 0;
      const data = h[w + JOB.bytesPerSample] === 1 ? bytes
        : signed ? new Int16Array(bytes.buffer, 0, outLen >> 1) : new Uint16Array(bytes.buffer, 0, outLen >> 1);
      return { data, width: h[w + JOB.width]!, height: h[w + JOB.height]!, components: h[w + JOB.comps]!, bitsPerSample, signed };
    } catch (e) {
      if (e instanceof DicomDecodeError) throw e;
      throw new DicomDecodeError('CODEC_ERROR', `openjpeg-mt failed: ${e instanceof Error ? e.message : String(e)}`, file);
    } finally {
      if (keepAlive) clearInterval(keepAlive);
      // After a crash the memory belongs to a discarded instance; otherwise the job is ours to free.
      if (!this.broken) mod._pbj2k_job_free(job);
    }
  }
}

let instance: Promise<Instance | null> | undefined;
let threadsLoaded = 0;

type PThreads = OpenJpegMtModule['PThread'];

function terminateAll(pt: PThreads) {
  for (const w of [...pt.unusedWorkers, ...pt.runningWorkers]) { try { void w.terminate(); } catch {} }
}

/**
 * Every pthread worker, the pre-spawned ones and any spawned later (pool exhausted, e.g. a detached decode
 * thread's worker not back yet), is unref'd and gets our error handler: Emscripten's rethrows, which would
 * be an uncaught exception in this thread.
 */
function adoptWorkers(pt: PThreads, onCrash: (e: Error) => void) {
  const adopted = new WeakSet<NodeWorkerLike>();
  const adopt = (w: NodeWorkerLike) => {
    w.unref();
    w.onerror = (e: unknown) => onCrash(new Error(`OpenJPEG thread crashed: ${e instanceof Error ? e.message : String(e)}`));
    // Emscripten never ends its workers itself (no EXIT_RUNTIME): one that exits died (or we ended it).
    if (!adopted.has(w)) w.once('exit', (code: number) => onCrash(new Error(`OpenJPEG thread worker exited (code ${code})`)));
    adopted.add(w);
  };
  for (const w of [...pt.unusedWorkers, ...pt.runningWorkers]) adopt(w);
  const load = pt.loadWasmModuleToWorker.bind(pt);
  pt.loadWasmModuleToWorker = (w, cb) => { const r = load(w, cb); adopt(w); return r; };
}

async function load(threads: number, onDiscard: () => void): Promise<Instance | null> {
  const dir = locateOpenJpegMt();
  if (!dir || typeof SharedArrayBuffer !== 'function' || typeof waitAsync !== 'function') return null;
  const glue = join(dir, GLUE);
  const wasm = readFileSync(join(dir, WASM));
  // createRequire keeps esbuild from bundling the glue (it must stay a file the pthread workers can load).
  const factory = createRequire(glue)(glue) as Factory;
  const made: { inst?: Instance } = {}; // set once ready; crash handlers look it up then
  const mod = await new Promise<OpenJpegMtModule>((resolveLoad, rejectLoad) => {
    // Until it is ready this timer keeps the process alive (the workers are unref'd below).
    const timer = setTimeout(() => reject(new Error('openjpeg-mt did not start')), LOAD_TIMEOUT_MS);
    function resolve(m: OpenJpegMtModule) { clearTimeout(timer); resolveLoad(m); }
    function reject(e: unknown) { clearTimeout(timer); if (args.PThread) terminateAll(args.PThread); rejectLoad(e); }
    const args: Record<string, unknown> & { PThread?: PThreads } = {
      // The decode thread + OpenJPEG's pool, spawned now rather than per decode; one spare for a
      // detached decode thread whose worker has not come back yet.
      pbPoolSize: (threads >= 2 ? threads : 0) + 2,
      print: () => {}, printErr: () => {}, // stdout must stay clean (CLI --json)
      instantiateWasm(info: unknown, receive: (instance: unknown, module: unknown) => void) {
        // Given the bytes, so Emscripten 3.1.6's glue never tries fetch() on a file path (Node 18+ has fetch).
        WebAssembly.instantiate(wasm, info).then((r) => receive(r.instance, r.module), reject);
        return {};
      },
    };
    const ready = factory(args);
    // MODULARIZE: the glue ran synchronously and set PThread on our args object; its workers exist but
    // have not loaded yet (that waits for our asynchronous instantiate), so they are adopted before any
    // of them can fail.
    if (args.PThread) adoptWorkers(args.PThread, (e) => { if (made.inst) made.inst.discard(e); else reject(e); });
    ready.then((m) => {
      if (!args.PThread) adoptWorkers(m.PThread, (e) => made.inst?.discard(e));
      resolve(m);
    }, reject);
  });
  made.inst = new Instance(mod, onDiscard);
  return made.inst;
}

/**
 * Decodes one JPEG 2000 frame (J2K codestream or JP2) with the multithreaded build. null: not handled here
 * (build unavailable, POINTBOX_J2K_THREADS=0, or an image the fallback decoder should treat); the caller
 * decodes with the cornerstone codec. Throws DicomDecodeError('CODEC_ERROR') for a bad codestream.
 */
export async function decodeJ2kMultithreaded(frame: Uint8Array, file?: string): Promise<J2kPlatformFrame | null> {
  const threads = j2kThreadCount();
  if (threads === 0) return null;
  if (instance && threads !== threadsLoaded) {
    // The pool was sized for another thread count (tests change the variable): start afresh.
    const old = instance;
    instance = undefined;
    void old.then((o) => o?.discard());
  }
  if (!instance) {
    threadsLoaded = threads;
    const p: Promise<Instance | null> = load(threads, () => { if (instance === p) instance = undefined; })
      .catch(() => null); // could not start here: the fallback decodes, silently (and we do not retry)
    instance = p;
  }
  const inst = await instance;
  return inst ? inst.decode(frame, threads, file) : null;
}

/** Test hook: a pthread of this thread's instance traps (as OpenJPEG crashing would); must reject typed. */
export async function crashTestOpenJpegMt(file?: string): Promise<unknown> {
  await decodeJ2kMultithreaded(new Uint8Array(0), file).catch(() => null); // loads the instance
  const inst = await instance;
  if (!inst) throw new Error('openjpeg-mt unavailable');
  return inst.decode(new Uint8Array(1), j2kThreadCount(), file, true);
}
