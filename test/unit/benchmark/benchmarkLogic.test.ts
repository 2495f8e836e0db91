// The benchmark's own logic without training: which steps run in which order, how a (ratio, seed) cell is
// labelled from the source dataset, how the table, the verdicts, the CSV and the plot come out of
// benchmark.json, and that a resume refuses to change what is measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generatePhantomDataset } from '../../../src/core/phantom/generatePhantomDataset';
import { DatasetDocument } from '../../../src/core/dataset/DatasetDocument';
import { effectiveAnnotationsByImage } from '../../../src/core/dataset/datasetQueries';
import { makeSpec, paths, planSteps, BENCHMARK_PRESETS } from '../../../src/core/benchmark/benchmarkSpec';
import { makeCellDataset } from '../../../src/core/benchmark/benchmarkSplit';
import { collectResults, resultsCsv, resultsMarkdown, verdicts } from '../../../src/core/benchmark/benchmarkResults';
import type { BenchmarkState } from '../../../src/core/benchmark/benchmarkState';
import { runBenchmark } from '../../../src/core/benchmark/runBenchmark';
import { benchmarkPlotSvg } from '../../../src/shared/benchmarkPlot';

test('the plan: seed-major, each cell complete before the next; boxes only has no teacher', () => {
  const spec = makeSpec('/x.pointbox.json', 'small', { ratios: [0.1, 0.5], seeds: [0, 1] });
  const plan = planSteps(spec);
  assert.deepEqual(BENCHMARK_PRESETS.small.ratios, [0.05, 0.1, 0.2, 0.5], 'the default ratios are PBC\'s');
  assert.equal(plan.length, 2 * 2 * (1 + 2 + 2 * 4));
  assert.deepEqual(plan.slice(0, 11).map((s) => s.id), [
    'split:r10-s0', 'student:boxes:r10-s0', 'eval:boxes:r10-s0',
    'teacher:pointdetr:r10-s0', 'pseudo:pointdetr:r10-s0', 'student:pointdetr:r10-s0', 'eval:pointdetr:r10-s0',
    'teacher:pbc:r10-s0', 'pseudo:pbc:r10-s0', 'student:pbc:r10-s0', 'eval:pbc:r10-s0',
  ]);
  // Every step's inputs come before it.
  const seen = new Set<string>();
  for (const s of plan) { for (const n of s.needs) assert.ok(seen.has(n), `${s.id} needs ${n} first`); seen.add(s.id); }
  assert.throws(() => makeSpec('/x', 'tiny', { ratios: [0, 0.5] }), /box ratios must be in \(0, 1\]/);
  assert.throws(() => makeSpec('/x', 'tiny', { seeds: [1, 1] }), /seeds repeat/);
});

