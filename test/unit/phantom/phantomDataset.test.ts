import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { generatePhantomDataset, assignPhantomSplits } from '../../../src/core/phantom/generatePhantomDataset';
import { generatePhantomImage } from '../../../src/core/phantom/generatePhantomImage';
import type { DatasetFile } from '../../../src/core/dataset/schema';
import { runCli } from '../../../src/cli/main';

function tmp(): string { return mkdtempSync(join(tmpdir(), 'phantom-ds-')); }
function files(dir: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      if (n.isDirectory()) walk(join(d, n.name), `${rel}${n.name}/`); else m.set(rel + n.name, readFileSync(join(d, n.name)));
    }
  };
  walk(dir, '');
  return m;
}

test('the same seed gives byte-identical output, with or without worker threads; another seed differs', async () => {
  const a = tmp(), b = tmp(), c = tmp();
  try {
    const opts = { images: 10, seed: 42, size: 96, format: 'both' as const, monochrome: 'mixed' as const, transferSyntax: 'rle' as const };
    const ra = await generatePhantomDataset({ ...opts, out: a, workers: 0 });
    const rb = await generatePhantomDataset({ ...opts, out: b, workers: 2 });
    assert.equal(ra.workers, 0);
    assert.equal(rb.workers, 2, 'worker threads ran (from the .ts source under tsx)');
    const fa = files(a), fb = files(b);
    assert.equal(fa.size, 21);
    assert.deepEqual([...fa.keys()].sort(), [...fb.keys()].sort());
    for (const [k, v] of fa) assert.ok(v.equals(fb.get(k)!), `${k} differs`);
    await generatePhantomDataset({ ...opts, seed: 43, out: c, workers: 0 });
    assert.ok(!files(c).get('images/phantom_000001.dcm')!.equals(fa.get('images/phantom_000001.dcm')!));
  } finally {
    for (const d of [a, b, c]) rmSync(d, { recursive: true, force: true });
  }
});

test('dataset file: schema fields, eight NIH categories, boxes AND points, PBC splits and label levels', async () => {
  const out = tmp();
  try {
    const progress: number[] = [];
    const r = await generatePhantomDataset({ out, images: 40, seed: 1, size: 64, format: 'png', boxRatio: 0.25, valFraction: 0.1, testFraction: 0.2, workers: 0, onProgress: (d) => progress.push(d) });
    assert.equal(progress.at(-1), 40);
    const d = JSON.parse(readFileSync(r.datasetFile, 'utf8')) as DatasetFile;
    assert.equal(d.pointbox.schema_version, 1);
    assert.deepEqual(d.categories.map((c) => c.name), ['Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltrate', 'Mass', 'Nodule', 'Pneumonia', 'Pneumothorax']);
    assert.equal(d.images.length, 40);
    const count = (s: string, l?: string) => d.images.filter((i) => i.split === s && (l === undefined || i.label_level === l)).length;
    assert.equal(count('test'), 8);
    assert.equal(count('val'), 4);
    assert.equal(count('train'), 28);
    assert.equal(count('train', 'boxes'), 7);
    assert.equal(count('train', 'points'), 21);
    assert.equal(count('val', 'boxes') + count('test', 'boxes'), 12);
    assert.ok(d.annotations.length > 30);
    const ids = new Set(d.images.map((i) => i.id));
    for (const a of d.annotations) {
      assert.ok(ids.has(a.image_id));
      assert.ok(a.bbox && a.point, 'every lesion has a box and a click');
      assert.equal(a.area, Math.round(a.bbox[2] * a.bbox[3] * 100) / 100);
    }
    // file_name is relative to the dataset folder and the PNG decodes at the recorded size.
    const im = d.images[0]!;
    assert.match(im.file_name, /^images\/phantom_000001\.png$/);
    const png = decode(readFileSync(join(out, im.file_name)));
    assert.equal(png.width, 64);
    assert.equal(png.depth, 8);
    // The annotations are those of generatePhantomImage for the same seed and index.
    const direct = generatePhantomImage(1, 0, { size: 64 });
    assert.deepEqual(d.annotations.filter((a) => a.image_id === 1).map((a) => a.bbox), direct.lesions.map((l) => l.bbox));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('16-bit PNGs carry the full 12-bit data, display-ready even for MONOCHROME1', async () => {
  const out = tmp();
  try {
    await generatePhantomDataset({ out, images: 1, seed: 5, size: 48, format: 'png', pngBitDepth: 16, monochrome: 'MONOCHROME1', workers: 0 });
    const png = decode(readFileSync(join(out, 'images', 'phantom_000001.png')));
    assert.equal(png.depth, 16);
    const img = generatePhantomImage(5, 0, { size: 48, monochrome: 'MONOCHROME1' });
    for (let i = 0; i < img.pixels.length; i += 97) assert.equal((png.data[i]! >> 4), 4095 - img.pixels[i]!);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('splits: deterministic, every image once, boxRatio 0 and 1', () => {
  const s = assignPhantomSplits(100, 9, 0.1, 0.2, 0);
  assert.deepEqual(s, assignPhantomSplits(100, 9, 0.1, 0.2, 0));
  assert.equal(s.filter((x) => x.split === 'train' && x.level === 'boxes').length, 0);
  assert.equal(assignPhantomSplits(100, 9, 0.1, 0.2, 1).filter((x) => x.level === 'points').length, 0);
});

test('abort stops generation with the signal reason', async () => {
  const out = tmp();
  try {
    const ac = new AbortController();
    const p = generatePhantomDataset({ out, images: 200, seed: 1, size: 64, workers: 2, signal: ac.signal, onProgress: (d) => { if (d >= 8) ac.abort(new Error('stop here')); } });
    await assert.rejects(p, /stop here/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('pointbox phantom CLI: writes the dataset, prints JSON, rejects bad options', async () => {
  const out = tmp();
  let stdout = '', stderr = '';
  const io = { out: (t: string) => { stdout += t; }, err: (t: string) => { stderr += t; }, cwd: out };
  try {
    assert.equal(await runCli(['phantom', '--out', 'ds', '--images', '5', '--seed', '3', '--size', '64', '--box-ratio', '40%', '--format', 'dicom', '--transfer-syntax', 'deflate', '--workers', '0', '--json'], io), 0, stderr);
    const s = JSON.parse(stdout);
    assert.equal(s.images, 5);
    const d = JSON.parse(readFileSync(join(out, 'ds', 'dataset.pointbox.json'), 'utf8')) as DatasetFile;
    assert.equal((d.info.source?.options as Record<string, unknown>).box_ratio, 0.4);
    assert.equal(d.images.length, 5);
    assert.equal(await runCli(['phantom', '--out', 'x', '--images', '5', '--seed', '1', '--format', 'tiff'], io), 2);
    assert.match(stderr, /--format must be one of dicom, png, both/);
    assert.equal(await runCli(['phantom', '--out', 'x', '--images', '0', '--seed', '1'], io), 2);
    assert.equal(await runCli(['phantom', '--out', 'x', '--images', '3', '--seed', '1', '--box-ratio', '150%'], io), 2);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
