import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeImageFile } from '../../../src/core/imaging';
import { corpusDir, hasSharedData } from './imagingTestHelpers';

test('header summary marks patient-identifying attributes so the viewer can hide them', { skip: hasSharedData() ? false : 'shared/data absent' }, async () => {
  const img = await decodeImageFile(join(corpusDir, 'pydicom/CT_small.dcm'));
  const h = img.header!;
  const by = (k: string) => h.find((e) => e.keyword === k);
  assert.equal(by('PatientName')?.identifying, true);
  assert.equal(by('PatientName')?.value, 'CompressedSamples^CT1');
  assert.equal(by('PatientID')?.identifying, true);
  assert.equal(by('StudyInstanceUID')?.identifying, true);
  assert.equal(by('Modality')?.identifying, false);
  assert.equal(by('Modality')?.value, 'CT');
  assert.equal(by('Rows')?.value, '128');
  assert.equal(by('Rows')?.tag, '(0028,0010)');
  // no identifying value leaks into a non-identifying entry
  for (const e of h.filter((x) => !x.identifying)) assert.ok(!e.value.includes('CompressedSamples'), e.keyword);
});
