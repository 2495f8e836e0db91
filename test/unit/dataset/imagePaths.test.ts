/**
 * Paths that stay home (issue 12): every image path of a dataset resolves inside the dataset's folder or the
 * image root the user set (`images_root` in the file, `--images-root`); `..` escapes, absolute paths outside
 * and symlinks that leave them are errors in `validate` naming the image id, and every entry point refuses
 * them: the viewer's lookups (DatasetDocument.imagePath / imageIdAt), stats, export (no link, no copy, never
 * a link to `/`), importers, pseudo-label, eval and the training launcher (pathsStayHomeEntryPoints.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runCli } from '../../../src/cli/main';
import { DatasetDocument } from '../../../src/core/dataset/DatasetDocument';
import { DatasetError } from '../../../src/core/dataset/DatasetError';
import { emptyDataset, serializeDataset } from '../../../src/core/dataset/datasetJson';
import { computeStats } from '../../../src/core/dataset/datasetStats';
import { exportCoco } from '../../../src/core/dataset/exportCoco';
import { findMissingImages } from '../../../src/core/dataset/findMissingImages';
import { imageRootsOf, resolveImagePath } from '../../../src/core/dataset/imagePaths';
import { importCoco } from '../../../src/core/dataset/importCoco';
import { importFolder } from '../../../src/core/dataset/importFolder';
import { importRsna } from '../../../src/core/dataset/importRsna';
import type { DatasetFile } from '../../../src/core/dataset/schema';
import { validateDataset } from '../../../src/core/dataset/validateDataset';
import { capture, tinyDicom, tmpDir } from './datasetFixtures';

/**
 * <t>/project/ds/          the dataset folder: ds.pointbox.json, images/a.dcm, images/link-out.dcm -> ../../secret/s.dcm,
 *                          images/link-in.dcm -> a.dcm, images/dirlink -> ../../secret
 * <t>/project/elsewhere/   an image folder outside the dataset folder: e1.dcm, sub/e2.dcm
 * <t>/secret/s.dcm         outside every root
 */
function layout(): { t: string; ds: string; file: string; elsewhere: string; secret: string } {
  const { dir: t } = tmpDir('pb-paths-');
  const ds = join(t, 'project', 'ds'); const elsewhere = join(t, 'project', 'elsewhere'); const secret = join(t, 'secret');
  for (const d of [join(ds, 'images'), join(elsewhere, 'sub'), secret]) mkdirSync(d, { recursive: true });
  writeFileSync(join(ds, 'images', 'a.dcm'), tinyDicom(32, 32, 'A'));
  writeFileSync(join(elsewhere, 'e1.dcm'), tinyDicom(32, 32, 'E1'));
  writeFileSync(join(elsewhere, 'sub', 'e2.dcm'), tinyDicom(32, 32, 'E2'));
  writeFileSync(join(secret, 's.dcm'), tinyDicom(32, 32, 'SECRET'));
  symlinkSync(join('..', '..', '..', 'secret', 's.dcm'), join(ds, 'images', 'link-out.dcm'));
  symlinkSync('a.dcm', join(ds, 'images', 'link-in.dcm'));
  symlinkSync(join('..', '..', '..', 'secret'), join(ds, 'images', 'dirlink'));
  return { t, ds, file: join(ds, 'ds.pointbox.json'), elsewhere, secret };
}

function dataset(names: string[], extra: Partial<DatasetFile> = {}): DatasetFile {
  const d = emptyDataset('paths');
  d.categories = [{ id: 1, name: 'Nodule' }];
  names.forEach((file_name, i) => d.images.push({ id: i + 1, file_name, width: 32, height: 32, split: 'train', label_level: 'boxes' }));
  d.annotations = names.map((_, i) => ({ id: i + 1, image_id: i + 1, category_id: 1, bbox: [2, 2, 10, 10], area: 100, iscrowd: 0, point: [5, 5] }));
  return { ...d, ...extra };
}

