import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { inflateRawSync } from 'node:zlib';
import { generatePhantomImage } from '../../../src/core/phantom/generatePhantomImage';
import { encodePhantomDicom } from '../../../src/core/phantom/encodePhantomDicom';
import { TRANSFER_SYNTAX, encodeRleFrame } from '../../../src/core/phantom/encodeDicomPart10';
import type { DicomTransferSyntax } from '../../../src/core/phantom/encodeDicomPart10';

const SYNTAXES: DicomTransferSyntax[] = ['explicitLittle', 'rle', 'deflated'];
/** Debian's python3 (with python3-pydicom), not a pyenv python that lacks it. */
const PY = '/usr/bin/python3';

function u16(b: Uint8Array, o: number): number { return b[o]! | (b[o + 1]! << 8); }
function u32(b: Uint8Array, o: number): number { return (u16(b, o) + u16(b, o + 2) * 65536) >>> 0; }

/** Walks the file meta group: returns its elements' string values and where the data set starts. */
function readMeta(f: Uint8Array): { values: Map<string, string>; groupLength: number; dataStart: number } {
  assert.equal(Buffer.from(f.subarray(128, 132)).toString('latin1'), 'DICM');
  assert.ok(f.subarray(0, 128).every((v) => v === 0), 'preamble is zeros');
  let o = 132;
  const values = new Map<string, string>();
  let groupLength = -1, metaStart = -1;
  while (u16(f, o) === 0x0002) {
    const el = u16(f, o + 2), vr = Buffer.from(f.subarray(o + 4, o + 6)).toString('latin1');
    const long = vr === 'OB';
    const len = long ? u32(f, o + 8) : u16(f, o + 6);
    const v = o + (long ? 12 : 8);
    if (el === 0) { groupLength = u32(f, v); metaStart = v + 4; }
    values.set(el.toString(16).padStart(4, '0'), Buffer.from(f.subarray(v, v + len)).toString('latin1').replace(/\0+$/, ''));
    o = v + len;
  }
  assert.equal(o - metaStart, groupLength, 'FileMetaInformationGroupLength is the byte length of the rest of group 0002');
  return { values, groupLength, dataStart: o };
}

test('Part-10 structure: preamble, DICM, meta group with correct length, SOP class/instance, transfer syntax', () => {
  const img = generatePhantomImage(3, 1, { size: 64 });
  for (const ts of SYNTAXES) {
    const f = encodePhantomDicom(img, 3, 1, ts);
    const m = readMeta(f);
    assert.equal(m.values.get('0010'), TRANSFER_SYNTAX[ts]);
    assert.equal(m.values.get('0002'), '1.2.840.10008.5.1.4.1.1.1');
    assert.match(m.values.get('0003')!, /^2\.25\.[1-9]\d*$/);
    assert.match(m.values.get('0012')!, /^2\.25\.\d+$/);
    // Deflated: the data set after the meta inflates to an explicit-VR-LE stream starting with group 0008.
    const ds = ts === 'deflated' ? inflateRawSync(f.subarray(m.dataStart)) : f.subarray(m.dataStart);
    assert.equal(u16(ds, 0), 0x0008);
  }
});

test('RLE: header with segment count and offsets, high byte plane first, PackBits runs decode back', () => {
  const pixels = new Uint16Array(300 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = i < 200 ? 0x0abc : (i * 37) & 0x0fff;
  const fr = encodeRleFrame({ rows: 3, columns: 300, bitsAllocated: 16, pixels });
  assert.equal(u32(fr, 0), 2);
  assert.equal(u32(fr, 4), 64);
  assert.equal(fr.length % 2, 0);
  // Minimal PackBits decoder, independent of the encoder.
  const seg = (k: number) => {
    const start = u32(fr, 4 + 4 * k), end = k === 0 ? u32(fr, 8) : fr.length;
    const out: number[] = [];
    for (let p = start; p < end && out.length < pixels.length;) {
      const n = fr[p++]!;
      if (n < 128) { for (let j = 0; j <= n; j++) out.push(fr[p++]!); } else if (n > 128) { const v = fr[p++]!; for (let j = 0; j < 257 - n; j++) out.push(v); }
    }
    return out;
  };
  const hi = seg(0), lo = seg(1);
  pixels.forEach((v, i) => assert.equal((hi[i]! << 8) | lo[i]!, v, `pixel ${i}`));
});

test('generated DICOMs decode to the generated pixels with our decoder (src/core/imaging), every transfer syntax', async (t) => {
  const dir = join(__dirname, '..', '..', '..', 'src', 'core', 'imaging', 'index.ts');
  if (!existsSync(dir)) { t.skip('src/core/imaging is not there yet'); return; }
  const imaging = await import('../../../src/core/imaging/index');
  for (const mono of ['MONOCHROME2', 'MONOCHROME1'] as const) {
    const img = generatePhantomImage(9, 2, { size: 128, monochrome: mono });
    for (const ts of SYNTAXES) {
      const d = await imaging.decodeImageFile(encodePhantomDicom(img, 9, 2, ts), { fileName: `p.${ts}.dcm` });
      assert.equal(d.photometric, mono);
      assert.equal(d.width, 128);
      assert.equal(d.bitsStored, 12);
      assert.deepEqual(d.pixelSpacing, img.pixelSpacing);
      assert.deepEqual(d.voi.windows[0] && [d.voi.windows[0].center, d.voi.windows[0].width], [img.window.center, img.window.width]);
      assert.ok(Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength).equals(Buffer.from(img.pixels.buffer)), `${mono} ${ts}: pixels differ`);
    }
  }
});

