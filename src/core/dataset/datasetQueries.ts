import type { Annotation, DatasetFile } from './schema';

/**
 * The annotations that count for an image (training, export, stats, tree): when an image has fused
 * consensus boxes (`reader: "consensus"`), those plus any reader-less annotations; otherwise all of them.
 * Readers' own boxes stay in the file (fusion is reversible) but are not used twice.
 */
/** The same rule for one image's annotations. */
export function effectiveAnnotations(anns: readonly Annotation[]): Annotation[] {
  return anns.some((a) => a.reader === 'consensus') ? anns.filter((a) => a.reader === 'consensus' || a.reader === undefined) : anns.slice();
}

export function effectiveAnnotationsByImage(d: DatasetFile): Map<number, Annotation[]> {
  const all = new Map<number, Annotation[]>();
  const fused = new Set<number>();
  for (const a of d.annotations) {
    let l = all.get(a.image_id);
    if (!l) all.set(a.image_id, l = []);
    l.push(a);
    if (a.reader === 'consensus') fused.add(a.image_id);
  }
  for (const id of fused) all.set(id, all.get(id)!.filter((a) => a.reader === 'consensus' || a.reader === undefined));
  return all;
}
