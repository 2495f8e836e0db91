"""Dumps DICOM files as JSON with pydicom (an independent reader for the de-identification tests).

usage: python3 pydicom_dump.py FILE...   ->  {"FILE": {"ok": true, "meta": {...}, "ds": [...]} | {"ok": false, "error": "..."}}
Each element: {"tag": "GGGGEEEE", "vr": "..", "value": str | null, "len": n, "items": [[...], ...] (sequences)};
text values as pydicom reads them (multi-values joined with '\\'), binary values as hex (first 64 bytes);
Pixel Data as {"sha256": ...} of its raw bytes (encapsulated: the items as stored).
"""
import hashlib
import json
import sys
import warnings

import pydicom

warnings.simplefilter('ignore')
TEXT = {'AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT'}


def elements(ds):
    out = []
    for el in ds:
        d = {'tag': f'{el.tag:08X}', 'vr': el.VR}
        if el.VR == 'SQ':
            d['items'] = [elements(it) for it in el.value]
            d['value'] = None
            d['len'] = len(el.value)
        elif el.tag == 0x7FE00010:
            raw = el.value if isinstance(el.value, bytes) else b''
            d['value'] = None
            d['sha256'] = hashlib.sha256(raw).hexdigest()
            d['len'] = len(raw)
        elif el.VR in TEXT:
            v = el.value
            if v is None:
                s = ''
            elif isinstance(v, (list, pydicom.multival.MultiValue)):
                s = '\\'.join(str(x) for x in v)
            else:
                s = str(v)
            d['value'] = s
            d['len'] = len(s)
        else:
            v = el.value
            if isinstance(v, bytes):
                d['value'] = v[:64].hex()
                d['len'] = len(v)
            else:
                d['value'] = str(v)
                d['len'] = 0 if v is None else 1
        out.append(d)
    return out


def main():
    res = {}
    for f in sys.argv[1:]:
        try:
            ds = pydicom.dcmread(f, force=True)
            meta = {f'{el.tag:08X}': str(el.value) for el in getattr(ds, 'file_meta', []) if el.tag != 0x00020001}
            res[f] = {'ok': True, 'meta': meta, 'ts': str(getattr(ds, 'file_meta', {}).get('TransferSyntaxUID', '')), 'ds': elements(ds)}
        except Exception as e:  # noqa: BLE001 - report any failure to the test
            res[f] = {'ok': False, 'error': f'{type(e).__name__}: {e}'}
    json.dump(res, sys.stdout)


if __name__ == '__main__':
    main()
