import type { DataSet } from 'dicom-parser';

/**
 * A readable header summary for the viewer's header panel. Each entry says whether it identifies the
 * patient (PS3.15 Basic Application Level Confidentiality Profile attributes): the viewer hides those by
 * default, and exports can drop them.
 */
export interface HeaderEntry { tag: string; keyword: string; value: string; identifying: boolean }
export type HeaderSummary = HeaderEntry[];

// [tag, keyword, identifying]
const fields: [string, string, boolean][] = [
  ['00100010', 'PatientName', true],
  ['00100020', 'PatientID', true],
  ['00100030', 'PatientBirthDate', true],
  ['00100040', 'PatientSex', true],
  ['00101010', 'PatientAge', true],
  ['00101000', 'OtherPatientIDs', true],
  ['00101001', 'OtherPatientNames', true],
  ['00101040', 'PatientAddress', true],
  ['00080050', 'AccessionNumber', true],
  ['00080080', 'InstitutionName', true],
  ['00080081', 'InstitutionAddress', true],
  ['00080090', 'ReferringPhysicianName', true],
  ['00081050', 'PerformingPhysicianName', true],
  ['00081070', 'OperatorsName', true],
  ['00081010', 'StationName', true],
  ['00200010', 'StudyID', true],
  ['00080020', 'StudyDate', true],
  ['00080030', 'StudyTime', true],
  ['00080021', 'SeriesDate', true],
  ['00080022', 'AcquisitionDate', true],
  ['00080023', 'ContentDate', true],
  ['0020000D', 'StudyInstanceUID', true],
  ['0020000E', 'SeriesInstanceUID', true],
  ['00080018', 'SOPInstanceUID', true],
  ['00081030', 'StudyDescription', true],
  ['00080016', 'SOPClassUID', false],
  ['00080060', 'Modality', false],
  ['00080070', 'Manufacturer', false],
  ['00081090', 'ManufacturerModelName', false],
  ['00180015', 'BodyPartExamined', false],
  ['00185101', 'ViewPosition', false],
  ['00200020', 'PatientOrientation', false],
  ['00280004', 'PhotometricInterpretation', false],
  ['00280010', 'Rows', false],
  ['00280011', 'Columns', false],
  ['00280100', 'BitsAllocated', false],
  ['00280101', 'BitsStored', false],
  ['00280103', 'PixelRepresentation', false],
  ['00280030', 'PixelSpacing', false],
  ['00181164', 'ImagerPixelSpacing', false],
  ['00281050', 'WindowCenter', false],
  ['00281051', 'WindowWidth', false],
  ['00281052', 'RescaleIntercept', false],
  ['00281053', 'RescaleSlope', false],
  ['00020010', 'TransferSyntaxUID', false],
];

const binaryUs = new Set(['00280010', '00280011', '00280100', '00280101', '00280103']);

export function headerSummary(ds: DataSet): HeaderSummary {
  const out: HeaderSummary = [];
  for (const [tag, keyword, identifying] of fields) {
    const key = `x${tag.toLowerCase()}`;
    const el = ds.elements[key];
    if (!el) continue;
    let value: string;
    try {
      if (binaryUs.has(tag)) value = String(ds.uint16(key) ?? '');
      else if ('Value' in el && typeof (el as { Value?: unknown }).Value === 'string') value = String((el as { Value?: unknown }).Value);
      else value = (el.length > 1024 ? '' : ds.string(key)) ?? '';
    } catch { value = ''; }
    out.push({ tag: `(${tag.slice(0, 4)},${tag.slice(4)})`, keyword, value, identifying });
  }
  return out;
}
