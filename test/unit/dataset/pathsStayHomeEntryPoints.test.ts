/**
 * Paths that stay home (issue 12), at the entry points that read images for a model or hand them to the
 * trainer: pseudo-label (CLI and pipeline), eval, and the training launcher. An image whose path leaves the
 * dataset folder and image root fails with the reason and is never read: the file it names is a valid PNG,
 * so reading it would have produced a box. The supported form with `images_root` + bare names works.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { encode } from 'fast-png';
import { runCli } from '../../../src/cli/main';
import { emptyDataset, serializeDataset } from '../../../src/core/dataset/datasetJson';
import { imageRootsOf } from '../../../src/core/dataset/imagePaths';
import type { DatasetFile } from '../../../src/core/dataset/schema';
import { PointBoxModel } from '../../../src/core/inference/PointBoxModel';
import { collectJobs, runPointToBox } from '../../../src/core/inference/pseudoLabelPipeline';
import { evaluatePointToBox } from '../../../src/core/inference/evaluatePointToBox';
import { defaultPython, findModelsDir, launchTrainingRun } from '../../../src/core/training/launchTrainingRun';
import { TrainingRunError } from '../../../src/core/training/TrainingRunError';
import { closeDatasetJobs } from '../../../src/core/workers/datasetJobs';
import { onnxFixtures } from '../inference/onnxFixtures';
import { capture, tmpDir } from './datasetFixtures';

const fx = onnxFixtures();
const skipModel = fx.reason ? `skipped: ${fx.reason}` : false;
const python = defaultPython();
const skipTorch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0 ? `${python} cannot import torch` : false;
after(() => closeDatasetJobs());

function png(path: string, w = 64, h = 64): void {
  const px = new Uint8Array(w * h);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7) & 255;
  writeFileSync(path, encode({ width: w, height: h, data: px, channels: 1, depth: 8 }));
}

/** <t>/ds/ (dataset, img1.png), <t>/elsewhere/e.png (an image root), <t>/secret/s.png (outside everything). */
function setup(names: string[], extra: Partial<DatasetFile> = {}, level: 'points' | 'boxes' = 'points') {
  const { dir: t } = tmpDir('pb-paths-ep-');
  for (const d of ['ds', 'elsewhere', 'secret']) mkdirSync(join(t, d));
  png(join(t, 'ds', 'img1.png')); png(join(t, 'elsewhere', 'e.png')); png(join(t, 'secret', 's.png'));
  const d = emptyDataset('entry points');
  d.categories = [{ id: 1, name: 'Nodule' }];
  names.forEach((file_name, i) => {
    d.images.push({ id: i + 1, file_name, width: 64, height: 64, split: level === 'boxes' ? 'val' : 'train', label_level: level });
    d.annotations.push({ id: i + 1, image_id: i + 1, category_id: 1, point: [32, 32], ...(level === 'boxes' ? { bbox: [20, 20, 24, 24] as [number, number, number, number], area: 576, iscrowd: 0 as const } : {}) });
  });
  Object.assign(d, extra);
  const file = join(t, 'ds', 'ds.pointbox.json');
  writeFileSync(file, serializeDataset(d));
  return { t, file, d };
}

test('pseudo-label (CLI): an escaping image is skipped with the reason, unread; the others get boxes', { skip: skipModel }, async () => {
  const s = setup(['img1.png', '../secret/s.png', join('..', '..', '..', '..', '..', '..', '..', 'etc', 'passwd')]);
  const c = capture(join(s.t, 'ds'));
  assert.equal(await runCli(['pseudo-label', 'ds.pointbox.json', '--model', join(fx.dir!, 'good.onnx'), '--class-map', 'Nodule=Nodule', '--json'], c.io), 0, c.err);
  assert.match(c.err, /skipped \.\.\/secret\/s\.png: image id=2: '\.\.\/secret\/s\.png' leaves the dataset folder .*refused \(not read\)/);
  assert.match(c.err, /image id=3: .*leaves .*refused \(not read\)/);
  const saved = JSON.parse(readFileSync(s.file, 'utf8')) as DatasetFile;
  assert.deepEqual(saved.pseudo_boxes.map((p) => p.image_id), [1]);
  assert.equal(JSON.parse(c.out).failedImages, 2);
});

