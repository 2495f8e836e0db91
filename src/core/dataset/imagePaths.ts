/**
 * Paths that stay home: where a dataset's images may be read from (issue 12).
 *
 * A dataset file is data that people share (git, DVC, e-mail). Its `file_name`s must not make PointBox read,
 * link or copy files outside the folders the user chose: the dataset's own folder, and the image root the
 * user set, which is `images_root` in the dataset file (absolute, or relative to the dataset folder), or a
 * `--images-root` flag / setting that replaces it for this run (relocated images). Relative `file_name`s
 * are resolved against that image root when there is one, else against the dataset folder; an absolute
 * `file_name` must lie inside one of the roots. Refused, with the image id named:
 * - a `..` that leaves every root, or an absolute path outside them (checked on the text: no disk access);
 * - an existing file whose real path (symlinks followed, the roots' own symlinks too) leaves every root;
 * - a root that is the file system's root, and names with a NUL byte.
 * Every entry point that reads images (validate, stats, the viewer, pseudo-label, eval, export and so the
 * training launcher) goes through `resolveImagePath` / `requireImagePath`.
 */
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, parse, relative, resolve, sep } from 'node:path';
import { DatasetError } from './DatasetError';
import type { DatasetFile, ImageRecord } from './schema';

export interface ImageRoots {
  /** Absolute folder of the dataset file. */
  datasetDir: string;
  /** Absolute folder relative `file_name`s are resolved against: the image root when set, else datasetDir. */
  base: string;
  /** Absolute folders images may lie in: datasetDir and the image root (deduplicated). */
  roots: string[];
  /** Where the image root came from, for messages. */
  baseSource: 'dataset folder' | 'images_root' | '--images-root';
  /** A problem with the image root itself (e.g. the file system root): every image is then refused. */
  rootError?: string;
}

export type ImagePathProblem = 'bad-name' | 'escape' | 'absolute-outside' | 'symlink-outside' | 'bad-root';

export type ImagePathResult =
  | { ok: true; path: string }
  | { ok: false; path?: string; problem: ImagePathProblem; reason: string };

const isFsRoot = (p: string) => parse(p).root === p;

/** The roots of dataset `d` (its `images_root`), kept in `datasetDir`; `imagesRoot` (a flag or setting) replaces `images_root`. */
export function imageRootsOf(d: Pick<DatasetFile, 'images_root'> | undefined, datasetDir: string, imagesRoot?: string): ImageRoots {
  const dir = resolve(datasetDir);
  const fromFile = d?.images_root;
  let base = dir; let baseSource: ImageRoots['baseSource'] = 'dataset folder'; let rootError: string | undefined;
  const chosen = imagesRoot !== undefined && imagesRoot !== '' ? imagesRoot : fromFile;
  if (chosen !== undefined) {
    baseSource = imagesRoot !== undefined && imagesRoot !== '' ? '--images-root' : 'images_root';
    if (typeof chosen !== 'string' || chosen === '' || chosen.includes('\0')) rootError = `${baseSource} must be a folder path, got ${JSON.stringify(chosen)}`;
    else {
      base = resolve(dir, chosen);
      if (isFsRoot(base)) rootError = `${baseSource} '${chosen}' is the file system's root: name the folder that holds the images`;
    }
  }
  if (isFsRoot(dir)) rootError ??= 'the dataset file is in the file system\'s root folder: move it into a folder of its own';
  const roots = base === dir ? [dir] : [base, dir];
  return { datasetDir: dir, base, roots, baseSource, ...(rootError ? { rootError } : {}) };
}

/** Whether path `p` is `root` or lies below it (lexically: `..` segments cannot climb out). */
export function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r) && r.split(sep)[0] !== '..');
}

const realCache = new Map<string, string | null>();
/** realpath of a root (cached per process for a few seconds' worth of calls; roots rarely move). */
function realRoot(p: string): string | null {
  let v = realCache.get(p);
  if (v === undefined) {
    try { v = realpathSync(p); } catch { v = null; }
    if (realCache.size > 64) realCache.clear();
    realCache.set(p, v);
  }
  return v;
}

function describeRoots(roots: ImageRoots): string {
  return roots.base === roots.datasetDir ? `the dataset folder ${roots.datasetDir}` : `the dataset folder ${roots.datasetDir} and the image root ${roots.base} (${roots.baseSource})`;
}

