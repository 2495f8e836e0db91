// Table E.1-1 as data: its shape, its tags and names against pydicom's PS3.6 dictionary, rows whose actions
// every de-identification guide quotes, and how PointBox resolves each compound code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ACTION_CODES, ANNEX_E_ROWS, annexERow, PRIVATE_ROW } from '../../../src/core/deidentify/annexETable';
import { parseProfile, resolveAction, rowAction, tableAction, methodCodes, type ResolvedAction } from '../../../src/core/deidentify/profile';
import { dictionaryVr } from '../../../src/core/deidentify/dicomDictionary';
import { PYTHON, pydicomMissing } from './deidTestHelpers';

test('Table E.1-1: 460 rows, unique tags, valid codes, option columns only K', () => {
  assert.equal(ANNEX_E_ROWS.length, 460);
  assert.equal(new Set(ANNEX_E_ROWS.map((r) => r.tag)).size, ANNEX_E_ROWS.length);
  for (const r of ANNEX_E_ROWS) {
    assert.ok(ACTION_CODES.includes(r.basic), r.tag);
    assert.ok(r.retainDevice === undefined || r.retainDevice === 'K', `${r.tag} retain device ${r.retainDevice}`);
    assert.ok(r.retainDates === undefined || r.retainDates === 'K', `${r.tag} retain dates ${r.retainDates}`);
    if (r.tag !== 'private') assert.match(r.tag, /^[0-9A-Fx]{8}$/);
  }
  const count = (f: (r: (typeof ANNEX_E_ROWS)[number]) => boolean) => ANNEX_E_ROWS.filter(f).length;
  // Counts of the transcription as checked against the standard: an edit to the table shows up here.
  assert.equal(count((r) => r.retainDevice === 'K'), 36);
  assert.equal(count((r) => r.retainDates === 'K'), 56);
  const byCode: Record<string, number> = {};
  for (const r of ANNEX_E_ROWS) byCode[r.basic] = (byCode[r.basic] ?? 0) + 1;
  assert.deepEqual(byCode, { X: 287, Z: 37, D: 45, U: 50, 'X/Z': 10, 'X/D': 18, 'X/Z/D': 7, 'Z/D': 4, 'X/Z/U*': 2 } as Record<string, number>);
});

test('Table E.1-1: every tag and name is PS3.6\'s (pydicom dictionary)', (t) => {
  const why = pydicomMissing();
  if (why) { t.skip(why); return; }
  const rows = ANNEX_E_ROWS.filter((r) => /^[0-9A-F]{8}$/.test(r.tag)).map((r) => [r.tag, r.name]);
  const script = `
import json, re, sys
from pydicom.datadict import DicomDictionary
norm = lambda s: re.sub(r'[^a-z0-9]', '', s.lower())
bad = []
for tag, name in json.load(sys.stdin):
    e = DicomDictionary.get(int(tag, 16))
    if e is None or norm(e[2]) != norm(name): bad.append([tag, name, e[2] if e else None])
print(json.dumps(bad))`;
  const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(rows), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), []);
  // And every row's VR is known to the product's own dictionary (implicit VR files need it).
  for (const [tag] of rows) assert.ok(dictionaryVr(parseInt(tag!, 16)), tag);
});

