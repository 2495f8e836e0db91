/**
 * A prior table from the public NIH ChestX-ray14 and RSNA Pneumonia box lists: the median box width and
 * height per class as a fraction of the image side (both sources are 1024 x 1024), so a prior can be had
 * without learning anything from the boxes it will be scored on. The images of an evaluation dataset are
 * left out (NIH by file name, RSNA by patientId -> NIH image name), so the table stays honest on it.
 *
 * Class names are NIH's finding labels; "Pneumonia" is taken from the RSNA Target=1 rows (about 9,500
 * boxes against NIH's 120), every other class from the NIH rows.
 */
import { basename } from 'node:path';
import { DatasetError } from '../dataset/DatasetError';
import { csvNumber, readCsvTable, requireColumns } from '../dataset/readCsvTable';
import type { PriorTableEntry } from './priorTable';

export interface PublicPriorTableOptions {
  /** NIH BBox_List_2017.csv (malformed header: columns by position). */
  nih?: string;
  /** RSNA stage_2_train_labels.csv (patientId,x,y,width,height,Target). */
  rsna?: string;
  /** NIH image file names to leave out. */
  excludeImages?: ReadonlySet<string>;
  /** RSNA patientIds to leave out. */
  excludeRsnaPatients?: ReadonlySet<string>;
  /** Pixel side of the source images (frac = px / side). Default 1024. */
  imageSide?: number;
}

export interface PublicPriorTable {
  entries: PriorTableEntry[];
  /** Rows read and rows left out because their image is excluded. */
  nih: { rows: number; excluded: number };
  rsna: { rows: number; excluded: number };
}

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function computePublicPriorTable(o: PublicPriorTableOptions): PublicPriorTable {
  if (!o.nih && !o.rsna) throw new DatasetError('usage', 'give the NIH box list, the RSNA labels, or both');
  const side = o.imageSide ?? 1024;
  const per = new Map<string, { w: number[]; h: number[]; source: string }>();
  const add = (cls: string, w: number, h: number, source: string) => {
    let e = per.get(cls);
    if (!e) per.set(cls, (e = { w: [], h: [], source }));
    e.w.push(w / side); e.h.push(h / side);
  };
  const out: PublicPriorTable = { entries: [], nih: { rows: 0, excluded: 0 }, rsna: { rows: 0, excluded: 0 } };
  if (o.nih) {
    const t = readCsvTable(o.nih);
    if (!/^image\s*index$/i.test(t.header[0] ?? '') || !/finding/i.test(t.header[1] ?? '')) {
      throw new DatasetError('missing-column', `not an NIH BBox list: expected 'Image Index,Finding Label,Bbox [x,y,w,h],,,', got '${t.header.join(',')}'`, o.nih, 1);
    }
    t.rows.forEach((r, i) => {
      const name = (r[0] ?? '').trim();
      const cls = (r[1] ?? '').trim();
      const w = csvNumber(r[4]);
      const h = csvNumber(r[5]);
      if (!name || !cls || w === undefined || h === undefined || w <= 0 || h <= 0) throw new DatasetError('schema', `row needs image, finding and x,y,w,h > 0, got '${r.join(',')}'`, o.nih, t.lines[i]);
      out.nih.rows++;
      if (o.excludeImages?.has(name)) { out.nih.excluded++; return; }
      // RSNA's Target=1 rows are the Pneumonia prior when given: far more boxes than NIH's.
      if (cls === 'Pneumonia' && o.rsna) return;
      add(cls, w, h, `NIH ${basename(o.nih!)}`);
    });
  }
  if (o.rsna) {
    const t = readCsvTable(o.rsna);
    const c = requireColumns(t, ['patientId', 'width', 'height', 'Target'] as const);
    t.rows.forEach((r, i) => {
      if ((r[c.Target] ?? '').trim() !== '1') return;
      const w = csvNumber(r[c.width]);
      const h = csvNumber(r[c.height]);
      if (w === undefined || h === undefined || w <= 0 || h <= 0) throw new DatasetError('schema', `a Target=1 row needs width and height > 0, got '${r.join(',')}'`, o.rsna, t.lines[i]);
      out.rsna.rows++;
      if (o.excludeRsnaPatients?.has((r[c.patientId] ?? '').trim())) { out.rsna.excluded++; return; }
      add('Pneumonia', w, h, `RSNA ${basename(o.rsna!)} Target=1`);
    });
  }
  out.entries = [...per].sort(([a], [b]) => a.localeCompare(b)).map(([name, e]) => ({
    name, w: median(e.w), h: median(e.h), unit: 'frac' as const, dx: 0, dy: 0, boxes: e.w.length, source: e.source,
  }));
  return out;
}

/** RSNA patientIds whose NIH image (a `patientId,nih_image` table, e.g. rsna_boxes_on_nih.csv) is one of `images`; all of them without `images`. */
export function rsnaPatientsOf(file: string, images?: ReadonlySet<string>): Set<string> {
  const t = readCsvTable(file);
  const c = requireColumns(t, ['patientId', 'nih_image'] as const);
  const out = new Set<string>();
  for (const r of t.rows) {
    const id = (r[c.patientId] ?? '').trim();
    if (id && (!images || images.has((r[c.nih_image] ?? '').trim()))) out.add(id);
  }
  return out;
}
