import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ProblemLog } from './DatasetError';
import { emptyDataset } from './datasetJson';
import { readImageSize } from './readImageSize';
import { imageRootsOf, resolveImagePath, type ImageRoots } from './imagePaths';
import type { Annotation, CocoBox, DatasetFile, ImageRecord, LabelLevel, Point, SplitName } from './schema';

/** What every importer returns: the dataset, the problems it met, and counts for the summary line. */
export interface ImportResult {
  data: DatasetFile;
  log: ProblemLog;
  missingFiles: number;
}

/** Where in the source a record came from, for problem messages. */
export interface SourceRef { file?: string; line?: number; record?: string }

/**
 * Shared importer plumbing: category ids by name, image records whose paths are relative to the dataset
 * file (so the dataset folder can move or be cloned), image sizes from file headers, and boxes checked
 * against the image (negative sizes dropped with an error, parts outside the image clamped with a warning).
 */
export class DatasetBuilder {
  readonly data: DatasetFile;
  readonly log = new ProblemLog(200);
  missingFiles = 0;
  private readonly catByName = new Map<string, number>();
  private nextImageId = 1;
  private nextAnnId = 1;
  private readonly datasetDir: string;
  private roots: ImageRoots;

  constructor(readonly outFile: string, name: string, source: DatasetFile['info']['source']) {
    this.data = emptyDataset(name);
    if (source) this.data.info.source = source;
    this.datasetDir = dirname(resolve(outFile));
    this.roots = imageRootsOf(undefined, this.datasetDir);
  }

