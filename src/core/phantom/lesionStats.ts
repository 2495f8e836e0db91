import rawStats from './lesionStats.json';

/** NIH ChestX-ray14's eight box classes; RSNA's opacity boxes are counted as Pneumonia. */
export const PHANTOM_CLASSES = ['Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltrate', 'Mass', 'Nodule', 'Pneumonia', 'Pneumothorax'] as const;
export type PhantomClass = (typeof PHANTOM_CLASSES)[number];

export interface ClassBoxStats {
  count: number;
  nih: number;
  rsna: number;
  median: { w: number; h: number; cx: number; cy: number };
  spearmanWH: number;
  fractionImageLeft: number;
  quantiles: { w: number[]; h: number[]; cx: number[]; cy: number[] };
}

export interface LesionStats {
  description: string;
  generatedBy: string;
  /** The real boxes' pixel grid (NIH and RSNA are both 1024x1024). */
  pixelGrid: number;
  quantileLevels: number[];
  sources: { name: string; rows: number; file: string; sha256: string; origin: string; citation: string }[];
  notes: string;
  classes: Record<PhantomClass, ClassBoxStats>;
}

/**
 * Real per-class box statistics, computed once by scripts/compute-lesion-stats.mjs from the NIH box list
 * and the RSNA labels and checked in as data (with checksums of the inputs) so the product needs no
 * dataset at run time.
 */
export const lesionStats: LesionStats = rawStats as LesionStats;

/** Inverse CDF through the stored quantile table (piecewise linear), u in [0, 1]. */
export function sampleQuantile(levels: readonly number[], values: readonly number[], u: number): number {
  const n = levels.length;
  if (u <= 0) return values[0]!;
  if (u >= 1) return values[n - 1]!;
  // Levels are evenly spaced (i / (n-1)), so the bracket is found by arithmetic, not search.
  const pos = u * (n - 1);
  const i = Math.min(n - 2, Math.floor(pos));
  const f = pos - i;
  return values[i]! + (values[i + 1]! - values[i]!) * f;
}