test('pseudo-label (pipeline) and eval read images_root + bare names, and refuse what leaves the roots', { skip: skipModel }, async () => {
  const s = setup(['e.png', '../secret/s.png']);
  s.d.images_root = join(s.t, 'elsewhere');
  const model = await PointBoxModel.load(join(fx.dir!, 'good.onnx'), { device: 'cpu' });
  try {
    const roots = imageRootsOf(s.d, join(s.t, 'ds'));
    const r = await runPointToBox(roots, s.d.categories, collectJobs(s.d), model, { classMap: { Nodule: 'Nodule' } });
    assert.deepEqual(r.completedImageIds, [1]);
    assert.deepEqual(r.failed.map((f) => [f.imageId, /leaves the dataset folder .* and the image root .*refused \(not read\)/.test(f.error)]), [[2, true]]);
    // A plain folder string (the old signature) still works, with no image root: e.png is then not found at all.
    const plain = await runPointToBox(join(s.t, 'ds'), s.d.categories, collectJobs(s.d), model, { classMap: { Nodule: 'Nodule' } });
    assert.deepEqual(plain.failed.map((f) => f.imageId), [1, 2]);
    // eval takes the dataset's images_root from the dataset itself.
    const b = setup(['e.png', '../secret/s.png'], {}, 'boxes').d;
    b.images_root = join(s.t, 'elsewhere');
    const e = await evaluatePointToBox(b, join(s.t, 'ds'), model, { split: 'val', classMap: { Nodule: 'Nodule' }, bootstrap: 0 });
    assert.equal(e.images, 1, 'only the image inside the roots is scored');
    assert.equal(e.failedImages.length, 1);
    assert.match(e.failedImages[0]!.error, /image id=2: .*refused \(not read\)/);
  } finally {
    await model.dispose();
  }
});

test('eval (CLI) with --images-root: relocated images are found; an escaping one is reported, unread', { skip: skipModel }, async () => {
  const s = setup(['e.png', '../secret/s.png'], {}, 'boxes');
  const c = capture(join(s.t, 'ds'));
  assert.equal(await runCli(['eval', 'ds.pointbox.json', '--model', join(fx.dir!, 'good.onnx'), '--class-map', 'Nodule=Nodule', '--bootstrap', '0', '--images-root', join(s.t, 'elsewhere'), '--json'], c.io), 0, c.err);
  const j = JSON.parse(c.out);
  assert.equal(j.images, 1);
  assert.match(JSON.stringify(j.failedImages), /image id=2: .*refused \(not read\)/);
});

test('training launcher: a dataset with an escaping path fails at export naming the image; no run folder, no link', { skip: skipTorch, timeout: 120_000 }, async () => {
  const s = setup(['img1.png', '../../../../../../../../etc'], {}, 'boxes');
  s.d.images.forEach((im) => { im.split = 'train'; });
  writeFileSync(s.file, serializeDataset(s.d));
  const runsRoot = join(s.t, 'runs');
  await assert.rejects(launchTrainingRun({ dataset: s.file, runsRoot, modelsDir: findModelsDir(__dirname)!, python, epochs: 1 }),
    (e: unknown) => e instanceof TrainingRunError && e.code === 'export' && /id=2: '\.\.\/\.\.\/.*etc' leaves/.test(e.message) && /nothing was exported/.test(e.message));
  assert.deepEqual(existsSync(runsRoot) ? readdirSync(runsRoot) : [], [], 'the half-made run folder is removed: nothing was linked to /etc');
});
