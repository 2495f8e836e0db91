/** Messages between the host and datasetJob.worker.ts (imports, exports and validation off the main thread). */
import type { DatasetProblem } from '../dataset/DatasetError';
import type { ExportImages, ExportLayout, ExportedFile } from '../dataset/exportCoco';
import type { ImportRequest } from '../dataset/importDataset';

export type DatasetJob =
  /** Runs the importer and writes the dataset file atomically. */
  | { type: 'import'; request: ImportRequest; out: string; maxProblems?: number }
  /** Reads the dataset file from disk (save first) and writes a COCO / PBC export. */
  | { type: 'export'; dataset: string; out: string; layout: ExportLayout; images?: ExportImages; keepHiddenBoxes?: boolean; maxProblems?: number }
  /** The record-level problems of a dataset file (what `pointbox validate` lists), for the log after an open. */
  | { type: 'validate'; dataset: string; maxProblems?: number };

export interface ProblemSummary {
  /** The first problems (errors first, missing files last), as objects. */
  problems: DatasetProblem[];
  /** How many there were in all, including those not sent. */
  total: number;
  errors: number;
  warnings: number;
}

export interface ImportJobResult extends ProblemSummary {
  dataset: string;
  images: number;
  annotations: number;
  categories: number;
  missingFiles: number;
  ms: number;
}

export interface ExportJobResult extends ProblemSummary {
  files: ExportedFile[];
  imageRoot: string;
  ms: number;
}

export type ValidateJobResult = ProblemSummary;

export type DatasetJobResult<J extends DatasetJob> =
  J extends { type: 'import' } ? ImportJobResult : J extends { type: 'export' } ? ExportJobResult : ValidateJobResult;

export type DatasetJobReply =
  | { ok: true; result: ImportJobResult | ExportJobResult | ValidateJobResult }
  | { ok: false; name: string; message: string; code?: string };