test('Table E.1-1: rows that identify the patient, with the standard\'s actions', () => {
  const a = (tag: number) => { const r = annexERow(tag); assert.ok(r, tag.toString(16)); return r; };
  assert.equal(a(0x00100010).basic, 'Z'); // Patient's Name
  assert.equal(a(0x00100020).basic, 'Z'); // Patient ID
  assert.equal(a(0x00100030).basic, 'Z'); // Patient's Birth Date
  assert.equal(a(0x00101010).basic, 'X'); // Patient's Age
  assert.equal(a(0x00080050).basic, 'Z'); // Accession Number
  assert.equal(a(0x0020000d).basic, 'U'); // Study Instance UID
  assert.equal(a(0x00080018).basic, 'U'); // SOP Instance UID
  assert.equal(a(0x00080080).basic, 'X/Z/D'); // Institution Name
  assert.equal(a(0x00081010).basic, 'X/Z/D'); assert.equal(a(0x00081010).retainDevice, 'K'); // Station Name
  assert.equal(a(0x00181000).basic, 'X/Z/D'); assert.equal(a(0x00181000).retainDevice, 'K'); // Device Serial Number
  assert.equal(a(0x00080020).basic, 'Z'); assert.equal(a(0x00080020).retainDates, 'K'); // Study Date
  assert.equal(a(0x00080021).basic, 'X/D'); // Series Date
  assert.equal(a(0x00080023).basic, 'Z/D'); // Content Date
  assert.equal(a(0x00081140).basic, 'X/Z/U*'); // Referenced Image Sequence
  assert.equal(a(0x04000561).basic, 'X'); // Original Attributes Sequence
  assert.equal(a(0x00880200).basic, 'X'); // Icon Image Sequence
  assert.equal(a(0x60023000).name, 'Overlay Data'); // (60xx,3000) in any overlay group
  assert.equal(a(0x50103000).name, 'Curve Data'); // (50xx,xxxx)
  assert.equal(annexERow(0x00280301), undefined); // Burned In Annotation: not in the table (honoured separately)
  assert.equal(PRIVATE_ROW.basic, 'X');
});

test('profiles: an option\'s K replaces the Basic action; names and method codes (CID 7050)', () => {
  const basic = parseProfile('basic'); const dates = parseProfile('basic+retain-dates'); const dev = parseProfile('basic+retain-device');
  assert.equal(parseProfile(undefined).name, 'basic');
  assert.equal(parseProfile('basic+retain-device+retain-dates').name, 'basic+retain-dates+retain-device');
  assert.throws(() => parseProfile('clean'), /starts with 'basic'/);
  assert.throws(() => parseProfile('basic+retain-uids'), /unknown profile option/);
  const study = annexERow(0x00080020)!; const serial = annexERow(0x00181000)!;
  assert.equal(rowAction(study, basic), 'Z'); assert.equal(rowAction(study, dates), 'K'); assert.equal(rowAction(study, dev), 'Z');
  assert.equal(rowAction(serial, basic), 'X/Z/D'); assert.equal(rowAction(serial, dev), 'K'); assert.equal(rowAction(serial, dates), 'X/Z/D');
  assert.equal(tableAction(0x00100040, basic, false)?.action, 'Z');
  assert.deepEqual(methodCodes(parseProfile('basic+retain-dates+retain-device')).map((c) => c.value), ['113100', '113106', '113109']);
});

test('compound codes: the weakest presence valid in every IOD; sequences removed unless Type 2', () => {
  const expected: [string, ResolvedAction, ResolvedAction][] = [
    // code, element, sequence
    ['X', 'X', 'X'], ['Z', 'Z', 'Z'], ['D', 'D', 'D'], ['K', 'K', 'K'], ['U', 'U', 'U'],
    ['X/Z', 'Z', 'X'], ['Z/D', 'D', 'Z'], ['X/D', 'D', 'X'], ['X/Z/D', 'D', 'X'], ['X/Z/U*', 'U', 'U*'],
  ];
  for (const [code, el, sq] of expected) {
    assert.equal(resolveAction(code as never, false), el, `${code} element`);
    assert.equal(resolveAction(code as never, true), sq, `${code} sequence`);
  }
  // Acquisition Context Sequence is Type 2 (DX, MG, IO): emptied, not removed.
  assert.equal(tableAction(0x00400555, parseProfile('basic'), true)?.action, 'Z');
  assert.equal(tableAction(0x00081110, parseProfile('basic'), true)?.action, 'X'); // Referenced Study Sequence (Type 3)
});