test('resolveImagePath: inside ok; .., absolute outside, symlinks out, a file-system-root image root and NUL refused', () => {
  const L = layout();
  const roots = imageRootsOf(undefined, L.ds);
  const ok = (n: string) => resolveImagePath(roots, n);
  assert.deepEqual(ok('images/a.dcm'), { ok: true, path: join(L.ds, 'images', 'a.dcm') });
  assert.equal(ok('images/../images/a.dcm').ok, true, 'a .. that stays inside is fine');
  assert.equal(ok(join(L.ds, 'images', 'a.dcm')).ok, true, 'absolute inside');
  assert.equal(ok('images/link-in.dcm').ok, true, 'a link that stays inside');
  assert.equal(ok('images/missing.dcm').ok, true, 'missing files are reported elsewhere, not refused');
  const bad = (n: string, problem: string) => { const r = ok(n); assert.equal(r.ok, false, n); if (!r.ok) assert.equal(r.problem, problem, `${n}: ${r.reason}`); };
  bad('../../../../etc/passwd', 'escape');
  bad('../elsewhere/e1.dcm', 'escape');
  bad('/etc/passwd', 'absolute-outside');
  bad(join(L.secret, 's.dcm'), 'absolute-outside');
  bad('images/link-out.dcm', 'symlink-outside');
  bad('images/dirlink/s.dcm', 'symlink-outside');
  bad('images/a\0.dcm', 'bad-name');
  bad('', 'bad-name');
  assert.equal(resolveImagePath(roots, 'images/link-out.dcm', { checkLinks: false }).ok, true, 'the text alone is inside');
  // images_root: bare names resolve against it; both folders are roots; '/' is never a root.
  const withRoot = imageRootsOf({ images_root: L.elsewhere }, L.ds);
  assert.deepEqual(resolveImagePath(withRoot, 'sub/e2.dcm'), { ok: true, path: join(L.elsewhere, 'sub', 'e2.dcm') });
  assert.equal(resolveImagePath(withRoot, join(L.ds, 'images', 'a.dcm')).ok, true);
  assert.equal(resolveImagePath(withRoot, '../../secret/s.dcm').ok, false);
  assert.equal(resolveImagePath(imageRootsOf({ images_root: '../elsewhere' }, L.ds), 'e1.dcm').ok, true, 'relative images_root: from the dataset folder');
  const slash = resolveImagePath(imageRootsOf({ images_root: '/' }, L.ds), 'etc/passwd');
  assert.equal(slash.ok, false);
  if (!slash.ok) { assert.equal(slash.problem, 'bad-root'); assert.match(slash.reason, /file system's root/); }
  // A flag / setting replaces the file's images_root.
  assert.equal(resolveImagePath(imageRootsOf({ images_root: '/' }, L.ds, L.elsewhere), 'e1.dcm').ok, true);
  // A dataset folder reached through a symlink is still home.
  symlinkSync(L.ds, join(L.t, 'ds-link'));
  assert.equal(resolveImagePath(imageRootsOf(undefined, join(L.t, 'ds-link')), 'images/link-in.dcm').ok, true);
  assert.equal(resolveImagePath(imageRootsOf(undefined, join(L.t, 'ds-link')), 'images/link-out.dcm').ok, false);
});

test('validate: each escaping image is an error naming its id (text always, links with files); the CLI exits 1', async () => {
  const L = layout();
  const d = dataset(['images/a.dcm', '../../../../etc/passwd', '/etc/passwd', 'images/link-out.dcm', 'images/dirlink/s.dcm', 'images/link-in.dcm']);
  const text = serializeDataset(d);
  writeFileSync(L.file, text);
  const full = validateDataset(d, { file: L.file, text, datasetDir: L.ds });
  const outside = full.problems.filter((p) => p.code === 'path-outside');
  assert.deepEqual(outside.map((p) => [p.severity, p.record]), [2, 3, 4, 5].map((id) => ['error', `images[${id - 1}] id=${id}`]));
  assert.ok(outside.every((p) => p.line !== undefined), 'each with its line');
  assert.match(outside[0]!.message, /'\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd' leaves the dataset folder/);
  // Without file checks (the loader, --no-files): the text is still checked, symlinks are not followed.
  const lexical = validateDataset(d, { file: L.file, text });
  assert.deepEqual(lexical.problems.filter((p) => p.code === 'path-outside').map((p) => p.record), ['images[1] id=2', 'images[2] id=3']);
  assert.equal(DatasetDocument.load(L.file).problems.filter((p) => p.code === 'path-outside').length, 2, 'a loaded document lists them');
  const c = capture(L.ds);
  assert.equal(await runCli(['validate', 'ds.pointbox.json'], c.io), 1);
  assert.match(c.out, /ds\.pointbox\.json:\d+ \(images\[1\] id=2\): error path-outside: '\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd' leaves/);
  assert.match(c.out, /\(images\[3\] id=4\): error path-outside: 'images\/link-out\.dcm' is a symlink .* to .*secret/);
  assert.match(c.err, /4 error\(s\)/);
  // images_root '/' in the file: one error, and no image is read at all.
  const root = dataset(['etc/passwd'], { images_root: '/' });
  const r2 = validateDataset(root, { file: L.file, datasetDir: L.ds });
  assert.deepEqual(r2.problems.filter((p) => p.severity === 'error').map((p) => [p.code, p.record]), [['path-outside', 'images_root']]);
});

test('the eval-real form (absolute images_root + bare file names) is valid, resolves, exports and is found by path', () => {
  const L = layout();
  const d = dataset(['e1.dcm', 'sub/e2.dcm'], { images_root: L.elsewhere });
  writeFileSync(L.file, serializeDataset(d));
  assert.equal(validateDataset(d, { file: L.file, datasetDir: L.ds }).errors, 0);
  const doc = DatasetDocument.load(L.file);
  assert.equal(doc.data.images_root, L.elsewhere, 'images_root survives load');
  assert.equal(doc.imagePath(doc.image(2)!), join(L.elsewhere, 'sub', 'e2.dcm'));
  assert.equal(doc.imageIdAt(join(L.elsewhere, 'sub', 'e2.dcm')), 2);
  assert.deepEqual(computeStats(doc.data, { datasetDir: L.ds }).missingFiles, 0);
  const out = join(L.t, 'export');
  const r = exportCoco(doc.data, { out, datasetDir: L.ds, layout: 'pbc' });
  assert.equal(r.imageRoot, L.elsewhere);
  assert.equal(readlinkSync(join(out, 'images')), L.elsewhere, 'the link points at the images, inside images_root');
  const train = JSON.parse(readFileSync(join(out, 'annotations', 'instances_train_box.json'), 'utf8'));
  assert.deepEqual(train.images.map((i: { file_name: string }) => i.file_name), ['e1.dcm', 'sub/e2.dcm']);
  assert.ok(existsSync(join(out, 'images', 'sub', 'e2.dcm')));
  // Saving keeps it.
  doc.setImage(1, { split: 'val' });
  return doc.save().then(() => assert.equal(JSON.parse(readFileSync(L.file, 'utf8')).images_root, L.elsewhere));
});

test('the viewer\'s lookups refuse an escaping image: imagePath throws naming the id, imageIdAt never finds it; stats and the tree count it missing unread', async () => {
  const L = layout();
  const d = dataset(['images/a.dcm', '../../secret/s.dcm', 'images/link-out.dcm']);
  writeFileSync(L.file, serializeDataset(d));
  const doc = DatasetDocument.load(L.file);
  assert.equal(doc.imagePath(doc.image(1)!), join(L.ds, 'images', 'a.dcm'));
  assert.throws(() => doc.imagePath(doc.image(2)!), (e: unknown) => e instanceof DatasetError && e.code === 'path-outside' && /image id=2: '\.\.\/\.\.\/secret\/s\.dcm' leaves/.test(e.message) && /not read, linked or copied/.test(e.message));
  assert.throws(() => doc.imagePath(doc.image(3)!), (e: unknown) => e instanceof DatasetError && /image id=3: .*symlink/.test(e.message));
  assert.equal(doc.imageIdAt(join(L.secret, 's.dcm')), undefined);
  assert.equal(doc.imageIdAt(join(L.ds, 'images', 'link-out.dcm')), undefined);
  assert.equal(doc.imageIdAt(join(L.ds, 'images', 'a.dcm')), 1);
  assert.equal(doc.resolveImage(doc.image(2)!).ok, false);
  assert.equal(computeStats(doc.data, { datasetDir: L.ds }).missingFiles, 1, 'the escaping one counts as missing (not looked at); the link is checked on disk');
  assert.deepEqual(await findMissingImages(doc.data, L.ds), [2]);
});

test('export refuses a dataset with an escaping path: nothing written, no link, no copy; the PBC layout never links to /', () => {
  const L = layout();
  for (const [names, images] of [[['images/a.dcm', '../../../../etc/passwd'], 'link'], [['images/a.dcm', '/etc/passwd'], 'copy'], [['images/link-out.dcm'], 'copy']] as const) {
    const out = join(L.t, `export-${images}-${names.length}`);
    assert.throws(() => exportCoco(dataset([...names]), { out, datasetDir: L.ds, layout: 'pbc', images }),
      (e: unknown) => e instanceof DatasetError && e.code === 'path-outside' && /id=\d+/.test(e.message) && /nothing was exported/.test(e.message));
    assert.equal(existsSync(out), false, `${names.join(',')}: nothing written`);
  }
  // The reproduction through the CLI: exit 1, no image_root "/", no link to /.
  const d = dataset(['../../../../etc/passwd']);
  writeFileSync(L.file, serializeDataset(d));
  return (async () => {
    const c = capture(L.ds);
    assert.equal(await runCli(['export', 'coco', 'ds.pointbox.json', '--out', 'pbc', '--layout', 'pbc'], c.io), 1);
    assert.match(c.err, /path-outside|lead outside/);
    assert.equal(existsSync(join(L.ds, 'pbc')), false);
    // Images under both the dataset folder and images_root: one link per root inside a real images folder.
    const two = dataset(['e1.dcm', join(L.ds, 'images', 'a.dcm')], { images_root: L.elsewhere });
    const out = join(L.t, 'two');
    const r = exportCoco(two, { out, datasetDir: L.ds, layout: 'coco' });
    assert.equal(lstatSync(join(out, 'images')).isDirectory(), true);
    assert.equal(readlinkSync(join(out, 'images', 'root1')), L.elsewhere);
    assert.equal(readlinkSync(join(out, 'images', 'root2')), join(L.ds, 'images'));
    const coco = JSON.parse(readFileSync(join(out, 'annotations', 'instances.json'), 'utf8'));
    assert.deepEqual(coco.images.map((i: { file_name: string }) => i.file_name), ['root1/e1.dcm', 'root2/a.dcm']);
    for (const f of coco.images) assert.ok(existsSync(join(r.imageRoot, f.file_name)), f.file_name);
    assert.throws(() => exportCoco(two, { out: join(L.t, 'none'), datasetDir: L.ds, images: 'none' }), /--images link or copy/);
  })();
});

test('importers: --images outside the dataset folder becomes images_root with plain names; rows that leave it are skipped unread', () => {
  const L = layout();
  // COCO with the images elsewhere (the case that used to write '../elsewhere/e1.dcm').
  const coco = { images: [{ id: 1, file_name: 'e1.dcm', width: 32, height: 32 }, { id: 2, file_name: 'sub/e2.dcm', width: 32, height: 32 }, { id: 3, file_name: '../../secret/s.dcm', width: 32, height: 32 }, { id: 4, file_name: join(L.secret, 's.dcm'), width: 32, height: 32 }],
    annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 5, 5] }, { id: 2, image_id: 3, category_id: 1, bbox: [1, 1, 5, 5] }], categories: [{ id: 1, name: 'Nodule' }] };
  const ann = join(L.t, 'project', 'coco.json');
  writeFileSync(ann, JSON.stringify(coco));
  const r = importCoco({ annotations: [ann], images: L.elsewhere, out: L.file });
  assert.equal(r.data.images_root, L.elsewhere);
  assert.deepEqual(r.data.images.map((i) => i.file_name), ['e1.dcm', 'sub/e2.dcm']);
  assert.deepEqual(r.data.annotations.map((a) => a.image_id), [1], 'the skipped image\'s annotation is not imported');
  assert.equal(r.log.problems.filter((p) => p.code === 'path-outside').length, 2);
  writeFileSync(L.file, serializeDataset(r.data));
  assert.equal(validateDataset(r.data, { file: L.file, datasetDir: L.ds }).errors, 0, 'the import validates');
  // Inside the dataset folder nothing changes: names relative to the dataset folder, no images_root.
  const f = importFolder({ images: join(L.ds, 'images'), out: L.file });
  assert.equal(f.data.images_root, undefined);
  assert.deepEqual(f.data.images.map((i) => i.file_name), ['images/a.dcm'], 'links are not followed by the folder walk');
  // RSNA rows naming a file outside the image folder are skipped before any header is read.
  writeFileSync(join(L.elsewhere, 'p1.dcm'), tinyDicom(32, 32, 'p1'));
  const csv = join(L.t, 'labels.csv');
  writeFileSync(csv, 'patientId,x,y,width,height,Target\np1,1,1,5,5,1\n../../secret/s,1,1,5,5,1\n');
  const rs = importRsna({ labels: csv, images: L.elsewhere, out: L.file });
  assert.deepEqual(rs.data.images.map((i) => i.file_name), ['p1.dcm']);
  assert.equal(rs.data.images[0]!.width, 32, 'the size came from the header');
  assert.match(rs.log.problems.find((p) => p.code === 'path-outside')!.message, /secret\/s\.dcm' is outside .*skipped/);
});

