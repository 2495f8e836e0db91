// Every row of Table E.1-1 with its action, under each profile, in each encoding: a generated file with one
// element per row (deidTestHelpers.tableFixture) is de-identified, and pydicom (an independent reader) checks
// each attribute against what the row's action means; dcmdump reads every output; no value that had to go
// survives in any byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { deidentifyDicom } from '../../../src/core/deidentify/deidentifyDicom';
import { KeyedIds } from '../../../src/core/deidentify/keyedIds';
import { parseProfile, rowAction, type DeidProfile } from '../../../src/core/deidentify/profile';
import { TS } from '../../../src/core/deidentify/dicomDataSet';
import { textOf, EXTRA, FIXTURE_SYNTAXES, dcmdumpError, dcmtkMissing, expectedUid, find, pydicomDump, pydicomMissing, tableFixture, type PyEl, type RowSample } from './deidTestHelpers';

const KEY = new Uint8Array(Buffer.from('pointbox test key: not a secret, 32+ bytes long'));
const PROFILES = ['basic', 'basic+retain-dates', 'basic+retain-device'].map(parseProfile);

/** What each code means for the element (independent of profile.ts: the README's policy, written out). */
function expectedAction(s: RowSample, p: DeidProfile): 'X' | 'Z' | 'D' | 'K' | 'U' | 'U*' {
  const code = rowAction(s.row, p);
  const seq = s.vr === 'SQ';
  if (s.tag >>> 16 === 0x0000) return 'X'; // command group elements never stay in a file
  switch (code) {
    case 'X/Z': return seq ? (s.tag === 0x00400555 ? 'Z' : 'X') : 'Z';
    case 'Z/D': return seq ? 'Z' : 'D';
    case 'X/D': case 'X/Z/D': return seq ? 'X' : 'D';
    case 'X/Z/U*': return seq ? 'U*' : 'U';
    default: return code as 'X' | 'Z' | 'D' | 'K' | 'U';
  }
}

interface Case { ts: string; profile: DeidProfile; out: string; inFile: string; samples: RowSample[]; bytes: Uint8Array; sop: string }

function run(dir: string): Case[] {
  const cases: Case[] = [];
  for (const ts of FIXTURE_SYNTAXES) {
    const fx = tableFixture(ts);
    const inFile = join(dir, `in-${ts}.dcm`);
    writeFileSync(inFile, fx.bytes);
    for (const profile of PROFILES) {
      const r = deidentifyDicom(fx.bytes, { profile, ids: new KeyedIds(KEY), recordActions: true });
      assert.ok(r.ok, `${ts} ${profile.name}: ${!r.ok && r.detail}`);
      const out = join(dir, `out-${ts}-${profile.name}.dcm`);
      writeFileSync(out, r.bytes);
      cases.push({ ts, profile, out, inFile, samples: fx.samples, bytes: r.bytes, sop: r.sopInstanceUid });
    }
  }
  return cases;
}

