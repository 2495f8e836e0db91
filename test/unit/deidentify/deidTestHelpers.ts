/**
 * Shared by the de-identification tests: an independent reader (pydicom, through pydicom_dump.py), dcmtk's
 * dcmdump, the synthetic "every row of Table E.1-1" file, and the expected keyed UID.
 */
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ANNEX_E_ROWS, type AnnexERow } from '../../../src/core/deidentify/annexETable';
import { dictionaryVr } from '../../../src/core/deidentify/dicomDictionary';
import { encodePart10, textValue, TS, type DicomEl } from '../../../src/core/deidentify/dicomDataSet';

export const PYTHON = process.env.PBC_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const DUMP = join(__dirname, 'pydicom_dump.py');

let pydicomProbe: string | false | undefined;
/** false when pydicom can be used, else why not (for t.skip). */
export function pydicomMissing(): string | false {
  if (pydicomProbe === undefined) {
    const r = spawnSync(PYTHON, ['-c', 'import pydicom'], { encoding: 'utf8' });
    pydicomProbe = r.status === 0 ? false : `${PYTHON} cannot import pydicom (apt-get install python3-pydicom)`;
  }
  return pydicomProbe;
}

export function dcmtkMissing(): string | false {
  return spawnSync('dcmdump', ['--version'], { encoding: 'utf8' }).status === 0 ? false : 'dcmdump not found (apt-get install dcmtk)';
}

export interface PyEl { tag: string; vr: string; value: string | null; len: number; items?: PyEl[][]; sha256?: string }
export type PyDump = { ok: true; meta: Record<string, string>; ts: string; ds: PyEl[] } | { ok: false; error: string };

