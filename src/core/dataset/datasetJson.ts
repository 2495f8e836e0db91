import { DatasetError } from './DatasetError';
import { DATASET_SCHEMA_VERSION, type DatasetFile } from './schema';

/**
 * Reading and writing the dataset file's text.
 *
 * The writer puts one record per line (images, annotations, pseudo-boxes, categories), with the top-level
 * keys in a fixed order: a one-box edit is a one-line git diff, merges of edits to different images do not
 * conflict, and a validator can point at `file:line` for any record. It is still ordinary JSON.
 */

const TABLES = ['categories', 'images', 'annotations', 'pseudo_boxes'] as const;

function head(d: DatasetFile): string {
  return '{\n' +
    `"pointbox": ${JSON.stringify(d.pointbox)},\n` +
    `"info": ${JSON.stringify(d.info)},\n`;
}

function extraKeys(d: DatasetFile): string[] {
  const known = new Set<string>(['pointbox', 'info', ...TABLES]);
  return Object.keys(d).filter((k) => !known.has(k) && (d as unknown as Record<string, unknown>)[k] !== undefined);
}

/** Synchronous serialization (fast: about 30-60 ms for 26k images; see bench/dataset.bench.ts). */
export function serializeDataset(d: DatasetFile): string {
  const parts: string[] = [head(d)];
  for (const k of extraKeys(d)) parts.push(`${JSON.stringify(k)}: ${JSON.stringify((d as unknown as Record<string, unknown>)[k])},\n`);
  TABLES.forEach((t, ti) => {
    const arr = d[t] as unknown[];
    parts.push(`${JSON.stringify(t)}: [`);
    for (let i = 0; i < arr.length; i++) parts.push((i ? ',\n' : '\n') + JSON.stringify(arr[i]));
    parts.push(arr.length ? '\n]' : ']');
    parts.push(ti === TABLES.length - 1 ? '\n}\n' : ',\n');
  });
  return parts.join('');
}

/**
 * The same text as `serializeDataset`, as a stream of chunks of about `sliceRecords` records, so that a save
 * of a large dataset can hash and write each chunk and yield to the event loop in between: the extension
 * host is never blocked for more than one chunk's JSON.stringify (a few ms), and the whole text is never
 * joined into one string. The records must not be mutated meanwhile (DatasetDocument passes a snapshot of
 * immutable records).
 */
export async function* serializeDatasetChunks(d: DatasetFile, sliceRecords = 2000): AsyncGenerator<string> {
  let parts: string[] = [head(d)];
  for (const k of extraKeys(d)) parts.push(`${JSON.stringify(k)}: ${JSON.stringify((d as unknown as Record<string, unknown>)[k])},\n`);
  let budget = sliceRecords;
  for (let ti = 0; ti < TABLES.length; ti++) {
    const t = TABLES[ti]!;
    const arr = d[t] as unknown[];
    parts.push(`${JSON.stringify(t)}: [`);
    for (let i = 0; i < arr.length; i++) {
      parts.push((i ? ',\n' : '\n') + JSON.stringify(arr[i]));
      if (--budget === 0) {
        budget = sliceRecords;
        yield parts.join('');
        parts = [];
        await new Promise<void>((r) => setImmediate(r));
      }
    }
    parts.push(arr.length ? '\n]' : ']');
    parts.push(ti === TABLES.length - 1 ? '\n}\n' : ',\n');
  }
  yield parts.join('');
}

export async function serializeDatasetAsync(d: DatasetFile, sliceRecords = 2000): Promise<string> {
  let s = '';
  for await (const c of serializeDatasetChunks(d, sliceRecords)) s += c;
  return s;
}

/** 1-based line and column of a character offset. */
export function lineColAt(text: string, offset: number): { line: number; column: number } {
  let line = 1; let last = -1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) { line++; last = i; }
  return { line, column: offset - last };
}

/** JSON.parse with the error turned into a DatasetError carrying the line (V8 reports a character position). */
export function parseJsonWithLines(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    // "Unexpected end of JSON input" has no position: the file is cut short, so point at its last line.
    const line = m ? lineColAt(text, Number(m[1])).line : /end of JSON/i.test(msg) ? text.split('\n').length : undefined;
    throw new DatasetError('json-syntax', `invalid JSON: ${msg.replace(/ in JSON at position \d+.*$/, '')}`, file, line);
  }
}

/**
 * Line numbers of the records of the top-level arrays, found by a small scanner over the text (strings,
 * escapes and nesting; it does not validate). Used only to put `file:line` on validation problems, so it
 * runs on demand, not on every load. Works for any formatting, not just ours.
 */
export function recordLines(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let depth = 0; let line = 1; let inString = false; let strStart = -1;
  let lastKeyAtDepth1: string | undefined; let current: number[] | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) { i++; continue; }
      if (c === 34 /* " */) {
        inString = false;
        if (depth === 1) lastKeyAtDepth1 = text.slice(strStart + 1, i);
      }
      if (c === 10) line++;
      continue;
    }
    switch (c) {
      case 10: line++; break;
      case 34: inString = true; strStart = i; if (depth === 2 && current) current.push(line); break;
      case 123: case 91: // { [
        if (depth === 1 && c === 91 && lastKeyAtDepth1 !== undefined) { current = []; out.set(lastKeyAtDepth1, current); }
        else if (depth === 2 && current) current.push(line);
        depth++; break;
      case 125: case 93: // } ]
        depth--; if (depth === 1) current = undefined; break;
      default:
        // A scalar element of a top-level array (rare; counts as a record too).
        if (depth === 2 && current && c > 32 && c !== 44 && c !== 58) {
          current.push(line);
          while (i + 1 < text.length && !',]\n \r\t'.includes(text[i + 1]!)) i++;
        }
    }
  }
  return out;
}

/** An empty dataset with the current schema version. */
export function emptyDataset(name: string): DatasetFile {
  return {
    pointbox: { schema_version: DATASET_SCHEMA_VERSION },
    info: { name, created: new Date().toISOString() },
    categories: [], images: [], annotations: [], pseudo_boxes: [],
  };
}
