/**
 * Decoded pixels vs two independent references on the same files (test/fixtures/imaging/pydicomReference.py):
 * pydicom 2.3 + GDCM, and dcmtk's own decompressors (dcmdjpeg, dcmdjpls, dcmdrle, dcmconv; OpenJPEG's
 * opj_decompress for JPEG 2000, which dcmtk lacks). A file passes when it matches at least one of them,
 * bit for bit for lossless syntaxes and within the tolerance stated per lossy syntax; a reference that
 * disagrees is printed (test diagnostics), because neither is always right: GDCM misdecodes some colour JPEG
 * and one JPEG-LS file. The generated RG1 chest in every transfer syntax and the shared DICOM corpus.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeImageFile, type DecodedImage, ImagingError } from '../../../src/core/imaging';
import { assertMatchesAReference, corpusDir, cxrDir, diffStats, ensureGeneratedFixtures, generatedDir, hasDcmtkReference, hasFixtureTools, hasReference, hasSharedData, referenceDecodeBoth, type RefResult } from './imagingTestHelpers';

const skip = !hasSharedData() ? 'shared/data absent' : !hasReference() ? '/usr/bin/python3 with pydicom+numpy+gdcm absent'
  : !hasDcmtkReference() ? 'dcmtk / opj_decompress (dcmtk, libopenjp2-tools) absent: no second reference' : false;
const skipGenerated = skip || (!hasFixtureTools() && 'gdcmconv/dcmtk (libgdcm-tools, dcmtk) absent: cannot generate fixtures');

/**
 * Tolerances for lossy syntaxes (max |PointBox - reference| in stored values):
 * - JPEG baseline / extended 12-bit: 1 (libjpeg-turbo / pdf.js integer IDCT vs GDCM's IJG islow IDCT)
 * - JPEG 2000 lossy: 0 here (both use OpenJPEG), 1 allowed
 * - JPEG-LS near-lossless: 0 (decoding is deterministic); and within NEAR of the lossless source
 */
const lossyTolerance: Record<string, number> = {
  '1.2.840.10008.1.2.4.50': 1, '1.2.840.10008.1.2.4.51': 1, '1.2.840.10008.1.2.4.91': 1, '1.2.840.10008.1.2.4.81': 0,
};

async function ours(path: string, frame = 0): Promise<DecodedImage> { return decodeImageFile(path, { frame }); }

/** Matches pydicom+GDCM or dcmtk; prints the one that disagreed. */
function assertMatches(t: TestContext, name: string, img: DecodedImage, refs: readonly RefResult[], tol: number) {
  const r = assertMatchesAReference(name, img, refs, tol);
  for (const d of r.disagreed) t.diagnostic(d);
}

test('generated RG1 chest in every transfer syntax matches pydicom+GDCM or dcmtk, and the source pixels', { skip: skipGenerated, timeout: 240_000 }, async (t) => {
  const manifest = ensureGeneratedFixtures();
  if (typeof manifest === 'string') assert.fail(manifest);
  const entries = manifest.filter((e) => !e.file.startsWith('big_'));
  const bases = [...new Set(entries.map((e) => e.base))];
  const refs = referenceDecodeBoth([...entries.map((e) => join(generatedDir, e.file)), ...bases.map((b) => join(generatedDir, b))]);
  // The sources are uncompressed: the two references agree on them (checked), so either is the source.
  const baseRef = new Map(bases.map((b, i) => { const [g, d] = refs[entries.length + i]!; assert.deepEqual(g.stored, d.stored, b); return [b, g] as const; }));
  const seen = new Set<string>();
  for (const [i, e] of entries.entries()) {
    const img = await ours(join(generatedDir, e.file));
    assert.equal(img.transferSyntaxUID, e.transferSyntaxUID, e.file);
    seen.add(e.transferSyntaxUID);
    const tol = e.lossless ? 0 : lossyTolerance[e.transferSyntaxUID] ?? 0;
    assertMatches(t, e.file, img, refs[i]!, tol);
    const base = baseRef.get(e.base)!;
    if (e.lossless) {
      // Independent of any decoder: a lossless re-encoding must give back the source's stored values.
      assert.deepEqual(diffStats(Int32Array.from(img.data), base.stored!).maxAbs, 0, `${e.file} vs its source ${e.base}`);
    } else if (e.file === 'sc_ybr_full_le.dcm') {
      // RGB -> YBR_FULL (pydicom, rounded to 8 bits) -> RGB (PointBox) loses at most a couple of levels.
      assert.ok(diffStats(Int32Array.from(img.data), base.stored!).maxAbs <= 2, `${e.file}: YBR round trip`);
    } else if (e.transferSyntaxUID === '1.2.840.10008.1.2.4.81') {
      assert.ok(diffStats(Int32Array.from(img.data), base.stored!).maxAbs <= 3, `${e.file}: near-lossless error above NEAR=3`);
    }
  }
  for (const ts of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.5',
    '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81',
    '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91']) assert.ok(seen.has(ts), `no generated fixture for ${ts}`);
});

