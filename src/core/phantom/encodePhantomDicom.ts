import { createHash } from 'node:crypto';
import { encodeDicomPart10 } from './encodeDicomPart10';
import type { DicomElement, DicomTransferSyntax } from './encodeDicomPart10';
import type { PhantomImage } from './generatePhantomImage';

export const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';

/**
 * A deterministic UID under the 2.25 (UUID-derived) root: the same phantom always gets the same UIDs,
 * so regenerating a dataset with the same seed gives byte-identical files.
 */
export function phantomUid(...parts: (string | number)[]): string {
  const h = createHash('sha256').update(parts.join('/')).digest();
  const bytes = h.subarray(0, 16);
  // Mark as an RFC 4122 version-4 style UUID, as 2.25 UIDs are meant to be.
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return `2.25.${BigInt('0x' + bytes.toString('hex')).toString(10)}`;
}

function ds(v: number): string {
  // DS is at most 16 characters.
  const s = String(Math.round(v * 1e4) / 1e4);
  return s.length <= 16 ? s : v.toPrecision(10);
}

/**
 * The DICOM for one phantom: CR Image Storage, with patient/study/series modules filled with obviously
 * fake identifiers (PHANTOM^...), ImagerPixelSpacing and PixelSpacing, the VOI window and the
 * photometric interpretation of the generated data. Dates are fixed so files are reproducible.
 */
export function encodePhantomDicom(img: PhantomImage, seed: number, index: number, transferSyntax: DicomTransferSyntax = 'explicitLittle'): Uint8Array {
  const n = String(index + 1).padStart(6, '0');
  const studyUid = phantomUid('pointbox-phantom', seed, index, 'study');
  const sopUid = phantomUid('pointbox-phantom', seed, index, 'sop');
  const spacing = `${ds(img.pixelSpacing[0])}\\${ds(img.pixelSpacing[1])}`;
  const day = String(1 + (index % 28)).padStart(2, '0');
  const el: DicomElement[] = [
    { tag: 0x00080005, vr: 'CS', value: 'ISO_IR 100' },
    { tag: 0x00080008, vr: 'CS', value: 'DERIVED\\PRIMARY' },
    { tag: 0x00080016, vr: 'UI', value: CR_IMAGE_STORAGE },
    { tag: 0x00080018, vr: 'UI', value: sopUid },
    { tag: 0x00080020, vr: 'DA', value: `200001${day}` },
    { tag: 0x00080030, vr: 'TM', value: '120000' },
    { tag: 0x00080050, vr: 'SH', value: `PH${n}` },
    { tag: 0x00080060, vr: 'CS', value: 'CR' },
    { tag: 0x00080070, vr: 'LO', value: 'PointBox phantom generator' },
    { tag: 0x00080090, vr: 'PN', value: '' },
    { tag: 0x0008103e, vr: 'LO', value: `SYNTHETIC CHEST ${img.view} seed ${seed}` },
    { tag: 0x00081090, vr: 'LO', value: 'PointBox phantom' },
    { tag: 0x00100010, vr: 'PN', value: `PHANTOM^CXR${n}` },
    { tag: 0x00100020, vr: 'LO', value: `PHANTOM-${seed}-${n}` },
    { tag: 0x00100030, vr: 'DA', value: '' },
    { tag: 0x00100040, vr: 'CS', value: 'O' },
    { tag: 0x00120062, vr: 'CS', value: 'YES' },
    { tag: 0x00180015, vr: 'CS', value: 'CHEST' },
    // Typical chest technique: high kVp for PA, lower for bedside AP.
    { tag: 0x00180060, vr: 'DS', value: img.view === 'PA' ? '120' : '90' },
    { tag: 0x00181164, vr: 'DS', value: spacing },
    { tag: 0x00185101, vr: 'CS', value: img.view },
    { tag: 0x0020000d, vr: 'UI', value: studyUid },
    { tag: 0x0020000e, vr: 'UI', value: phantomUid('pointbox-phantom', seed, index, 'series') },
    { tag: 0x00200010, vr: 'SH', value: n.slice(-6) },
    { tag: 0x00200011, vr: 'IS', value: '1' },
    { tag: 0x00200013, vr: 'IS', value: '1' },
    // Rows towards the patient's left, columns towards the feet: chest films (PA and AP) as displayed.
    { tag: 0x00200020, vr: 'CS', value: 'L\\F' },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: img.photometric },
    { tag: 0x00280010, vr: 'US', value: img.height },
    { tag: 0x00280011, vr: 'US', value: img.width },
    { tag: 0x00280030, vr: 'DS', value: spacing },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: img.bitsStored },
    { tag: 0x00280102, vr: 'US', value: img.bitsStored - 1 },
    { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x00281050, vr: 'DS', value: ds(img.window.center) },
    { tag: 0x00281051, vr: 'DS', value: ds(img.window.width) },
    { tag: 0x00281055, vr: 'LO', value: 'PHANTOM HISTOGRAM 1-99.9%' },
    { tag: 0x00281052, vr: 'DS', value: '0' },
    { tag: 0x00281053, vr: 'DS', value: '1' },
    { tag: 0x00281054, vr: 'LO', value: 'US' },
    { tag: 0x00280301, vr: 'CS', value: 'NO' },
    { tag: 0x00282110, vr: 'CS', value: '00' },
  ];
  return encodeDicomPart10({
    transferSyntax, sopClassUid: CR_IMAGE_STORAGE, sopInstanceUid: sopUid, elements: el,
    frame: { rows: img.height, columns: img.width, bitsAllocated: 16, pixels: img.pixels },
  });
}
