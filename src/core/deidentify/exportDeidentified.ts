/**
 * `pointbox export ... --deidentify`: the COCO / PBC export of exportCoco, with every image rewritten instead of
 * linked or copied, and only new identifiers in the annotation files.
 *
 * <out>/images/<new SOP Instance UID>.dcm   DICOM de-identified by deidentifyDicom (PS3.15 Annex E)
 * <out>/images/<keyed pseudonym>.png|.jpg   PNG/JPEG with their metadata chunks dropped, pixels untouched
 * <out>/annotations/*.json, pbc_layout.json as exportCoco writes them, from a copy of the dataset that holds only
 *                                          the exported images, under their new names, and no source/description
 * <out>/deidentification.json               what was done: profile, standard, method codes, counts, key id
 *
 * Images that cannot be exported safely (burned-in text risk, unreadable, unsupported format, missing) are left
 * out together with their annotations, and listed in the result (never in the export). The old -> new mapping
 * (paths, UIDs) is written only when asked, and only outside the export folder. The key is never written.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { productInfo } from '../../shared/productInfo';
import { DatasetError } from '../dataset/DatasetError';
import { exportCoco, type ExportLayout, type ExportResult } from '../dataset/exportCoco';
import { imageRootsOf, resolveImagePath } from '../dataset/imagePaths';
import type { DatasetFile, ImageRecord } from '../dataset/schema';
import { writeFileAtomicSync } from '../dataset/writeFileAtomic';
import { ANNEX_E_SOURCE } from './annexETable';
import { deidentifyDicom, type PrivateKeepRule } from './deidentifyDicom';
import { KeyedIds } from './keyedIds';
import { methodCodes, type DeidProfile } from './profile';
import { ImageMetadataError, rasterKind, stripRasterMetadata } from './stripImageMetadata';

export const DEID_MARKER = 'deidentification.json';

export interface DeidentifiedExportOptions {
  out: string;
  datasetDir: string;
  imagesRoot?: string;
  layout?: ExportLayout;
  keepHiddenBoxes?: boolean;
  profile: DeidProfile;
  /** The secret key of the keyed UIDs and file names (never written). */
  key: Uint8Array;
  /** How the key came (for the record inside the export): e.g. 'key file', 'one-off random key'. */
  keySource: string;
  /** The key's file, when it came from one: refused inside `out` (it would be shared with the export). */
  keyFile?: string;
  /** Write old -> new (paths, UIDs) here; must lie outside `out`. */
  mappingFile?: string;
  includeBurnedIn?: boolean;
  keepPrivate?: readonly PrivateKeepRule[];
  /** Called after each image. */
  onProgress?: (done: number, total: number) => void;
}

export type ExclusionReason = 'burned-in' | 'unreadable' | 'not-an-instance' | 'unsupported' | 'missing';

export interface ExcludedImage { id: number; file: string; reason: ExclusionReason; detail: string }

export interface DeidentifiedExportResult extends ExportResult {
  exported: { dicom: number; png: number; jpeg: number };
  excluded: ExcludedImage[];
  /** Absolute path of the mapping file, when one was written. */
  mappingFile?: string;
  keyId: string;
  /** Metadata dropped from PNG/JPEG files, per kind (e.g. tIME: 36). */
  rasterMetadataRemoved: Record<string, number>;
  /** Elements per action over all DICOM files (X, Z, D, U, K, U*, private). */
  dicomActions: Record<string, number>;
}

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r) && r.split(sep)[0] !== '..');
}

/** The real path of `p`, or of its nearest existing parent joined with the rest. */
function realish(p: string): string {
  let cur = resolve(p); const rest: string[] = [];
  for (;;) {
    try { return join(realpathSync(cur), ...rest.reverse()); } catch { /* not there yet */ }
    const up = dirname(cur);
    if (up === cur) return resolve(p);
    rest.push(cur.slice(up.length).replace(/^[/\\]/, ''));
    cur = up;
  }
}