test('every Table E.1-1 row gets its action, under basic, retain-dates and retain-device, in implicit/explicit LE/BE/deflated', (t) => {
  const why = pydicomMissing();
  if (why) { t.skip(why); return; }
  const dir = mkdtempSync(join(tmpdir(), 'pb-deid-table-'));
  const cases = run(dir);
  const dump = pydicomDump([...new Set(cases.flatMap((c) => [c.inFile, c.out]))]);
  let checked = 0;
  for (const c of cases) {
    const label = `${c.ts} ${c.profile.name}`;
    const src = dump[c.inFile]!; const out = dump[c.out]!;
    assert.ok(src.ok, `fixture ${label}: ${!src.ok && src.error}`);
    assert.ok(out.ok, `output ${label}: ${!out.ok && out.error}`);
    if (!src.ok || !out.ok) continue;
    assert.equal(out.ts, c.ts, `${label}: transfer syntax kept`);
    for (const s of c.samples) {
      const what = `${label} ${s.row.tag} ${s.row.name} (${rowAction(s.row, c.profile)})`;
      const before = find(src.ds, s.tag); const after = find(out.ds, s.tag);
      assert.ok(before, `${what}: fixture lacks it`);
      const action = s.row.tag === 'private' ? 'X' : expectedAction(s, c.profile);
      switch (action) {
        case 'X': assert.equal(after, undefined, `${what}: removed`); break;
        case 'Z':
          assert.ok(after, `${what}: present`);
          if (s.vr === 'SQ') assert.equal(after!.items!.length, 0, `${what}: no items`); else assert.equal(after!.len === 0 || after!.value === '', true, `${what}: empty, got ${JSON.stringify(after!.value)}`);
          break;
        case 'D':
          assert.ok(after, `${what}: present`);
          if (s.vr === 'SQ') {
            assert.equal(after!.items!.length, 1, `${what}: item kept`);
            const it = after!.items![0]!;
            assert.equal(find(it, 0x00080100)?.value, 'ANONYMIZED', `${what}: text in a dummy sequence`);
            assert.equal(find(it, 0x00081155)?.value, expectedUid(KEY, s.sq!.uid), `${what}: UID inside`);
            assert.equal(find(it, 0x00100010)?.value, '', `${what}: name inside emptied`);
          } else {
            assert.notEqual(after!.value, before!.value, `${what}: replaced`);
            assert.ok(after!.len > 0, `${what}: not empty`);
            if (s.vr === 'DA') assert.equal(after!.value, '19000101');
            if (s.vr === 'PN' || s.vr === 'LO' || s.vr === 'SH') assert.equal(after!.value, 'ANONYMIZED');
          }
          break;
        case 'K': case 'U*':
          assert.ok(after, `${what}: kept`);
          if (s.vr === 'SQ') {
            const it = after!.items![0]!;
            assert.equal(find(it, 0x00080100)?.value, s.sq!.code, `${what}: item kept`);
            assert.equal(find(it, 0x00081150)?.value, '1.2.840.10008.5.1.4.1.1.1', `${what}: SOP class inside kept`);
            assert.equal(find(it, 0x00081155)?.value, expectedUid(KEY, s.sq!.uid), `${what}: instance UID inside replaced`);
            assert.equal(find(it, 0x00100010)?.value, '', `${what}: name inside emptied`);
          } else assert.equal(after!.value, before!.value, `${what}: unchanged`);
          break;
        case 'U':
          assert.ok(after, `${what}: present`);
          assert.equal(after!.value, expectedUid(KEY, before!.value!), `${what}: keyed UID`);
          break;
      }
      checked++;
    }
    // PointBox's rules beyond the table.
    assert.equal(find(out.ds, EXTRA.unlistedName.tag)?.value, '', `${label}: a name the table does not list is emptied`);
    // (0008,0017) is newer than pydicom 2.3's dictionary: in implicit VR both readers see UN (PointBox goes by the value's form).
    assert.equal(textOf(find(out.ds, EXTRA.acquisitionUid.tag)), expectedUid(KEY, EXTRA.acquisitionUid.value), `${label}: an instance UID the table does not list is replaced`);
    assert.equal(find(out.ds, EXTRA.instanceCreationDate.tag)?.value, c.profile.retainDates ? EXTRA.instanceCreationDate.value : '', `${label}: a date the table does not list`);
    assert.equal(find(out.ds, EXTRA.bodyPart.tag)?.value, EXTRA.bodyPart.value, `${label}: other attributes kept`);
    assert.equal(find(out.ds, EXTRA.sopClass.tag)?.value, EXTRA.sopClass.value, `${label}: SOP Class UID kept`);
    assert.equal(find(out.ds, 0x00090010), undefined, `${label}: private creator removed`);
    assert.equal(find(out.ds, 0x00091002), undefined, `${label}: private sequence removed`);
    // What de-identification adds, and the rebuilt meta.
    assert.equal(find(out.ds, 0x00120062)?.value, 'YES');
    assert.equal(find(out.ds, 0x00120063)?.value, `PointBox PS3.15 E.1-1 ${c.profile.name}`);
    const codes = find(out.ds, 0x00120064)!.items!.map((it) => find(it, 0x00080100)?.value);
    assert.deepEqual(codes, ['113100', ...(c.profile.retainDates ? ['113106'] : []), ...(c.profile.retainDevice ? ['113109'] : [])]);
    assert.equal(find(out.ds, 0x00280303)?.value, c.profile.retainDates ? 'UNMODIFIED' : 'REMOVED');
    assert.equal(out.meta['00020003'], find(out.ds, 0x00080018)?.value, `${label}: meta SOP instance = data set's`);
    assert.equal(out.meta['00020003'], c.sop);
    assert.equal(out.meta['00020016'], undefined, `${label}: source AE title dropped`);
    assert.equal(find(out.ds, 0x7fe00010)?.sha256, find(src.ds, 0x7fe00010)?.sha256, `${label}: Pixel Data byte for byte`);
    // Nothing that had to go survives in any byte of the file (the fixture's markers occur nowhere else).
    const text = searchable(c.bytes, c.ts);
    for (const s of c.samples) {
      const action = s.row.tag === 'private' ? 'X' : expectedAction(s, c.profile);
      const gone = action === 'X' || action === 'Z' || action === 'D' || action === 'U';
      if (s.marker) assert.equal(text.includes(s.marker), !gone, `${label} ${s.row.name}: marker ${s.marker} ${gone ? 'must be gone' : 'must stay'}`);
      if (s.sq) { assert.equal(text.includes(s.sq.name), false, `${label} ${s.row.name}: name in item`); assert.equal(text.includes(s.sq.uid), false, `${label} ${s.row.name}: UID in item`); }
    }
    for (const leak of ['PHI PRIVATE CREATOR', 'PRIVSQNAME', 'PHISOURCEAE', EXTRA.unlistedName.value, '1.2.826.0.1.3680043.10.543.9999']) assert.equal(text.includes(leak), false, `${label}: ${leak}`);
    if (!c.profile.retainDates) assert.equal(text.includes(EXTRA.instanceCreationDate.value), false);
  }
  assert.equal(checked, cases.reduce((n, c) => n + c.samples.length, 0));
  assert.ok(checked > 4 * 3 * 455, `${checked} checks`);
  const dcmtk = dcmtkMissing();
  if (dcmtk) t.diagnostic(`dcmtk check skipped: ${dcmtk}`);
  else for (const c of cases) assert.equal(dcmdumpError(c.out), undefined, `dcmdump ${c.out}`);
});