/**
 * Where `image` (or a `file_name`) lives, or why it may not be read. `checkLinks` (default true) follows
 * symlinks of files that exist: a link inside a root that points outside every root is refused. A missing
 * file is `ok` (missing files are reported separately, and reading it fails anyway).
 */
export function resolveImagePath(roots: ImageRoots, image: ImageRecord | string, opts: { checkLinks?: boolean } = {}): ImagePathResult {
  const name = typeof image === 'string' ? image : image.file_name;
  if (roots.rootError) return { ok: false, problem: 'bad-root', reason: roots.rootError };
  if (typeof name !== 'string' || name === '' || name.includes('\0')) return { ok: false, problem: 'bad-name', reason: `file_name must be a non-empty path, got ${JSON.stringify(name)}` };
  const abs = isAbsolute(name);
  const path = abs ? resolve(name) : resolve(roots.base, name);
  if (!roots.roots.some((r) => inside(r, path))) {
    return abs
      ? { ok: false, path, problem: 'absolute-outside', reason: `absolute path '${name}' is outside ${describeRoots(roots)}` }
      : { ok: false, path, problem: 'escape', reason: `'${name}' leaves ${describeRoots(roots)} (resolves to ${path})` };
  }
  if (opts.checkLinks !== false) {
    let real: string | undefined;
    try { real = realpathSync(path); } catch { /* missing (or unreadable): nothing is read through a link */ }
    if (real !== undefined && real !== path) {
      const realRoots = roots.roots.map(realRoot).filter((r): r is string => r !== null);
      if (!realRoots.some((r) => inside(r, real))) return { ok: false, path, problem: 'symlink-outside', reason: `'${name}' is a symlink (or under one) that leads outside ${describeRoots(roots)}, to ${real}` };
    }
  }
  return { ok: true, path };
}

/** The absolute path of `image`, or a DatasetError('path-outside') naming the image id and why. */
export function requireImagePath(roots: ImageRoots, image: ImageRecord, opts: { checkLinks?: boolean; file?: string } = {}): string {
  const r = resolveImagePath(roots, image, opts);
  if (r.ok) return r.path;
  throw new DatasetError('path-outside', `image id=${image.id}: ${r.reason}; refused (not read, linked or copied)`, opts.file, undefined, `images id=${image.id}`);
}

/** Convenience for callers that hold a dataset and its file path. */
export function imageRootsForFile(d: Pick<DatasetFile, 'images_root'>, datasetFile: string, imagesRoot?: string): ImageRoots {
  return imageRootsOf(d, dirname(resolve(datasetFile)), imagesRoot);
}

/**
 * Moves a dataset's images under a new image root: the user names the folder that holds them, e.g. for a
 * dataset an older PointBox imported with `../` file names, or after the images moved. Each `file_name` is
 * read as before (lexically: a `..` is taken as written, since the user vouches for the folder now) and
 * rewritten relative to `folder` (absolute when it is in the dataset folder but not under `folder`).
 * `images_root` becomes `folder` (absolute). Images that are in neither folder keep their `file_name` and
 * are listed: they stay refused. Returns a new DatasetFile; `d` is not changed.
 */
export function setImagesRoot(d: DatasetFile, datasetDir: string, folder: string): { data: DatasetFile; rewritten: number; outside: { id: number; file_name: string }[] } {
  const dir = resolve(datasetDir);
  const oldBase = typeof d.images_root === 'string' && d.images_root !== '' ? resolve(dir, d.images_root) : dir;
  const root = resolve(dir, folder);
  const next = imageRootsOf({ images_root: root }, dir);
  if (next.rootError) throw new DatasetError('usage', next.rootError);
  let rewritten = 0;
  const outside: { id: number; file_name: string }[] = [];
  const images = d.images.map((im) => {
    if (typeof im.file_name !== 'string' || im.file_name === '' || im.file_name.includes('\0')) { outside.push({ id: im.id, file_name: String(im.file_name) }); return im; }
    const abs = isAbsolute(im.file_name) ? resolve(im.file_name) : resolve(oldBase, im.file_name);
    let name: string | undefined;
    if (inside(root, abs)) name = relative(root, abs).split(sep).join('/');
    else if (inside(dir, abs)) name = abs;
    if (name === undefined) { outside.push({ id: im.id, file_name: im.file_name }); return im; }
    if (name !== im.file_name) rewritten++;
    return { ...im, file_name: name };
  });
  return { data: { ...d, images_root: root, images }, rewritten, outside };
}
