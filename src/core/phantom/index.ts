/** The phantom CXR generator's public API (demo workspace, benchmarks, trainer fixtures, CLI). */
export { generatePhantomImage } from './generatePhantomImage';
export type { PhantomImage, PhantomImageOptions, Photometric, MonochromeOption } from './generatePhantomImage';
export { generatePhantomDataset, assignPhantomSplits, PHANTOM_DATASET_FILE, PHANTOM_GENERATOR_VERSION } from './generatePhantomDataset';
export type { PhantomDatasetOptions, PhantomDatasetResult } from './generatePhantomDataset';
export { samplePhantomGeometry, sampleLesion } from './samplePhantomGeometry';
export type { PhantomLesion, PhantomGeometry } from './samplePhantomGeometry';
export { PHANTOM_CLASSES, lesionStats } from './lesionStats';
export type { PhantomClass } from './lesionStats';
export { encodePhantomDicom, phantomUid } from './encodePhantomDicom';
export { encodePhantomPng } from './encodePhantomPng';
export { encodeDicomPart10, TRANSFER_SYNTAX } from './encodeDicomPart10';
export type { DicomTransferSyntax, DicomElement } from './encodeDicomPart10';
export type { PhantomFormat } from './renderPhantomFile';
