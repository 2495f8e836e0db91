/**
 * `pointbox phi-report`: what in a dataset identifies patients, counted per file, before anything leaves the
 * building. For every image: the DICOM attributes that hold a value and that de-identification would remove or
 * replace (Table E.1-1 under the chosen profile, plus PointBox's rules for names, UIDs and dates it does not
 * list), private attributes per creator, the burned-in text risk, PNG/JPEG metadata chunks, and file names that
 * contain the patient's ID, name, accession number or a UID. No value is ever put into the report: only which
 * attributes are present and in how many files.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { DatasetFile } from '../dataset/schema';
import { imageRootsOf, resolveImagePath } from '../dataset/imagePaths';
import { ANNEX_E_SOURCE, annexERow, PRIVATE_ROW } from './annexETable';
import { keywordOf, tagString } from './dicomDictionary';
import { DicomStructureError, readDicomTree, textOf, type DicomEl } from './dicomDataSet';
import { burnedInStatus, standardAction } from './deidentifyDicom';
import type { DeidProfile } from './profile';
import { ImageMetadataError, rasterKind, rasterMetadata } from './stripImageMetadata';

export interface PhiAttribute {
  /** "(0010,0010)". */
  tag: string;
  name: string;
  /** The table's code under the profile (e.g. 'Z', 'X/Z/D'), or PointBox's rule for unlisted attributes. */
  rule: string;
  /** What --deidentify does with it: X, Z, D, U, U*. */
  action: string;
  files: number;
}

export interface PhiReport {
  dataset: string;
  profile: string;
  standard: string;
  images: { total: number; dicom: number; png: number; jpeg: number; missing: number; unreadable: number; unsupported: number; outsideRoots: number };
  /** Attributes with a value that identify, most frequent first. */
  dicomAttributes: PhiAttribute[];
  privateAttributes: { files: number; creators: { group: string; creator: string; files: number }[] };
  burnedIn: {
    /** BurnedInAnnotation YES or RecognizableVisualFeatures YES. */
    declared: number;
    /** No such attribute, and a modality/SOP class that usually carries burned-in text. */
    likely: number;
    /** Image ids of both groups (excluded by --deidentify unless --include-burned-in). */
    imageIds: number[];
  };
  /** PNG/JPEG metadata (tEXt, eXIf, APP1 Exif, COM, ...): files per kind. */
  rasterMetadata: { kind: string; files: number }[];
  /** Images whose file name contains the patient ID or name, the accession number or a study/series/instance UID. */
  identifyingFileNames: { files: number; imageIds: number[] };
  /** Per-image attribute keys of the dataset file (e.g. patient_age): not exported by --deidentify, listed for review. */
  datasetAttributes: { key: string; images: number }[];
}

export interface PhiReportOptions {
  datasetDir: string;
  imagesRoot?: string;
  profile: DeidProfile;
  onProgress?: (done: number, total: number) => void;
}

interface FileFindings { attrs: Map<string, Omit<PhiAttribute, 'files'>>; creators: Set<string>; identifiers: string[] }

const PATIENT_ID_TAGS = [0x00100020, 0x00080050, 0x00101000]; // Patient ID, Accession Number, Other Patient IDs
const UID_TAGS = [0x0020000d, 0x0020000e, 0x00080018];

