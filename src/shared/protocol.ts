/**
 * Typed messages between the extension host and its webviews. One union per direction; every message has a
 * string-literal `type`. PROTOCOL_VERSION is sent with the first host message so a stale webview bundle is
 * detected instead of misreading fields.
 */
export const PROTOCOL_VERSION = 1;

/** One row of the point->box evaluation table (a model or the prior-box baseline). */
export interface EvaluationRow {
  model: string;
  device: string;
  ap50: number;
  ap75: number;
  map: number;
  meanBestIou: number;
  points: number;
  images: number;
  seconds: number;
  perClass: Record<string, { ap50: number; map: number; boxes: number }>;
}

export interface EvaluationReport {
  dataset: string;
  split: string | null;
  seed: number;
  pointSource: string;
  rows: EvaluationRow[];
  /** Where the JSON was written. */
  savedTo?: string;
  warnings: string[];
}

export type HostToEvaluationView =
  | { type: 'init'; protocol: number; report: EvaluationReport }
  | { type: 'error'; message: string };

export type EvaluationViewToHost =
  | { type: 'ready' }
  | { type: 'openJson' }
  | { type: 'rendered'; rows: number };
