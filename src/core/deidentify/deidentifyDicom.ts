/**
 * De-identifies one DICOM file following PS3.15 Annex E (Table E.1-1, Basic Application Level Confidentiality
 * Profile, optionally with the Retain Longitudinal Temporal Information with Full Dates and the Retain Device
 * Identity options), rewriting the file with the attributes removed or replaced and the Pixel Data copied byte
 * for byte.
 *
 * What is done, at every nesting level (inside sequences too):
 * - every attribute Table E.1-1 lists gets its action (profile.ts resolves the compound codes);
 * - private attributes (odd groups) are removed, unless a keep-list names them (creator + element);
 * - beyond the table (PointBox's additions, because the table cannot list what a modality invents): a person's
 *   name (VR PN) in an attribute the table does not list is emptied; a UID the table does not list is replaced
 *   like the table's U, unless it names a class, a transfer syntax or a coding scheme, or is a UID of the
 *   standard itself (1.2.840.10008.*); a date, time or date-time the table does not list is emptied (kept under
 *   retain-dates); group lengths, the command group and stray meta elements are dropped;
 * - Patient Identity Removed = YES, De-identification Method and its Code Sequence (CID 7050), Longitudinal
 *   Temporal Information Modified are written; the file meta is rebuilt (new Media Storage SOP Instance UID,
 *   PointBox's implementation UID, no source AE title or private meta).
 * Files whose pixels may show text (BurnedInAnnotation YES, Recognizable Visual Features YES, or neither attribute
 * NO for a modality or SOP class that usually carries burned-in text) are refused unless `includeBurnedIn`.
 */
import { createHash } from 'node:crypto';
import { POINTBOX_IMPLEMENTATION_UID, POINTBOX_IMPLEMENTATION_VERSION } from '../phantom/encodeDicomPart10';
import { dictionaryVr, tagString } from './dicomDictionary';
import { DicomStructureError, PIXEL_DATA, encodePart10, readDicomTree, textOf, textValue, type DicomEl } from './dicomDataSet';
import type { KeyedIds } from './keyedIds';
import { methodCodes, tableAction, type DeidProfile, type ResolvedAction } from './profile';

export interface PrivateKeepRule { group: number; creator: string; element: number }

/**
 * Parses a keep-list entry `GGGG,xxEE,CREATOR` (e.g. `0029,xx10,SIEMENS CSA HEADER`): the private element EE of
 * the block that CREATOR reserved in group GGGG.
 */
export function parsePrivateKeepRule(text: string): PrivateKeepRule {
  const m = /^\s*\(?\s*([0-9a-f]{4})\s*,\s*xx([0-9a-f]{2})\s*\)?\s*,\s*(.+?)\s*$/i.exec(text);
  if (!m) throw new RangeError(`a private keep-list entry is GGGG,xxEE,CREATOR (e.g. 0029,xx10,SIEMENS CSA HEADER), got '${text}'`);
  const group = parseInt(m[1]!, 16);
  if (!(group & 1)) throw new RangeError(`group ${m[1]} of '${text}' is not a private (odd) group`);
  return { group, element: parseInt(m[2]!, 16), creator: m[3]!.replace(/^"|"$/g, '') };
}

export type BurnedInStatus =
  | { risk: false; why: string }
  | { risk: true; why: string };

/** Modalities whose images often show text in the pixels (screens, photographs, documents, slide labels). */
const BURNED_IN_MODALITIES = new Set(['US', 'IVUS', 'ES', 'XC', 'GM', 'SM', 'OP', 'OT', 'SC', 'DOC', 'VL']);
/** SOP classes of the same kind: Secondary Capture (screen and film captures), ultrasound, VL photography, encapsulated documents. */
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const BURNED_IN_SOP_CLASSES = new Set([SECONDARY_CAPTURE, '1.2.840.10008.5.1.4.1.1.3.1']);
const BURNED_IN_SOP_PREFIXES = [SECONDARY_CAPTURE + '.', '1.2.840.10008.5.1.4.1.1.6.', '1.2.840.10008.5.1.4.1.1.77.1.', '1.2.840.10008.5.1.4.1.1.104.'];

