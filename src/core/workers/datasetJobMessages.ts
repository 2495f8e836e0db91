/** Messages between the host and datasetJob.worker.ts (imports, exports and validation off the main thread). */
import type { DatasetProblem } from '../dataset/DatasetError';
import type { ExportImages, ExportLayout, ExportedFile } from '../dataset/exportCoco';
import type { ImportRequest } from '../dataset/importDataset';
import type { ExcludedImage } from '../deidentify/exportDeidentified';
import type { PhiReport } from '../deidentify/phiReport';

/** `--deidentify` for the UI export (see src/core/deidentify): profile name, key file, optional mapping file. */
export interface DeidentifyJobOptions {
  profile: string;
  /** The secret key's file; absent: a one-off random key (UIDs then match no other export). */
  keyFile?: string;
  /** Old -> new mapping, outside the export folder; absent: none is written. */
  mappingFile?: string;
  includeBurnedIn?: boolean;
  /** Private keep-list entries, `GGGG,xxEE,CREATOR`. */
  keepPrivate?: string[];
}

export type DatasetJob =
  /** Runs the importer and writes the dataset file atomically. */
  | { type: 'import'; request: ImportRequest; out: string; maxProblems?: number }
  /** Reads the dataset file from disk (save first) and writes a COCO / PBC export. */
  | { type: 'export'; dataset: string; out: string; layout: ExportLayout; images?: ExportImages; keepHiddenBoxes?: boolean; pseudoBoxes?: 'reviewed' | 'all'; maxProblems?: number; deidentify?: DeidentifyJobOptions }
  /** `pointbox phi-report`: which identifying attributes the dataset's files carry, per file count. */
  | { type: 'phi-report'; dataset: string; profile?: string }
  /** The record-level problems of a dataset file (what `pointbox validate` lists), for the log after an open. */
  | { type: 'validate'; dataset: string; maxProblems?: number }
  /** Ids of the images whose files are missing on disk (what the tree marks), for a saved dataset file. */
  | { type: 'missing'; dataset: string };

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
  /** With `deidentify`: what was written and what was left out (the first 200 exclusions). */
  deidentified?: { profile: string; exported: { dicom: number; png: number; jpeg: number }; excluded: ExcludedImage[]; excludedTotal: number; keyId: string; mappingFile?: string };
}

export interface PhiReportJobResult { report: PhiReport; markdown: string; ms: number }

export type ValidateJobResult = ProblemSummary;

export interface MissingJobResult { missing: number[] }

export type DatasetJobResult<J extends DatasetJob> =
  J extends { type: 'import' } ? ImportJobResult : J extends { type: 'export' } ? ExportJobResult : J extends { type: 'missing' } ? MissingJobResult : J extends { type: 'phi-report' } ? PhiReportJobResult : ValidateJobResult;

export type DatasetJobReply =
  | { ok: true; result: ImportJobResult | ExportJobResult | ValidateJobResult | MissingJobResult | PhiReportJobResult }
  | { ok: false; name: string; message: string; code?: string };