test('CLI import coco with images elsewhere records images_root; validate, stats and export --images-root work on it', async () => {
  const L = layout();
  writeFileSync(join(L.t, 'project', 'coco.json'), JSON.stringify({ images: [{ id: 1, file_name: 'e1.dcm' }], annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 5, 5] }], categories: [{ id: 1, name: 'Nodule' }] }));
  let c = capture(join(L.t, 'project'));
  assert.equal(await runCli(['import', 'coco', '--annotations', 'coco.json', '--images', 'elsewhere', '--out', 'ds/imported.pointbox.json'], c.io), 0, c.err);
  assert.match(c.err, /images_root: .*elsewhere/);
  const saved = JSON.parse(readFileSync(join(L.ds, 'imported.pointbox.json'), 'utf8'));
  assert.equal(saved.images_root, resolve(L.elsewhere));
  assert.equal(saved.images[0].file_name, 'e1.dcm');
  c = capture(L.ds);
  assert.equal(await runCli(['validate', 'imported.pointbox.json'], c.io), 0, c.out + c.err);
  // Relocated images: --images-root replaces the file's images_root for this run.
  mkdirSync(join(L.t, 'moved'));
  writeFileSync(join(L.t, 'moved', 'e1.dcm'), tinyDicom(32, 32, 'E1'));
  c = capture(L.ds);
  assert.equal(await runCli(['stats', 'imported.pointbox.json', '--json', '--images-root', join(L.t, 'moved')], c.io), 0);
  assert.equal(JSON.parse(c.out).missingFiles, 0);
  c = capture(L.ds);
  assert.equal(await runCli(['export', 'coco', 'imported.pointbox.json', '--out', 'x', '--images-root', join(L.t, 'moved'), '--json'], c.io), 0, c.err);
  assert.equal(JSON.parse(c.out).imageRoot, join(L.t, 'moved'));
  assert.equal(readlinkSync(join(L.ds, 'x', 'images')), join(L.t, 'moved'));
});

