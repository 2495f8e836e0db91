/**
 * Sharded runs for clusters (issue 13): `pointbox pseudo-label --shard i/n` and `pointbox eval --shard i/n`
 * each work on a deterministic 1/n of the images and write a *partial file*; `pointbox merge` checks that the
 * partials are one complete, non-overlapping set made from the same dataset and options, and combines them.
 *
 * Shards are 1-based (`1/4` .. `4/4`, as Slurm's `--array=1-4` numbers its tasks). Image k (0-based) of the
 * run's images in dataset order goes to shard (k mod n) + 1: every shard gets ceil or floor of N/n images,
 * and the assignment depends only on the dataset file and the options (which merge checks by sha256).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { writeFileAtomic } from './writeFileAtomic';

export interface Shard { index: number; count: number }

export class ShardError extends Error {
  constructor(message: string) { super(message); this.name = 'ShardError'; }
}

/** "i/n" with 1 <= i <= n. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN; const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index >= 1) || index > count) {
    throw new ShardError(`--shard must be i/n with 1 <= i <= n (e.g. 2/4 for the second of four shards), got '${text}'`);
  }
  return { index, count };
}

export const shardLabel = (s: Shard) => `${s.index}/${s.count}`;

/** The ids of `orderedImageIds` (duplicates ignored, first occurrence counts) that belong to `shard`. */
export function shardImageIds(orderedImageIds: readonly number[], shard: Shard): Set<number> {
  const out = new Set<number>();
  const seen = new Set<number>();
  for (const id of orderedImageIds) {
    if (seen.has(id)) continue;
    if (seen.size % shard.count === shard.index - 1) out.add(id);
    seen.add(id);
  }
  return out;
}

export type PartialKind = 'pseudo-label' | 'eval';

export const PARTIAL_FORMAT = 'pointbox-partial';

/** What one shard wrote. `result` is the kind's own payload (see inference/shardedRuns.ts). */
export interface PartialFile<R = unknown> {
  format: typeof PARTIAL_FORMAT;
  version: 1;
  kind: PartialKind;
  shard: Shard;
  /** The dataset the shard read: its file name and the sha256 of its bytes at the time. */
  dataset: { file: string; sha256: string };
  /** Everything that decides the result besides the dataset (model and its sha256, split, seeds, ...): equal in every shard. */
  options: Record<string, unknown>;
  /** The images this shard was given (whether or not they succeeded). */
  imageIds: number[];
  created: string;
  host: string;
  result: R;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Where a shard writes when `--partial` is not given: beside the dataset, named after it, the kind and the shard. */
export function defaultPartialPath(datasetFile: string, kind: PartialKind, shard: Shard): string {
  const stem = datasetFile.replace(/\.pointbox\.json$|\.json$/i, '');
  return `${stem}.${kind}.shard-${shard.index}-of-${shard.count}.json`;
}

export async function writePartial(file: string, p: PartialFile): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(p) + '\n');
}

export function readPartial(file: string): PartialFile {
  let p: PartialFile;
  try {
    p = JSON.parse(readFileSync(file, 'utf8')) as PartialFile;
  } catch (e) {
    throw new ShardError(`${file}: not a readable partial file (${(e as Error).message})`);
  }
  if (!p || p.format !== PARTIAL_FORMAT || p.version !== 1 || !p.shard || !Array.isArray(p.imageIds) || !p.dataset || typeof p.result !== 'object') {
    throw new ShardError(`${file}: not a PointBox partial file (written by pseudo-label/eval --shard i/n; format '${PARTIAL_FORMAT}' version 1)`);
  }
  return p;
}

const stable = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : x));

/**
 * Checks that `parts` are one complete set of shards of one run, made from `datasetFile` as it is now:
 * one kind, one shard count, every shard 1..n exactly once, the same options, the dataset's current sha256,
 * disjoint images, none cancelled, and together exactly `expectedImageIds` (the run's images, recomputed
 * from the dataset). Throws a ShardError naming the files otherwise.
 */
export function checkShardSet(parts: readonly { file: string; partial: PartialFile }[], datasetFile: string, datasetSha256: string, expectedImageIds?: readonly number[]): void {
  if (parts.length === 0) throw new ShardError('no partial files given');
  const name = (f: string) => f;
  const first = parts[0]!;
  for (const { file, partial } of parts) {
    if (partial.kind !== first.partial.kind) throw new ShardError(`${name(file)} is a ${partial.kind} partial but ${name(first.file)} is a ${first.partial.kind} partial: merge one kind at a time`);
    if (partial.shard.count !== first.partial.shard.count) throw new ShardError(`${name(file)} is shard ${shardLabel(partial.shard)} but ${name(first.file)} is shard ${shardLabel(first.partial.shard)}: all partials must come from one run with the same number of shards`);
    if (stable(partial.options) !== stable(first.partial.options)) {
      const keys = [...new Set([...Object.keys(partial.options), ...Object.keys(first.partial.options)])].filter((k) => stable(partial.options[k]) !== stable(first.partial.options[k]));
      throw new ShardError(`${name(file)} and ${name(first.file)} were made with different options (${keys.map((k) => `${k}: ${stable(partial.options[k])} vs ${stable(first.partial.options[k])}`).join('; ')}): they are not shards of one run`);
    }
    if (partial.dataset.sha256 !== datasetSha256) {
      throw new ShardError(`${name(file)} was made from a different version of ${basename(datasetFile)} (sha256 ${partial.dataset.sha256.slice(0, 12)}…, now ${datasetSha256.slice(0, 12)}…): the dataset changed after the shards ran (an edit, or a merge already done); run the shards again`);
    }
    if ((partial.result as { cancelled?: boolean }).cancelled) throw new ShardError(`${name(file)} (shard ${shardLabel(partial.shard)}) was cancelled before it finished: run that shard again`);
  }
  const n = first.partial.shard.count;
  const byIndex = new Map<number, string>();
  for (const { file, partial } of parts) {
    const other = byIndex.get(partial.shard.index);
    if (other !== undefined) {
      throw new ShardError(other === file ? `${name(file)} is given twice` : `overlapping shards: ${name(other)} and ${name(file)} are both shard ${shardLabel(partial.shard)}`);
    }
    byIndex.set(partial.shard.index, file);
  }
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length) {
    throw new ShardError(`missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')} of ${basename(datasetFile)} (given: ${parts.map((p) => `${name(p.file)} = ${shardLabel(p.partial.shard)}`).join(', ')})`);
  }
  const owner = new Map<number, string>();
  for (const { file, partial } of parts) {
    for (const id of partial.imageIds) {
      const o = owner.get(id);
      if (o !== undefined) throw new ShardError(`overlapping shards: image id=${id} is in both ${name(o)} and ${name(file)}`);
      owner.set(id, file);
    }
  }
  if (expectedImageIds) {
    const want = new Set(expectedImageIds);
    const absent = [...want].filter((id) => !owner.has(id));
    const extra = [...owner.keys()].filter((id) => !want.has(id));
    if (absent.length || extra.length) {
      throw new ShardError(`the partials do not cover the run's images: ${absent.length ? `missing image ids ${absent.slice(0, 10).join(', ')}${absent.length > 10 ? ', …' : ''}` : ''}${absent.length && extra.length ? '; ' : ''}${extra.length ? `images not in the run ${extra.slice(0, 10).join(', ')} (in ${owner.get(extra[0]!)})` : ''}`);
    }
  }
}
