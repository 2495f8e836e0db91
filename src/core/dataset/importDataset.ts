import type { ImportResult } from './DatasetBuilder';
import { importCoco } from './importCoco';
import { importFolder } from './importFolder';
import { importNih } from './importNih';
import { importRsna } from './importRsna';
import { importVindr } from './importVindr';
import type { SplitName } from './schema';

/**
 * The one importer table for the CLI (`pointbox import`) and the extension's Import… command (which runs
 * it in a worker thread): every format with every option, so the two cannot drift apart again.
 */
export type ImportRequest =
  | { format: 'coco'; annotations: string[]; images?: string; split?: SplitName }
  | { format: 'rsna'; labels: string; images: string }
  | { format: 'nih'; bbox: string; images: string; allImages?: boolean }
  | { format: 'vindr'; csv: string; images: string; fuse?: 'wbf'; iouThreshold?: number }
  | { format: 'folder'; images: string };

export type ImportFormat = ImportRequest['format'];

export const IMPORT_FORMATS: readonly { id: ImportFormat; label: string; detail: string }[] = [
  { id: 'coco', label: 'COCO / PBC JSON', detail: 'instances_*.json (annotations may carry a "point"); split from the file names or one for all' },
  { id: 'rsna', label: 'RSNA Pneumonia', detail: 'stage_2_train_labels.csv + folder of <patientId>.dcm' },
  { id: 'nih', label: 'NIH ChestX-ray14', detail: 'BBox_List_2017.csv + folder of PNGs (optionally every image in it)' },
  { id: 'vindr', label: 'VinDr-CXR', detail: 'train.csv (three readers) + folder of DICOMs, optional WBF fusion at a chosen IoU' },
  { id: 'folder', label: 'Folder of images', detail: 'every DICOM/PNG/JPEG below a folder, unlabeled' },
];

/** Runs the importer for `req`, producing the dataset that will be written to `out` (paths relative to it). */
export function runImport(req: ImportRequest, out: string): ImportResult {
  switch (req.format) {
    case 'coco': return importCoco({ annotations: req.annotations, out, ...(req.images ? { images: req.images } : {}), ...(req.split ? { split: req.split } : {}) });
    case 'rsna': return importRsna({ labels: req.labels, images: req.images, out });
    case 'nih': return importNih({ bbox: req.bbox, images: req.images, out, allImages: !!req.allImages });
    case 'vindr': return importVindr({ csv: req.csv, images: req.images, out, ...(req.fuse ? { fuse: req.fuse } : {}), ...(req.iouThreshold !== undefined ? { iouThreshold: req.iouThreshold } : {}) });
    case 'folder': return importFolder({ images: req.images, out });
    default: throw new Error(`unknown import format '${(req as { format: string }).format}' (coco, rsna, nih, vindr, folder)`);
  }
}