test('a cell: the same val/test images for every ratio and seed, the ratio of train keeps boxes (positives and negatives apart), a fresh click per box', async () => {
  const work = mkdtempSync(join(tmpdir(), 'pointbox-cell-'));
  try {
    const r = await generatePhantomDataset({ out: join(work, 'ds'), images: 60, seed: 2, size: 64, format: 'png', boxRatio: 0.2, workers: 0 });
    const src = DatasetDocument.load(r.datasetFile).data;
    const before = JSON.stringify(src);
    const spec = { val: 0.1, test: 0.2, pointRegion: 'box' as const, evalSplit: 'auto' as const };
    const a = makeCellDataset(src, dirname(r.datasetFile), 0.1, 0, spec);
    const b = makeCellDataset(src, dirname(r.datasetFile), 0.5, 1, spec);
    assert.equal(JSON.stringify(src), before, 'the source is not changed');
    const held = (d: typeof a.data) => d.images.filter((im) => im.split !== 'train').map((im) => `${im.id}:${im.split}:${im.label_level}`).join(' ');
    assert.equal(held(a.data), held(b.data));
    assert.ok(a.data.images.filter((im) => im.split !== 'train').every((im) => im.label_level === 'boxes'), 'val/test keep all their boxes');
    assert.equal(a.summary.evalSplit, 'test');
    const train = src.images.filter((im) => im.split === 'train');
    const eff = effectiveAnnotationsByImage(src);
    const pos = train.filter((im) => (eff.get(im.id) ?? []).length > 0).length;
    assert.equal(a.summary.boxImagesWithBoxes, Math.round(pos * 0.1));
    assert.equal(b.summary.boxImagesWithBoxes, Math.round(pos * 0.5));
    assert.equal(a.summary.boxImages + a.summary.pointImages, train.length);
    // Every box has a click inside it, drawn again per seed; boxes stay (hidden on point-level images).
    const clicks = (d: typeof a.data) => new Map(d.annotations.filter((x) => x.bbox).map((x) => [x.id, x.point]));
    const ca = clicks(a.data);
    const cb = clicks(b.data);
    assert.equal(ca.size, src.annotations.filter((x) => x.bbox).length);
    let differ = 0;
    for (const x of a.data.annotations) {
      if (!x.bbox || !x.point) continue;
      assert.ok(x.point[0] >= x.bbox[0] && x.point[0] <= x.bbox[0] + x.bbox[2] && x.point[1] >= x.bbox[1] && x.point[1] <= x.bbox[1] + x.bbox[3]);
      if (JSON.stringify(cb.get(x.id)) !== JSON.stringify(x.point)) differ++;
    }
    assert.ok(differ > ca.size / 2, 'another seed, other clicks');
    assert.deepEqual(makeCellDataset(src, dirname(r.datasetFile), 0.1, 0, spec).data.annotations, a.data.annotations, 'the same seed, the same cell');
    assert.equal(a.data.pseudo_boxes.length, 0);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

function fakeState(): BenchmarkState {
  const spec = makeSpec('/data/x.pointbox.json', 'tiny', { ratios: [0.1, 0.5], seeds: [0, 1] });
  const steps: BenchmarkState['steps'] = {};
  // mAP: PBC > Point DETR > boxes at 10 %; at 50 % PBC loses on seed 1.
  const maps: Record<string, number[]> = { 'boxes:10': [0.10, 0.12], 'pointdetr:10': [0.14, 0.15], 'pbc:10': [0.18, 0.16], 'boxes:50': [0.30, 0.31], 'pointdetr:50': [0.31, 0.33], 'pbc:50': [0.32, 0.30] };
  for (const p of planSteps(spec)) {
    steps[p.id] = { status: 'done', kind: p.kind, seconds: p.kind === 'teacher' ? 20 : p.kind === 'student' ? 30 : 1, started: '2026-01-01T00:00:00Z', finished: '2026-01-01T00:10:00Z' };
    if (p.kind === 'eval') {
      const m = maps[`${p.method}:${Math.round(p.ratio * 100)}`]![p.seed]!;
      steps[p.id]!.result = { map: m, ap50: m * 2, split: 'test', images: 40 };
    }
    if (p.kind === 'pseudo') steps[p.id]!.result = { boxes: 50, meanIou: p.method === 'pbc' ? 0.6 : 0.5, hit50: 0.5 };
  }
  return { version: 1, spec, created: '', updated: '', status: 'completed', steps };
}

test('results: mean ± SD over seeds, each seed kept, paired verdicts by seed, CSV one line per seed, the plot a dot per seed', () => {
  const r = collectResults(fakeState());
  assert.equal(r.rows.length, 6);
  const pbc10 = r.rows.find((x) => x.method === 'pbc' && x.ratio === 0.1)!;
  assert.deepEqual(pbc10.map.values, [0.18, 0.16]);
  assert.ok(Math.abs(pbc10.map.mean - 0.17) < 1e-12);
  assert.ok(Math.abs(pbc10.map.sd - Math.SQRT2 * 0.01) < 1e-12);
  assert.equal(pbc10.pseudoIou!.mean, 0.6);
  const v = verdicts(r);
  assert.match(v[0]!, /^10 % boxes: PBC teacher vs Point DETR teacher: \+2\.5 mAP, \+5\.0 AP50 \(ahead on every seed\)/);
  assert.match(v[1]!, /^50 % boxes: PBC teacher vs Point DETR teacher: −1\.0 mAP, −2\.0 AP50 \(ahead on 1, behind on 1 of 2 seeds\); PBC teacher vs boxes only: \+0\.5 mAP, \+1\.0 AP50 \(ahead on 1, behind on 1 of 2 seeds\)/);
  const csv = resultsCsv(r).trim().split('\n');
  assert.equal(csv.length, 1 + 12);
  assert.equal(csv[1], '0.1,boxes,0,0.1,0.2,,,,,test,40,,,,,,,,30,1');
  const md = resultsMarkdown(r);
  assert.match(md, /\| 10 % \| PBC teacher \| 2 \| 17\.0 ± 1\.4 \| 34\.0 ± 2\.8 \| 18\.0, 16\.0 \| 60\.0 ± 0\.0 \| – \|/);
  assert.match(md, /teacher 20\.0 s median \(8 steps, 160 s\); pseudo 1\.0 s median \(8 steps/);
  const svg = benchmarkPlotSvg(r.rows.map((x) => ({ ratio: x.ratio, method: x.method, label: x.method, values: x.map.values })), { metric: 'mAP' });
  assert.equal((svg.match(/<circle /g) ?? []).length, 12);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 3, 'a line per method');
  assert.ok(!/<script|on\w+=/i.test(svg), 'no script in the SVG the webview inlines');
});

test('a resume refuses another dataset, split or budget; runs nothing when it cannot start', async () => {
  const work = mkdtempSync(join(tmpdir(), 'pointbox-resume-'));
  try {
    const ds = join(work, 'x.pointbox.json');
    writeFileSync(ds, '{}');
    const st = fakeState();
    st.spec.dataset = ds;
    // Each finished step's output on disk (a resume checks it: a step whose output is gone is redone).
    for (const p of planSteps(st.spec)) {
      const rel = p.kind === 'split' ? paths.split(p.ratio, p.seed) : p.kind === 'teacher' ? paths.teacherRun(p.method!, p.ratio, p.seed) : p.kind === 'student' ? paths.studentRun(p.method!, p.ratio, p.seed) : p.kind === 'pseudo' ? paths.pseudo(p.method!, p.ratio, p.seed) : paths.eval(p.method!, p.ratio, p.seed);
      st.steps[p.id]!.output = rel;
      const file = p.kind === 'teacher' || p.kind === 'student' ? join(work, rel, 'model.onnx') : join(work, rel);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, '');
    }
    writeFileSync(join(work, 'benchmark.json'), JSON.stringify(st));
    const deps = { modelsDir: '/nonexistent', loadPointToBox: () => Promise.reject(new Error('not called')), loadDetector: () => Promise.reject(new Error('not called')) };
    const other = makeSpec(ds, 'tiny', { student: { ...BENCHMARK_PRESETS.tiny.student, epochs: 9 } });
    await assert.rejects(runBenchmark(work, other, deps), /was started with another student; start a new benchmark folder/);
    await assert.rejects(runBenchmark(join(work, 'empty'), undefined, deps), /holds no benchmark \(benchmark\.json\) to resume/);
    // Everything done: a resume finishes at once, completed, with nothing redone.
    const done = await runBenchmark(work, undefined, deps);
    assert.equal(done.status, 'completed');
    assert.deepEqual(Object.values(done.steps).map((s) => s.finished), Object.values(st.steps).map((s) => s.finished));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
