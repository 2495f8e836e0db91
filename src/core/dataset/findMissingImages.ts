import { promises as fsp } from 'node:fs';
import type { DatasetFile } from './schema';
import { imageRootsOf, resolveImagePath } from './imagePaths';

/**
 * Ids of images whose files are not on disk, checked asynchronously in parallel batches so the extension
 * host stays responsive on 30k images (feed the result to DatasetTreeModel.setMissing). Abortable. Images
 * whose paths leave the dataset folder and image root are reported missing without touching the disk.
 */
export async function findMissingImages(d: DatasetFile, datasetDir: string, opts: { signal?: AbortSignal; concurrency?: number; imagesRoot?: string } = {}): Promise<number[]> {
  const roots = imageRootsOf(d, datasetDir, opts.imagesRoot);
  const missing: number[] = [];
  const n = Math.max(1, opts.concurrency ?? 64);
  let next = 0;
  const worker = async () => {
    while (next < d.images.length) {
      opts.signal?.throwIfAborted();
      const im = d.images[next++]!;
      const r = resolveImagePath(roots, im, { checkLinks: false });
      if (!r.ok) { missing.push(im.id); continue; }
      try { await fsp.access(r.path); } catch { missing.push(im.id); }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return missing.sort((a, b) => a - b);
}
