import { KEYWORDS, VR_ENTRIES, VR_MASKS } from './dicomVrDictionary.generated';

let vrs: Map<number, string> | undefined;
let masks: { mask: number; value: number; vr: string }[] | undefined;
let keywords: Map<number, string> | undefined;

function load(): void {
  vrs = new Map();
  const s = VR_ENTRIES.replace(/\s+/g, '');
  for (let i = 0; i + 10 <= s.length; i += 10) vrs.set(parseInt(s.slice(i, i + 8), 16) >>> 0, s.slice(i + 8, i + 10));
  masks = [];
  const m = VR_MASKS.replace(/\s+/g, '');
  for (let i = 0; i + 10 <= m.length; i += 10) {
    const t = m.slice(i, i + 8);
    masks.push({ mask: parseInt(t.replace(/[0-9A-F]/g, 'F').replace(/X/g, '0'), 16) >>> 0, value: parseInt(t.replace(/X/g, '0'), 16) >>> 0, vr: m.slice(i + 8, i + 10) });
  }
}

/**
 * The VR PS3.6 gives a standard element (from pydicom's dictionary, see dicomVrDictionary.generated.ts), or
 * undefined for unknown and private elements. Private creators ((gggg,0010-00ff), gggg odd) are LO and group
 * lengths UL, as PS3.5 defines them.
 */
export function dictionaryVr(tag: number): string | undefined {
  const t = tag >>> 0;
  const group = t >>> 16; const elem = t & 0xffff;
  if (elem === 0) return 'UL';
  if (group & 1) return elem >= 0x10 && elem <= 0xff ? 'LO' : undefined;
  if (!vrs) load();
  const v = vrs!.get(t);
  if (v) return v;
  for (const x of masks!) if (((t & x.mask) >>> 0) === x.value) return x.vr;
  return undefined;
}

/** The keyword of a PN, UI, DA, DT or TM element (for reports), else undefined. */
export function keywordOf(tag: number): string | undefined {
  if (!keywords) {
    keywords = new Map();
    for (const line of KEYWORDS.split('\n')) {
      const i = line.indexOf('=');
      if (i === 8) keywords.set(parseInt(line.slice(0, 8), 16) >>> 0, line.slice(9));
    }
  }
  return keywords.get(tag >>> 0);
}

/** "(gggg,eeee)" in upper-case hex, as the standard writes tags. */
export function tagString(tag: number): string {
  const t = tag >>> 0;
  return `(${(t >>> 16).toString(16).toUpperCase().padStart(4, '0')},${(t & 0xffff).toString(16).toUpperCase().padStart(4, '0')})`;
}
