/**
 * Typed messages between the extension host and its webviews. One union per direction; every message has a
 * string-literal `type`. PROTOCOL_VERSION is sent with the first host message so a stale webview bundle is
 * detected instead of misreading fields.
 */
import type { DecodedImage } from '../core/imaging/DecodedImage';

export const PROTOCOL_VERSION = 5;

/** A figure with its bootstrap 95 % interval over images (null when not resampled). */
export interface EvaluationEstimate {
  value: number;
  ci95: [number, number] | null;
}

export interface EvaluationClassRow {
  /** Distinct ground-truth boxes of the class, and clicks scored (boxes x click seeds). */
  boxes: number;
  queries: number;
  ap50: number;
  ap75: number;
  map: number;
  /** Mean IoU of each click's box with its own ground truth. */
  meanIou: number;
  /** Clicks answered by the prior because the model does not know the class. */
  priorFallback: number;
  /** Prior boxes: how many clicks took their size from a table, the class's own boxes, the all-class median. */
  priorFrom?: { table?: number; learned?: number; global?: number };
}

export interface EvaluationCalibration {
  n: number;
  ece: number;
  pearson: number;
  spearman: number;
  bins: { low: number; high: number; count: number; meanPredicted: number; meanActual: number }[];
}

/** One row of the point->box evaluation table (a model or the prior-box baseline). */
export interface EvaluationRow {
  model: string;
  device: string;
  /** Micro (box-weighted) AP50 / AP75 / mAP and mean IoU: the same values as `micro`. */
  ap50: number;
  ap75: number;
  map: number;
  meanIou: number;
  meanBestIou: number;
  /** Clicks scored, distinct boxes, images. */
  points: number;
  boxes: number;
  images: number;
  seconds: number;
  micro: { ap50: EvaluationEstimate; ap75: EvaluationEstimate; map: EvaluationEstimate; meanIou: EvaluationEstimate };
  macro: { ap50: EvaluationEstimate; ap75: EvaluationEstimate; map: EvaluationEstimate; classes: number };
  perClass: Record<string, EvaluationClassRow>;
  /** Null with a reason when the scores carry no confidence (the prior). */
  calibration: EvaluationCalibration | null;
  calibrationNote?: string;
  /** The prior used: the baseline itself or the fallback for classes the model does not know. */
  prior?: { role: 'baseline' | 'fallback'; label: string; description: string; fewBoxClasses: { name: string; boxes: number }[] };
  priorFallbackClasses: { name: string; points: number; priorSource: string }[];
}