test('the same key gives the same UIDs and names; another key gives others; the key is in no byte', () => {
  const fx = tableFixture(TS.explicitLittle);
  const profile = parseProfile('basic');
  const a = deidentifyDicom(fx.bytes, { profile, ids: new KeyedIds(KEY) });
  const b = deidentifyDicom(fx.bytes, { profile, ids: new KeyedIds(KEY) });
  const other = new Uint8Array(KEY); other[0] = other[0]! ^ 1;
  const c = deidentifyDicom(fx.bytes, { profile, ids: new KeyedIds(other) });
  assert.ok(a.ok && b.ok && c.ok);
  assert.deepEqual(Buffer.from(a.bytes), Buffer.from(b.bytes), 'byte-identical with the same key');
  assert.equal(a.sopInstanceUid, b.sopInstanceUid);
  assert.notEqual(a.sopInstanceUid, c.sopInstanceUid);
  assert.match(a.sopInstanceUid, /^2\.25\.[1-9]\d{0,38}$/);
  assert.ok(a.sopInstanceUid.length <= 64);
  // A version-8, RFC 9562-variant UUID under 2.25.
  const hex = BigInt(a.sopInstanceUid.slice(5)).toString(16).padStart(32, '0');
  assert.equal(hex[12], '8'); assert.ok('89ab'.includes(hex[16]!));
  for (const bytes of [a.bytes, c.bytes]) {
    const s = Buffer.from(bytes);
    assert.equal(s.indexOf(Buffer.from(KEY)), -1);
    assert.equal(s.toString('latin1').includes(Buffer.from(KEY).toString('hex')), false);
  }
  assert.throws(() => new KeyedIds(new Uint8Array(8)), /at least 16 bytes/);
});

function el(out: PyEl[] | undefined, tag: number) { return find(out, tag); }

/** The file as text to search; a deflated data set is inflated first (the meta's group length says where it starts). */
function searchable(bytes: Uint8Array, ts: string): string {
  const b = Buffer.from(bytes);
  if (ts !== TS.deflated) return b.toString('latin1');
  const metaEnd = 132 + 12 + b.readUInt32LE(140);
  return b.subarray(0, metaEnd).toString('latin1') + inflateRawSync(b.subarray(metaEnd)).toString('latin1');
}

test('private attributes on the keep-list stay with their creator; the rest go', (t) => {
  const why = pydicomMissing();
  if (why) { t.skip(why); return; }
  const fx = tableFixture(TS.explicitLittle);
  const r = deidentifyDicom(fx.bytes, { profile: parseProfile('basic'), ids: new KeyedIds(KEY), keepPrivate: [{ group: 0x0009, element: 0x01, creator: 'phi private creator' }] });
  assert.ok(r.ok);
  const f = join(mkdtempSync(join(tmpdir(), 'pb-deid-priv-')), 'o.dcm');
  writeFileSync(f, r.bytes);
  const d = pydicomDump([f])[f]!;
  assert.ok(d.ok);
  if (!d.ok) return;
  assert.equal(el(d.ds, 0x00090010)?.value, 'PHI PRIVATE CREATOR');
  assert.equal(el(d.ds, 0x00091001)?.value, 'PHIPRIV1');
  assert.equal(el(d.ds, 0x00091002), undefined, 'element 02 of the block is not on the list');
});
