/**
 * How far a model's confidence can be trusted: its score is a predicted IoU, so reviewers sort pending
 * pseudo-boxes by it. Compared here with the IoU each box actually reached: expected calibration error over
 * equal-width bins of the predicted IoU, the bins themselves (a reliability diagram), and Pearson / Spearman
 * correlation (does a higher score mean a better box, whatever the scale?).
 */

export interface CalibrationBin {
  /** [low, high) of predicted IoU (the last bin includes 1). */
  low: number;
  high: number;
  count: number;
  /** NaN when the bin is empty. */
  meanPredicted: number;
  meanActual: number;
}

export interface ScoreCalibration {
  n: number;
  /** sum over bins of n_b / N * |mean predicted - mean actual IoU|. */
  ece: number;
  bins: CalibrationBin[];
  /** NaN when either side is constant. */
  pearson: number;
  spearman: number;
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n < 2) return NaN;
  let mx = 0; let my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]!; my += y[i]!; }
  mx /= n; my /= n;
  let sxy = 0; let sxx = 0; let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx; const dy = y[i]! - my;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** 1-based ranks, ties sharing their average rank (so Spearman = Pearson of the ranks). */
export function averageRanks(v: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const r = new Float64Array(v.length);
  for (let k = 0; k < idx.length;) {
    let e = k;
    while (e + 1 < idx.length && v[idx[e + 1]!] === v[idx[k]!]) e++;
    const avg = (k + e) / 2 + 1;
    for (let j = k; j <= e; j++) r[idx[j]!] = avg;
    k = e + 1;
  }
  return r;
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(averageRanks(x), averageRanks(y));
}

/** Calibration of predicted IoU against actual IoU; scores are clamped to [0, 1] before binning. */
export function scoreCalibration(predicted: ArrayLike<number>, actual: ArrayLike<number>, binCount = 10): ScoreCalibration {
  const n = predicted.length;
  const bins: CalibrationBin[] = Array.from({ length: binCount }, (_, b) => ({ low: b / binCount, high: (b + 1) / binCount, count: 0, meanPredicted: 0, meanActual: 0 }));
  for (let i = 0; i < n; i++) {
    const s = Math.min(1, Math.max(0, predicted[i]!));
    const bin = bins[Math.min(binCount - 1, Math.floor(s * binCount))]!;
    bin.count++; bin.meanPredicted += s; bin.meanActual += actual[i]!;
  }
  let ece = 0;
  for (const b of bins) {
    if (b.count === 0) { b.meanPredicted = NaN; b.meanActual = NaN; continue; }
    b.meanPredicted /= b.count; b.meanActual /= b.count;
    ece += (b.count / n) * Math.abs(b.meanPredicted - b.meanActual);
  }
  return { n, ece: n ? ece : NaN, bins, pearson: pearson(predicted, actual), spearman: spearman(predicted, actual) };
}
