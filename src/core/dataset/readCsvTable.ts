import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { DatasetError } from './DatasetError';

/** A parsed CSV: the header row and every data row with its 1-based line number (for error messages). */
export interface CsvTable {
  file: string;
  header: string[];
  rows: string[][];
  /** lines[i] is the line of rows[i] in the file. */
  lines: number[];
}

/**
 * Reads a whole CSV with csv-parse (RFC 4180 quoting, CRLF, BOM). Rows may have any number of columns
 * (NIH's BBox list header has 6 names for 6 columns but with odd names and trailing empty ones): each
 * importer checks the columns it needs and reports short rows itself, with their line.
 * Whole-file (not streaming) on purpose: the largest CXR label CSVs are a few MB, and one synchronous
 * parse is several times faster than a stream for that size.
 */
export function readCsvTable(file: string, text?: string): CsvTable {
  let src: string;
  try {
    src = text ?? readFileSync(file, 'utf8');
  } catch (e) {
    throw new DatasetError('io', `cannot read CSV: ${(e as Error).message}`, file);
  }
  let recs: { record: string[]; info: { lines: number } }[];
  try {
    recs = parse(src, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: false }) as unknown as typeof recs;
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new DatasetError('csv-syntax', `malformed CSV: ${err.message.replace(/^Invalid Record Length: |^CsvError: /, '')}`, file, err.lines);
  }
  if (recs.length === 0) throw new DatasetError('missing-column', 'the CSV is empty (no header row)', file, 1);
  const header = recs[0]!.record.map((h) => h.trim());
  const rows: string[][] = new Array(recs.length - 1);
  const lines: number[] = new Array(recs.length - 1);
  for (let i = 1; i < recs.length; i++) {
    rows[i - 1] = recs[i]!.record;
    lines[i - 1] = recs[i]!.info.lines;
  }
  return { file, header, rows, lines };
}

/** Index of each required column, or a DatasetError naming the ones that are missing. */
export function requireColumns<K extends string>(t: CsvTable, names: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  const missing: string[] = [];
  for (const n of names) {
    const i = t.header.indexOf(n);
    if (i < 0) missing.push(n); else out[n] = i;
  }
  if (missing.length) {
    throw new DatasetError('missing-column', `missing column(s) ${missing.map((m) => `'${m}'`).join(', ')}; header is '${t.header.join(',')}'`, t.file, 1);
  }
  return out;
}

/** Parses a CSV number field; '' and non-numbers give undefined. */
export function csvNumber(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}
