/**
 * The benchmark's table, from benchmark.json: one row per (box ratio, method) with mAP and AP50 of the student
 * detector on the held-out split, mean ± sample SD over seeds and each seed's value; per ratio, paired
 * comparisons (PBC vs Point DETR, PBC vs boxes only, Point DETR vs boxes only) by seed; how long each kind of
 * step took. Exported as CSV (one line per seed, nothing aggregated away) and Markdown (the paper-style table).
 */
import { METHOD_LABELS, ratioPercent, type BenchmarkMethod } from './benchmarkSpec';
import type { BenchmarkState, StepState } from './benchmarkState';
import type { StepKind } from './benchmarkSpec';

export interface Stat { mean: number; sd: number; min: number; max: number; n: number; values: number[] }

export interface CellResult {
  ratio: number;
  method: BenchmarkMethod;
  seed: number;
  /** Student detector on the eval split (fractions in [0, 1]). */
  map: number;
  ap50: number;
  mapCi?: [number, number];
  ap50Ci?: [number, number];
  evalSplit?: string;
  evalImages?: number;
  /** The student's own val figures (trainer), the teacher's val AP50 (point->box), the pseudo-boxes' quality. */
  studentValMap?: number;
  teacherValAp50?: number;
  pseudo?: { boxes: number; meanIou: number; hit50: number };
  seconds: Partial<Record<StepKind, number>>;
}

export interface ResultRow { ratio: number; method: BenchmarkMethod; map: Stat; ap50: Stat; pseudoIou?: Stat; teacherAp50?: Stat; seeds: number[] }

export interface Comparison {
  ratio: number;
  a: BenchmarkMethod;
  b: BenchmarkMethod;
  /** Mean over seeds of (a - b), mAP and AP50, on the seeds both have. */
  dMap: number;
  dAp50: number;
  /** Seeds on which a's mAP is higher / lower / equal. */
  wins: number;
  losses: number;
  pairs: number;
}

export interface TimingRow { kind: StepKind; steps: number; medianS: number; totalS: number }

export interface BenchmarkResults {
  cells: CellResult[];
  rows: ResultRow[];
  comparisons: Comparison[];
  timings: TimingRow[];
  /** Steps done / all planned; wall time from the first start to the last finish. */
  done: number;
  total: number;
  wallS: number;
}

