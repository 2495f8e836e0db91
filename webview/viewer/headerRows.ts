/**
 * Rows of the viewer's DICOM header panel. Patient-identifying attributes (marked by the core's
 * headerSummary after PS3.15's confidentiality profile) are masked unless the user asks to see PHI, so a
 * screen share or a screenshot of the viewer does not leak them by default. No DOM: unit-tested in Node.
 */
import type { HeaderSummary } from '../../src/core/imaging/headerSummary';

export interface HeaderRow { tag: string; keyword: string; value: string; masked: boolean }

export const PHI_MASK = '(hidden: identifies the patient)';

export function headerRows(header: HeaderSummary | undefined, showPhi: boolean): HeaderRow[] {
  return (header ?? []).map((e) => ({
    tag: e.tag, keyword: e.keyword,
    value: e.identifying && !showPhi && e.value !== '' ? PHI_MASK : e.value,
    masked: e.identifying && !showPhi && e.value !== '',
  }));
}

/** How many identifying values are present (the toggle says how many it would reveal). */
export function phiCount(header: HeaderSummary | undefined): number {
  return (header ?? []).filter((e) => e.identifying && e.value !== '').length;
}