test('pointbox images-root: a dataset with ../ names (older imports) is moved under the folder the user names; what lies elsewhere stays refused', async () => {
  const L = layout();
  writeFileSync(L.file, serializeDataset(dataset(['../elsewhere/e1.dcm', 'images/a.dcm', '../elsewhere/sub/e2.dcm', '../../secret/s.dcm'])));
  let c = capture(L.ds);
  assert.equal(await runCli(['validate', 'ds.pointbox.json'], c.io), 1);
  assert.equal((c.out.match(/path-outside/g) ?? []).length, 3);
  c = capture(L.ds);
  assert.equal(await runCli(['images-root', 'ds.pointbox.json', '../elsewhere', '--json'], c.io), 1, 'one image is in neither folder');
  const j = JSON.parse(c.out);
  assert.deepEqual([j.imagesRoot, j.rewritten, j.outside], [L.elsewhere, 3, [{ id: 4, file_name: '../../secret/s.dcm' }]]);
  const saved = JSON.parse(readFileSync(L.file, 'utf8')) as DatasetFile;
  assert.deepEqual(saved.images.map((i) => i.file_name), ['e1.dcm', join(L.ds, 'images', 'a.dcm'), 'sub/e2.dcm', '../../secret/s.dcm']);
  c = capture(L.ds);
  assert.equal(await runCli(['validate', 'ds.pointbox.json', '--json'], c.io), 1);
  assert.deepEqual(JSON.parse(c.out).problems.filter((p: { code: string }) => p.code === 'path-outside').map((p: { record: string }) => p.record), ['images[3] id=4']);
});