export function stat(values: number[]): Stat {
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...values), max: Math.max(...values), n, values };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function collectResults(state: BenchmarkState): BenchmarkResults {
  const spec = state.spec;
  const steps = state.steps;
  const key = (kind: string, m: string | undefined, ratio: number, seed: number) => `${kind}:${m ? `${m}:` : ''}r${ratioPercent(ratio)}-s${seed}`;
  const cells: CellResult[] = [];
  for (const ratio of spec.ratios) for (const seed of spec.seeds) for (const method of spec.methods) {
    const ev = steps[key('eval', method, ratio, seed)];
    if (ev?.status !== 'done' || !ev.result) continue;
    const r = ev.result;
    const map = num(r.map);
    const ap50 = num(r.ap50);
    if (map === undefined || ap50 === undefined) continue;
    const secs = (k: StepKind, m?: string): number | undefined => { const s = steps[key(k, m, ratio, seed)]; return s?.status === 'done' ? s.seconds : undefined; };
    const pq = steps[key('pseudo', method, ratio, seed)]?.result;
    const cell: CellResult = {
      ratio, method, seed, map, ap50,
      ...(Array.isArray(r.mapCi) ? { mapCi: r.mapCi as [number, number] } : {}),
      ...(Array.isArray(r.ap50Ci) ? { ap50Ci: r.ap50Ci as [number, number] } : {}),
      ...(typeof r.split === 'string' ? { evalSplit: r.split } : {}),
      ...(num(r.images) !== undefined ? { evalImages: num(r.images) } : {}),
      ...(num(steps[key('student', method, ratio, seed)]?.result?.valMap) !== undefined ? { studentValMap: num(steps[key('student', method, ratio, seed)]?.result?.valMap) } : {}),
      ...(num(steps[key('teacher', method, ratio, seed)]?.result?.valAp50) !== undefined ? { teacherValAp50: num(steps[key('teacher', method, ratio, seed)]?.result?.valAp50) } : {}),
      ...(pq && num(pq.meanIou) !== undefined ? { pseudo: { boxes: num(pq.boxes) ?? 0, meanIou: num(pq.meanIou)!, hit50: num(pq.hit50) ?? NaN } } : {}),
      seconds: Object.fromEntries((['split', 'teacher', 'pseudo', 'student', 'eval'] as StepKind[]).map((k) => [k, secs(k, k === 'split' ? undefined : method)]).filter(([, v]) => v !== undefined)),
    };
    cells.push(cell);
  }
  const rows: ResultRow[] = [];
  for (const ratio of spec.ratios) for (const method of spec.methods) {
    const cs = cells.filter((c) => c.ratio === ratio && c.method === method);
    if (!cs.length) continue;
    const pi = cs.filter((c) => c.pseudo).map((c) => c.pseudo!.meanIou);
    const ta = cs.filter((c) => c.teacherValAp50 !== undefined).map((c) => c.teacherValAp50!);
    rows.push({ ratio, method, map: stat(cs.map((c) => c.map)), ap50: stat(cs.map((c) => c.ap50)), seeds: cs.map((c) => c.seed), ...(pi.length ? { pseudoIou: stat(pi) } : {}), ...(ta.length ? { teacherAp50: stat(ta) } : {}) });
  }
  const comparisons: Comparison[] = [];
  const pairs: [BenchmarkMethod, BenchmarkMethod][] = [['pbc', 'pointdetr'], ['pbc', 'boxes'], ['pointdetr', 'boxes']];
  for (const ratio of spec.ratios) for (const [a, b] of pairs) {
    if (!spec.methods.includes(a) || !spec.methods.includes(b)) continue;
    const ca = new Map(cells.filter((c) => c.ratio === ratio && c.method === a).map((c) => [c.seed, c]));
    const cb = cells.filter((c) => c.ratio === ratio && c.method === b && ca.has(c.seed));
    if (!cb.length) continue;
    const dm = cb.map((c) => ca.get(c.seed)!.map - c.map);
    const d5 = cb.map((c) => ca.get(c.seed)!.ap50 - c.ap50);
    comparisons.push({ ratio, a, b, dMap: stat(dm).mean, dAp50: stat(d5).mean, wins: dm.filter((x) => x > 0).length, losses: dm.filter((x) => x < 0).length, pairs: cb.length });
  }
  const byKind = new Map<StepKind, number[]>();
  let first = Infinity;
  let last = -Infinity;
  let done = 0;
  for (const s of Object.values(steps) as StepState[]) {
    if (s.status !== 'done') continue;
    done++;
    if (s.seconds !== undefined) { const l = byKind.get(s.kind) ?? []; l.push(s.seconds); byKind.set(s.kind, l); }
    if (s.started) first = Math.min(first, Date.parse(s.started));
    if (s.finished) last = Math.max(last, Date.parse(s.finished));
  }
  const timings: TimingRow[] = (['split', 'teacher', 'pseudo', 'student', 'eval'] as StepKind[]).filter((k) => byKind.has(k)).map((k) => {
    const v = byKind.get(k)!.slice().sort((x, y) => x - y);
    return { kind: k, steps: v.length, medianS: v[Math.floor((v.length - 1) / 2)]! / 2 + v[Math.ceil((v.length - 1) / 2)]! / 2, totalS: v.reduce((x, y) => x + y, 0) };
  });
  return { cells, rows, comparisons, timings, done, total: Object.keys(steps).length, wallS: Number.isFinite(first) && Number.isFinite(last) ? (last - first) / 1000 : 0 };
}

