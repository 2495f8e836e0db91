/**
 * The PointBox dataset file (`*.pointbox.json`), schema version 1.
 *
 * A dataset is one JSON file that git/DVC can version, next to (or above) its images. It is a COCO
 * "instances" file with extra fields, so COCO tools read it as-is: `images`, `annotations`, `categories`
 * keep COCO's names and meanings (bbox = [x, y, width, height] in pixels, top-left origin), and PointBox
 * adds what PBC needs (one point per lesion, split and label level per image) and what curation needs
 * (pseudo-boxes with provenance and review state, several readers kept apart).
 *
 * Documented for users in docs/dataset-schema.md. Additive changes only within a schema version.
 */

export const DATASET_SCHEMA_VERSION = 1 as const;

export type SplitName = 'train' | 'val' | 'test' | 'unassigned';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test', 'unassigned'];

/** What supervision an image carries for training (PBC: a few images with boxes, most with points only). */
export type LabelLevel = 'boxes' | 'points' | 'unlabeled';

export type ReviewState = 'pending' | 'accepted' | 'rejected' | 'edited';

/** [x, y, width, height] in image pixels, as COCO. */
export type CocoBox = [number, number, number, number];
/** [x, y] in image pixels. */
export type Point = [number, number];

export interface DatasetInfo {
  name: string;
  description?: string;
  /** ISO time of creation. */
  created?: string;
  /** Where the data came from: importer name and its inputs, for provenance. */
  source?: { format: string; files?: string[]; options?: Record<string, unknown> };
  /** How the current split was made (`pointbox split`), so it can be reproduced. */
  split?: { seed: number; val: number; test: number; boxRatio: number; pointRegion: 'box' | 'center-2/3'; created: string };
}

export interface Category {
  id: number;
  name: string;
  supercategory?: string;
}

export interface ImageRecord {
  id: number;
  /** Path relative to `images_root` when the dataset has one, else to the dataset file's folder; '/' separators. */
  file_name: string;
  width: number;
  height: number;
  split: SplitName;
  label_level: LabelLevel;
  /** Free-form per-image attributes kept from the source (view position, patient age, ...). */
  attributes?: Record<string, string | number | boolean>;
}

export interface Annotation {
  id: number;
  image_id: number;
  category_id: number;
  /** The lesion's box; absent on annotations that only ever had a click. */
  bbox?: CocoBox;
  /** COCO's area (= w*h of bbox); kept for COCO tools. */
  area?: number;
  iscrowd?: 0 | 1;
  /** The click for this lesion (PBC stores one per lesion). */
  point?: Point;
  /**
   * Where `point` came from: "click" (a person clicked it), "import" (came with the source file, e.g.
   * PBC's COCO files), "sampled" (drawn inside the box by `pointbox split`). `split` re-samples only
   * "sampled" points (and missing ones), so it never overwrites a person's click. Absent = "import".
   */
  point_source?: 'click' | 'import' | 'sampled';
  /**
   * Which reader drew it, when a source has several (VinDr-CXR: R1..R17). Reader boxes are kept
   * apart; a fused consensus box has `reader: "consensus"` and lists the ids it was fused from.
   */
  reader?: string;
  fused_from?: number[];
}

export interface PseudoBoxProvenance {
  /** Model file name or "prior" for the prior-box baseline. */
  model_id: string;
  model_sha256?: string;
  /** onnxruntime execution provider that ran it (cpu, cuda, webgpu, ...). */
  execution_provider?: string;
  /** ISO time. */
  time: string;
  /**
   * Set when the box is the prior's because the model that ran does not know the class (model_id is then
   * "prior"): which model it stood in for, where the prior's sizes came from, and why.
   */
  prior_fallback?: { model_id: string; model_sha256?: string; prior_source: string; reason: string };
}

export interface PseudoBox {
  id: number;
  image_id: number;
  category_id: number;
  bbox: CocoBox;
  /** The annotation (point) it was predicted from. */
  annotation_id?: number;
  point?: Point;
  /** Model confidence (predicted IoU), 0..1. */
  score?: number;
  provenance: PseudoBoxProvenance;
  review: ReviewState;
  /** The reviewer's corrected box when review is "edited". */
  edited_bbox?: CocoBox;
}

export interface DatasetFile {
  pointbox: { schema_version: typeof DATASET_SCHEMA_VERSION };
  info: DatasetInfo;
  /**
   * Where the images are when they are not below the dataset file's folder: a folder (absolute, or relative
   * to the dataset folder) that relative `file_name`s are resolved against. Images may lie only in the
   * dataset folder and this folder (src/core/dataset/imagePaths.ts). Importers set it when `--images` is
   * outside the dataset folder.
   */
  images_root?: string;
  categories: Category[];
  images: ImageRecord[];
  annotations: Annotation[];
  pseudo_boxes: PseudoBox[];
}
