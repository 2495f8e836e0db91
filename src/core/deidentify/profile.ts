import { annexERow, type ActionCode, type AnnexERow } from './annexETable';

/** The options of PS3.15 Annex E that PointBox offers on top of the Basic Profile. */
export type DeidOption = 'retain-dates' | 'retain-device';

export interface DeidProfile {
  /** 'basic', 'basic+retain-dates', 'basic+retain-device' or 'basic+retain-dates+retain-device'. */
  name: string;
  retainDates: boolean;
  retainDevice: boolean;
}

export const PROFILE_NAMES = ['basic', 'basic+retain-dates', 'basic+retain-device', 'basic+retain-dates+retain-device'] as const;

/** Parses `--profile`: 'basic' plus any of '+retain-dates', '+retain-device' (in any order). */
export function parseProfile(text: string | undefined): DeidProfile {
  const parts = (text ?? 'basic').split('+').map((s) => s.trim().toLowerCase());
  if (parts[0] !== 'basic') throw new RangeError(`a de-identification profile starts with 'basic' (got '${text}'); one of ${PROFILE_NAMES.join(', ')}`);
  const opts = new Set(parts.slice(1));
  for (const o of opts) if (o !== 'retain-dates' && o !== 'retain-device') throw new RangeError(`unknown profile option '${o}': the options are retain-dates and retain-device`);
  const retainDates = opts.has('retain-dates');
  const retainDevice = opts.has('retain-device');
  return { name: ['basic', ...(retainDates ? ['retain-dates'] : []), ...(retainDevice ? ['retain-device'] : [])].join('+'), retainDates, retainDevice };
}

/** The table's code for `row` under `profile`: an option's entry replaces the Basic Profile's. */
export function rowAction(row: AnnexERow, profile: DeidProfile): ActionCode {
  if (profile.retainDevice && row.retainDevice) return row.retainDevice;
  if (profile.retainDates && row.retainDates) return row.retainDates;
  return row.basic;
}

/**
 * What PointBox does: X remove, Z zero length (a sequence: no items), D dummy value (a sequence: its items kept,
 * cleaned, every text, name and date inside replaced by dummies), K keep (a sequence: its items cleaned by the
 * same rules), U new UID, U* keep a sequence and replace the UIDs inside (cleaned like K).
 */
export type ResolvedAction = 'X' | 'Z' | 'D' | 'K' | 'U' | 'U*';

/**
 * A compound code ("X unless Z/D is needed to keep the IOD conformant") resolved without knowing the Type of
 * the attribute in every IOD: PointBox writes the weakest presence that is conformant in every IOD the standard
 * allows the code for, because a zero-length value or a fixed dummy carries nothing about the patient:
 * - X/Z -> Z (the attribute is Type 2 or 3 wherever it occurs; an empty value is valid for both);
 * - Z/D, X/D, X/Z/D -> D (it may be Type 1 somewhere; a dummy is valid for every Type);
 * - X/Z/U* -> U* (the sequence stays, its instance UIDs are replaced consistently).
 * Sequences are the exception. A dummy sequence would keep coded items (an institution's or a person's code), and
 * a Type 3 sequence may not be present with no items (dciodvfy: "Bad Sequence number of Items 0"), so X/Z, X/D
 * and X/Z/D remove a sequence (X) - the compound-coded sequences are Type 3 in the image IODs - except the
 * Acquisition Context Sequence, Type 2 in the Acquisition Context Module of DX, MG and IO, which is emptied (Z).
 * C (clean) appears in none of the columns PointBox uses; it is treated as D.
 */
export function resolveAction(code: ActionCode, isSequence: boolean, tag?: number): ResolvedAction {
  switch (code) {
    case 'X': case 'Z': case 'D': case 'K': case 'U': return code;
    case 'C': return 'D';
    case 'X/Z': return isSequence ? (tag !== undefined && TYPE2_SEQUENCES.has(tag >>> 0) ? 'Z' : 'X') : 'Z';
    case 'Z/D': return isSequence ? 'Z' : 'D';
    case 'X/D': case 'X/Z/D': return isSequence ? 'X' : 'D';
    case 'X/Z/U*': return isSequence ? 'U*' : 'U';
  }
}

/** Compound-coded sequences that are Type 2 in a common image IOD (PS3.3), so emptied rather than removed. */
const TYPE2_SEQUENCES = new Set([0x00400555 /* Acquisition Context Sequence */]);

/** The action for a standard attribute listed in Table E.1-1, or undefined when the table does not list it. */
export function tableAction(tag: number, profile: DeidProfile, isSequence: boolean): { row: AnnexERow; code: ActionCode; action: ResolvedAction } | undefined {
  const row = annexERow(tag);
  if (!row) return undefined;
  const code = rowAction(row, profile);
  return { row, code, action: resolveAction(code, isSequence, tag) };
}

/** PS3.16 CID 7050 "De-identification Method" codes (DCM) for the profile and its options. */
export function methodCodes(profile: DeidProfile): { value: string; meaning: string }[] {
  const codes = [{ value: '113100', meaning: 'Basic Application Confidentiality Profile' }];
  if (profile.retainDates) codes.push({ value: '113106', meaning: 'Retain Longitudinal Temporal Information Full Dates Option' });
  if (profile.retainDevice) codes.push({ value: '113109', meaning: 'Retain Device Identity Option' });
  return codes;
}
