import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { hasFlag, optNumber, optString, parseArgs, type ParsedArgs } from '../args';
import { BENCHMARK_METHODS, BENCHMARK_PRESETS, makeSpec, type BenchmarkMethod, type BenchmarkPreset, type BenchmarkSpec } from '../../core/benchmark/benchmarkSpec';
import { collectResults, resultsCsv, resultsMarkdown } from '../../core/benchmark/benchmarkResults';
import { effectiveStatus, readBenchmarkState } from '../../core/benchmark/benchmarkState';
import { runBenchmark, writeResults } from '../../core/benchmark/runBenchmark';
import { DetectorModel } from '../../core/inference/DetectorModel';
import { PointBoxModel } from '../../core/inference/PointBoxModel';
import { findModelsDir } from '../../core/training/launchTrainingRun';

const RUN_VALUES = ['out', 'preset', 'ratios', 'methods', 'seeds', 'teacher-epochs', 'student-epochs', 'teacher-image-size', 'student-image-size', 'teacher-steps', 'student-steps', 'batch', 'device', 'python', 'eval-split', 'threads', 'student-init-backbone'];

function list<T>(p: ParsedArgs, name: string, parse: (s: string) => T): T[] | undefined {
  const v = optString(p, name);
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean).map(parse);
}

