/**
 * How overlays look: a colour per category (stable by category id, distinct for NIH's eight classes) and
 * the pseudo-box review styles. Pure data so the drawing code stays a loop over records.
 */
import type { ViewerReview } from '../../src/shared/protocol';

const PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#dcbeff'];

export function categoryColour(categoryId: number): string {
  return PALETTE[((categoryId % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

export interface PseudoStyle { dash: number[]; alpha: number; mark: string; colour?: string }

/** Pending: the class colour, dashed, "?"; accepted: green; rejected: faint grey; edited: the corrected box, blue. */
export const PSEUDO_STYLES: Record<ViewerReview, PseudoStyle> = {
  pending: { dash: [6, 4], alpha: 1, mark: '?' },
  accepted: { dash: [6, 4], alpha: 1, mark: '✓', colour: '#22c55e' },
  rejected: { dash: [2, 4], alpha: 0.55, mark: '✗', colour: '#9ca3af' },
  edited: { dash: [6, 4], alpha: 1, mark: '✎', colour: '#60a5fa' },
};
