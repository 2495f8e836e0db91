import { basename, join, resolve } from 'node:path';
import { DatasetBuilder, type ImportResult } from './DatasetBuilder';
import { DatasetError } from './DatasetError';
import { csvNumber, readCsvTable } from './readCsvTable';
import type { ImageRecord } from './schema';

export interface RsnaImportOptions {
  /** stage_2_train_labels.csv, or the derived rsna_boxes_on_nih.csv (which adds an `nih_image` column). */
  labels: string;
  /** Folder of `<patientId>.dcm` (or of the NIH PNGs for rsna_boxes_on_nih.csv). */
  images: string;
  /** The dataset file that will be written (paths are made relative to its folder). */
  out: string;
  /** Read each image's header for its size (default true). False: assume 1024x1024 without touching files. */
  readSizes?: boolean;
}

/** RSNA's images are all 1024x1024; used when a DICOM is absent (reported as missing). */
export const RSNA_IMAGE_SIZE: [number, number] = [1024, 1024];
export const RSNA_CLASS = 'Lung Opacity';

/**
 * RSNA Pneumonia Detection: one row per box, several rows per patient; `Target=0` rows have empty
 * coordinates and mean "no box" (an explicit negative, kept as label_level "boxes" with no annotations).
 */
export function importRsna(o: RsnaImportOptions): ImportResult {
  const t = readCsvTable(o.labels);
  const col = (n: string) => t.header.indexOf(n);
  const need = ['patientId', 'x', 'y', 'width', 'height', 'Target'];
  const missing = need.filter((n) => col(n) < 0);
  if (missing.length) throw new DatasetError('missing-column', `not an RSNA labels CSV: missing column(s) ${missing.join(', ')}; header is '${t.header.join(',')}'`, o.labels, 1);
  const [cP, cX, cY, cW, cH, cT] = need.map(col) as [number, number, number, number, number, number];
  const cNih = col('nih_image');
  const b = new DatasetBuilder(o.out, basename(o.labels).replace(/\.csv$/i, ''), { format: 'rsna', files: [resolve(o.labels), resolve(o.images)] });
  const cat = b.category(RSNA_CLASS, 1);
  const byPatient = new Map<string, { img: ImageRecord; targets: Set<string> }>();
  const imagesDir = resolve(o.images);
  b.useImagesDir(imagesDir);
  for (let i = 0; i < t.rows.length; i++) {
    const r = t.rows[i]!;
    const ref = { file: o.labels, line: t.lines[i] };
    const pid = (r[cP] ?? '').trim();
    if (!pid) { b.log.error('bad-row', 'empty patientId (row skipped)', ref); continue; }
    const target = (r[cT] ?? '').trim();
    if (target !== '0' && target !== '1') { b.log.error('bad-row', `Target must be 0 or 1, got '${target}' (row skipped)`, ref); continue; }
    let entry = byPatient.get(pid);
    if (!entry) {
      const fileName = cNih >= 0 ? (r[cNih] ?? '').trim() : `${pid}.dcm`;
      const img = b.addImage(join(imagesDir, fileName), {
        level: 'boxes', fallbackSize: RSNA_IMAGE_SIZE, ref, checkFile: o.readSizes !== false,
        ...(o.readSizes === false ? { size: RSNA_IMAGE_SIZE } : {}),
        attributes: cNih >= 0 ? { patientId: pid } : undefined,
      });
      if (!img) continue; // a name that leaves the image folder: skipped
      entry = { img, targets: new Set() };
      byPatient.set(pid, entry);
    }
    entry.targets.add(target);
    const x = csvNumber(r[cX]); const y = csvNumber(r[cY]); const w = csvNumber(r[cW]); const h = csvNumber(r[cH]);
    if (target === '0') {
      if (x !== undefined || y !== undefined) b.log.warn('inconsistent', `Target=0 row has coordinates (ignored: Target=0 means no box)`, ref);
      continue;
    }
    if (x === undefined || y === undefined || w === undefined || h === undefined) { b.log.error('bad-row', 'Target=1 row without a complete box (row skipped)', ref); continue; }
    const box = b.checkBox(entry.img, [x, y, w, h], ref);
    if (box) b.addAnnotation({ image_id: entry.img.id, category_id: cat, bbox: box });
  }
  for (const [pid, e] of byPatient) {
    if (e.targets.size > 1) b.log.warn('inconsistent', `patient ${pid} has both Target=0 and Target=1 rows (kept its boxes)`, { file: o.labels });
  }
  return b.result();
}