  /**
   * The image folder the user named (`--images`, or COCO's default next to the annotations). Inside the
   * dataset folder, file names stay relative to the dataset folder (the folder moves as one). Outside it,
   * the dataset records it as `images_root` (absolute) and file names are relative to it: no `..` paths,
   * and only images inside the folders the user gave are imported.
   */
  useImagesDir(dir: string): void {
    const abs = resolve(dir);
    const rel = relative(this.datasetDir, abs);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) return;
    this.data.images_root = abs;
    this.roots = imageRootsOf(this.data, this.datasetDir);
  }

  result(): ImportResult { return { data: this.data, log: this.log, missingFiles: this.missingFiles }; }

  /** Category id for a name, created on first use; `preferredId` keeps a source's own id when it is free. */
  category(name: string, preferredId?: number): number {
    const known = this.catByName.get(name);
    if (known !== undefined) return known;
    let id = preferredId;
    if (id === undefined || !Number.isInteger(id) || this.data.categories.some((c) => c.id === id)) {
      id = this.data.categories.reduce((m, c) => Math.max(m, c.id), 0) + 1;
    }
    this.data.categories.push({ id, name });
    this.catByName.set(name, id);
    return id;
  }

  /**
   * Path stored in the dataset: relative to `images_root` when set, else to the dataset file's folder, '/'
   * separators; a file in the dataset folder but not under `images_root` keeps its absolute path.
   */
  relativePath(absPath: string): string {
    const r = relative(this.roots.base, absPath);
    if (r.startsWith('..') || isAbsolute(r)) return absPath;
    return sep === '/' ? r : r.split(sep).join('/');
  }

  /**
   * Adds an image. Its size comes from the file header; when the file is missing it is reported (not
   * fatal) and `fallbackSize` is used (RSNA and NIH images are all 1024x1024), else 0x0 = unknown.
   */
  addImage(absPath: string, opts: { level: LabelLevel; split?: SplitName; id?: number; fallbackSize?: [number, number]; size?: [number, number]; attributes?: ImageRecord['attributes']; ref?: SourceRef; checkFile?: boolean }): ImageRecord | undefined {
    // Only images inside the folders the user gave: a source row naming '../../x' or a link out of the
    // image folder is skipped before anything reads it (pointbox validate would refuse it anyway).
    const where = resolveImagePath(this.roots, resolve(absPath));
    if (!where.ok) {
      this.log.error('path-outside', `${where.reason}: image skipped (pass the folder that holds it with --images)`, opts.ref);
      return undefined;
    }
    absPath = where.path;
    let width = 0; let height = 0;
    if (opts.size) [width, height] = opts.size;
    if (opts.checkFile !== false && !opts.size) {
      try {
        const s = readImageSize(absPath);
        if (s) { width = s.width; height = s.height; } else {
          this.log.warn('unreadable-image', `cannot read the image size from ${absPath} (not a PNG/JPEG/DICOM?)`, opts.ref);
        }
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          this.missingFiles++;
          this.log.warn('missing-file', `image file not found: ${absPath}${opts.fallbackSize ? ` (assuming ${opts.fallbackSize[0]}x${opts.fallbackSize[1]})` : ''}`, opts.ref);
        } else {
          this.log.warn('unreadable-image', `cannot read ${absPath}: ${(e as Error).message}`, opts.ref);
        }
      }
      if ((!width || !height) && opts.fallbackSize) [width, height] = opts.fallbackSize;
    }
    let id = opts.id ?? this.nextImageId;
    if (id >= this.nextImageId) this.nextImageId = id + 1;
    if (!Number.isInteger(id) || id < 0) id = this.nextImageId++;
    const rec: ImageRecord = { id, file_name: this.relativePath(absPath), width, height, split: opts.split ?? 'unassigned', label_level: opts.level };
    if (opts.attributes && Object.keys(opts.attributes).length) rec.attributes = opts.attributes;
    this.data.images.push(rec);
    return rec;
  }

  /** A free image id (for sources whose ids collide). */
  freshImageId(): number { return this.nextImageId++; }
  freshAnnotationId(): number { return this.nextAnnId++; }
  reserveAnnotationId(id: number): void { if (id >= this.nextAnnId) this.nextAnnId = id + 1; }

  /**
   * Checks a box against its image: width/height <= 0 -> error, dropped (undefined); partly outside ->
   * clamped, warned; entirely outside -> error, dropped. Images of unknown size (0) are not clamped.
   */
  checkBox(img: ImageRecord, box: CocoBox, ref: SourceRef): CocoBox | undefined {
    const [x, y, w, h] = box;
    if (![x, y, w, h].every(Number.isFinite)) { this.log.error('bad-value', `box has non-numeric values [${box.join(', ')}]`, ref); return undefined; }
    if (w <= 0 || h <= 0) { this.log.error('negative-size', `box has width/height <= 0: [${box.join(', ')}] (dropped)`, ref); return undefined; }
    if (!img.width || !img.height) return box;
    const x1 = Math.max(0, x); const y1 = Math.max(0, y);
    const x2 = Math.min(img.width, x + w); const y2 = Math.min(img.height, y + h);
    if (x2 <= x1 || y2 <= y1) { this.log.error('box-outside', `box [${box.join(', ')}] is entirely outside the ${img.width}x${img.height} image (dropped)`, ref); return undefined; }
    if (x1 !== x || y1 !== y || x2 !== x + w || y2 !== y + h) {
      const c: CocoBox = [x1, y1, x2 - x1, y2 - y1];
      this.log.warn('box-clamped', `box [${box.join(', ')}] extends outside the ${img.width}x${img.height} image; clamped to [${c.map((v) => +v.toFixed(3)).join(', ')}]`, ref);
      return c;
    }
    return box;
  }

  checkPoint(img: ImageRecord, p: Point, ref: SourceRef): Point | undefined {
    if (!Array.isArray(p) || p.length !== 2 || !p.every(Number.isFinite)) { this.log.error('bad-value', `point must be [x, y], got ${JSON.stringify(p)} (dropped)`, ref); return undefined; }
    if (!img.width || !img.height) return p;
    const c: Point = [Math.min(Math.max(p[0], 0), img.width), Math.min(Math.max(p[1], 0), img.height)];
    if (c[0] !== p[0] || c[1] !== p[1]) this.log.warn('point-outside', `point [${p.join(', ')}] is outside the ${img.width}x${img.height} image; clamped`, ref);
    return c;
  }

  addAnnotation(a: Omit<Annotation, 'id'> & { id?: number }): Annotation {
    const id = a.id ?? this.nextAnnId;
    if (id >= this.nextAnnId) this.nextAnnId = id + 1;
    const rec = { ...a, id } as Annotation;
    if (rec.bbox && rec.area === undefined) rec.area = rec.bbox[2] * rec.bbox[3];
    if (rec.bbox && rec.iscrowd === undefined) rec.iscrowd = 0;
    this.data.annotations.push(rec);
    return rec;
  }
}