/** `<out>` must be new, empty, or an earlier de-identified export (whose images and annotations are replaced). */
function prepareOut(out: string): void {
  if (!existsSync(out)) { mkdirSync(out, { recursive: true }); return; }
  if (!lstatSync(out).isDirectory()) throw new DatasetError('usage', `${out} exists and is not a folder`);
  const names = readdirSync(out);
  if (names.length === 0) return;
  if (!names.includes(DEID_MARKER)) {
    throw new DatasetError('usage', `${out} is not empty and holds no earlier de-identified export (${DEID_MARKER}): choose a new or empty folder, so that no file that was not de-identified ends up beside the export`);
  }
  for (const n of ['images', 'annotations', 'pbc_layout.json', DEID_MARKER]) rmSync(join(out, n), { recursive: true, force: true });
  const left = readdirSync(out);
  if (left.length) throw new DatasetError('usage', `${out} holds files other than an earlier de-identified export (${left.slice(0, 3).join(', ')}): choose a new or empty folder`);
}

export function exportDeidentified(d: DatasetFile, o: DeidentifiedExportOptions): DeidentifiedExportResult {
  const out = resolve(o.out);
  const ids = new KeyedIds(o.key);
  if (o.keyFile && inside(realish(out), realish(o.keyFile))) {
    throw new DatasetError('usage', `the key file ${o.keyFile} must be outside the export folder ${out}: it would be shared with the export`);
  }
  if (o.mappingFile && inside(realish(out), realish(o.mappingFile))) {
    throw new DatasetError('usage', `the mapping file ${o.mappingFile} must be outside the export folder ${out}: it links the new identifiers to the patients`);
  }
  const roots = imageRootsOf(d, o.datasetDir, o.imagesRoot);
  const abs = new Map<number, string>();
  const refused: string[] = [];
  for (const im of d.images) {
    const r = resolveImagePath(roots, im);
    if (r.ok) abs.set(im.id, r.path); else refused.push(`id=${im.id}: ${r.reason}`);
  }
  if (refused.length) {
    throw new DatasetError('path-outside', `${refused.length} image path(s) lead outside the dataset folder and image root, so nothing was exported: ${refused.slice(0, 3).join('; ')}${refused.length > 3 ? '; ...' : ''} (pointbox validate lists them all)`);
  }
  prepareOut(out);
  const imagesDir = join(out, 'images');
  mkdirSync(imagesDir, { recursive: true });

  const excluded: ExcludedImage[] = [];
  const exported = { dicom: 0, png: 0, jpeg: 0 };
  const rasterRemoved: Record<string, number> = {};
  const dicomActions: Record<string, number> = {};
  const kept: ImageRecord[] = [];
  const mapping: { image_id: number; source: string; exported: string; sop_instance_uid?: string }[] = [];
  const used = new Set<string>();
  const unique = (base: string, ext: string) => {
    let n = `${base}${ext}`;
    for (let k = 2; used.has(n); k++) n = `${base}-${k}${ext}`;
    used.add(n);
    return n;
  };
  const total = d.images.length;
  let done = 0;
  for (const im of d.images) {
    const src = abs.get(im.id)!;
    let bytes: Uint8Array | undefined;
    try { bytes = readFileSync(src); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      excluded.push({ id: im.id, file: src, reason: code === 'ENOENT' ? 'missing' : 'unreadable', detail: (e as Error).message });
    }
    if (bytes) {
      const kind = rasterKind(bytes);
      if (kind) {
        try {
          const s = stripRasterMetadata(bytes);
          const name = unique(ids.pseudonym('image', im.file_name), kind === 'png' ? '.png' : '.jpg');
          writeFileSync(join(imagesDir, name), s.bytes);
          for (const r of s.removed) { const k = r.replace(/^\d+ bytes after/, 'bytes after'); rasterRemoved[k] = (rasterRemoved[k] ?? 0) + 1; }
          exported[kind]++;
          kept.push({ id: im.id, file_name: name, width: im.width, height: im.height, split: im.split, label_level: im.label_level });
          mapping.push({ image_id: im.id, source: src, exported: `images/${name}` });
        } catch (e) {
          if (!(e instanceof ImageMetadataError)) throw e;
          excluded.push({ id: im.id, file: src, reason: 'unreadable', detail: e.message });
        }
      } else {
        const r = deidentifyDicom(bytes, { profile: o.profile, ids, keepPrivate: o.keepPrivate, includeBurnedIn: o.includeBurnedIn });
        if (r.ok) {
          const name = unique(r.sopInstanceUid, '.dcm');
          writeFileSync(join(imagesDir, name), r.bytes);
          for (const [k, v] of Object.entries(r.counts)) dicomActions[k] = (dicomActions[k] ?? 0) + v;
          exported.dicom++;
          kept.push({ id: im.id, file_name: name, width: im.width, height: im.height, split: im.split, label_level: im.label_level });
          mapping.push({ image_id: im.id, source: src, exported: `images/${name}`, sop_instance_uid: r.sopInstanceUid });
        } else {
          // A file that is neither PNG/JPEG nor readable DICOM is "unsupported" unless it looked like DICOM.
          const looksDicom = bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
          const reason: ExclusionReason = r.reason === 'unreadable' && !looksDicom && !/\.(dcm|dicom)$/i.test(src) ? 'unsupported' : r.reason;
          excluded.push({ id: im.id, file: src, reason, detail: reason === 'unsupported' ? `not DICOM, PNG or JPEG (${r.detail})` : r.detail });
        }
      }
    }
    o.onProgress?.(++done, total);
  }

  // The dataset as the recipient sees it: only exported images, new names, nothing about where it came from.
  const keptIds = new Set(kept.map((im) => im.id));
  const shared: DatasetFile = {
    pointbox: d.pointbox,
    info: { name: d.info.name, ...(d.info.split ? { split: d.info.split } : {}) },
    categories: d.categories,
    images: kept,
    annotations: d.annotations.filter((a) => keptIds.has(a.image_id)),
    pseudo_boxes: d.pseudo_boxes.filter((p) => keptIds.has(p.image_id)),
  };
  const r = exportCoco(shared, { out, datasetDir: imagesDir, layout: o.layout ?? 'coco', images: 'none', ...(o.keepHiddenBoxes ? { keepHiddenBoxes: true } : {}) });
  // exportCoco records where the images are as an absolute path: a path of this machine (user and share names)
  // that the recipient has no use for. Here it becomes 'images', relative to the export folder.
  for (const file of [...r.files.map((x) => x.file), join(out, 'pbc_layout.json')]) {
    if (!existsSync(file)) continue;
    const j = JSON.parse(readFileSync(file, 'utf8')) as { image_root?: string; pointbox_export?: { image_root?: string } };
    if (j.pointbox_export) j.pointbox_export.image_root = 'images';
    if (j.image_root !== undefined) j.image_root = 'images';
    writeFileAtomicSync(file, file.endsWith('pbc_layout.json') ? JSON.stringify(j, null, 2) + '\n' : JSON.stringify(j));
  }

  const byReason: Record<string, number> = {};
  for (const x of excluded) byReason[x.reason] = (byReason[x.reason] ?? 0) + 1;
  writeFileAtomicSync(join(out, DEID_MARKER), JSON.stringify({
    pointbox_deidentification: 1,
    tool: `${productInfo.name} ${productInfo.version}`,
    created: new Date().toISOString(),
    standard: ANNEX_E_SOURCE,
    profile: o.profile.name,
    method_codes: methodCodes(o.profile).map((c) => ({ code_value: c.value, coding_scheme: 'DCM', code_meaning: c.meaning })),
    identifiers: 'UIDs and image file names are HMAC-SHA256 pseudonyms under a secret key that is not in this export; UIDs are 2.25 UUID-derived',
    key_id: ids.keyId(),
    key_source: o.keySource,
    private_keep_list: (o.keepPrivate ?? []).map((k) => `${k.group.toString(16).toUpperCase().padStart(4, '0')},xx${k.element.toString(16).toUpperCase().padStart(2, '0')},${k.creator}`),
    images: { exported: kept.length, ...exported, excluded: byReason },
    dicom_element_actions: dicomActions,
    raster_metadata_removed: rasterRemoved,
    not_checked: 'pixels are copied unchanged: text burned into the pixels of DICOM files that declare none, and of PNG/JPEG files, is not detected',
  }, null, 2) + '\n');

  let mappingFile: string | undefined;
  if (o.mappingFile) {
    mappingFile = resolve(o.mappingFile);
    const uids = [...ids.uidMap()].map(([from, to]) => ({ from, to }));
    // Readable by its owner only: it re-identifies every image.
    mkdirSync(dirname(mappingFile), { recursive: true });
    writeFileSync(mappingFile, JSON.stringify({ created: new Date().toISOString(), export: out, profile: o.profile.name, key_id: ids.keyId(), images: mapping, excluded, uids }, null, 1) + '\n', { mode: 0o600 });
    chmodSync(mappingFile, 0o600);
  }
  return {
    ...r, exported, excluded, keyId: ids.keyId(), rasterMetadataRemoved: rasterRemoved, dicomActions,
    ...(mappingFile ? { mappingFile } : {}),
  };
}
