/**
 * What a PBC benchmark runs (issue 15): for each box ratio x seed, the train images are re-labelled (a
 * share keeps its boxes, the rest one click per lesion), and each method trains the student detector:
 * - `boxes`: the ground-truth boxes of the box-level images only (the lower bound);
 * - `pointdetr`: + pseudo-boxes of a plain Point DETR teacher (`pbc_trainer train --mode pointdetr`);
 * - `pbc`: + pseudo-boxes of the PBC teacher (multi-point, then symmetric consistency: `--mode pbc`).
 * Every student is scored on the same held-out split (test when there is one) with COCO mAP and AP50.
 *
 * The steps (split -> teacher -> pseudo-labels -> student -> eval) and their folders are named here, so
 * the runner, the resume logic and the results table agree on them.
 */
export const BENCHMARK_METHODS = ['boxes', 'pointdetr', 'pbc'] as const;
export type BenchmarkMethod = (typeof BENCHMARK_METHODS)[number];

export const METHOD_LABELS: Record<BenchmarkMethod, string> = {
  boxes: 'boxes only',
  pointdetr: 'Point DETR teacher',
  pbc: 'PBC teacher',
};

export interface TrainBudget {
  epochs: number;
  imageSize: number;
  batch: number;
  /** Optimizer steps per epoch; default: the trainer's (one pass). Students: the same for every method (see runBenchmark). */
  stepsPerEpoch?: number;
  /** More trainer flags, appended last. */
  extraArgs?: string[];
}

export interface BenchmarkSpec {
  version: 1;
  /** Absolute path of the source dataset (`*.pointbox.json`); it is read, never written. */
  dataset: string;
  /** Box ratios in (0, 1]: the share of train images that keep their boxes. */
  ratios: number[];
  methods: BenchmarkMethod[];
  seeds: number[];
  /** Used only when the dataset has no val/test split yet: fractions for a seed-0 split, kept for every cell. */
  val: number;
  test: number;
  pointRegion: 'box' | 'center-2/3';
  teacher: TrainBudget;
  student: TrainBudget;
  /** Split the students are scored on; 'auto' = test when the dataset has test images, else val. */
  evalSplit: 'auto' | 'test' | 'val';
  device: 'auto' | 'cpu' | 'cuda';
  preset?: string;
}

export const DEFAULT_RATIOS = [0.05, 0.1, 0.2, 0.5];

/**
 * Presets. `tiny`: the CI setting (one ratio, two seeds, the three methods: 22 steps, 5.5 min on this
 * 2-core machine at load 10, less idle; it checks the machinery, its numbers mean nothing). `small`: the README's sweep (PBC's ratios, two seeds,
 * a few hundred optimizer steps per model: tens of minutes on a laptop CPU). `paper`: PBC's ratios and a
 * longer schedule, for a GPU.
 */
export const BENCHMARK_PRESETS: Record<'tiny' | 'small' | 'paper', Omit<BenchmarkSpec, 'version' | 'dataset'>> = {
  tiny: {
    ratios: [0.5], methods: [...BENCHMARK_METHODS], seeds: [0, 1], val: 0.2, test: 0.2, pointRegion: 'box',
    teacher: { epochs: 1, imageSize: 64, batch: 4, stepsPerEpoch: 2 }, student: { epochs: 1, imageSize: 64, batch: 4, stepsPerEpoch: 2 },
    evalSplit: 'auto', device: 'cpu', preset: 'tiny',
  },
  small: {
    ratios: [...DEFAULT_RATIOS], methods: [...BENCHMARK_METHODS], seeds: [0, 1], val: 0.1, test: 0.2, pointRegion: 'box',
    teacher: { epochs: 3, imageSize: 96, batch: 8, stepsPerEpoch: 6 }, student: { epochs: 3, imageSize: 128, batch: 8, stepsPerEpoch: 6 },
    evalSplit: 'auto', device: 'auto', preset: 'small',
  },
  paper: {
    ratios: [...DEFAULT_RATIOS], methods: [...BENCHMARK_METHODS], seeds: [0, 1, 2], val: 0.2, test: 0.1, pointRegion: 'box',
    teacher: { epochs: 108, imageSize: 512, batch: 8 }, student: { epochs: 24, imageSize: 512, batch: 8 },
    evalSplit: 'auto', device: 'auto', preset: 'paper',
  },
};

export type BenchmarkPreset = keyof typeof BENCHMARK_PRESETS;

export function makeSpec(dataset: string, preset: BenchmarkPreset = 'small', over: Partial<Omit<BenchmarkSpec, 'version' | 'dataset'>> = {}): BenchmarkSpec {
  const base = BENCHMARK_PRESETS[preset];
  const spec: BenchmarkSpec = {
    version: 1, dataset, ...base, ...over,
    teacher: { ...base.teacher, ...over.teacher }, student: { ...base.student, ...over.student },
  };
  checkSpec(spec);
  return spec;
}