/** Whether a data set's pixels may carry burned-in identifying text, and why. */
export function burnedInStatus(ds: readonly DicomEl[]): BurnedInStatus {
  const get = (tag: number) => textOf(ds.find((e) => e.tag === tag)?.value).toUpperCase();
  const burned = get(0x00280301);
  const faces = get(0x00280302);
  if (burned === 'YES') return { risk: true, why: 'Burned In Annotation is YES' };
  if (faces === 'YES') return { risk: true, why: 'Recognizable Visual Features is YES' };
  if (burned === 'NO') return { risk: false, why: 'Burned In Annotation is NO' };
  const modality = get(0x00080060);
  const sop = get(0x00080016);
  if (BURNED_IN_MODALITIES.has(modality)) return { risk: true, why: `no Burned In Annotation, and ${modality} images often carry burned-in text` };
  if (BURNED_IN_SOP_CLASSES.has(sop) || BURNED_IN_SOP_PREFIXES.some((p) => sop.startsWith(p))) {
    return { risk: true, why: `no Burned In Annotation, and SOP class ${sop} (secondary capture, ultrasound, photograph or document) often carries burned-in text` };
  }
  return { risk: false, why: burned ? `Burned In Annotation is ${burned}` : `no Burned In Annotation; ${modality || 'this modality'} images rarely carry burned-in text` };
}

/**
 * UIDs of classes, syntaxes, schemes and context groups, not of instances: kept (Annex E replaces the UIDs that
 * identify instances; these are the same in every hospital). Manufacturer's Device Class UID is the table's.
 */
const CLASS_UID_TAGS = new Set([
  0x00020002, 0x00020010, 0x00020012, 0x00020032, // meta: SOP class, transfer syntax, implementation class, RTV SOP class
  0x00041510, 0x00041512, 0x0004151a, // DICOMDIR: Referenced SOP Class / Transfer Syntax / Related General SOP Class UID in File
  0x00080016, 0x0008001a, 0x0008001b, 0x00080062, // SOP Class UID, Related General / Original Specialized SOP Class, SOP Classes in Study
  0x0008010c, 0x00080117, 0x00080118, // Coding Scheme UID, Context UID, Mapping Resource UID
  0x00081150, 0x0008115a, 0x00083002, // Referenced SOP Class UID, SOP Classes Supported, Available Transfer Syntax UID
  0x00340003, 0x04000010, 0x04000510, // Flow / MAC Calculation / Encrypted Content Transfer Syntax UID
  0x30100052, 0x30100053, // Pertinent SOP Classes in Study / Series
]);
const STANDARD_UID_ROOT = '1.2.840.10008.';