test('generated DICOMs decode identically with pydicom (and dcmtk/GDCM accept them)', (t) => {
  const probe = existsSync(PY) ? spawnSync(PY, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }) : undefined;
  if (!probe || probe.status !== 0) { t.skip(`${PY} with pydicom+numpy not available`); return; }
  const tmp = mkdtempSync(join(tmpdir(), 'phantom-dcm-'));
  try {
    const img = generatePhantomImage(4, 6, { size: 200, monochrome: 'mixed' });
    writeFileSync(join(tmp, 'expected.raw'), Buffer.from(img.pixels.buffer));
    for (const ts of SYNTAXES) writeFileSync(join(tmp, `${ts}.dcm`), encodePhantomDicom(img, 4, 6, ts));
    const script = `
import sys, pydicom, numpy as np
exp = np.fromfile(sys.argv[1] + '/expected.raw', dtype='<u2').reshape(200, 200)
for ts in ${JSON.stringify(SYNTAXES)}:
    d = pydicom.dcmread(sys.argv[1] + '/' + ts + '.dcm')
    a = d.pixel_array
    assert d.SOPClassUID == '1.2.840.10008.5.1.4.1.1.1' and d.Modality == 'CR', ts
    assert d.PatientName.family_name == 'PHANTOM', ts
    assert str(d.PhotometricInterpretation) == '${img.photometric}', ts
    assert np.array_equal(a, exp), ts + ': pixels differ'
    print(ts, 'ok')
`;
    const r = spawnSync(PY, ['-c', script, tmp], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.equal(r.stdout.trim().split('\n').length, SYNTAXES.length);
    // dcmtk's dcmdump parses every element (and the deflated/encapsulated streams) strictly.
    const dump = spawnSync('dcmdump', ['+E', '-q', join(tmp, 'rle.dcm'), join(tmp, 'deflated.dcm'), join(tmp, 'explicitLittle.dcm')], { encoding: 'utf8' });
    if (dump.error) t.diagnostic('dcmdump not installed; skipped the dcmtk check');
    else assert.equal(dump.status, 0, dump.stderr);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the writer also round-trips 8-bit frames (native OB and RLE, odd sizes) through our decoder', async (t) => {
  if (!existsSync(join(__dirname, '..', '..', '..', 'src', 'core', 'imaging', 'index.ts'))) { t.skip('src/core/imaging is not there yet'); return; }
  const imaging = await import('../../../src/core/imaging/index');
  const { encodeDicomPart10 } = await import('../../../src/core/phantom/encodeDicomPart10');
  const rows = 7, columns = 131;
  const pixels = new Uint8Array(rows * columns);
  for (let i = 0; i < pixels.length; i++) pixels[i] = i % 17 < 9 ? 200 : (i * 31) & 0xff;
  for (const ts of ['explicitLittle', 'rle', 'deflated'] as const) {
    const f = encodeDicomPart10({
      transferSyntax: ts, sopClassUid: '1.2.840.10008.5.1.4.1.1.7', sopInstanceUid: '2.25.1',
      elements: [
        { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' }, { tag: 0x00080018, vr: 'UI', value: '2.25.1' },
        { tag: 0x00280002, vr: 'US', value: 1 }, { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
        { tag: 0x00280010, vr: 'US', value: rows }, { tag: 0x00280011, vr: 'US', value: columns },
        { tag: 0x00280100, vr: 'US', value: 8 }, { tag: 0x00280101, vr: 'US', value: 8 }, { tag: 0x00280102, vr: 'US', value: 7 },
        { tag: 0x00280103, vr: 'US', value: 0 },
      ],
      frame: { rows, columns, bitsAllocated: 8, pixels },
    });
    const d = await imaging.decodeImageFile(f, { fileName: `8bit.${ts}.dcm` });
    assert.deepEqual([...d.data], [...pixels], ts);
  }
});
