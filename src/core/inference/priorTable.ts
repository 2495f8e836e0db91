/**
 * Prior tables: per-class box sizes from a file, for a prior-box baseline (and the unknown-class fallback)
 * that learns nothing from the boxes it is scored on, e.g. class medians of the public NIH and RSNA tables
 * (`pointbox prior-table`, models/priors/public-nih-rsna.csv). The PBC trainer in models/ reads the same
 * CSV, so its format is fixed:
 *
 *   class,width,height[,unit][,boxes][,source]
 *
 * unit `px` (default: pixels of the image) or `frac` (a fraction of the image's longer side, so one table
 * fits every resolution). JSON is accepted as `{"classes": {"Pneumonia": {"w": 0.21, "h": 0.29, "unit":
 * "frac"}}}` (a top-level "unit" sets the default, else frac as in the trainer) and as a model's `pointbox.box_prior` (see boxPrior.ts,
 * which also gives centre offsets); an .onnx file gives its own `pointbox.box_prior`. A bad file is a
 * DatasetError naming the file and the line.
 */
import { readFileSync } from 'node:fs';
import { DatasetError } from '../dataset/DatasetError';
import { lineColAt, parseJsonWithLines } from '../dataset/datasetJson';
import { readCsvTable } from '../dataset/readCsvTable';
import { checkBoxPrior } from './boxPrior';
import { readOnnxMetadata } from './readOnnxMetadata';

export type PriorUnit = 'px' | 'frac';

export interface PriorTableEntry {
  name: string;
  /** Prior box width and height, in `unit`. */
  w: number;
  h: number;
  unit: PriorUnit;
  /** Centre offset from the click, in units of w and h (0 = centred on the click). */
  dx: number;
  dy: number;
  /** How many boxes the size was learned from, when the table says. */
  boxes?: number;
  source?: string;
  /** 1-based line in the file. */
  line?: number;
}

export interface PriorTable {
  file: string;
  format: 'csv' | 'json' | 'box_prior' | 'onnx';
  entries: PriorTableEntry[];
}

export const PRIOR_TABLE_COLUMNS = ['class', 'width', 'height', 'unit', 'boxes', 'source'] as const;

/** Reads a prior table by its extension (.csv, .json, .onnx); content starting with '{' is JSON too. */
export function readPriorTable(file: string): PriorTable {
  if (/\.onnx$/i.test(file)) {
    let bytes: Buffer;
    try { bytes = readFileSync(file); } catch (e) { throw new DatasetError('io', `cannot read prior table: ${(e as Error).message}`, file); }
    const md = readOnnxMetadata(bytes, file).metadata;
    if (md['pointbox.box_prior'] === undefined) throw new DatasetError('schema', "this model has no 'pointbox.box_prior' metadata (contract v1 models carry no prior)", file);
    const { prior, problems } = checkBoxPrior(md['pointbox.box_prior']);
    if (!prior) throw new DatasetError('schema', problems.join('; '), file);
    return { file, format: 'onnx', entries: Object.entries(prior.classes).map(([name, c]) => ({ name, w: c.w, h: c.h, unit: 'frac', dx: c.dx, dy: c.dy, boxes: c.boxes, source: c.source })) };
  }
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new DatasetError('io', `cannot read prior table: ${(e as Error).message}`, file); }
  return parsePriorTable(text, file);
}

export function parsePriorTable(text: string, file: string): PriorTable {
  return /\.json$/i.test(file) || text.trimStart().startsWith('{') ? parseJsonTable(text, file) : parseCsvTable(text, file);
}

function fail(file: string, errors: { line?: number; message: string }[]): never {
  const first = errors[0]!;
  const more = errors.slice(1, 10).map((e) => `\n  ${file}${e.line ? `:${e.line}` : ''}: ${e.message}`).join('');
  const rest = errors.length > 10 ? `\n  ... and ${errors.length - 10} more` : '';
  throw new DatasetError('schema', `bad prior table: ${first.message}${more}${rest}`, file, first.line);
}

function checkEntry(e: PriorTableEntry, seen: Map<string, number>, errors: { line?: number; message: string }[]): boolean {
  const before = errors.length;
  const err = (message: string) => errors.push({ line: e.line, message: `class '${e.name}': ${message}` });
  if (!e.name) errors.push({ line: e.line, message: 'the class name is empty' });
  if (!(Number.isFinite(e.w) && e.w > 0)) err(`width must be a positive number`);
  if (!(Number.isFinite(e.h) && e.h > 0)) err(`height must be a positive number`);
  if (e.unit === 'frac' && (e.w > 1 || e.h > 1)) err(`unit frac is a fraction of the image's longer side, so width and height must be <= 1 (got ${e.w} x ${e.h}; px values?)`);
  if (e.boxes !== undefined && !(Number.isInteger(e.boxes) && e.boxes >= 0)) err(`boxes must be a whole number >= 0`);
  if (!(Number.isFinite(e.dx) && Number.isFinite(e.dy))) err('dx and dy must be numbers');
  const key = e.name.toLowerCase();
  if (e.name && seen.has(key)) err(`listed twice (first on line ${seen.get(key)})`);
  else seen.set(key, e.line ?? 0);
  return errors.length === before;
}

