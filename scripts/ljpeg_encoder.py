"""A small JPEG lossless (process 14, one component) encoder and JPEG marker rewriting, for the imaging
conformance fixtures (scripts/fixtures-conformance.py). Its knobs make streams that the usual encoders
produce only by chance: a scan that ends exactly on a byte boundary (no fill bits before EOI, the case that
dropped the last pixel of a CT in issue 12), zero instead of one fill bits, a 0xFF fill byte before a marker,
and restart intervals. Every stream it writes is checked against pydicom+GDCM and dcmtk by the tests, so
it is not trusted by itself.
"""
import heapq
import numpy as np


def _category(d):
    return 16 if d == -32768 else (0 if d == 0 else abs(int(d)).bit_length())


def _huffman(categories):
    """Code lengths and canonical codes for the difference categories (one reserved code point, like IJG,
    so that no real code is all ones)."""
    freq = {c: 0 for c in range(17)}
    for c in categories:
        freq[c] += 1
    syms = [c for c in range(17) if freq[c] > 0] + [99]
    freq[99] = 1
    heap = [(freq[s], i, [s]) for i, s in enumerate(syms)]
    heapq.heapify(heap)
    length = {s: 0 for s in syms}
    n = len(heap)
    while len(heap) > 1:
        f1, _, a = heapq.heappop(heap)
        f2, _, b = heapq.heappop(heap)
        for s in a + b:
            length[s] += 1
        n += 1
        heapq.heappush(heap, (f1 + f2, n, a + b))
    longest = max(length.values())
    if longest > 16:
        raise ValueError('code longer than 16 bits')
    if length[99] < longest:  # the reserved point must take the last (all-ones) code: give it a longest length
        s = next(s for s in syms if length[s] == longest and s != 99)
        length[s], length[99] = length[99], longest
    order = sorted(syms, key=lambda s: (length[s], s == 99, s))
    codes, code, prev = {}, 0, 0
    for s in order:
        code <<= length[s] - prev
        prev = length[s]
        codes[s] = (code, length[s])
        code += 1
    order.remove(99)
    bits = [0] * 17
    for s in order:
        bits[length[s]] += 1
    return bits[1:], order, codes


class _Bits:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, v, n):
        for i in range(n - 1, -1, -1):
            self.acc = (self.acc << 1) | ((v >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)  # byte stuffing
                self.acc, self.n = 0, 0

    def flush(self, fill):
        pad = (8 - self.n) % 8
        if pad:
            self.put((1 << pad) - 1 if fill else 0, pad)
        return pad


def encode(img, precision=16, selection=1, restart=0, fill=1, extra_ff=False, pt=0):
    """img: 2-D array of stored values as unsigned integers (signed data as its 16-bit pattern).
    restart: samples per restart interval (a multiple of the width). Returns (codestream, fill bits at the end)."""
    h, w = img.shape
    if restart and restart % w:
        raise ValueError('restart interval must be whole rows')
    x = img.astype(np.int64) >> pt
    start_pred = 1 << (precision - pt - 1)
    diffs = []
    for r in range(h):
        for c in range(w):
            i = r * w + c
            s = (i // restart) * restart if restart else 0
            if i == s:
                pred = start_pred
            elif r == s // w:  # first line of the image or of a restart interval: Ra
                pred = x[r, c - 1]
            elif c == 0:
                pred = x[r - 1, c]
            else:
                ra, rb, rc = int(x[r, c - 1]), int(x[r - 1, c]), int(x[r - 1, c - 1])
                pred = {1: ra, 2: rb, 3: rc, 4: ra + rb - rc, 5: ra + ((rb - rc) >> 1), 6: rb + ((ra - rc) >> 1), 7: (ra + rb) >> 1}[selection]
            d = (int(x[r, c]) - int(pred)) % 65536
            diffs.append(d - 65536 if d >= 32768 else d)
    cats = [_category(d) for d in diffs]
    bits, order, codes = _huffman(cats)
    bw, body, rst = _Bits(), bytearray(), 0
    for i, d in enumerate(diffs):
        if restart and i and i % restart == 0:
            bw.flush(fill)
            body += bw.out + bytes([0xFF, 0xD0 + rst % 8])
            bw.out = bytearray()
            rst += 1
        cat = cats[i]
        code, n = codes[cat]
        bw.put(code, n)
        if 0 < cat < 16:
            bw.put(d if d >= 0 else d + (1 << cat) - 1, cat)
    pad = bw.flush(fill)
    body += bw.out
    ht = bytes([0x00]) + bytes(bits) + bytes(order)
    out = bytearray(b'\xff\xd8')
    out += b'\xff\xc4' + (2 + len(ht)).to_bytes(2, 'big') + ht
    if restart:
        out += b'\xff\xdd\x00\x04' + restart.to_bytes(2, 'big')
    out += b'\xff\xc3\x00\x0b' + bytes([precision]) + h.to_bytes(2, 'big') + w.to_bytes(2, 'big') + bytes([1, 1, 0x11, 0])
    out += b'\xff\xda\x00\x08' + bytes([1, 1, 0x00, selection, 0, pt])
    out += body
    if extra_ff:
        out += b'\xff'
    out += b'\xff\xd9'
    return bytes(out), pad


# ------------------------------------------------------------------------- colour JPEG marker rewriting

def _segments(fr):
    p, segs = 2, []
    while p < len(fr):
        if fr[p] != 0xFF:
            raise ValueError('marker expected')
        m, n = fr[p + 1], (fr[p + 2] << 8) | fr[p + 3]
        segs.append((m, p, p + 2 + n))
        if m == 0xDA:
            break
        p += 2 + n
    return segs


def _strip(fr):
    """JFIF APP0 and Adobe APP14 segments -> COM (same length): no decoder reads a colour hint from them."""
    b = bytearray(fr)
    for m, s, _ in _segments(fr):
        if (m == 0xE0 and fr[s + 4:s + 9] == b'JFIF\0') or (m == 0xEE and fr[s + 4:s + 9] == b'Adobe'):
            b[s + 1] = 0xFE
    return bytes(b)


JFIF = b'\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00'


def adobe(transform):
    return b'\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00' + bytes([transform])


def _set_ids(fr, ids):
    b, old = bytearray(fr), None
    for m, s, _ in _segments(fr):
        if m in (0xC0, 0xC1, 0xC2, 0xC3):
            n = fr[s + 9]
            old = [fr[s + 10 + 3 * i] for i in range(n)]
            for i in range(n):
                b[s + 10 + 3 * i] = ids[i]
        if m == 0xDA:
            for i in range(fr[s + 4]):
                b[s + 5 + 2 * i] = ids[old.index(fr[s + 5 + 2 * i])]
    return bytes(b)


def with_markers(fr, markers, ids):
    """The stream with only the given colour markers ('none', 'JFIF', 'Adobe0', 'Adobe1') and component ids."""
    fr = _strip(fr)
    seg = {'none': b'', 'JFIF': JFIF, 'Adobe0': adobe(0), 'Adobe1': adobe(1)}[markers]
    return _set_ids(fr[:2] + seg + fr[2:], ids)