function scanDicom(ds: readonly DicomEl[], profile: DeidProfile): FileFindings {
  const f: FileFindings = { attrs: new Map(), creators: new Set(), identifiers: [] };
  const hasValue = (el: DicomEl) => (el.items ? el.items.length > 0 : !!el.encapsulated || textOf(el.value) !== '' || (el.value?.some((b) => b !== 0) ?? false));
  const walk = (els: readonly DicomEl[], dummyAll: boolean) => {
    const creators = new Map<number, string>();
    for (const el of els) {
      const g = el.tag >>> 16; const e = el.tag & 0xffff;
      if (g & 1 && e >= 0x10 && e <= 0xff) creators.set(g * 256 + e, textOf(el.value));
    }
    for (const el of els) {
      const g = el.tag >>> 16; const e = el.tag & 0xffff;
      if (g & 1) {
        if (e >= 0x1000 && hasValue(el)) f.creators.add(`${g.toString(16).toUpperCase().padStart(4, '0')}\t${creators.get(g * 256 + (e >>> 8)) ?? '(no creator)'}`);
        continue;
      }
      if (g === 0x0002 || g === 0 || e === 0) continue;
      const a = standardAction(el, profile, dummyAll);
      if (a.action !== 'K' && hasValue(el)) {
        const key = tagString(el.tag);
        if (!f.attrs.has(key)) {
          const name = annexERow(el.tag)?.name ?? keywordOf(el.tag) ?? 'unknown attribute';
          f.attrs.set(key, { tag: key, name, rule: a.rule, action: a.action });
        }
      }
      if (el.items) for (const it of el.items) walk(it, dummyAll || a.action === 'D');
    }
  };
  walk(ds, false);
  for (const t of [...PATIENT_ID_TAGS, ...UID_TAGS]) {
    for (const v of textOf(ds.find((e) => e.tag === t)?.value).split('\\')) if (v.trim().length >= 3) f.identifiers.push(v.trim());
  }
  for (const part of textOf(ds.find((e) => e.tag === 0x00100010)?.value).split(/[\^= \\]+/)) if (part.length >= 3) f.identifiers.push(part);
  return f;
}

export function phiReport(d: DatasetFile, o: PhiReportOptions): PhiReport {
  const roots = imageRootsOf(d, o.datasetDir, o.imagesRoot);
  const images = { total: d.images.length, dicom: 0, png: 0, jpeg: 0, missing: 0, unreadable: 0, unsupported: 0, outsideRoots: 0 };
  const attrCount = new Map<string, PhiAttribute>();
  const creatorCount = new Map<string, number>();
  let privateFiles = 0;
  const burned = { declared: 0, likely: 0, imageIds: [] as number[] };
  const raster = new Map<string, number>();
  const names = { files: 0, imageIds: [] as number[] };
  let done = 0;
  for (const im of d.images) {
    o.onProgress?.(done++, d.images.length);
    const r = resolveImagePath(roots, im);
    if (!r.ok) { images.outsideRoots++; continue; }
    let bytes: Uint8Array;
    try { bytes = readFileSync(r.path); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') images.missing++; else images.unreadable++;
      continue;
    }
    const kind = rasterKind(bytes);
    if (kind) {
      images[kind]++;
      try { for (const k of new Set(rasterMetadata(bytes).map((x) => x.replace(/^\d+ bytes after/, 'bytes after')))) raster.set(k, (raster.get(k) ?? 0) + 1); } catch (e) {
        if (!(e instanceof ImageMetadataError)) throw e;
        images.unreadable++;
      }
      continue;
    }
    let tree;
    try { tree = readDicomTree(bytes); } catch (e) {
      if (!(e instanceof DicomStructureError || e instanceof RangeError)) throw e;
      if (/\.(dcm|dicom)$/i.test(r.path) || (bytes[128] === 0x44 && bytes[129] === 0x49)) images.unreadable++; else images.unsupported++;
      continue;
    }
    images.dicom++;
    const f = scanDicom(tree.dataSet, o.profile);
    for (const a of f.attrs.values()) {
      const c = attrCount.get(a.tag);
      if (c) c.files++; else attrCount.set(a.tag, { ...a, files: 1 });
    }
    if (f.creators.size) privateFiles++;
    for (const c of f.creators) creatorCount.set(c, (creatorCount.get(c) ?? 0) + 1);
    const b = burnedInStatus(tree.dataSet);
    if (b.risk) {
      if (/ is YES$/.test(b.why)) burned.declared++; else burned.likely++;
      burned.imageIds.push(im.id);
    }
    const stem = basename(im.file_name).replace(/\.[^.]*$/, '').toLowerCase();
    const dir = im.file_name.toLowerCase();
    if (f.identifiers.some((v) => stem.includes(v.toLowerCase()) || dir.includes(v.toLowerCase()))) { names.files++; names.imageIds.push(im.id); }
  }
  o.onProgress?.(done, d.images.length);
  const keys = new Map<string, number>();
  for (const im of d.images) for (const k of Object.keys(im.attributes ?? {})) keys.set(k, (keys.get(k) ?? 0) + 1);
  return {
    dataset: d.info.name,
    profile: o.profile.name,
    standard: ANNEX_E_SOURCE,
    images,
    dicomAttributes: [...attrCount.values()].sort((a, b) => b.files - a.files || a.tag.localeCompare(b.tag)),
    privateAttributes: {
      files: privateFiles,
      creators: [...creatorCount].map(([k, files]) => { const [group, creator] = k.split('\t'); return { group: group!, creator: creator!, files }; }).sort((a, b) => b.files - a.files || a.group.localeCompare(b.group)),
    },
    burnedIn: burned,
    rasterMetadata: [...raster].map(([kind, files]) => ({ kind, files })).sort((a, b) => b.files - a.files),
    identifyingFileNames: names,
    datasetAttributes: [...keys].map(([key, n]) => ({ key, images: n })).sort((a, b) => b.images - a.images),
  };
}