function parseCsvTable(text: string, file: string): PriorTable {
  const t = readCsvTable(file, text);
  const col = (n: string) => t.header.findIndex((h) => h.toLowerCase() === n);
  const [ci, wi, hi, ui, bi, si] = PRIOR_TABLE_COLUMNS.map(col) as [number, number, number, number, number, number];
  if (ci < 0 || wi < 0 || hi < 0) {
    throw new DatasetError('missing-column', `a prior table needs the columns class,width,height[,unit][,boxes][,source]; header is '${t.header.join(',')}'`, file, 1);
  }
  const errors: { line?: number; message: string }[] = [];
  const seen = new Map<string, number>();
  const entries: PriorTableEntry[] = [];
  t.rows.forEach((r, i) => {
    const line = t.lines[i];
    const cell = (k: number) => (k >= 0 ? (r[k] ?? '').trim() : '');
    if (r.every((c) => !c.trim())) return;
    const unit = cell(ui).toLowerCase() || 'px';
    if (unit !== 'px' && unit !== 'frac') { errors.push({ line, message: `class '${cell(ci)}': unit must be px or frac (got '${cell(ui)}')` }); return; }
    const num = (s: string) => (s === '' ? NaN : Number(s));
    const e: PriorTableEntry = {
      name: cell(ci), w: num(cell(wi)), h: num(cell(hi)), unit, dx: 0, dy: 0, line,
      ...(cell(bi) ? { boxes: Number(cell(bi)) } : {}),
      ...(cell(si) ? { source: cell(si) } : {}),
    };
    if (checkEntry(e, seen, errors)) entries.push(e);
  });
  if (errors.length) fail(file, errors);
  if (entries.length === 0) fail(file, [{ line: 1, message: 'no class rows' }]);
  return { file, format: 'csv', entries };
}

function parseJsonTable(text: string, file: string): PriorTable {
  const v = parseJsonWithLines(text, file) as Record<string, unknown> | null;
  const lineOf = (name: string) => { const at = text.indexOf(JSON.stringify(name)); return at >= 0 ? lineColAt(text, at).line : undefined; };
  if (!v || typeof v !== 'object' || Array.isArray(v) || !v.classes || typeof v.classes !== 'object' || Array.isArray(v.classes)) {
    throw new DatasetError('schema', 'a JSON prior table is {"classes": {"<name>": {"w": ..., "h": ..., "unit": "px"|"frac"}}} or a model\'s pointbox.box_prior', file, 1);
  }
  if (v.parameterization !== undefined) {
    const { prior, problems } = checkBoxPrior(v);
    if (!prior) fail(file, problems.map((m) => ({ line: lineOf(/class '([^']+)'/.exec(m)?.[1] ?? '') ?? 1, message: m })));
    return { file, format: 'box_prior', entries: Object.entries(prior.classes).map(([name, c]) => ({ name, w: c.w, h: c.h, unit: 'frac', dx: c.dx, dy: c.dy, boxes: c.boxes, source: c.source, line: lineOf(name) })) };
  }
  // JSON tables default to frac, as the trainer reads them (a CSV defaults to px, as its format says).
  const defUnit = v.unit ?? 'frac';
  const errors: { line?: number; message: string }[] = [];
  const seen = new Map<string, number>();
  const entries: PriorTableEntry[] = [];
  for (const [name, raw] of Object.entries(v.classes as Record<string, unknown>)) {
    const line = lineOf(name);
    if (!raw || typeof raw !== 'object') { errors.push({ line, message: `class '${name}' must be an object with w and h` }); continue; }
    const c = raw as Record<string, unknown>;
    const unit = c.unit ?? defUnit;
    if (unit !== 'px' && unit !== 'frac') { errors.push({ line, message: `class '${name}': unit must be "px" or "frac" (got ${JSON.stringify(unit)})` }); continue; }
    const num = (x: unknown, def?: number) => (x === undefined && def !== undefined ? def : typeof x === 'number' ? x : NaN);
    const e: PriorTableEntry = {
      name, w: num(c.w ?? c.width), h: num(c.h ?? c.height), unit, dx: num(c.dx, 0), dy: num(c.dy, 0), line,
      ...(c.boxes !== undefined ? { boxes: num(c.boxes) } : {}),
      ...(typeof c.source === 'string' ? { source: c.source } : {}),
    };
    if (checkEntry(e, seen, errors)) entries.push(e);
  }
  if (errors.length) fail(file, errors);
  if (entries.length === 0) fail(file, [{ line: 1, message: 'no classes' }]);
  return { file, format: 'json', entries };
}

/** The CSV form (what `pointbox prior-table` writes and the trainer reads). */
export function formatPriorTableCsv(entries: readonly PriorTableEntry[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const num = (x: number) => String(Math.round(x * 1e6) / 1e6);
  return [PRIOR_TABLE_COLUMNS.join(','), ...entries.map((e) => [q(e.name), num(e.w), num(e.h), e.unit, e.boxes ?? '', q(e.source ?? '')].join(','))].join('\n') + '\n';
}
