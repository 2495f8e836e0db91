// The real DICOMs of ../shared/data (CR chests, the transfer-syntax corpus, malformed files): every readable
// file is rewritten; pydicom and dcmdump read every output; Pixel Data is byte for byte the original's; no value
// that identifies (judged by pydicom + the table, phi_values.py) survives in any byte; dciodvfy finds no error
// the original did not have; burned-in risk is judged as documented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { deidentifyDicom } from '../../../src/core/deidentify/deidentifyDicom';
import { KeyedIds } from '../../../src/core/deidentify/keyedIds';
import { parseProfile } from '../../../src/core/deidentify/profile';
import { readDicomTree, TS, type DicomEl } from '../../../src/core/deidentify/dicomDataSet';
import { corpusDir, cxrDir, hasSharedData } from '../imaging/imagingTestHelpers';
import { PYTHON, dcmdumpError, dcmtkMissing, find, pydicomDump, pydicomMissing } from './deidTestHelpers';

const KEY = new Uint8Array(Buffer.from('real-file test key, 32 bytes or more......'));
const TABLE = join(__dirname, '..', '..', '..', 'src', 'core', 'deidentify', 'annexETable.ts');
/** Files that cannot be taken apart completely, so they are never exported (their reason). */
const UNREADABLE: Record<string, string> = {
  'MR_truncated.dcm': 'unreadable', // Pixel Data cut short
  'no_meta.dcm': 'unreadable', // starts one byte into an element
  'meta_missing_tsyntax.dcm': 'not-an-instance', // a nested-sequence test object without SOP Class UID
};

function realFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string) => { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p); else if (!/\.(md|sha256|txt)$/i.test(n)) out.push(p); } };
  walk(corpusDir); walk(cxrDir);
  return out.sort();
}

const skip = !hasSharedData() ? 'shared/data absent' : pydicomMissing();