export interface EvaluationReport {
  dataset: string;
  split: string | null;
  seed: number;
  /** Click seeds pooled (one uniform click per box per seed), or the single seed. */
  seeds: number[];
  pointSource: string;
  /** The click protocol in words. */
  clicks: string;
  bootstrap: { resamples: number; seed: number };
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
  /** After rendering: rows of the overall table, rows of the per-class table, and the tables' text (tests read it). */
  | { type: 'rendered'; rows: number; classRows: number; text: string };

// ---- the CXR viewer (custom editor `pointbox.viewer`) ----

/** One annotation of the open image as the viewer needs it (a subset of the dataset record). */
export interface ViewerAnnotation {
  id: number;
  categoryId: number;
  /** COCO [x, y, w, h] in image pixels; absent for a point-only annotation (a click). */
  bbox?: [number, number, number, number];
  point?: [number, number];
}

export type ViewerReview = 'pending' | 'accepted' | 'rejected' | 'edited';

export interface ViewerPseudoBox {
  id: number;
  categoryId: number;
  bbox: [number, number, number, number];
  /** The reviewer's corrected box (review 'edited'). */
  editedBbox?: [number, number, number, number];
  point?: [number, number];
  score?: number;
  model: string;
  review: ViewerReview;
}

/** The open image's records in the dataset that lists it; null when the file is outside every open dataset. */
export interface ViewerDataset {
  datasetName: string;
  imageId: number;
  split: string;
  labelLevel: string;
  /** Image size from the dataset record (edits are clamped to it). */
  width: number;
  height: number;
  categories: { id: number; name: string }[];
  annotations: ViewerAnnotation[];
  pseudoBoxes: ViewerPseudoBox[];
  canUndo: boolean;
}

/** Where the shown image sits among its neighbours (same dataset, split and label-level group, the Datasets tree's order). */
export interface ViewerPosition {
  /** e.g. "train / Point-level". */
  group: string;
  /** 0-based index in the group, and the group's size. */
  index: number;
  count: number;
  /** Images of the dataset with pending pseudo-boxes. */
  pending: number;
}

/** In-viewer navigation (issue 13): next/previous image of the group, next/previous image with pending pseudo-boxes. */
export type ViewerNavigation = 'next' | 'previous' | 'nextPending' | 'previousPending';

export type HostToViewer =
  /** First message after 'ready': what the file is (the page starts its decode worker from URLs on #root, webviewHtml rootData). */
  | { type: 'init'; protocol: number; fileName: string; filePath: string; dataset: ViewerDataset | null;
    /** The file's cache key (path + size + mtime), the decoded-image cache's budget (setting pointbox.viewer.prefetchBudgetMB) and the position. */
    key: string; cacheBudgetBytes: number; position: ViewerPosition | null }
  /** The file's bytes (an ArrayBuffer, never a JSON array); the webview decodes them in its worker. `key` names the file it is. */
  | { type: 'image'; bytes: ArrayBuffer; key: string }
  /**
   * The file's webview resource URL (protocol 5): the page fetches the bytes itself, outside this message
   * channel. Sent instead of 'image' when the file is under the viewer's localResourceRoots; if the fetch
   * fails the page asks again with 'needImage' asBytes.
   */
  | { type: 'imageUrl'; key: string; url: string }
  /**
   * A big file's reduced first image (protocol 4), decoded and box-reduced by the host while the webview
   * starts, sent before the bytes: shown scaled to the full size until the full-resolution image is painted.
   */
  | { type: 'preview'; key: string; image: DecodedImage; fullWidth: number; fullHeight: number; factor: number }
  /**
   * The viewer moved to another image (answer to 'navigate'). When `cached` is true the webview said it holds
   * `key` decoded (or decoding) and no bytes follow; otherwise an 'image' message with the bytes follows.
   */
  | { type: 'navigated'; fileName: string; filePath: string; key: string; cached: boolean; dataset: ViewerDataset | null; position: ViewerPosition | null }
  /** A 'navigate' that has nowhere to go (end of the group, no pending image, no dataset). */
  | { type: 'navigateFailed'; message: string }
  /** The bytes of a likely next image, to decode and keep in the byte-bounded cache before it is asked for. */
  | { type: 'prefetch'; key: string; fileName: string; bytes: ArrayBuffer }
  /** The host could not read the file. */
  | { type: 'readFailed'; message: string }
  /** The dataset changed (edit here or anywhere, undo/redo, pseudo-labeling, dataset closed). */
  | { type: 'dataset'; dataset: ViewerDataset | null }
  /** An edit the webview asked for was refused by the dataset (the message says why). */
  | { type: 'editFailed'; message: string }
  /** The detector layer's answer to 'detect': the selected detector's boxes on this image, or why there are none. */
  | { type: 'detections'; result: ViewerDetections };

/** One detection of the student detector, in image pixels. */
export interface ViewerDetection {
  /** COCO [x, y, w, h]. */
  bbox: [number, number, number, number];
  score: number;
  className: string;
}

export type ViewerDetections =
  | { ok: true; model: string; provider: string; ms: number; detections: ViewerDetection[]; /** Boxes below it are not drawn (setting pointbox.detector.minScore). */ minScore: number }
  | { ok: false; message: string };

/** Edits the viewer asks the host to make through the DatasetDocument API (so they are undoable and auto-saved). */
export type ViewerEdit =
  | { type: 'addPoint'; categoryId: number; point: [number, number] }
  | { type: 'addBox'; categoryId: number; bbox: [number, number, number, number] }
  | { type: 'movePoint'; annotationId: number; point: [number, number] }
  | { type: 'setBox'; annotationId: number; bbox: [number, number, number, number] }
  | { type: 'setCategory'; annotationId: number; categoryId: number }
  | { type: 'deleteAnnotation'; annotationId: number }
  | { type: 'setReview'; pseudoBoxId: number; review: 'accepted' | 'rejected' | 'pending' };

export type ViewerToHost =
  | { type: 'ready' }
  /** First render done (tests and timing); ms from the 'image' message to pixels on the canvas. */
  | { type: 'rendered'; width: number; height: number; decodeMs: number; totalMs: number; key: string; fromCache: boolean }
  /** Move to another image in this viewer; `cached`: the keys the webview holds decoded or is decoding (no bytes needed for those). */
  | { type: 'navigate'; direction: ViewerNavigation; cached: string[] }
  /** The image a 'navigated' said was cached is not (evicted meanwhile): send its bytes. */
  | { type: 'needImage'; key: string; asBytes?: boolean }
  | { type: 'decodeFailed'; code: string; message: string }
  | { type: 'undo' }
  | { type: 'redo' }
  /** The header panel's link: run PointBox: PHI Report on the image's dataset. */
  | { type: 'phiReport' }
  /** The detector layer was turned on: run the selected detector on this image. */
  | { type: 'detect' }
  /** `imageId`: the image the edit was made on; the host refuses it when the viewer has moved to another image since. */
  | (ViewerEdit & { imageId?: number });

// ---- the benchmark panel (issue 15: PBC's table, student detector mAP by box ratio, method and seed) ----

export interface BenchmarkViewRow {
  ratio: number;
  method: string;
  label: string;
  seeds: number[];
  /** Per seed, fractions in [0, 1]. */
  map: number[];
  ap50: number[];
  /** Mean IoU of the teacher's pseudo-boxes with the hidden true boxes (mean over seeds). */
  pseudoIou?: number;
  teacherAp50?: number;
}

export interface BenchmarkViewStep { id: string; kind: string; status: string; seconds?: number; error?: string; log?: string }

export interface BenchmarkView {
  name: string;
  dir: string;
  dataset: string;
  preset?: string;
  /** running | completed | failed | cancelled | interrupted */
  status: string;
  error?: string;
  evalSplit?: string;
  rows: BenchmarkViewRow[];
  /** One sentence per ratio: PBC vs Point DETR vs boxes only, by seed. */
  verdicts: string[];
  steps: BenchmarkViewStep[];
  done: number;
  total: number;
  timings: { kind: string; steps: number; medianS: number; totalS: number }[];
  /** Whether this window may run it (trusted workspace). */
  canRun: boolean;
}

export type HostToBenchmarkView =
  | { type: 'state'; protocol: number; view: BenchmarkView }
  | { type: 'progress'; step: string; message: string };

export type BenchmarkViewToHost =
  | { type: 'ready' }
  | { type: 'export'; format: 'csv' | 'md' | 'svg' }
  | { type: 'openFolder' }
  | { type: 'openLog'; step: string }
  | { type: 'cancel' }
  | { type: 'resume' }
  /** After drawing: table rows, plot marks (seed dots) and the table's text (tests read them). */
  | { type: 'rendered'; rows: number; plotDots: number; text: string; status: string };