export function checkSpec(s: BenchmarkSpec): void {
  const bad = (m: string) => { throw new Error(`benchmark: ${m}`); };
  if (!s.ratios.length) bad('give at least one box ratio');
  for (const r of s.ratios) if (!(r > 0 && r <= 1)) bad(`box ratios must be in (0, 1] (fractions: 0.05 = 5 %), got ${r}`);
  if (new Set(s.ratios).size !== s.ratios.length) bad('box ratios repeat');
  if (!s.methods.length) bad('give at least one method');
  for (const m of s.methods) if (!BENCHMARK_METHODS.includes(m)) bad(`unknown method '${m}' (${BENCHMARK_METHODS.join(', ')})`);
  if (!s.seeds.length || s.seeds.some((x) => !Number.isInteger(x) || x < 0)) bad('seeds must be non-negative integers');
  if (new Set(s.seeds).size !== s.seeds.length) bad('seeds repeat');
  for (const [k, b] of [['teacher', s.teacher], ['student', s.student]] as const) {
    if (!(Number.isInteger(b.epochs) && b.epochs > 0)) bad(`${k} epochs must be a positive integer`);
    if (!(Number.isInteger(b.imageSize) && b.imageSize >= 32)) bad(`${k} image size must be an integer >= 32`);
    if (!(Number.isInteger(b.batch) && b.batch > 0)) bad(`${k} batch must be a positive integer`);
  }
}

/** "5", "12.5": a ratio as a percentage for names and tables. */
export function ratioPercent(r: number): string {
  return String(Math.round(r * 1000) / 10);
}

export type StepKind = 'split' | 'teacher' | 'pseudo' | 'student' | 'eval';

export interface StepRef {
  id: string;
  kind: StepKind;
  ratio: number;
  seed: number;
  /** Absent for the split (shared by the methods of a cell). */
  method?: BenchmarkMethod;
  /** Ids of the steps whose outputs it reads. */
  needs: string[];
}

const cellKey = (ratio: number, seed: number) => `r${ratioPercent(ratio)}-s${seed}`;

/** Relative output locations inside the benchmark folder. */
export const paths = {
  split: (ratio: number, seed: number) => `splits/${cellKey(ratio, seed)}.pointbox.json`,
  teacherRun: (m: BenchmarkMethod, ratio: number, seed: number) => `runs/teacher-${m}-${cellKey(ratio, seed)}`,
  pseudo: (m: BenchmarkMethod, ratio: number, seed: number) => `pseudo/${m}-${cellKey(ratio, seed)}.pointbox.json`,
  studentRun: (m: BenchmarkMethod, ratio: number, seed: number) => `runs/student-${m}-${cellKey(ratio, seed)}`,
  eval: (m: BenchmarkMethod, ratio: number, seed: number) => `eval/${m}-${cellKey(ratio, seed)}.json`,
};

/**
 * Every step, in the order they run: seed-major, then ratio, so each (ratio, seed) cell is complete before
 * the next starts and a partial benchmark already has whole rows.
 */
export function planSteps(s: BenchmarkSpec): StepRef[] {
  const out: StepRef[] = [];
  for (const seed of s.seeds) {
    for (const ratio of s.ratios) {
      const c = cellKey(ratio, seed);
      const split = `split:${c}`;
      out.push({ id: split, kind: 'split', ratio, seed, needs: [] });
      for (const m of s.methods) {
        const student = `student:${m}:${c}`;
        if (m === 'boxes') out.push({ id: student, kind: 'student', ratio, seed, method: m, needs: [split] });
        else {
          out.push({ id: `teacher:${m}:${c}`, kind: 'teacher', ratio, seed, method: m, needs: [split] });
          out.push({ id: `pseudo:${m}:${c}`, kind: 'pseudo', ratio, seed, method: m, needs: [split, `teacher:${m}:${c}`] });
          out.push({ id: student, kind: 'student', ratio, seed, method: m, needs: [`pseudo:${m}:${c}`] });
        }
        out.push({ id: `eval:${m}:${c}`, kind: 'eval', ratio, seed, method: m, needs: [split, student] });
      }
    }
  }
  return out;
}

/** Whether two specs describe the same benchmark (a resume must not silently change what is measured). */
export function sameSpec(a: BenchmarkSpec, b: BenchmarkSpec): string | undefined {
  const keys: (keyof BenchmarkSpec)[] = ['dataset', 'val', 'test', 'pointRegion', 'teacher', 'student', 'evalSplit'];
  for (const k of keys) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return k;
  return undefined;
}
