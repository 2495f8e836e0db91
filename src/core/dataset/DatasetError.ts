/**
 * Typed errors and problem reports for datasets, importers and exporters.
 *
 * Two kinds of trouble: a `DatasetError` stops the operation (the input cannot be read at all: not JSON,
 * a CSV without the columns we need, a newer schema), and a `DatasetProblem` is one bad record that is
 * reported and skipped or repaired (a negative box, an unknown class, a missing image), because one bad
 * row in a 30,000-row CSV must not stop an import. Both name the file and the line or record, so a user
 * can open the file and find it.
 */

export type DatasetErrorCode =
  | 'io'                 // cannot read or write the file
  | 'json-syntax'        // not valid JSON
  | 'csv-syntax'         // not valid CSV (unclosed quote, ...)
  | 'missing-column'     // a CSV lacks a column the importer needs
  | 'schema'             // JSON is valid but not a PointBox dataset / COCO file
  | 'schema-version'     // written by a newer PointBox
  | 'usage'              // wrong arguments to a core function
  | 'changed-on-disk'    // save refused: the file changed on disk since it was loaded
  | 'path-outside';      // an image path leaves the dataset folder and image roots (refused, never read)

export class DatasetError extends Error {
  override name = 'DatasetError';
  constructor(
    readonly code: DatasetErrorCode,
    message: string,
    readonly file?: string,
    /** 1-based line in `file`, when known. */
    readonly line?: number,
    /** A record pointer such as `images[12]` or `annotations[id=7]`, when known. */
    readonly record?: string,
  ) {
    super(formatLocation(file, line, record) + message);
  }
}

export type ProblemSeverity = 'error' | 'warning';

export type ProblemCode =
  | 'bad-value'          // a field is missing, of the wrong type, or not finite
  | 'duplicate-id'
  | 'unknown-image'      // an annotation/pseudo-box refers to an image id that does not exist
  | 'unknown-category'
  | 'negative-size'      // box with w <= 0 or h <= 0
  | 'box-clamped'        // box (partly) outside the image; clamped to it
  | 'box-outside'        // box entirely outside the image
  | 'point-outside'
  | 'missing-file'       // image file not on disk (reported, never fatal)
  | 'unreadable-image'   // file exists but its size could not be read from the header
  | 'unknown-size'       // width/height 0: the size is not known (file missing at import)
  | 'inconsistent'       // e.g. an RSNA patient with both Target=0 and Target=1 rows
  | 'label-level'        // label level disagrees with the annotations
  | 'bad-row'            // a CSV row that cannot be used
  | 'path-outside';      // file_name (or a symlink) leads outside the dataset folder and image roots

export interface DatasetProblem {
  severity: ProblemSeverity;
  code: ProblemCode;
  message: string;
  file?: string;
  line?: number;
  record?: string;
}

export function formatLocation(file?: string, line?: number, record?: string): string {
  let s = '';
  if (file) s += file;
  if (line !== undefined) s += `:${line}`;
  if (record) s += (s ? ' ' : '') + `(${record})`;
  return s ? s + ': ' : '';
}

export function formatProblem(p: DatasetProblem): string {
  return `${formatLocation(p.file, p.line, p.record)}${p.severity} ${p.code}: ${p.message}`;
}

/** Collects problems; caps how many are kept per code so a systematically broken file cannot eat memory. */
export class ProblemLog {
  readonly problems: DatasetProblem[] = [];
  private readonly perCode = new Map<string, number>();
  /** Problems not kept because of the cap, per code (still counted). */
  readonly dropped = new Map<string, number>();
  constructor(private readonly maxPerCode = 1000) {}

  /** Totals including the problems not kept. */
  errors = 0;
  warnings = 0;

  add(p: DatasetProblem): void {
    if (p.severity === 'error') this.errors++; else this.warnings++;
    const n = this.perCode.get(p.code) ?? 0;
    this.perCode.set(p.code, n + 1);
    if (n >= this.maxPerCode) { this.dropped.set(p.code, (this.dropped.get(p.code) ?? 0) + 1); return; }
    this.problems.push(p);
  }
  error(code: ProblemCode, message: string, where: Omit<DatasetProblem, 'severity' | 'code' | 'message'> = {}): void {
    this.add({ severity: 'error', code, message, ...where });
  }
  warn(code: ProblemCode, message: string, where: Omit<DatasetProblem, 'severity' | 'code' | 'message'> = {}): void {
    this.add({ severity: 'warning', code, message, ...where });
  }
  count(code: ProblemCode): number { return this.perCode.get(code) ?? 0; }
  get hasErrors(): boolean { return this.errors > 0; }
}