/** pydicom's view of each file. */
export function pydicomDump(files: string[]): Record<string, PyDump> {
  const out: Record<string, PyDump> = {};
  // Batches keep the command line short.
  for (let i = 0; i < files.length; i += 40) {
    const r = spawnSync(PYTHON, [DUMP, ...files.slice(i, i + 40)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`pydicom_dump failed: ${r.stderr}`);
    Object.assign(out, JSON.parse(r.stdout));
  }
  return out;
}

/** dcmdump's verdict: undefined when it reads the file without an error, else its complaint. */
export function dcmdumpError(file: string): string | undefined {
  const r = spawnSync('dcmdump', ['-q', '+E', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) return `exit ${r.status}: ${r.stderr.slice(0, 300)}`;
  if (/^E: /m.test(r.stderr)) return r.stderr.slice(0, 300);
  return undefined;
}

/** The keyed UID as the README documents it, computed here without the product's code. */
export function expectedUid(key: Uint8Array, old: string): string {
  const h = createHmac('sha256', key).update('uid\0' + old).digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  return `2.25.${BigInt('0x' + h.toString('hex')).toString(10)}`;
}

/** A value as text; UN values (pydicom shows hex) decoded, padding removed. */
export function textOf(e: PyEl | undefined): string | undefined {
  if (!e || e.value === null) return undefined;
  return e.vr === 'UN' ? Buffer.from(e.value, 'hex').toString('latin1').replace(/[\0 ]+$/, '') : e.value;
}

export const find = (els: PyEl[] | undefined, tag: number): PyEl | undefined => els?.find((e) => e.tag === (tag >>> 0).toString(16).toUpperCase().padStart(8, '0'));

export interface RowSample {
  row: AnnexERow;
  tag: number;
  vr: string;
  /** A string that occurs in the file only inside this attribute's value (undefined for values too short to search). */
  marker?: string;
  /** The item's markers and UID for sequences. */
  sq?: { code: string; meaning: string; uid: string; name: string };
}

const tagOfRow = (r: AnnexERow): number | undefined => {
  if (r.tag === 'private') return undefined;
  if (r.tag === '50xxxxxx') return 0x50003000;
  if (r.tag.includes('x')) return parseInt(r.tag.replace(/x/g, '0'), 16) >>> 0;
  return parseInt(r.tag, 16) >>> 0;
};

function dateOf(i: number): string {
  const d = new Date(Date.UTC(2001, 0, 1) + i * 86400_000);
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

/** Elements PointBox's own rules cover (not in Table E.1-1): checked beside the table's rows. */
export const EXTRA = {
  instanceCreationDate: { tag: 0x00080012, value: '19990909' },
  acquisitionUid: { tag: 0x00080017, value: '1.2.826.0.1.3680043.10.545.1' },
  // A person's name the table does not list (Evaluator Name, NDE).
  unlistedName: { tag: 0x00142006, value: 'UNLISTED^PERSON' },
  bodyPart: { tag: 0x00180015, value: 'CHEST' },
  sopClass: { tag: 0x00080016, value: '1.2.840.10008.5.1.4.1.1.1' },
};

/**
 * A data set with one element per row of Table E.1-1 (a repeating group by one of its groups, the private row by
 * a creator and two elements), each holding a value found nowhere else in the file; sequences hold one item with
 * a code, a meaning, a Referenced SOP Instance UID, a Referenced SOP Class UID and a person's name.
 */
export function tableFixture(ts: string): { bytes: Uint8Array; samples: RowSample[]; el: DicomEl[] } {
  const els: DicomEl[] = [];
  const samples: RowSample[] = [];
  const txt = (tag: number, vr: string, s: string): DicomEl => ({ tag, vr, value: textValue(vr, s), little: true });
  ANNEX_E_ROWS.forEach((row, i) => {
    const tag = tagOfRow(row);
    if (tag === undefined || tag >>> 16 === 0x0002) return;
    // Command-group elements in a big endian data set: pydicom reads them little endian (they never belong in files).
    if (tag >>> 16 === 0x0000 && ts === TS.explicitBig) return;
    const vr = tag === 0xfffafffa ? 'SQ' : tag === 0xfffcfffc ? 'OB' : dictionaryVr(tag);
    if (!vr) throw new Error(`no VR for ${row.tag}`);
    const n = String(i).padStart(3, '0');
    const s: RowSample = { row, tag, vr };
    let el: DicomEl;
    switch (vr) {
      case 'SQ': {
        s.sq = { code: `SQC${n}`, meaning: `SQ MEANING ${n}`, uid: `1.2.826.0.1.3680043.10.544.${i}`, name: `SQNAME${n}` };
        el = { tag, vr, little: true, items: [[
          txt(0x00080100, 'SH', s.sq.code), txt(0x00080104, 'LO', s.sq.meaning), txt(0x00081150, 'UI', '1.2.840.10008.5.1.4.1.1.1'),
          txt(0x00081155, 'UI', s.sq.uid), txt(0x00100010, 'PN', s.sq.name),
        ]] };
        break;
      }
      case 'DA': s.marker = dateOf(i); el = txt(tag, vr, s.marker); break;
      case 'TM': s.marker = `${String(i % 24).padStart(2, '0')}${String(Math.floor(i / 24) % 60).padStart(2, '0')}17.${n}`; el = txt(tag, vr, s.marker); break;
      case 'DT': s.marker = `${dateOf(i)}1011${n.slice(1)}`; el = txt(tag, vr, s.marker); break;
      case 'AS': el = txt(tag, vr, '042Y'); break;
      case 'DS': case 'IS': s.marker = `7${n}7${n}`; el = txt(tag, vr, s.marker); break;
      case 'UI': s.marker = `1.2.826.0.1.3680043.10.543.${i}`; el = txt(tag, vr, s.marker); break;
      case 'AE': case 'CS': case 'LO': case 'LT': case 'PN': case 'SH': case 'ST': case 'UC': case 'UT': case 'UR':
        s.marker = `PHI${n}Q`; el = txt(tag, vr, s.marker); break;
      case 'US': case 'SS': { const b = Buffer.alloc(2); b.writeUInt16LE(4000 + i); el = { tag, vr, value: b, little: true }; break; }
      case 'UL': case 'SL': case 'FL': case 'AT': { const b = Buffer.alloc(4); b.writeUInt32LE(0x50480000 + i); el = { tag, vr, value: b, little: true }; break; }
      case 'FD': case 'SV': case 'UV': { const b = Buffer.alloc(8); b.writeUInt32LE(0x50480000 + i, 0); el = { tag, vr, value: b, little: true }; break; }
      default: s.marker = `PHIB${n}Z`; el = { tag, vr, value: Buffer.from(s.marker, 'latin1'), little: true }; // OB OW OF OD OL OV UN
    }
    els.push(el);
    samples.push(s);
  });
  // The private row: a creator and two elements of its block (one a sequence).
  const priv = ANNEX_E_ROWS.find((r) => r.tag === 'private')!;
  els.push(txt(0x00090010, 'LO', 'PHI PRIVATE CREATOR'), txt(0x00091001, 'LO', 'PHIPRIV1'),
    { tag: 0x00091002, vr: 'SQ', little: true, items: [[txt(0x00100010, 'PN', 'PRIVSQNAME')]] });
  samples.push({ row: priv, tag: 0x00091001, vr: 'LO', marker: 'PHIPRIV1' });
  for (const x of [EXTRA.instanceCreationDate, EXTRA.bodyPart]) els.push(txt(x.tag, dictionaryVr(x.tag)!, x.value));
  els.push(txt(EXTRA.acquisitionUid.tag, 'UI', EXTRA.acquisitionUid.value), txt(EXTRA.unlistedName.tag, 'PN', EXTRA.unlistedName.value), txt(EXTRA.sopClass.tag, 'UI', EXTRA.sopClass.value));
  els.push(txt(0x00280301, 'CS', 'NO'), { tag: 0x00280010, vr: 'US', value: Buffer.from([2, 0]), little: true }, { tag: 0x00280011, vr: 'US', value: Buffer.from([2, 0]), little: true },
    { tag: 0x7fe00010, vr: 'OW', value: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), little: true });
  els.sort((a, b) => (a.tag >>> 0) - (b.tag >>> 0));
  const meta: DicomEl[] = [
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]), little: true },
    txt(0x00020002, 'UI', EXTRA.sopClass.value),
    txt(0x00020003, 'UI', '1.2.826.0.1.3680043.10.543.9999'),
    txt(0x00020010, 'UI', ts),
    txt(0x00020016, 'AE', 'PHISOURCEAE'),
  ];
  return { bytes: encodePart10(meta, els, ts), samples, el: els };
}

export const FIXTURE_SYNTAXES = [TS.explicitLittle, TS.implicitLittle, TS.explicitBig, TS.deflated];
