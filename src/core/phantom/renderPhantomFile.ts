import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePhantomImage } from './generatePhantomImage';
import type { MonochromeOption, Photometric } from './generatePhantomImage';
import { encodePhantomDicom } from './encodePhantomDicom';
import type { DicomTransferSyntax } from './encodeDicomPart10';
import { encodePhantomPng } from './encodePhantomPng';
import type { PhantomLesion } from './samplePhantomGeometry';

export type PhantomFormat = 'dicom' | 'png' | 'both';

export interface PhantomFileTask {
  seed: number;
  index: number;
  size: number;
  format: PhantomFormat;
  monochrome: MonochromeOption;
  transferSyntax: DicomTransferSyntax;
  pngBitDepth: 8 | 16;
  /** Absolute output folder (the dataset folder); files go to <outDir>/images/. */
  outDir: string;
}

export interface PhantomFileResult {
  index: number;
  /** Paths relative to outDir, '/'-separated; the DICOM first when both are written. */
  files: string[];
  width: number;
  height: number;
  photometric: Photometric;
  view: 'PA' | 'AP';
  rotationDeg: number;
  lesions: PhantomLesion[];
}

/** File stem of phantom `index` (1-based in the name, like NIH's numbering). */
export function phantomFileStem(index: number): string {
  return `phantom_${String(index + 1).padStart(6, '0')}`;
}

/** Renders, encodes and writes one phantom. Shared by the worker threads and the in-process path. */
export function renderPhantomFile(t: PhantomFileTask): PhantomFileResult {
  const img = generatePhantomImage(t.seed, t.index, { size: t.size, monochrome: t.monochrome });
  const stem = phantomFileStem(t.index);
  const files: string[] = [];
  // Each image file is written once under its final name by exactly one worker; a crash leaves at most
  // a partial image, which the dataset file (written last, atomically) never points to.
  if (t.format === 'dicom' || t.format === 'both') {
    writeFileSync(join(t.outDir, 'images', `${stem}.dcm`), encodePhantomDicom(img, t.seed, t.index, t.transferSyntax));
    files.push(`images/${stem}.dcm`);
  }
  if (t.format === 'png' || t.format === 'both') {
    writeFileSync(join(t.outDir, 'images', `${stem}.png`), encodePhantomPng(img, t.pngBitDepth));
    files.push(`images/${stem}.png`);
  }
  return {
    index: t.index, files, width: img.width, height: img.height, photometric: img.photometric, view: img.view,
    rotationDeg: Math.round((img.anatomy.rotation * 180 / Math.PI) * 100) / 100, lesions: img.lesions,
  };
}