test('real DICOMs: rewritten, read back by pydicom and dcmdump, Pixel Data identical, nothing identifying left', { skip, timeout: 600_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-deid-real-'));
  const files = realFiles();
  assert.ok(files.length >= 30, `${files.length} files`);
  for (const profileName of ['basic', 'basic+retain-dates']) {
    const profile = parseProfile(profileName);
    const outs: [string, string][] = [];
    for (const f of files) {
      const r = deidentifyDicom(readFileSync(f), { profile, ids: new KeyedIds(KEY), includeBurnedIn: true });
      const expectedFailure = UNREADABLE[basename(f)];
      if (expectedFailure) { assert.ok(!r.ok && r.reason === expectedFailure, `${basename(f)}: ${r.ok ? 'exported' : r.reason}`); continue; }
      assert.ok(r.ok, `${basename(f)}: ${!r.ok && `${r.reason}: ${r.detail}`}`);
      if (!r.ok) continue;
      const o = join(dir, `${profileName}-${basename(f)}`);
      writeFileSync(o, r.bytes);
      outs.push([f, o]);
    }
    const dump = pydicomDump([...new Set(outs.flat())]);
    const phi = JSON.parse(spawnSync(PYTHON, [join(__dirname, 'phi_values.py'), TABLE, profileName, ...outs.map((x) => x[0])], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout) as Record<string, string[]>;
    let scanned = 0;
    for (const [f, o] of outs) {
      const name = `${profileName} ${basename(f)}`;
      const a = dump[f]!; const b = dump[o]!;
      assert.ok(b.ok, `${name}: pydicom: ${!b.ok && b.error}`);
      if (!a.ok || !b.ok) continue;
      assert.equal(find(b.ds, 0x7fe00010)?.sha256, find(a.ds, 0x7fe00010)?.sha256, `${name}: Pixel Data byte for byte`);
      assert.equal(find(b.ds, 0x00120062)?.value, 'YES', name);
      assert.equal(find(b.ds, 0x00100010)?.value ?? '', '', `${name}: Patient's Name`);
      assert.equal(b.meta['00020003'], find(b.ds, 0x00080018)?.value, `${name}: meta and data set agree`);
      // Every identifying value of the original, as pydicom reads it, is absent from every byte of the output but
      // the Pixel Data (copied unchanged: compressed pixels can hold "123456" by chance, as CT0012's RLE does).
      const text = withoutPixelData(readFileSync(o), b.ts);
      for (const v of phi[f] ?? []) { assert.equal(text.includes(v), false, `${name}: ${JSON.stringify(v)} survived`); scanned++; }
    }
    assert.ok(scanned > 200, `${profileName}: only ${scanned} identifying values checked`);
    t.diagnostic(`${profileName}: ${outs.length} files rewritten, ${scanned} identifying values checked absent`);
    // Same study, same key: the same new UIDs in every file (MR_small in five transfer syntaxes).
    const mr = outs.filter(([f]) => /MR_small(_implicit|_bigendian|_RLE|_jp2klossless|_jpeg_ls_lossless)?\.dcm$/.test(f)).map(([, o]) => dump[o]!);
    assert.equal(mr.length, 6);
    const uids = mr.map((d) => d.ok ? [find(d.ds, 0x0020000d)?.value, find(d.ds, 0x00080018)?.value].join() : '');
    assert.equal(new Set(uids).size, 1, 'one study, one set of new UIDs');
    const dcmtk = dcmtkMissing();
    if (dcmtk) t.diagnostic(dcmtk);
    else for (const [, o] of outs) assert.equal(dcmdumpError(o), undefined, `dcmdump ${o}`);
    if (profileName === 'basic') dciodvfyNoNewErrors(t, outs);
  }
});

/** The file as text, deflated data sets inflated, every Pixel Data value blanked out. */
function withoutPixelData(file: Uint8Array, ts: string): string {
  let bytes = Buffer.from(file);
  if (ts === TS.deflated) { const metaEnd = 132 + 12 + bytes.readUInt32LE(140); bytes = Buffer.concat([bytes.subarray(0, metaEnd), inflateRawSync(bytes.subarray(metaEnd))]); }
  const tree = readDicomTree(file);
  const body = ts === TS.deflated ? bytes.subarray(132 + 12 + bytes.readUInt32LE(140)) : bytes;
  const base = ts === TS.deflated ? 132 + 12 + bytes.readUInt32LE(140) : 0;
  const blank = (els: DicomEl[]) => {
    for (const e of els) {
      const v = e.tag === 0x7fe00010 ? (e.encapsulated ?? e.value) : undefined;
      if (v && ts !== TS.deflated) bytes.fill(0x20, v.byteOffset - file.byteOffset, v.byteOffset - file.byteOffset + v.length);
      if (v && ts === TS.deflated) { const i = body.indexOf(Buffer.from(v)); if (i >= 0) bytes.fill(0x20, base + i, base + i + v.length); }
      for (const it of e.items ?? []) blank(it);
    }
  };
  blank(tree.dataSet);
  return bytes.toString('latin1');
}

/** dciodvfy (dicom3tools) on original and output: de-identification adds no IOD error. */
function dciodvfyNoNewErrors(t: { diagnostic(s: string): void }, outs: [string, string][]): void {
  if (spawnSync('dciodvfy', ['-new'], { encoding: 'utf8' }).error) { t.diagnostic('dciodvfy not installed (apt-get install dicom3tools): IOD check skipped'); return; }
  const errors = (f: string) => new Set(spawnSync('dciodvfy', [f], { encoding: 'utf8', maxBuffer: 1 << 26 }).stderr.split('\n').filter((l) => l.startsWith('Error')));
  for (const [f, o] of outs) {
    const before = errors(f);
    // UIDs that were equal stay equal (the mapping is a function): dciodvfy notices only once meta and types are right.
    const added = [...errors(o)].filter((e) => !before.has(e) && !/has same value as/.test(e));
    assert.deepEqual(added, [], `${basename(f)}: dciodvfy errors the original did not have`);
  }
}

test('real DICOMs: files that may show burned-in text are refused unless asked, as their attributes say', { skip }, () => {
  const files = realFiles().filter((f) => !UNREADABLE[basename(f)]);
  const dump = pydicomDump(files);
  const risky = new Set(['US', 'IVUS', 'ES', 'XC', 'GM', 'SM', 'OP', 'OT', 'SC', 'DOC', 'VL']);
  let refused = 0;
  for (const f of files) {
    const d = dump[f]!;
    assert.ok(d.ok);
    if (!d.ok) continue;
    const burned = (find(d.ds, 0x00280301)?.value ?? '').toUpperCase();
    const modality = find(d.ds, 0x00080060)?.value ?? '';
    const sop = find(d.ds, 0x00080016)?.value ?? '';
    const expectRisk = burned === 'YES' || (burned !== 'NO' && (risky.has(modality) || sop === '1.2.840.10008.5.1.4.1.1.7' || sop.startsWith('1.2.840.10008.5.1.4.1.1.7.') || sop.startsWith('1.2.840.10008.5.1.4.1.1.6.')));
    const r = deidentifyDicom(readFileSync(f), { profile: parseProfile('basic'), ids: new KeyedIds(KEY) });
    assert.equal(!r.ok && r.reason === 'burned-in', expectRisk, `${basename(f)} (BurnedInAnnotation '${burned}', ${modality}, ${sop})`);
    if (expectRisk) refused++;
  }
  assert.ok(refused >= 5, `${refused} refused`);
});
