// A whole dataset through `export --deidentify` and `phi-report`: a phantom dataset (the product's generator)
// with DICOM and PNG images, one DICOM given a patient's name, an institution and private tags, one that says
// BurnedInAnnotation YES, a PNG with text chunks and a missing file. Nothing of the originals may be found in
// any byte of the export; the mapping exists only where asked and outside; the key goes nowhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { generatePhantomDataset } from '../../../src/core/phantom/generatePhantomDataset';
import { DatasetDocument } from '../../../src/core/dataset/DatasetDocument';
import { serializeDataset } from '../../../src/core/dataset/datasetJson';
import { DatasetError } from '../../../src/core/dataset/DatasetError';
import { encodePart10, readDicomTree, textOf, textValue, type DicomEl } from '../../../src/core/deidentify/dicomDataSet';
import { exportDeidentified, DEID_MARKER } from '../../../src/core/deidentify/exportDeidentified';
import { phiReport } from '../../../src/core/deidentify/phiReport';
import { parseProfile } from '../../../src/core/deidentify/profile';
import { pngChunks } from '../../../src/core/deidentify/stripImageMetadata';
import { runCli } from '../../../src/cli/main';
import { pydicomDump, pydicomMissing } from './deidTestHelpers';

const KEY = new Uint8Array(Buffer.from('dataset export test key 0123456789abcdef'));

function setElements(file: string, set: DicomEl[]): void {
  const t = readDicomTree(readFileSync(file));
  const ds = t.dataSet.filter((e) => !set.some((s) => s.tag === e.tag)).concat(set).sort((a, b) => a.tag - b.tag);
  writeFileSync(file, encodePart10(t.meta, ds, t.transferSyntax));
}
const txt = (tag: number, vr: string, s: string): DicomEl => ({ tag, vr, value: textValue(vr, s), little: true });

interface Fixture { root: string; dataset: string; secrets: string[]; sourcePaths: string[]; burnedId: number; missingId: number; pngId: number; namedId: number }

let fixture: Promise<Fixture> | undefined;
function makeFixture(): Promise<Fixture> {
  fixture ??= (async () => {
    const root = mkdtempSync(join(tmpdir(), 'pb-deid-export-'));
    const r = await generatePhantomDataset({ out: join(root, 'ds'), images: 8, seed: 11, size: 64, format: 'both', boxRatio: 0.5, valFraction: 0.25, workers: 0 });
    const doc = DatasetDocument.load(r.datasetFile);
    const d = doc.data;
    const dir = join(root, 'ds');
    const ims = d.images;
    // Image 2 is a PNG (with text chunks); image 3 has a patient's name, an institution and private tags;
    // image 4 says BurnedInAnnotation YES; image 5's file is gone.
    const png = ims[1]!; png.file_name = String(png.attributes!.png_file);
    const pngPath = join(dir, png.file_name);
    const b = readFileSync(pngPath);
    const chunk = (type: string, data: string) => { const d0 = Buffer.from(data, 'latin1'); const h = Buffer.alloc(8); h.writeUInt32BE(d0.length); h.write(type, 4, 'latin1'); const c = Buffer.alloc(4); c.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), d0])) >>> 0); return Buffer.concat([h, d0, c]); };
    writeFileSync(pngPath, Buffer.concat([b.subarray(0, 33), chunk('tEXt', 'Author\0JANE DOE MRN 7734421'), b.subarray(33)]));
    const named = ims[2]!;
    setElements(join(dir, named.file_name), [
      txt(0x00100010, 'PN', 'DOE^JANE'), txt(0x00101001, 'PN', 'SMITH^JANE'), txt(0x00100020, 'LO', 'MRN7734421'),
      txt(0x00080080, 'LO', 'ST ELSEWHERE HOSPITAL'), txt(0x00081010, 'SH', 'CXRROOM3'), txt(0x00181000, 'LO', 'SN-99887766'),
      txt(0x00090010, 'LO', 'ACME PRIVATE'), txt(0x00091010, 'LO', 'JANE DOE WARD 7'),
    ]);
    setElements(join(dir, ims[3]!.file_name), [txt(0x00280301, 'CS', 'YES')]);
    const missing = ims[4]!;
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, missing.file_name));
    doc.data.info.description = 'from the PACS of ST ELSEWHERE HOSPITAL';
    writeFileSync(r.datasetFile, serializeDataset(d));
    const secrets = ['DOE^JANE', 'SMITH', 'MRN7734421', 'JANE DOE', 'ST ELSEWHERE', 'CXRROOM3', 'SN-99887766', 'ACME PRIVATE', 'PHANTOM^', 'PHANTOM-', 'phantom_0', root];
    const sourcePaths = ims.map((im) => join(dir, im.file_name));
    for (const im of ims) {
      if (!im.file_name.endsWith('.dcm') || im === missing) continue;
      const t = readDicomTree(readFileSync(join(dir, im.file_name)));
      for (const tag of [0x00080018, 0x0020000d, 0x0020000e]) secrets.push(textOf(t.dataSet.find((e) => e.tag === tag)?.value));
    }
    return { root, dataset: r.datasetFile, secrets, sourcePaths, burnedId: ims[3]!.id, missingId: missing.id, pngId: png.id, namedId: named.id };
  })();
  return fixture;
}

function allFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p); else out.push(p); } };
  walk(dir);
  return out;
}

function exportWith(f: Fixture, out: string, extra: Partial<Parameters<typeof exportDeidentified>[1]> = {}) {
  const doc = DatasetDocument.load(f.dataset);
  return exportDeidentified(doc.data, { out, datasetDir: join(f.root, 'ds'), layout: 'pbc', profile: parseProfile('basic'), key: KEY, keySource: 'test', ...extra });
}

test('export --deidentify: new names everywhere, nothing of the originals in any byte, exclusions listed, mapping only outside', async (t) => {
  const f = await makeFixture();
  const out = join(f.root, 'export');
  const mapping = join(f.root, 'private', 'mapping.json');
  const r = exportWith(f, out, { mappingFile: mapping });
  assert.deepEqual(r.exported, { dicom: 5, png: 1, jpeg: 0 });
  assert.deepEqual(r.excluded.map((x) => [x.id, x.reason]).sort(), [[f.burnedId, 'burned-in'], [f.missingId, 'missing']].sort());
  assert.deepEqual(r.rasterMetadataRemoved, { tEXt: 1 });
  const files = allFiles(out);
  const images = readdirSync(join(out, 'images')).sort();
  assert.equal(images.length, 6);
  for (const n of images) assert.match(n, /^(2\.25\.\d+\.dcm|[0-9a-f]{32}\.png)$/);
  // Annotation files: only exported images, by their new names; the excluded images' annotations are gone.
  const names = new Set<string>();
  for (const a of files.filter((p) => p.includes('annotations'))) {
    const j = JSON.parse(readFileSync(a, 'utf8'));
    for (const im of j.images) { names.add(im.file_name); assert.ok(images.includes(im.file_name), im.file_name); assert.notEqual(im.id, f.burnedId); assert.notEqual(im.id, f.missingId); }
    for (const an of j.annotations) assert.ok(![f.burnedId, f.missingId].includes(an.image_id));
    assert.equal(j.pointbox_export.image_root, 'images', 'relative: no path of the exporting machine');
  }
  assert.ok(names.size >= 4);
  // Not one byte of the originals' identifiers, names, paths or the key, in any file of the export.
  const keyHex = Buffer.from(KEY).toString('hex');
  for (const p of files) {
    const s = readFileSync(p).toString('latin1');
    for (const secret of [...f.secrets, Buffer.from(KEY).toString('latin1'), keyHex]) assert.equal(s.includes(secret), false, `${relative(out, p)} holds ${JSON.stringify(secret.slice(0, 40))}`);
  }
  const marker = JSON.parse(readFileSync(join(out, DEID_MARKER), 'utf8'));
  assert.equal(marker.profile, 'basic');
  assert.equal(marker.key_id, r.keyId);
  assert.deepEqual(marker.images.excluded, { 'burned-in': 1, missing: 1 });
  // The mapping: outside, owner-only, old -> new for every exported image and UID.
  const m = JSON.parse(readFileSync(mapping, 'utf8'));
  assert.equal(statSync(mapping).mode & 0o777, 0o600);
  assert.equal(m.images.length, 6);
  for (const x of m.images) assert.ok(f.sourcePaths.includes(x.source) && existsSync(join(out, x.exported)));
  assert.ok(m.uids.length >= 15);
  assert.throws(() => exportWith(f, join(f.root, 'export-m'), { mappingFile: join(f.root, 'export-m', 'map.json') }), (e: unknown) => e instanceof DatasetError && /outside the export folder/.test(e.message));
  assert.throws(() => exportWith(f, join(f.root, 'export-k'), { keyFile: join(f.root, 'export-k', 'images', 'k.key') }), /key file .* must be outside the export folder/);
  // Pixels: DICOM Pixel Data and PNG IDAT byte for byte.
  for (const x of m.images) {
    const a = readFileSync(x.source); const b = readFileSync(join(out, x.exported));
    if (x.exported.endsWith('.png')) {
      const idat = (z: Buffer) => Buffer.concat(pngChunks(z).chunks.filter((c) => c.type === 'IDAT').map((c) => z.subarray(c.start, c.end)));
      assert.deepEqual(idat(b), idat(a));
    } else {
      const px = (z: Buffer) => { const e = readDicomTree(z).dataSet.find((el) => el.tag === 0x7fe00010)!; return Buffer.from(e.value ?? e.encapsulated!); };
      assert.deepEqual(px(b), px(a));
    }
  }
  const why = pydicomMissing();
  if (why) t.diagnostic(why);
  else for (const [p, d] of Object.entries(pydicomDump(files.filter((p) => p.endsWith('.dcm'))))) assert.ok(d.ok, `${p}: ${!d.ok && d.error}`);
});