/** `--ratios 5,10,20,50` (percent) or `0.05,0.1` (fractions). */
export function parseRatio(s: string): number {
  const n = Number(s.replace(/%$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--ratios: '${s}' is not a positive number`);
  return n > 1 || s.endsWith('%') ? n / 100 : n;
}

export function specFromArgs(p: ParsedArgs, dataset: string, cwd = process.cwd()): BenchmarkSpec {
  const preset = (optString(p, 'preset') ?? 'small') as BenchmarkPreset;
  if (!(preset in BENCHMARK_PRESETS)) throw new UsageError(`--preset must be one of ${Object.keys(BENCHMARK_PRESETS).join(', ')}`);
  const base = BENCHMARK_PRESETS[preset];
  const methods = list(p, 'methods', (s) => {
    if (!(BENCHMARK_METHODS as readonly string[]).includes(s)) throw new UsageError(`--methods: '${s}' is not one of ${BENCHMARK_METHODS.join(', ')}`);
    return s as BenchmarkMethod;
  });
  const seeds = list(p, 'seeds', (s) => { const n = Number(s); if (!Number.isInteger(n) || n < 0) throw new UsageError(`--seeds: '${s}' is not a seed`); return n; });
  const device = optString(p, 'device');
  if (device && !['auto', 'cpu', 'cuda'].includes(device)) throw new UsageError('--device must be auto, cpu or cuda');
  const evalSplit = optString(p, 'eval-split');
  if (evalSplit && !['auto', 'test', 'val'].includes(evalSplit)) throw new UsageError('--eval-split must be auto, test or val');
  const batch = optNumber(p, 'batch');
  const budget = (k: 'teacher' | 'student') => ({
    ...base[k],
    ...(optNumber(p, `${k}-epochs`) !== undefined ? { epochs: optNumber(p, `${k}-epochs`)! } : {}),
    ...(optNumber(p, `${k}-image-size`) !== undefined ? { imageSize: optNumber(p, `${k}-image-size`)! } : {}),
    ...(optNumber(p, `${k}-steps`) !== undefined ? { stepsPerEpoch: optNumber(p, `${k}-steps`)! } : {}),
    ...(batch !== undefined ? { batch } : {}),
  });
  // The same starting CNN for every method's student (e.g. a teacher trained elsewhere): fair, and far fewer steps.
  const initBackbone = optString(p, 'student-init-backbone');
  if (initBackbone !== undefined && !existsSync(resolve(cwd, initBackbone))) throw new UsageError(`--student-init-backbone: ${resolve(cwd, initBackbone)} does not exist`);
  const student = budget('student');
  if (initBackbone !== undefined) student.extraArgs = [...(student.extraArgs ?? []), '--init-backbone', resolve(cwd, initBackbone)];
  try {
    return makeSpec(dataset, preset, {
      ...(list(p, 'ratios', parseRatio) ? { ratios: list(p, 'ratios', parseRatio)! } : {}),
      ...(methods ? { methods } : {}), ...(seeds ? { seeds } : {}),
      ...(device ? { device: device as BenchmarkSpec['device'] } : {}),
      ...(evalSplit ? { evalSplit: evalSplit as BenchmarkSpec['evalSplit'] } : {}),
      teacher: budget('teacher'), student,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export const benchmarkCommand: CliCommand = {
  name: 'benchmark',
  summary: "PBC's benchmark: box ratios x methods (boxes only, Point DETR, PBC teacher) x seeds -> student detector mAP",
  usage: [
    'pointbox benchmark run <dataset.pointbox.json> --out <dir> [--preset tiny|small|paper] [--ratios 5,10,20,50] [--methods boxes,pointdetr,pbc]',
    '          [--seeds 0,1] [--teacher-epochs N] [--student-epochs N] [--teacher-image-size S] [--student-image-size S] [--teacher-steps N]',
    '          [--student-steps N] [--batch N] [--student-init-backbone MODEL] [--device auto|cpu|cuda] [--eval-split auto|test|val]',
    '          [--python PY] [--threads N] [--json]',
    '    starts a benchmark in <dir>, or resumes the one there (finished steps are kept; a teacher or student still training is re-attached)',
    'pointbox benchmark resume <dir> [--python PY] [--json]',
    'pointbox benchmark table <dir> [--format md|csv|json]      the results table as it is now (also written to <dir>/results.md, .csv, plot.svg)',
    'pointbox benchmark status <dir> [--json]                   each step: status, time, error',
    'Ratios are percent (5 = 5 %) or fractions (0.05). Training runs execute models/pbc_trainer with Python (torch + torchvision).',
  ].join('\n'),
  async run(argv, io) {
    const sub = argv[0];
    const rest = argv.slice(1);
    if (sub === 'table' || sub === 'status') {
      const p = parseArgs(rest, { values: ['format'], flags: ['json'] });
      const dir = p.positionals[0];
      if (!dir || p.positionals.length !== 1) throw new UsageError('give the benchmark folder');
      const state = readBenchmarkState(resolve(io.cwd, dir));
      if (!state) throw new Error(`${resolve(io.cwd, dir)} holds no benchmark.json`);
      if (sub === 'status') {
        const rows = Object.entries(state.steps).map(([id, s]) => ({ id, ...s }));
        if (hasFlag(p, 'json')) { io.out(JSON.stringify({ status: effectiveStatus(state), error: state.error, steps: rows }) + '\n'); return 0; }
        io.out(`${effectiveStatus(state)}${state.error ? `: ${state.error}` : ''}\n`);
        for (const r of rows) io.out(`${r.status.padEnd(9)} ${r.id.padEnd(26)} ${r.seconds !== undefined ? `${r.seconds.toFixed(1)} s` : ''}${r.error ? `  ${r.error.split('\n')[0]}` : ''}\n`);
        return 0;
      }
      const format = optString(p, 'format') ?? (hasFlag(p, 'json') ? 'json' : 'md');
      const r = collectResults(state);
      if (format === 'csv') io.out(resultsCsv(r));
      else if (format === 'json') io.out(JSON.stringify(r) + '\n');
      else if (format === 'md') io.out(resultsMarkdown(r));
      else throw new UsageError('--format must be md, csv or json');
      return 0;
    }
    if (sub !== 'run' && sub !== 'resume') throw new UsageError(`the benchmark subcommands are run, resume, table and status (got '${sub ?? ''}')`);
    const p = parseArgs(rest, { values: RUN_VALUES, flags: ['json'] });
    let dir: string;
    let spec: BenchmarkSpec | undefined;
    if (sub === 'run') {
      const ds = p.positionals[0];
      if (!ds || p.positionals.length !== 1) throw new UsageError('give one dataset file');
      const out = optString(p, 'out');
      if (!out) throw new UsageError('--out <dir> is required (the benchmark folder; an existing one is resumed)');
      dir = resolve(io.cwd, out);
      const dataset = resolve(io.cwd, ds);
      if (!existsSync(dataset)) throw new Error(`${dataset} does not exist`);
      spec = specFromArgs(p, dataset, io.cwd);
    } else {
      const d = p.positionals[0];
      if (!d || p.positionals.length !== 1) throw new UsageError('give the benchmark folder');
      dir = resolve(io.cwd, d);
    }
    const modelsDir = findModelsDir(__dirname);
    if (!modelsDir) throw new Error('cannot find models/pbc_trainer next to this pointbox (run it from a PointBox checkout or package)');
    const threads = optNumber(p, 'threads', 0);
    const ac = new AbortController();
    const onSig = () => { io.err('\ncancelling: stopping the current step (its training run gets SIGTERM); resume later with `pointbox benchmark resume`\n'); ac.abort(); };
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    let last = '';
    const state = await runBenchmark(dir, spec, {
      modelsDir, python: optString(p, 'python'), signal: ac.signal,
      loadPointToBox: (f) => PointBoxModel.load(f, { device: 'cpu', threads }),
      loadDetector: (f) => DetectorModel.load(f, { device: 'cpu', threads }),
      log: (l) => io.err(`${l}\n`),
      onEvent: (e) => {
        // In a terminal one live line; in a log (CI) the step lines of `log` are enough.
        if (e.type === 'progress' && !hasFlag(p, 'json') && process.stderr.isTTY) {
          const line = `${e.step}: ${e.message}`;
          if (line !== last) { io.err(`\r${line.padEnd(60)}`); last = line; }
        }
      },
    });
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    await writeResults(dir, state);
    const r = collectResults(state);
    if (hasFlag(p, 'json')) io.out(JSON.stringify({ status: state.status, error: state.error, dir, results: r }) + '\n');
    else {
      io.err('\n');
      io.out(resultsMarkdown(r));
      io.out(`\n${state.status}${state.error ? `: ${state.error}` : ''}. Folder: ${dir} (results.md, results.csv, plot.svg)\n`);
    }
    return state.status === 'completed' ? 0 : state.status === 'cancelled' ? 130 : 1;
  },
};
