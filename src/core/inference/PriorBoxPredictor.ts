/**
 * The "prior box" baseline: for each class the median box width and height of the training boxes, centred
 * on the point and clamped to the image. It needs no pixels, so it shows how much a model adds over knowing
 * only the class and where the click is; every evaluation reports it beside the model.
 */
import type { DatasetFile } from '../dataset/schema';
import { effectiveAnnotationsByImage } from '../dataset/datasetQueries';
import { clampXyxy, type XYXY } from '../../shared/geometry';
import { InferenceError } from './InferenceError';

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export class PriorBoxPredictor {
  readonly id = 'prior';
  readonly executionProvider = 'none';

  private constructor(
    /** category id -> [median width, median height] in pixels. */
    readonly sizes: Map<number, [number, number]>,
    readonly fallback: [number, number],
    readonly learnedFrom: number,
  ) {}

  /**
   * Learns from the boxes of train images labelled with boxes (falling back to every box in the dataset
   * when the train split has none, e.g. a dataset not yet split).
   */
  static fromDataset(d: DatasetFile): PriorBoxPredictor {
    const byImage = effectiveAnnotationsByImage(d);
    const collect = (pred: (split: string, level: string) => boolean) => {
      const per = new Map<number, { w: number[]; h: number[] }>();
      for (const img of d.images) {
        if (!pred(img.split, img.label_level)) continue;
        for (const a of byImage.get(img.id) ?? []) {
          if (!a.bbox || a.bbox[2] <= 0 || a.bbox[3] <= 0) continue;
          let e = per.get(a.category_id);
          if (!e) per.set(a.category_id, (e = { w: [], h: [] }));
          e.w.push(a.bbox[2]); e.h.push(a.bbox[3]);
        }
      }
      return per;
    };
    let per = collect((s, l) => s === 'train' && l === 'boxes');
    if (per.size === 0) per = collect(() => true);
    if (per.size === 0) throw new InferenceError('class-mismatch', 'prior-box baseline: the dataset has no boxes to learn box sizes from');
    const sizes = new Map<number, [number, number]>();
    const allW: number[] = [];
    const allH: number[] = [];
    let n = 0;
    for (const [c, e] of per) {
      sizes.set(c, [median(e.w), median(e.h)]);
      allW.push(...e.w); allH.push(...e.h); n += e.w.length;
    }
    return new PriorBoxPredictor(sizes, [median(allW), median(allH)], n);
  }

  /** Corner box in pixels for a click of a class on an image of the given size. */
  predict(categoryId: number, x: number, y: number, width: number, height: number): XYXY {
    const [w, h] = this.sizes.get(categoryId) ?? this.fallback;
    return clampXyxy([x - w / 2, y - h / 2, x + w / 2, y + h / 2], width, height);
  }
}