test('export --deidentify: same key, same names and UIDs; another key, others; burned-in on request; folders checked', async () => {
  const f = await makeFixture();
  const a = exportWith(f, join(f.root, 'same-1'));
  const b = exportWith(f, join(f.root, 'same-2'));
  const c = exportWith(f, join(f.root, 'other'), { key: new Uint8Array(Buffer.from('a different key for the same data, 32+')) });
  const list = (o: string) => readdirSync(join(o, 'images')).sort();
  assert.deepEqual(list(join(f.root, 'same-1')), list(join(f.root, 'same-2')));
  assert.equal(list(join(f.root, 'same-1')).filter((n) => list(join(f.root, 'other')).includes(n)).length, 0);
  assert.equal(a.keyId, b.keyId); assert.notEqual(a.keyId, c.keyId);
  const withBurned = exportWith(f, join(f.root, 'burned'), { includeBurnedIn: true });
  assert.equal(withBurned.exported.dicom, 6);
  assert.deepEqual(withBurned.excluded.map((x) => x.reason), ['missing']);
  // A folder with other files is refused; an earlier de-identified export is replaced.
  const busy = join(f.root, 'busy'); mkdirSync(busy); writeFileSync(join(busy, 'notes.txt'), 'x');
  assert.throws(() => exportWith(f, busy), /not empty/);
  const again = exportWith(f, join(f.root, 'same-1'));
  assert.deepEqual(again.exported, a.exported);
});

