/**
 * Weighted boxes fusion (Solovyev et al., "Weighted boxes fusion: ensembling boxes from different object
 * detection models", 2021), used here the way VinDr-CXR solutions use it: to fuse several radiologists'
 * boxes of one class on one image into consensus boxes. Each box joins the cluster whose current fused
 * box overlaps it most (IoU > threshold, same class); a cluster's box is the score-weighted mean of its
 * members' corners; its confidence is the mean score times min(members, readers) / readers, so a box only
 * one of three readers drew gets 1/3.
 */
export interface WbfInput { x1: number; y1: number; x2: number; y2: number; score: number; label: number; /** caller's id, returned in `members` */ ref: number }
export interface WbfOutput { x1: number; y1: number; x2: number; y2: number; score: number; label: number; members: number[] }

export function iou(a: { x1: number; y1: number; x2: number; y2: number }, b: { x1: number; y1: number; x2: number; y2: number }): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const u = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return u > 0 ? inter / u : 0;
}

export function weightedBoxesFusion(boxes: WbfInput[], opts: { iouThreshold?: number; readers: number }): WbfOutput[] {
  const thr = opts.iouThreshold ?? 0.5;
  const readers = Math.max(1, opts.readers);
  const out: WbfOutput[] = [];
  const labels = [...new Set(boxes.map((b) => b.label))].sort((a, b) => a - b);
  for (const label of labels) {
    // Stable sort by score, descending: equal scores (all 1 for human readers) keep the input order, so
    // the result is deterministic.
    const bs = boxes.filter((b) => b.label === label).map((b, i) => ({ b, i })).sort((p, q) => q.b.score - p.b.score || p.i - q.i).map((p) => p.b);
    const clusters: { fused: WbfOutput; sum: number; acc: [number, number, number, number] }[] = [];
    for (const b of bs) {
      let best = -1; let bestIou = thr;
      for (let k = 0; k < clusters.length; k++) {
        const v = iou(clusters[k]!.fused, b);
        if (v > bestIou) { bestIou = v; best = k; }
      }
      if (best < 0) {
        clusters.push({ fused: { x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2, score: b.score, label, members: [b.ref] }, sum: b.score, acc: [b.x1 * b.score, b.y1 * b.score, b.x2 * b.score, b.y2 * b.score] });
      } else {
        const c = clusters[best]!;
        c.sum += b.score;
        c.acc[0] += b.x1 * b.score; c.acc[1] += b.y1 * b.score; c.acc[2] += b.x2 * b.score; c.acc[3] += b.y2 * b.score;
        c.fused.members.push(b.ref);
        const w = c.sum || 1;
        c.fused.x1 = c.acc[0] / w; c.fused.y1 = c.acc[1] / w; c.fused.x2 = c.acc[2] / w; c.fused.y2 = c.acc[3] / w;
      }
    }
    for (const c of clusters) {
      const n = c.fused.members.length;
      c.fused.score = (c.sum / n) * Math.min(n, readers) / readers;
      out.push(c.fused);
    }
  }
  return out;
}