const pct = (v: number, d = 1) => (Number.isFinite(v) ? (v * 100).toFixed(d) : '–');
const pm = (s: Stat) => (s.n > 1 ? `${pct(s.mean)} ± ${pct(s.sd)}` : pct(s.mean));
const signed = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : '−'}${Math.abs(v * 100).toFixed(1)}` : '–');

export function resultsCsv(r: BenchmarkResults): string {
  const head = ['box_ratio', 'method', 'seed', 'map', 'ap50', 'map_ci_low', 'map_ci_high', 'ap50_ci_low', 'ap50_ci_high', 'eval_split', 'eval_images', 'student_val_map', 'teacher_val_ap50', 'pseudo_boxes', 'pseudo_mean_iou', 'pseudo_iou50', 'teacher_s', 'pseudo_s', 'student_s', 'eval_s'];
  const f = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '' : String(Math.round(v * 1e6) / 1e6));
  const lines = [head.join(',')];
  for (const c of r.cells) {
    lines.push([c.ratio, c.method, c.seed, f(c.map), f(c.ap50), f(c.mapCi?.[0]), f(c.mapCi?.[1]), f(c.ap50Ci?.[0]), f(c.ap50Ci?.[1]), c.evalSplit ?? '', c.evalImages ?? '',
      f(c.studentValMap), f(c.teacherValAp50), c.pseudo ? c.pseudo.boxes : '', f(c.pseudo?.meanIou), f(c.pseudo?.hit50),
      f(c.seconds.teacher), f(c.seconds.pseudo), f(c.seconds.student), f(c.seconds.eval)].join(','));
  }
  return lines.join('\n') + '\n';
}

/** The verdict sentence for one ratio: how PBC's pseudo-boxes did against Point DETR's and against boxes only. */
export function verdicts(r: BenchmarkResults): string[] {
  const out: string[] = [];
  const ratios = [...new Set(r.comparisons.map((c) => c.ratio))];
  for (const ratio of ratios) {
    const parts = r.comparisons.filter((c) => c.ratio === ratio).map((c) => {
      const who = `${METHOD_LABELS[c.a]} vs ${METHOD_LABELS[c.b]}`;
      const ties = c.pairs - c.wins - c.losses;
      const how = c.wins === c.pairs ? 'ahead on every seed' : c.losses === c.pairs ? 'behind on every seed' : ties === c.pairs ? 'level on every seed'
        : `ahead on ${c.wins}, behind on ${c.losses}${ties ? `, level on ${ties}` : ''} of ${c.pairs} seeds`;
      return `${who}: ${signed(c.dMap)} mAP, ${signed(c.dAp50)} AP50 (${how})`;
    });
    out.push(`${ratioPercent(ratio)} % boxes: ${parts.join('; ')}.`);
  }
  return out;
}

export function resultsMarkdown(r: BenchmarkResults, o: { title?: string; evalSplit?: string; timings?: boolean } = {}): string {
  const split = o.evalSplit ?? r.cells[0]?.evalSplit ?? 'test';
  const lines: string[] = [];
  if (o.title) lines.push(`### ${o.title}`, '');
  lines.push(`Student detector (FCOS) on the ${split} split: COCO mAP@[.5:.95] and AP50 in %, mean ± SD over seeds (each seed's mAP in its own column). Pseudo-box mIoU: mean IoU of the teacher's pseudo-boxes with the hidden true boxes of the point-level train images.`, '');
  lines.push('| box ratio | method | seeds | mAP | AP50 | mAP per seed | pseudo-box mIoU | teacher val AP50 |');
  lines.push('|---|---|---:|---:|---:|---|---:|---:|');
  for (const row of r.rows) {
    lines.push(`| ${ratioPercent(row.ratio)} % | ${METHOD_LABELS[row.method]} | ${row.map.n} | ${pm(row.map)} | ${pm(row.ap50)} | ${row.map.values.map((v) => pct(v)).join(', ')} | ${row.pseudoIou ? pm(row.pseudoIou) : '–'} | ${row.teacherAp50 ? pm(row.teacherAp50) : '–'} |`);
  }
  const v = verdicts(r);
  if (v.length) lines.push('', ...v.map((x) => `- ${x}`));
  if (o.timings !== false && r.timings.length) {
    lines.push('', `Time per step (wall, this machine): ${r.timings.map((t) => `${t.kind} ${t.medianS.toFixed(1)} s median (${t.steps} steps, ${t.totalS.toFixed(0)} s)`).join('; ')}; ${r.done} of ${r.total} steps done${r.wallS ? `, ${(r.wallS / 60).toFixed(1)} min from first start to last finish` : ''}.`);
  }
  return lines.join('\n') + '\n';
}
