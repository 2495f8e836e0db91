import { parseJsonWithLines } from './datasetJson';

/**
 * Parses a dataset file's text without blocking the event loop for long: a file in PointBox's own layout
 * (serializeDataset: one record per line, tables opened by `"<table>": [` on their own line) is parsed a
 * slice of records at a time, yielding between slices, so opening a 26,684-image dataset in the extension
 * host never stalls it for one whole JSON.parse. Any other layout (hand-formatted, minified) and any text
 * that does not parse this way falls back to one JSON.parse, which also gives the usual error with its line.
 */
const TABLE_OPEN = /^"(categories|images|annotations|pseudo_boxes)": \[$/;
const TABLE_EMPTY = /^"(categories|images|annotations|pseudo_boxes)": \[\],?$/;

export interface SliceOptions {
  /** Yield after this much work (ms; default 8). */
  budgetMs?: number;
  yieldNow?: () => Promise<void>;
}

const defaultYield = () => new Promise<void>((r) => setImmediate(r));

export async function parseDatasetTextSliced(text: string, file: string, o: SliceOptions = {}): Promise<unknown> {
  const budget = o.budgetMs ?? 8;
  const yieldNow = o.yieldNow ?? defaultYield;
  // Small files: one parse is cheaper than the bookkeeping.
  if (text.length < 1 << 20 || !text.startsWith('{\n"pointbox": ')) return parseJsonWithLines(text, file);
  let t0 = performance.now();
  const pause = async () => { if (performance.now() - t0 > budget) { await yieldNow(); t0 = performance.now(); } };
  const skeleton: string[] = [];
  const tables: { name: string; lines: string[] }[] = [];
  let current: { name: string; lines: string[] } | undefined;
  let pos = 0;
  let lineNo = 0;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const line = text.slice(pos, end);
    pos = end + 1;
    lineNo++;
    if ((lineNo & 4095) === 0) await pause();
    if (current) {
      if (line === ']' || line === '],') { skeleton.push(`"${current.name}": []${line.length === 2 ? ',' : ''}`); current = undefined; continue; }
      current.lines.push(line);
      continue;
    }
    const m = TABLE_OPEN.exec(line);
    if (m) { current = { name: m[1]!, lines: [] }; tables.push(current); continue; }
    if (!TABLE_EMPTY.test(line) && line.length > 4096) return parseJsonWithLines(text, file); // not our layout
    skeleton.push(line);
  }
  if (current) return parseJsonWithLines(text, file); // unterminated table: let JSON.parse name the line
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(skeleton.join('\n')) as Record<string, unknown>;
  } catch {
    return parseJsonWithLines(text, file);
  }
  for (const t of tables) {
    const out: unknown[] = [];
    const CHUNK = 500;
    for (let i = 0; i < t.lines.length; i += CHUNK) {
      const part = t.lines.slice(i, i + CHUNK);
      // Records end with ',' except the table's last: one JSON array per slice.
      const last = part.length - 1;
      if (part[last]!.endsWith(',')) part[last] = part[last]!.slice(0, -1);
      let recs: unknown[];
      try {
        recs = JSON.parse(`[${part.join('\n')}]`) as unknown[];
      } catch {
        return parseJsonWithLines(text, file);
      }
      for (const r of recs) out.push(r);
      await pause();
    }
    obj[t.name] = out;
  }
  return obj;
}