/** VRs replaced by a dummy inside a sequence whose action is D (dummy): every kind of free text, name or date. */
const DUMMY_VRS = new Set(['AE', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT', 'UR', 'DA', 'DT', 'TM']);
const DATE_VRS = new Set(['DA', 'DT', 'TM']);
/** Dates that version a coding scheme's context group, not an event in a patient's care: kept. */
const VERSION_DATE_TAGS = new Set([0x00080106, 0x00080107]);

/** The dummy PointBox writes for action D: fixed, so it carries nothing; valid for the VR. */
export function dummyValue(vr: string, old: Uint8Array | undefined): Uint8Array {
  switch (vr) {
    case 'DA': return textValue(vr, '19000101');
    case 'DT': return textValue(vr, '19000101000000');
    case 'TM': return textValue(vr, '000000');
    case 'DS': case 'IS': return textValue(vr, '0');
    case 'AS': return textValue(vr, '000Y');
    case 'AE': return textValue(vr, 'ANONYMOUS');
    case 'UR': return textValue(vr, 'urn:anonymized');
    case 'CS': case 'LO': case 'LT': case 'PN': case 'SH': case 'ST': case 'UC': case 'UT': return textValue(vr, 'ANONYMIZED');
    default: return new Uint8Array(Math.max(old?.length ?? 0, 0)); // binary: zeros of the same length
  }
}

/**
 * What happens to a standard (even-group) element under `profile`: the table's action when Table E.1-1 lists it,
 * else PointBox's rules (names, instance UIDs, dates; text inside a dummy sequence). `dummyAll`: the element is
 * inside a sequence whose action is D.
 */
export function standardAction(el: DicomEl, profile: DeidProfile, dummyAll = false): { action: ResolvedAction; rule: string; listed: boolean } {
  const isSeq = !!el.items;
  const vr = el.vr === 'UN' ? (dictionaryVr(el.tag) ?? (isSeq ? 'UN' : guessVr(el.value))) : el.vr;
  const t = tableAction(el.tag, profile, isSeq);
  if (t) return { action: t.action, rule: t.code, listed: true };
  if (vr === 'PN') return { action: 'Z', rule: 'person name not in Table E.1-1', listed: false };
  if (vr === 'UI' && !CLASS_UID_TAGS.has(el.tag)) return { action: 'U', rule: 'UID not in Table E.1-1', listed: false };
  if (DATE_VRS.has(vr) && !profile.retainDates && !VERSION_DATE_TAGS.has(el.tag)) return { action: dummyAll ? 'D' : 'Z', rule: 'date or time not in Table E.1-1', listed: false };
  if (dummyAll && DUMMY_VRS.has(vr)) return { action: 'D', rule: 'text inside a dummy (D) sequence', listed: false };
  return { action: 'K', rule: 'not in Table E.1-1', listed: false };
}

const UID_FORM = /^[0-2](\.(0|[1-9]\d*))+(\\[0-2](\.(0|[1-9]\d*))+)*$/;
const DATE_FORM = /^(1[89]|2\d)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/;

/**
 * The VR of an element neither the file (implicit VR, or UN) nor the dictionary knows - an attribute newer than
 * PS3.6 here, e.g. Acquisition UID: what its value looks like. A UID (digits and dots, at least two) or a date
 * (YYYYMMDD) is treated as one, so it is replaced or emptied like a listed one; anything else stays UN.
 */
export function guessVr(v: Uint8Array | undefined): string {
  const s = textOf(v);
  if (!s || s.length > 64 * 8 || !/^[\x20-\x7e]+$/.test(s)) return 'UN';
  if (UID_FORM.test(s) && (s.match(/\./g)?.length ?? 0) >= 2) return 'UI';
  if (DATE_FORM.test(s)) return 'DA';
  return 'UN';
}

export interface AppliedAction {
  /** Tag path, e.g. "(0010,0010)" or "(0008,1140)[0](0008,1155)". */
  path: string;
  action: ResolvedAction;
  /** Why: the table's code (e.g. 'X/Z/D'), or PointBox's own rule. */
  rule: string;
}

export interface DeidentifyDicomOptions {
  profile: DeidProfile;
  ids: KeyedIds;
  keepPrivate?: readonly PrivateKeepRule[];
  /** Rewrite files whose pixels may show text too (they are refused by default). */
  includeBurnedIn?: boolean;
  /** Keep the list of every action taken (tests, reports); off by default (it can be long). */
  recordActions?: boolean;
}

export type DeidentifyDicomResult =
  | {
    ok: true;
    bytes: Uint8Array;
    /** The new SOP Instance UID (also the Media Storage SOP Instance UID). */
    sopInstanceUid: string;
    transferSyntax: string;
    burnedIn: BurnedInStatus;
    /** SHA-256 of the Pixel Data value (native) or of its encapsulated items, identical in the output; undefined without Pixel Data. */
    pixelDataSha256?: string;
    /** How many elements got each action (table or PointBox's rules), private removals under 'private'. */
    counts: Record<string, number>;
    actions?: AppliedAction[];
    warnings: string[];
  }
  | { ok: false; reason: 'burned-in' | 'unreadable' | 'not-an-instance'; detail: string; burnedIn?: BurnedInStatus };

const REPLACED_TOP_LEVEL = new Set([0x00120062, 0x00120063, 0x00120064, 0x00280303]);

export function deidentifyDicom(bytes: Uint8Array, o: DeidentifyDicomOptions): DeidentifyDicomResult {
  let tree;
  try { tree = readDicomTree(bytes); } catch (e) {
    if (e instanceof DicomStructureError || e instanceof RangeError) return { ok: false, reason: 'unreadable', detail: e.message };
    throw e;
  }
  const top = tree.dataSet;
  const burnedIn = burnedInStatus(top);
  if (burnedIn.risk && !o.includeBurnedIn) return { ok: false, reason: 'burned-in', detail: burnedIn.why, burnedIn };
  const sopClass = textOf(top.find((e) => e.tag === 0x00080016)?.value) || textOf(tree.meta.find((e) => e.tag === 0x00020002)?.value);
  if (!sopClass) return { ok: false, reason: 'not-an-instance', detail: 'no SOP Class UID in the data set or the file meta' };

  const counts: Record<string, number> = {};
  const actions: AppliedAction[] | undefined = o.recordActions ? [] : undefined;
  const note = (path: string, action: ResolvedAction, rule: string) => {
    const k = rule === 'private' ? 'private' : action;
    counts[k] = (counts[k] ?? 0) + 1;
    actions?.push({ path, action, rule });
  };
  const keep = o.keepPrivate ?? [];
  const mapUids = (v: Uint8Array | undefined, onlyInstances: boolean) => textValue('UI', textOf(v).split('\\').map((u) => {
    const s = u.trim();
    if (!s || (onlyInstances && s.startsWith(STANDARD_UID_ROOT))) return s;
    return o.ids.uid(s);
  }).join('\\'));

  const clean = (els: readonly DicomEl[], path: string, dummyAll: boolean): DicomEl[] => {
    const creators = new Map<number, string>();
    for (const el of els) {
      const g = el.tag >>> 16; const e = el.tag & 0xffff;
      if (g & 1 && e >= 0x10 && e <= 0xff) creators.set(g * 256 + e, textOf(el.value));
    }
    const keptBlocks = new Set<number>();
    const out: DicomEl[] = [];
    for (const el of els) {
      const g = el.tag >>> 16; const e = el.tag & 0xffff;
      const p = path + tagString(el.tag);
      if (g === 0x0000 || g === 0x0002 || e === 0x0000) { note(p, 'X', 'group length, command or meta element in the data set'); continue; }
      if (g & 1) {
        if (e >= 0x10 && e <= 0xff) continue; // creators: kept below when an element of their block is kept
        const block = g * 256 + (e >>> 8);
        const creator = e >= 0x1000 ? creators.get(block) : undefined;
        if (creator !== undefined && keep.some((k) => k.group === g && k.element === (e & 0xff) && k.creator.trim().toUpperCase() === creator.trim().toUpperCase())) {
          keptBlocks.add(block);
          note(p, 'K', 'private keep-list');
          out.push(el.items ? { ...el, items: el.items.map((it, i) => clean(it, `${p}[${i}]`, dummyAll)) } : el);
        } else note(p, 'X', 'private');
        continue;
      }
      const isSeq = !!el.items;
      const vr = el.vr === 'UN' ? (dictionaryVr(el.tag) ?? 'UN') : el.vr;
      const { action, rule, listed } = standardAction(el, o.profile, dummyAll);
      // Record what the table says for every listed attribute; unlisted kept ones only when recording.
      if (action !== 'K' || listed || o.recordActions) note(p, action, rule);
      switch (action) {
        case 'X': break;
        case 'Z': out.push(isSeq ? { ...el, items: [] } : { ...el, value: new Uint8Array(0) }); break;
        case 'D':
          out.push(isSeq ? { ...el, items: el.items!.map((it, i) => clean(it, `${p}[${i}]`, true)) } : { ...el, vr: vr === 'UN' ? el.vr : vr, value: dummyValue(vr, el.value) });
          break;
        case 'U':
          if (isSeq) out.push({ ...el, items: el.items!.map((it, i) => clean(it, `${p}[${i}]`, dummyAll)) });
          else out.push({ ...el, vr: el.vr === 'UN' ? 'UI' : el.vr, value: mapUids(el.value, !listed) });
          break;
        case 'K': case 'U*':
          out.push(isSeq ? { ...el, items: el.items!.map((it, i) => clean(it, `${p}[${i}]`, dummyAll)) } : el);
          break;
      }
    }
    for (const el of els) {
      const g = el.tag >>> 16; const e = el.tag & 0xffff;
      if (g & 1 && e >= 0x10 && e <= 0xff && keptBlocks.has(g * 256 + e)) out.push(el);
    }
    return out.sort((a, b) => a.tag - b.tag);
  };

  const cleaned = clean(top.filter((e) => !REPLACED_TOP_LEVEL.has(e.tag)), '', false);
  const little = top[0]?.little ?? true;
  const text = (tag: number, vr: string, s: string): DicomEl => ({ tag, vr, value: textValue(vr, s), little });
  const codes = methodCodes(o.profile).map((c) => [
    text(0x00080100, 'SH', c.value), text(0x00080102, 'SH', 'DCM'), text(0x00080104, 'LO', c.meaning),
  ]);
  cleaned.push(
    text(0x00120062, 'CS', 'YES'),
    text(0x00120063, 'LO', `PointBox PS3.15 E.1-1 ${o.profile.name}`),
    { tag: 0x00120064, vr: 'SQ', items: codes, little },
    text(0x00280303, 'CS', o.profile.retainDates ? 'UNMODIFIED' : 'REMOVED'),
  );
  cleaned.sort((a, b) => a.tag - b.tag);

  const oldSop = textOf(top.find((e) => e.tag === 0x00080018)?.value) || textOf(tree.meta.find((e) => e.tag === 0x00020003)?.value);
  // The same keyed mapping the table's U gave (0008,0018), so meta and data set agree; a file without one gets
  // a UID derived from its content.
  const sopInstanceUid = o.ids.uid(oldSop || `pointbox-file-sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  if (!cleaned.some((e) => e.tag === 0x00080018)) {
    note('(0008,0018)', 'U', 'SOP Instance UID added (the file had none)');
    cleaned.push(text(0x00080018, 'UI', sopInstanceUid));
    cleaned.sort((a, b) => a.tag - b.tag);
  }

  const meta: DicomEl[] = [
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]), little: true },
    { tag: 0x00020002, vr: 'UI', value: textValue('UI', sopClass), little: true },
    { tag: 0x00020003, vr: 'UI', value: textValue('UI', sopInstanceUid), little: true },
    { tag: 0x00020010, vr: 'UI', value: textValue('UI', tree.transferSyntax), little: true },
    { tag: 0x00020012, vr: 'UI', value: textValue('UI', POINTBOX_IMPLEMENTATION_UID), little: true },
    { tag: 0x00020013, vr: 'SH', value: textValue('SH', POINTBOX_IMPLEMENTATION_VERSION), little: true },
  ];
  const px = top.find((e) => e.tag === PIXEL_DATA);
  const pxBytes = px?.encapsulated ?? px?.value;
  let out: Uint8Array;
  try { out = encodePart10(meta, cleaned, tree.transferSyntax); } catch (e) {
    if (e instanceof RangeError) return { ok: false, reason: 'unreadable', detail: `cannot be written back: ${e.message}` };
    throw e;
  }
  return {
    ok: true, bytes: out, sopInstanceUid, transferSyntax: tree.transferSyntax, burnedIn,
    ...(pxBytes ? { pixelDataSha256: createHash('sha256').update(pxBytes).digest('hex') } : {}),
    counts, ...(actions ? { actions } : {}), warnings: tree.warnings,
  };
}
