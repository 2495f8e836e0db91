/** Hand-made bad inputs: each must end in a typed ImagingError naming the file, quickly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage, nodeImagingPlatform, ImagingError, requirePixelSpacing, transferSyntaxInfo, isDecodable, decodeImageFile } from '../../../src/core/imaging';
import { corpusDir, cxrDir, hasSharedData } from './imagingTestHelpers';

const skip = hasSharedData() ? false : 'shared/data absent';
const read = (f: string) => new Uint8Array(readFileSync(join(corpusDir, f)));

/** Offset of an explicit-VR-LE element header (group, element) in the bytes. */
function findTag(b: Uint8Array, group: number, element: number, vr: string): number {
  for (let i = 132; i + 8 < b.length; i++) {
    if (b[i] === (group & 0xff) && b[i + 1] === group >> 8 && b[i + 2] === (element & 0xff) && b[i + 3] === element >> 8 && b[i + 4] === vr.charCodeAt(0) && b[i + 5] === vr.charCodeAt(1)) return i;
  }
  throw new Error(`tag ${group.toString(16)},${element.toString(16)} not found`);
}

async function expectTyped(bytes: Uint8Array, name: string, codes?: string[]): Promise<ImagingError> {
  const t = Date.now();
  try {
    await decodeImage(bytes, nodeImagingPlatform, { fileName: name });
  } catch (e) {
    assert.ok(e instanceof ImagingError, `${name}: untyped ${e instanceof Error ? e.stack : e}`);
    assert.ok(e.message.includes(name), `${name}: message must name the file: ${e.message}`);
    if (codes) assert.ok(codes.includes(e.code), `${name}: code ${e.code} not in ${codes.join(',')} (${e.message})`);
    assert.ok(Date.now() - t < 5000, `${name}: took ${Date.now() - t} ms`);
    return e;
  }
  assert.fail(`${name}: decoded without an error`);
}

test('truncated files at every structural boundary fail typed', { skip }, async () => {
  for (const f of ['pydicom/CT_small.dcm', 'pydicom/MR_small_RLE.dcm', 'pydicom/MR_small_jp2klossless.dcm', 'pydicom/MR_small_jpeg_ls_lossless.dcm', 'pydicom/SC_rgb_jpeg_dcmtk.dcm', 'pydicom/image_dfl.dcm']) {
    const b = read(f);
    for (const frac of [0.01, 0.05, 0.2, 0.5, 0.9, 0.99]) await expectTyped(b.slice(0, Math.floor(b.length * frac)), `${f}@${frac}`);
  }
  await expectTyped(new Uint8Array(0), 'empty.dcm', ['TRUNCATED']);
  await expectTyped(new TextEncoder().encode('hello, this is not an image at all'), 'text.txt', ['NOT_DICOM']);
});

test('lying headers: huge Rows/Columns, wrong lengths, bad VR, missing pixel data, unknown syntax', { skip }, async () => {
  // Rows/Columns 65535 on a native file: the pixel data is far too short
  const ct = read('pydicom/CT_small.dcm');
  const rows = findTag(ct, 0x0028, 0x0010, 'US');
  const lie = ct.slice(); lie[rows + 8] = 0xff; lie[rows + 9] = 0xff; const cols = findTag(lie, 0x0028, 0x0011, 'US'); lie[cols + 8] = 0xff; lie[cols + 9] = 0xff;
  await expectTyped(lie, 'huge_native.dcm', ['TRUNCATED', 'TOO_LARGE']);
  // the same lie on a JPEG 2000 file must be caught before the codec allocates
  const j2k = read('pydicom/MR_small_jp2klossless.dcm');
  const r2 = findTag(j2k, 0x0028, 0x0010, 'US'); const l2 = j2k.slice(); l2[r2 + 8] = 0x00; l2[r2 + 9] = 0x40;
  await expectTyped(l2, 'lying_j2k.dcm', ['CODEC_ERROR']);
  // an element length pointing past the end of the file
  const sd = findTag(ct, 0x0008, 0x0008, 'CS'); const wl = ct.slice(); wl[sd + 6] = 0xf0; wl[sd + 7] = 0xff;
  await expectTyped(wl, 'wrong_length.dcm');
  // a VR that does not exist
  const bv = ct.slice(); bv[sd + 4] = 0x5a; bv[sd + 5] = 0x5a;
  const e = await decodeImage(bv, nodeImagingPlatform, { fileName: 'bad_vr.dcm' }).then(() => undefined, (x: unknown) => x);
  assert.ok(e === undefined || e instanceof ImagingError, 'bad VR: decodes leniently or fails typed');
  // no pixel data: cut right before (7FE0,0010)
  const pd = findTag(ct, 0x7fe0, 0x0010, 'OW');
  await expectTyped(ct.slice(0, pd), 'no_pixels.dcm', ['NO_PIXEL_DATA']);
  // an unknown transfer syntax is named in the error
  const ts = findTag(j2k, 0x0002, 0x0010, 'UI'); const u = j2k.slice(); const len = u[ts + 6]!;
  const uid = new TextDecoder().decode(u.subarray(ts + 8, ts + 8 + len)).replace(/\0/g, '');
  u.set(new TextEncoder().encode(uid.replace(/\.90$/, '.99')), ts + 8);
  const err = await expectTyped(u, 'unknown_ts.dcm', ['UNSUPPORTED_SYNTAX']);
  assert.match(err.message, /1\.2\.840\.10008\.1\.2\.4\.99/);
});

test('video and JPEG XL syntaxes are known by name and reported as unsupported; HTJ2K has a codec', () => {
  assert.match(transferSyntaxInfo('1.2.840.10008.1.2.4.201').name, /High-Throughput JPEG 2000/);
  assert.equal(isDecodable(transferSyntaxInfo('1.2.840.10008.1.2.4.201')), true);
  assert.equal(isDecodable(transferSyntaxInfo('1.2.840.10008.1.2.4.102')), false);
  assert.equal(isDecodable(transferSyntaxInfo('1.2.840.10008.1.2.4.110')), false);
  assert.equal(isDecodable(transferSyntaxInfo('1.2.840.10008.1.2.4.80')), true);
});

test('zero pixel spacing decodes with a warning; measurements get a typed error', { skip }, async () => {
  const img = await decodeImageFile(join(cxrDir, 'RG1_J2KI.dcm'));
  assert.throws(() => requirePixelSpacing(img, 'RG1_J2KI.dcm'), (e: unknown) => e instanceof ImagingError && e.code === 'BAD_HEADER');
  const ct = await decodeImageFile(join(corpusDir, 'pydicom/CT_small.dcm'));
  assert.deepEqual(requirePixelSpacing(ct), ct.pixelSpacing);
  assert.ok(ct.pixelSpacing![0] > 0);
});

test('a missing file fails typed', async () => {
  await assert.rejects(decodeImageFile('/nonexistent/x.dcm'), (e: unknown) => e instanceof ImagingError && /ENOENT/.test(e.message));
});
