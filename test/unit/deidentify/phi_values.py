"""Lists, per DICOM file, the values that de-identification must remove: read with pydicom (not PointBox's
reader), judged by Table E.1-1 as committed in src/core/deidentify/annexETable.ts and the README's rules.

usage: python3 phi_values.py TABLE.ts PROFILE FILE...  ->  {"FILE": ["value", ...]}
A value is listed when it belongs to an attribute the table lists with an action other than K under PROFILE,
a person name (PN), an instance UID (UI, not a class/syntax/scheme UID and not 1.2.840.10008.*), a date or time
(DA/DT/TM, unless retain-dates), a private attribute, or the file meta's Media Storage SOP Instance UID and
source AE titles; and when it is long enough to search for (5+ characters) and occurs in no attribute that stays.
"""
import json
import re
import sys
import warnings

import pydicom

warnings.simplefilter('ignore')
CLASS_UIDS = {0x00020002, 0x00020010, 0x00020012, 0x00080016, 0x0008001A, 0x0008001B, 0x00080062, 0x0008010C,
              0x00080117, 0x00080118, 0x00081150, 0x0008115A, 0x00083002, 0x00041510, 0x00041512, 0x0004151A}


def load_table(path, profile):
    text = open(path, encoding='utf8').read()
    body = text.split('const TABLE = `', 1)[1].split('`;', 1)[0]
    exact, masks = {}, []
    for line in body.strip().split('\n'):
        tag, basic, dev, dates, _name = line.split('\t')
        code = basic
        if 'retain-device' in profile and dev != '.':
            code = dev
        if 'retain-dates' in profile and dates != '.':
            code = dates
        if tag == 'private':
            continue
        if 'x' in tag:
            masks.append((re.compile('^' + tag.replace('x', '.') + '$'), code))
        else:
            exact[int(tag, 16)] = code
    return exact, masks


def strings(el):
    v = el.value
    if v is None:
        return []
    if isinstance(v, bytes):
        s = v.decode('latin1')
        return [x for x in re.findall(r'[\x20-\x7e]{5,}', s)]
    if isinstance(v, (list, pydicom.multival.MultiValue)):
        return [str(x) for x in v]
    return [str(v)]


def main():
    table, profile, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    exact, masks = load_table(table, profile)
    retain_dates = 'retain-dates' in profile
    res = {}
    for f in files:
        gone, kept = set(), set()
        try:
            ds = pydicom.dcmread(f, force=True)
        except Exception:  # noqa: BLE001 - unreadable files are not exported
            res[f] = []
            continue

        def walk(d):
            for el in d:
                t = int(el.tag)
                g = t >> 16
                code = exact.get(t) or next((c for m, c in masks if m.match(f'{t:08X}')), None)
                if el.VR == 'SQ':
                    for it in el.value:
                        walk(it)
                    continue
                if t == 0x7FE00010:
                    continue
                vals = [s.strip() for s in strings(el)]
                identifying = (g & 1) == 1 or (code is not None and code != 'K') or el.VR == 'PN' \
                    or (el.VR == 'UI' and t not in CLASS_UIDS) or (el.VR in ('DA', 'DT', 'TM') and not retain_dates and t not in (0x00080106, 0x00080107))
                for v in vals:
                    if el.VR == 'UI' and v.startswith('1.2.840.10008.'):
                        continue
                    (gone if identifying else kept).add(v)

        walk(ds)
        meta = getattr(ds, 'file_meta', None)
        if meta is not None:
            for t in (0x00020003, 0x00020016, 0x00020017, 0x00020018, 0x00020100):
                if t in meta and meta[t].value:
                    gone.add(str(meta[t].value).strip())
        res[f] = sorted(v for v in gone if len(v) >= 5 and not any(v in k for k in kept))
    json.dump(res, sys.stdout)


if __name__ == '__main__':
    main()