// Corpus files and what must happen. 'match' = compare with the reference at the given tolerance.
const corpus: [string, 'match' | ImagingError['code'], number?][] = [
  ['pydicom/MR_small.dcm', 'match'], ['pydicom/MR_small_implicit.dcm', 'match'], ['pydicom/MR_small_bigendian.dcm', 'match'],
  ['pydicom/MR_small_RLE.dcm', 'match'], ['pydicom/MR_small_jpeg_ls_lossless.dcm', 'match'], ['pydicom/MR_small_jp2klossless.dcm', 'match'],
  ['pydicom/JPEG2000.dcm', 'match', 1], ['pydicom/JPGExtended.dcm', 'match', 1], ['pydicom/JPEG-lossy.dcm', 'match', 1],
  ['pydicom/SC_rgb_jpeg_dcmtk.dcm', 'match', 1], ['pydicom/JPEGLSNearLossless_16.dcm', 'match'], ['pydicom/image_dfl.dcm', 'match'],
  ['pydicom/CT_small.dcm', 'match'], ['pydicom/ExplVR_BigEnd.dcm', 'match'], ['pydicom/SC_rgb_rle_2frame.dcm', 'match'],
  ['pydicom/dicomdirtests_CR1_6154', 'match'], ['pydicom/MR_truncated.dcm', 'TRUNCATED'],
  ['pydicom/ExplVR_LitEndNoMeta.dcm', 'NO_PIXEL_DATA'], ['pydicom/meta_missing_tsyntax.dcm', 'NO_PIXEL_DATA'],
  ['pydicom-data/JPGLosslessP14SV1_1s_1f_8b.dcm', 'match'], ['pydicom-data/emri_small.dcm', 'match'], ['pydicom-data/emri_small_RLE.dcm', 'match'],
  ['dicomParser/CT0012.fragmented_no_bot_jpeg_lossless.57.dcm', 'match'], ['dicomParser/CT0012.fragmented_no_bot_jpeg_baseline.51.dcm', 'match', 1],
  ['dicomParser/CT0012.not_fragmented_bot_rle.dcm', 'match'], ['dicomParser/CT0012.fragmented_no_bot_jpeg_ls.81.dcm', 'match'], ['dicomParser/IM00001.fragmented_no_bot_jpeg_baseline.50.dcm', 'match', 1],
  ['dicomParser/CT1_UNC.explicit_big_endian.dcm', 'match'], ['fo-dicom/GH133.dcm', 'match'],
  ['../dicom-cxr/RG1_J2KI.dcm', 'match', 1], ['../dicom-cxr/CR-MONO1-10-chest', 'match'],
  ['../dicom-cxr/siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm', 'match', 1],
];

test('shared DICOM corpus: decoded like pydicom+GDCM or dcmtk, or a typed error where the file is broken', { skip, timeout: 240_000 }, async (t) => {
  const paths = corpus.map(([f]) => join(corpusDir, f));
  const refs = referenceDecodeBoth(paths);
  for (const [i, [f, expect, tol]] of corpus.entries()) {
    if (expect === 'match') {
      assertMatches(t, f, await ours(paths[i]!), refs[i]!, tol ?? 0);
    } else {
      await assert.rejects(ours(paths[i]!), (e: unknown) => e instanceof ImagingError && e.code === expect && e.message.includes(f.split('/').pop()!), f);
    }
  }
});

test('frame selection in multi-frame files matches the reference frame', { skip, timeout: 120_000 }, async (t) => {
  const cases: [string, number][] = [['pydicom-data/emri_small_RLE.dcm', 7], ['pydicom-data/emri_small.dcm', 9], ['pydicom/SC_rgb_rle_2frame.dcm', 1],
    ['dicomParser/CT0012.fragmented_no_bot_jpeg_lossless.57.dcm', 1], ['dicomParser/CT0012.not_fragmented_bot_rle.dcm', 1]];
  const refs = referenceDecodeBoth(cases.map(([f, n]) => `${join(corpusDir, f)}::${n}`));
  for (const [i, [f, n]] of cases.entries()) {
    const img = await ours(join(corpusDir, f), n);
    assert.equal(img.frameIndex, n);
    assertMatches(t, `${f} frame ${n}`, img, refs[i]!, 0);
  }
  await assert.rejects(ours(join(corpusDir, 'pydicom-data/emri_small.dcm'), 10), (e: unknown) => e instanceof ImagingError && e.code === 'BAD_FRAME');
});

test('JPEG-LS near-lossless frames stay within NEAR of the lossless encoding of the same CT (GDCM 3.0.21 misdecodes this file; dcmtk agrees with PointBox)', { skip: hasSharedData() ? false : 'shared/data absent' }, async () => {
  for (const frame of [0, 1]) {
    const near = await ours(join(corpusDir, 'dicomParser/CT0012.fragmented_no_bot_jpeg_ls.81.dcm'), frame);
    const lossless = await ours(join(corpusDir, 'dicomParser/CT0012.fragmented_no_bot_jpeg_lossless.57.dcm'), frame);
    const d = diffStats(near.data, lossless.data);
    assert.ok(d.maxAbs <= 10 && d.maxAbs > 0, `frame ${frame}: max deviation ${d.maxAbs}`);
  }
});

test('files without a meta header and with an invalid pixel spacing decode with warnings', { skip: hasSharedData() ? false : 'shared/data absent' }, async () => {
  const mono1 = await ours(join(cxrDir, 'CR-MONO1-10-chest'));
  assert.equal(mono1.photometric, 'MONOCHROME1');
  assert.equal(mono1.transferSyntaxUID, '1.2.840.10008.1.2');
  assert.match(mono1.warnings.join('\n'), /no file meta header/);
  const rg1 = await ours(join(cxrDir, 'RG1_J2KI.dcm'));
  assert.equal(rg1.pixelSpacing, null);
  assert.match(rg1.warnings.join('\n'), /PixelSpacing 0\\0/);
});