test('pointbox export --deidentify and pointbox phi-report (CLI)', async () => {
  const f = await makeFixture();
  const io = () => { const o = { out: '', err: '' }; return { o, io: { out: (s: string) => { o.out += s; }, err: (s: string) => { o.err += s; }, cwd: f.root } }; };
  let x = io();
  assert.equal(await runCli(['export', 'coco', f.dataset, '--out', 'cli-out', '--deidentify', '--new-key-file', 'secret.key', '--mapping', 'map.json', '--json'], x.io), 0, x.o.err);
  const j = JSON.parse(x.o.out);
  assert.equal(j.profile, 'basic');
  assert.equal(j.excluded.length, 2);
  assert.match(x.o.err, /excluded image id=\d+ \(burned-in\)/);
  assert.equal(statSync(join(f.root, 'secret.key')).mode & 0o777, 0o600);
  const key = readFileSync(join(f.root, 'secret.key'), 'utf8').trim();
  for (const p of allFiles(join(f.root, 'cli-out'))) assert.equal(readFileSync(p).toString('latin1').includes(key), false);
  x = io();
  assert.equal(await runCli(['export', 'coco', f.dataset, '--out', 'cli-out2', '--deidentify', '--key-file', 'secret.key', '--profile', 'basic+retain-dates', '--json'], x.io), 0, x.o.err);
  assert.deepEqual(readdirSync(join(f.root, 'cli-out2', 'images')).sort(), readdirSync(join(f.root, 'cli-out', 'images')).sort(), 'same key file, same names');
  for (const bad of [
    ['--deidentify', '--images', 'link'], ['--profile', 'basic'], ['--deidentify', '--profile', 'strict'], ['--deidentify', '--key-file', 'cli-out3/k'],
    ['--deidentify', '--keep-private', '0008,xx10,X'],
  ]) {
    x = io();
    assert.equal(await runCli(['export', 'coco', f.dataset, '--out', 'cli-out3', ...bad], x.io), 2, `${bad.join(' ')}: ${x.o.err}`);
  }
  x = io();
  assert.equal(await runCli(['phi-report', f.dataset, '--json'], x.io), 0, x.o.err);
  const rep = JSON.parse(x.o.out);
  assert.deepEqual(rep.images, { total: 8, dicom: 6, png: 1, jpeg: 0, missing: 1, unreadable: 0, unsupported: 0, outsideRoots: 0 });
  const files = (tag: string) => rep.dicomAttributes.find((a: { tag: string }) => a.tag === tag)?.files;
  assert.equal(files('(0010,0010)'), 6);
  assert.equal(files('(0010,1001)'), 1);
  assert.equal(files('(0008,0080)'), 1);
  assert.deepEqual(rep.privateAttributes.creators, [{ group: '0009', creator: 'ACME PRIVATE', files: 1 }]);
  assert.equal(rep.burnedIn.declared, 1);
  assert.deepEqual(rep.rasterMetadata, [{ kind: 'tEXt', files: 1 }]);
  assert.ok(rep.identifyingFileNames.files >= 5, 'phantom file names hold the name PHANTOM');
  assert.equal(JSON.stringify(rep).includes('DOE'), false, 'the report names attributes, never values');
  x = io();
  assert.equal(await runCli(['phi-report', f.dataset], x.io), 0);
  assert.match(x.o.out, /\| \(0010,0010\) \| Patient's Name \| 6 \| Z \| emptied \|/);
});

test('phi-report counts per profile: retain-dates keeps the study date out of the table', async () => {
  const f = await makeFixture();
  const d = DatasetDocument.load(f.dataset).data;
  const basic = phiReport(d, { datasetDir: join(f.root, 'ds'), profile: parseProfile('basic') });
  const dates = phiReport(d, { datasetDir: join(f.root, 'ds'), profile: parseProfile('basic+retain-dates') });
  assert.ok(basic.dicomAttributes.some((a) => a.tag === '(0008,0020)'));
  assert.ok(!dates.dicomAttributes.some((a) => a.tag === '(0008,0020)'));
});
