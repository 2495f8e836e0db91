import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { DatasetFile } from './schema';

/**
 * Ids of images whose files are not on disk, checked asynchronously in parallel batches so the extension
 * host stays responsive on 30k images (feed the result to DatasetTreeModel.setMissing). Abortable.
 */
export async function findMissingImages(d: DatasetFile, datasetDir: string, opts: { signal?: AbortSignal; concurrency?: number } = {}): Promise<number[]> {
  const missing: number[] = [];
  const n = Math.max(1, opts.concurrency ?? 64);
  let next = 0;
  const worker = async () => {
    while (next < d.images.length) {
      opts.signal?.throwIfAborted();
      const im = d.images[next++]!;
      try { await fsp.access(join(datasetDir, im.file_name)); } catch { missing.push(im.id); }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return missing.sort((a, b) => a - b);
}