const ACTION_WORDS: Record<string, string> = { X: 'removed', Z: 'emptied', D: 'dummy value', U: 'new UID', 'U*': 'kept, UIDs inside replaced' };

/** The report as Markdown (readable as plain text in a terminal too). */
export function phiReportMarkdown(r: PhiReport): string {
  const L: string[] = [];
  const i = r.images;
  L.push(`# PHI report: ${r.dataset}`, '');
  L.push(`${i.total} images: ${i.dicom} DICOM, ${i.png} PNG, ${i.jpeg} JPEG` + [i.missing && `${i.missing} missing`, i.unreadable && `${i.unreadable} unreadable`, i.unsupported && `${i.unsupported} unsupported`, i.outsideRoots && `${i.outsideRoots} outside the dataset folder and image root (not read)`].filter(Boolean).map((s) => `, ${s}`).join('') + '.');
  L.push(`Profile: ${r.profile} (${r.standard}). No value is shown; only where identifying data is and in how many files.`, '');
  L.push('## DICOM attributes that identify', '');
  if (r.dicomAttributes.length === 0) L.push('None with a value.');
  else {
    L.push('| tag | attribute | files | rule | with --deidentify |', '|---|---|---:|---|---|');
    for (const a of r.dicomAttributes) L.push(`| ${a.tag} | ${a.name} | ${a.files} | ${a.rule} | ${ACTION_WORDS[a.action] ?? a.action} |`);
  }
  L.push('', '## Private attributes', '');
  if (r.privateAttributes.files === 0) L.push('None.');
  else {
    L.push(`${r.privateAttributes.files} files carry private attributes (${PRIVATE_ROW.name}: removed by --deidentify unless on --keep-private).`, '');
    L.push('| group | private creator | files |', '|---|---|---:|');
    for (const c of r.privateAttributes.creators) L.push(`| ${c.group} | ${c.creator.replace(/\|/g, '\\|')} | ${c.files} |`);
  }
  L.push('', '## Text burned into the pixels', '');
  L.push(`${r.burnedIn.declared} files declare burned-in text or recognizable features (YES); ${r.burnedIn.likely} declare nothing and are of a modality or SOP class that usually carries it. --deidentify leaves these ${r.burnedIn.declared + r.burnedIn.likely} out unless --include-burned-in.` + (r.burnedIn.imageIds.length ? ` Image ids: ${r.burnedIn.imageIds.slice(0, 50).join(', ')}${r.burnedIn.imageIds.length > 50 ? ', ...' : ''}.` : ''));
  L.push('Pixels are not inspected: a file that says NO, and any PNG or JPEG, may still show text.');
  L.push('', '## PNG / JPEG metadata', '');
  if (r.rasterMetadata.length === 0) L.push('None.');
  else { L.push('| chunk / segment | files |', '|---|---:|'); for (const m of r.rasterMetadata) L.push(`| ${m.kind} | ${m.files} |`); L.push('', 'All dropped by --deidentify (pixels unchanged).'); }
  L.push('', '## File names', '');
  L.push(r.identifyingFileNames.files ? `${r.identifyingFileNames.files} file names contain the patient ID or name, the accession number or a UID (image ids ${r.identifyingFileNames.imageIds.slice(0, 50).join(', ')}${r.identifyingFileNames.files > 50 ? ', ...' : ''}). --deidentify renames every file.` : 'No file name contains the patient ID or name, the accession number or a UID. --deidentify renames every file anyway.');
  if (r.datasetAttributes.length) {
    L.push('', '## Per-image fields of the dataset file', '');
    L.push(`Not exported by --deidentify: ${r.datasetAttributes.map((a) => `${a.key} (${a.images})`).join(', ')}.`);
  }
  return L.join('\n') + '\n';
}
