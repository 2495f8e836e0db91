/** The viewer's header panel masks patient-identifying attributes unless asked (webview/viewer/headerRows.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headerRows, phiCount, PHI_MASK } from '../../../webview/viewer/headerRows';

const header = [
  { tag: '(0010,0010)', keyword: 'PatientName', value: 'Doe^Jane', identifying: true },
  { tag: '(0010,0020)', keyword: 'PatientID', value: '', identifying: true },
  { tag: '(0008,0060)', keyword: 'Modality', value: 'CR', identifying: false },
];

test('identifying values are masked by default and shown on request; empty ones stay empty', () => {
  assert.deepEqual(headerRows(header, false).map((r) => r.value), [PHI_MASK, '', 'CR']);
  assert.deepEqual(headerRows(header, false).map((r) => r.masked), [true, false, false]);
  assert.deepEqual(headerRows(header, true).map((r) => r.value), ['Doe^Jane', '', 'CR']);
  assert.equal(phiCount(header), 1);
  assert.deepEqual(headerRows(undefined, false), []);
});
