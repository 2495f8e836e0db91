/** The viewer's reduced first image (issue 13): box means of the stored values, metadata kept, worked by hand. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reduceImage, reductionFactor } from '../../../src/core/imaging/reducedImage';
import { decodeImageFile } from '../../../src/core/imaging';
import { chooseVoi } from '../../../src/core/imaging/greyPipeline';
import { viewerPreview, closeViewerPreviews } from '../../../src/core/workers/viewerPreviews';
import { tinyDicom } from '../dataset/datasetFixtures';
import { greyImage } from './imagingTestHelpers';

after(() => closeViewerPreviews());

test('the factor brings the longer side to at most maxSide, never below 1', () => {
  assert.equal(reductionFactor(2500, 3000, 800), 4); // 3000 / 4 = 750
  assert.equal(reductionFactor(1024, 1024, 1024), 1);
  assert.equal(reductionFactor(1025, 10, 1024), 2);
  assert.throws(() => reductionFactor(10, 10, 0), /maxSide/);
});

test('box means over 2x2 blocks, the edge blocks over the pixels they have, rounded', () => {
  // 5 x 3 image, factor 2 -> 3 x 2
  const data = new Uint16Array([
    0, 2, 4, 6, 8,
    2, 4, 6, 8, 11,
    100, 200, 300, 400, 500,
  ]);
  const img = greyImage(data, { width: 5, height: 3, voi: { windows: [{ center: 40, width: 80 }], function: 'LINEAR', luts: [] }, pixelSpacing: [0.2, 0.3] });
  const r = reduceImage(img, 3);
  assert.equal(r.factor, 2);
  assert.deepEqual([r.image.width, r.image.height, r.fullWidth, r.fullHeight], [3, 2, 5, 3]);
  // (0+2+2+4)/4=2, (4+6+6+8)/4=6, (8+11)/2=9.5->10; (100+200)/2=150, (300+400)/2=350, 500
  assert.deepEqual([...r.image.data], [2, 6, 10, 150, 350, 500]);
  assert.ok(r.image.data instanceof Uint16Array, 'same stored-value type');
  assert.deepEqual(r.image.voi, img.voi, 'the same VOI: the default window does not change at full resolution');
  assert.deepEqual(r.image.pixelSpacing, [0.4, 0.6]);
  assert.deepEqual(chooseVoi(r.image), chooseVoi(img));
});

test('signed values and RGB samples are averaged per sample', () => {
  const s = reduceImage(greyImage(new Int16Array([-100, -50, 10, 20]), { width: 2, height: 2, isSigned: true }), 1);
  assert.deepEqual([...s.image.data], [-30]); // -120 / 4
  assert.ok(s.image.data instanceof Int16Array);
  const rgb = greyImage(new Uint8Array([10, 20, 30, 30, 40, 50]), { width: 2, height: 1, samplesPerPixel: 3, photometric: 'RGB', bitsAllocated: 8, bitsStored: 8 });
  assert.deepEqual([...reduceImage(rgb, 1).image.data], [20, 30, 40]);
});

test('an image already small enough is returned as it is', () => {
  const img = greyImage(new Uint16Array([1, 2, 3]), { width: 3, height: 1 });
  const r = reduceImage(img, 3);
  assert.equal(r.factor, 1);
  assert.equal(r.image, img);
});

test('the preview worker decodes a real DICOM file off the thread and reduces it like reduceImage', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pointbox-preview-'));
  try {
    const file = join(dir, 'wide.dcm');
    writeFileSync(file, tinyDicom(700, 300, 'PREVIEW'));
    const p = await viewerPreview(file, 256);
    const expected = reduceImage(await decodeImageFile(file), 256);
    assert.equal(p.factor, 3);
    assert.deepEqual([p.image.width, p.image.height, p.fullWidth, p.fullHeight], [234, 100, 700, 300]);
    assert.deepEqual([...p.image.data], [...expected.image.data]);
    // A file that is no image: the decoder's message, naming the file.
    const bad = join(dir, 'broken.dcm');
    writeFileSync(bad, Buffer.from('not a dicom file at all'));
    await assert.rejects(viewerPreview(bad, 256), /broken\.dcm/);
    // The viewer moved on before the decode started: dropped, as an AbortError (the host logs nothing then).
    await assert.rejects(viewerPreview(file, 256, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
