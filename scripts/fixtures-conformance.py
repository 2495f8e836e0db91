#!/usr/bin/python3
"""The imaging conformance matrix (issue 12): real pixels from ../shared/data, cut into small sources that
cover every bit depth, sign, photometric interpretation and shape PointBox claims, then encoded into every
transfer syntax it claims by several independent encoders:

  dcmtk       dcmconv (+ti/+te/+tb/+td), dcmcrle, dcmcjpeg (+e1, +el +sv 1..7, +pt, +eb, +ee, +fs, -ot),
              dcmcjpls (lossless / near-lossless, interleave modes, padding), img2dcm (wraps Pillow JPEGs)
  GDCM        gdcmconv --raw / --rle / --jpeg / --jpegls / --j2k / --lossy / --split
  CharLS      JPEG-LS through @cornerstonejs/codec-charls (scripts/codec-encode.mjs)
  OpenJPH     HTJ2K through @cornerstonejs/codec-openjph (scripts/codec-encode.mjs)
  OpenJPEG    opj_compress (libopenjp2-tools): reversible / irreversible, tiles, resolutions, progressions
  Pillow      baseline JPEG (grey, colour 4:4:4 / 4:2:2 / 4:2:0) and PNG (grey 8/16, RGB, RGBA, LA, palette)
  pointbox    this script's own JPEG lossless encoder (scripts/ljpeg_encoder.py): byte-aligned scan ends
              (the issue-12 last-pixel case), restart intervals, 0xFF fill before EOI, point transform
  markers     dcmtk's colour JPEG streams with their JFIF/Adobe markers and component ids rewritten: every
              combination of PhotometricInterpretation x markers x ids (how PI decides the colour transform)

Output: test/fixtures/imaging/generated/conformance/ (gitignored) with manifest.json: one entry per file
with the encoder that made it, the transfer syntax, the features it covers and what PointBox must do
(match a reference within `tolerance`, or refuse with an error `code` naming the file). The files are made
here from the shared data on demand (test/unit/imaging/conformance.test.ts), never committed.

usage: /usr/bin/python3 scripts/fixtures-conformance.py [--out DIR] [--shared DIR]
"""
import argparse, io, json, os, shutil, subprocess, sys
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_pixel_data_frame
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

# pydicom 2.3 predates HTJ2K: teach it the UID so it writes those files as encapsulated.
from pydicom._uid_dict import UID_dictionary  # noqa: E402
UID_dictionary.setdefault('1.2.840.10008.1.2.4.201', ('High-Throughput JPEG 2000 Image Compression (Lossless Only)', 'Transfer Syntax', '', '', 'HTJ2KLossless'))

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, here)
import ljpeg_encoder as lj  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--out', default=os.path.join(root, 'test', 'fixtures', 'imaging', 'generated', 'conformance'))
ap.add_argument('--shared', default=os.path.join(root, '..', 'shared', 'data'))
args = ap.parse_args()
shared = args.shared
if not os.path.isdir(shared):
    sys.exit(f'shared data {shared} not found')
out = args.out
shutil.rmtree(out, ignore_errors=True)
tmp = os.path.join(out, '.tmp')
os.makedirs(tmp)

TS = {
    'implicit': '1.2.840.10008.1.2', 'explicit': '1.2.840.10008.1.2.1', 'deflate': '1.2.840.10008.1.2.1.99',
    'big': '1.2.840.10008.1.2.2', 'rle': '1.2.840.10008.1.2.5', 'jpeg50': '1.2.840.10008.1.2.4.50',
    'jpeg51': '1.2.840.10008.1.2.4.51', 'jpeg57': '1.2.840.10008.1.2.4.57', 'jpeg70': '1.2.840.10008.1.2.4.70',
    'jls80': '1.2.840.10008.1.2.4.80', 'jls81': '1.2.840.10008.1.2.4.81', 'j2k90': '1.2.840.10008.1.2.4.90',
    'j2k91': '1.2.840.10008.1.2.4.91', 'htj2k201': '1.2.840.10008.1.2.4.201',
}
TS_NAME = {v: k for k, v in TS.items()}
# Lossy tolerances (max |PointBox - reference| per stored sample), per syntax; see the test for why.
LOSSY_TOL = {TS['jpeg50']: 1, TS['jpeg51']: 1, TS['jls81']: 0, TS['j2k91']: 1}

manifest = []
skipped = []  # encodings an encoder could not make (its own limits), with the reason: reported, not hidden


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f'{" ".join(cmd)} failed: {(r.stderr or r.stdout).strip()[-400:]}')
    return r.stdout


def p(name):
    return os.path.join(out, name)


# ---------------------------------------------------------------------------------------------- sources

class Source:
    """Pixels + the attributes that describe them; `ds()` writes them as explicit VR little endian."""

    def __init__(self, name, arr, bits, stored, signed, pi, planar=0, frames=1, rescale=None, from_file='', shape=''):
        self.name, self.arr, self.bits, self.stored, self.signed, self.pi = name, arr, bits, stored, signed, pi
        self.planar, self.frames, self.rescale, self.from_file, self.shape = planar, frames, rescale, from_file, shape
        a = arr if frames > 1 else arr[None]
        self.rows, self.cols = a.shape[1], a.shape[2]
        self.spp = a.shape[3] if a.ndim == 4 else 1

    def ds(self):
        d = Dataset()
        d.file_meta = FileMetaDataset()
        d.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        sop = '1.2.840.10008.5.1.4.1.1.7'
        d.file_meta.MediaStorageSOPClassUID = sop
        d.SOPClassUID = sop
        d.SOPInstanceUID = d.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[self.name])
        d.StudyInstanceUID = generate_uid(entropy_srcs=[self.name, 'study'])
        d.SeriesInstanceUID = generate_uid(entropy_srcs=[self.name, 'series'])
        d.Modality = 'OT'
        d.PatientName = 'Conformance^Matrix'
        d.PatientID = 'PB-CONF'
        d.Rows, d.Columns, d.SamplesPerPixel = self.rows, self.cols, self.spp
        d.PhotometricInterpretation = self.pi
        d.BitsAllocated, d.BitsStored, d.HighBit = self.bits, self.stored, self.stored - 1
        d.PixelRepresentation = 1 if self.signed else 0
        if self.spp > 1:
            d.PlanarConfiguration = self.planar
        if self.frames > 1:
            d.NumberOfFrames = self.frames
        if self.rescale:
            d.RescaleSlope, d.RescaleIntercept = self.rescale
            d.RescaleType = 'HU'
        a = self.arr
        if self.spp > 1 and self.planar == 1:
            a = np.moveaxis(a, -1, -3)  # (frames,) rows, cols, 3 -> (frames,) 3, rows, cols
        dt = {8: 'i1' if self.signed else 'u1', 16: '<i2' if self.signed else '<u2'}[self.bits]
        d.PixelData = np.ascontiguousarray(a).astype(dt).tobytes()
        d['PixelData'].VR = 'OB' if self.bits == 8 else 'OW'
        d.is_little_endian, d.is_implicit_VR = True, False
        return d

    def write(self, name=None):
        f = name or f'src_{self.name}.dcm'
        self.ds().save_as(p(f), write_like_original=False)
        return f

    def features(self):
        return {'base': getattr(self, 'file', None), 'bits': self.stored, 'bitsAllocated': self.bits, 'signed': self.signed, 'photometric': self.pi,
                'planar': self.planar if self.spp > 1 else None, 'frames': self.frames, 'width': self.cols,
                'height': self.rows, 'samplesPerPixel': self.spp, 'shape': self.shape, 'source': self.from_file}


def read_dcm(path):
    d = pydicom.dcmread(path, force=True)
    if 'TransferSyntaxUID' not in d.file_meta:
        d.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    return d


def raw_of(rel, tool=('gdcmconv', '--raw')):
    """The pixels of a shared file, decompressed by GDCM (exactly what the file holds)."""
    dst = os.path.join(tmp, os.path.basename(rel) + '.raw.dcm')
    run(*tool, os.path.join(shared, rel), dst)
    return read_dcm(dst).pixel_array


rg1 = raw_of('dicom-cxr/RG1_J2KI.dcm').astype(np.uint16) & 0x7FFF  # 15 bits stored, MONOCHROME1
ct = raw_of('dicom-corpus/dicomParser/CT1_UNC.explicit_big_endian.dcm').astype(np.int16)  # -2000 padding, intercept -1024
mono1 = raw_of('dicom-cxr/CR-MONO1-10-chest').astype(np.uint16)  # 10 bits, MONOCHROME1
from PIL import Image  # noqa: E402
nih = np.asarray(Image.open(os.path.join(shared, 'cxr-png', 'images', '00022178_000.png')).convert('L'))
us = raw_of('dicom-corpus/dicomParser/IM00001.fragmented_no_bot_jpeg_baseline.50.dcm', ('dcmdjpeg',))  # real colour ultrasound, RGB

S = {}
def add_source(s):
    S[s.name] = s
    s.file = s.write()
    return s

R = 'dicom-cxr/RG1_J2KI.dcm'; C = 'dicom-corpus/dicomParser/CT1_UNC.explicit_big_endian.dcm'; M = 'dicom-cxr/CR-MONO1-10-chest'
N = 'cxr-png/images/00022178_000.png'; U = 'dicom-corpus/dicomParser/IM00001.fragmented_no_bot_jpeg_baseline.50.dcm'
add_source(Source('cr15u_m1', rg1[700:857, 600:803], 16, 15, False, 'MONOCHROME1', from_file=R, shape='odd 203x157'))
add_source(Source('cr16u', (rg1[900:1029, 700:861].astype(np.uint32) * 2 + 1).astype(np.uint16), 16, 16, False, 'MONOCHROME2', from_file=R, shape='161x129'))
add_source(Source('cr12u', rg1[300:401, 900:1067] >> 3, 16, 12, False, 'MONOCHROME2', from_file=R, shape='odd 167x101'))
add_source(Source('cxr8u', nih[300:421, 200:353], 8, 8, False, 'MONOCHROME2', from_file=N, shape='odd 153x121'))
add_source(Source('ct16s', ct[381:512, 350:512], 16, 16, True, 'MONOCHROME2', rescale=(1, -1024), from_file=C, shape='162x131, ends in -2000 padding'))
add_source(Source('ct12s', np.clip(ct[100:229, 150:301], -2048, 2047), 16, 12, True, 'MONOCHROME2', rescale=(1, -1024), from_file=C, shape='odd 151x129'))
add_source(Source('cr10u_m1', mono1[100:221, 120:283], 16, 10, False, 'MONOCHROME1', from_file=M, shape='odd 163x121'))
add_source(Source('cxr8s', (nih[500:591, 500:641].astype(np.int16) - 128).astype(np.int8), 8, 8, True, 'MONOCHROME2', from_file=N, shape='odd 141x91'))
add_source(Source('us_rgb', us[0][60:181, 80:253], 8, 8, False, 'RGB', from_file=U, shape='odd 173x121'))
add_source(Source('us_rgb_planar', us[1][60:181, 80:253], 8, 8, False, 'RGB', planar=1, from_file=U, shape='odd 173x121'))
ybr = pydicom.pixel_data_handlers.util.convert_color_space(us[2][40:161, 60:232], 'RGB', 'YBR_FULL')
add_source(Source('us_ybr_full', ybr, 8, 8, False, 'YBR_FULL', from_file=U, shape='172x121'))
add_source(Source('mf_cr12u', np.stack([rg1[r:r + 61, c:c + 97] >> 3 for r, c in ((200, 300), (800, 900), (1400, 1200))]), 16, 12, False, 'MONOCHROME2', frames=3, from_file=R, shape='3 frames of 97x61'))
add_source(Source('mf_rgb', np.stack([us[i][50:131, 70:189] for i in (3, 4)]), 8, 8, False, 'RGB', frames=2, from_file=U, shape='2 frames of 119x81'))
add_source(Source('row_ct16s', ct[500:501, 30:361], 16, 16, True, 'MONOCHROME2', rescale=(1, -1024), from_file=C, shape='one row, 331x1'))
add_source(Source('col_cxr8u', nih[100:327, 512:513], 8, 8, False, 'MONOCHROME2', from_file=N, shape='one column, 1x227'))
add_source(Source('tiny_cr16u', rg1[1000:1005, 1000:1003], 16, 15, False, 'MONOCHROME1', from_file=R, shape='3x5'))
# Native YBR_FULL_422 (Y1 Y2 Cb Cr per pixel pair; PS3.3 C.7.6.3.1.2): written here, pixels from us_ybr_full.
y422 = np.empty((ybr.shape[0], ybr.shape[1] // 2, 4), dtype=np.uint8)
y422[..., 0], y422[..., 1] = ybr[:, 0::2, 0], ybr[:, 1::2, 0]
y422[..., 2], y422[..., 3] = ybr[:, 0::2, 1], ybr[:, 0::2, 2]
d422 = S['us_ybr_full'].ds()
d422.PhotometricInterpretation = 'YBR_FULL_422'
d422.PixelData = y422.tobytes()
d422.save_as(p('src_us_ybr_full_422.dcm'), write_like_original=False)

GREY = ['cr15u_m1', 'cr16u', 'cr12u', 'cxr8u', 'ct16s', 'ct12s', 'cr10u_m1', 'cxr8s', 'mf_cr12u', 'row_ct16s', 'col_cxr8u', 'tiny_cr16u']
COLOUR = ['us_rgb', 'us_rgb_planar', 'us_ybr_full', 'mf_rgb']


def add(name, ts, encoder, src, lossless=True, expect='match', tol=None, note='', **extra):
    f = dict(S[src].features()) if isinstance(src, str) and src in S else dict(src)
    f.update(extra)
    if tol is None:
        tol = 0 if lossless else LOSSY_TOL.get(ts, 1)
    got = str(pydicom.dcmread(p(name), stop_before_pixels=True, force=True).file_meta.get('TransferSyntaxUID', ts)) if name.endswith('.dcm') else ts
    if name.endswith('.dcm') and got != ts:
        raise SystemExit(f'{name}: expected {ts}, {encoder} wrote {got}')
    manifest.append({'file': name, 'transferSyntaxUID': ts, 'syntax': TS_NAME.get(ts, ts), 'encoder': encoder,
                     'lossless': lossless, 'tolerance': tol, 'expect': expect, 'note': note, **f})


def tool(src, ts, encoder_name, cmd, suffix, lossless=True, **kw):
    s = S[src]
    name = f'{src}.{suffix}.dcm'
    r = subprocess.run([*cmd, p(s.file), p(name)], capture_output=True, text=True)
    if r.returncode != 0:
        msg = (r.stderr or r.stdout).strip().splitlines()
        skipped.append({'file': name, 'encoder': encoder_name, 'reason': (msg[-1] if msg else f'exit {r.returncode}')[-300:]})
        return None
    add(name, ts, encoder_name, src, lossless, **kw)
    return name


def encap(src, ts, encoder_name, frames, suffix, lossless=True, has_bot=True, fragments_per_frame=1, ds=None, **kw):
    """A DICOM around codestreams made outside DICOM tools (CharLS, OpenJPH, OpenJPEG, Pillow, ours)."""
    d = ds or S[src].ds()
    d.file_meta.TransferSyntaxUID = ts
    d.PixelData = encapsulate(frames, fragments_per_frame=fragments_per_frame, has_bot=has_bot)
    d['PixelData'].VR = 'OB'
    d['PixelData'].is_undefined_length = True
    if not lossless:
        d.LossyImageCompression = '01'
    name = f'{src}.{suffix}.dcm'
    d.save_as(p(name), write_like_original=False)
    add(name, ts, encoder_name, src, lossless, **kw)
    return name


def frames_of(s):
    a = s.arr if s.frames > 1 else s.arr[None]
    return [a[i] for i in range(a.shape[0])]


def sample_bytes(s, frame):
    dt = {8: 'i1' if s.signed else 'u1', 16: '<i2' if s.signed else '<u2'}[s.bits]
    return np.ascontiguousarray(frame).astype(dt).tobytes()


def codec_encode(codec, s, frame, *opts):
    src, dst = os.path.join(tmp, 'in.raw'), os.path.join(tmp, 'out.bin')
    if s.spp > 1 and 'interleave=0' in opts:
        frame = np.moveaxis(frame, -1, 0)  # CharLS takes interleave mode "none" input plane by plane
    with open(src, 'wb') as f:
        f.write(sample_bytes(s, frame))
    run('node', os.path.join(here, 'codec-encode.mjs'), codec, src, dst, str(s.cols), str(s.rows), str(s.stored), str(s.spp), '1' if s.signed else '0', *opts)
    return open(dst, 'rb').read()


def opj_encode(s, frame, *opts):
    dst = os.path.join(tmp, 'out.j2k')
    if min(s.rows, s.cols) < 32 and '-n' not in opts:
        opts = ('-n', '1', *opts)  # the default 6 resolution levels need at least 32 pixels each way
    if s.spp == 1 and not s.signed:
        # PGX for unsigned grey: opj's raw reader rejects some shapes (15 bits at an odd width). Its PGX
        # reader lowers the precision to what the largest value needs, which keeps unsigned data exact but
        # would cut negative values, hence raw input for signed data.
        src = os.path.join(tmp, 'in.pgx')
        with open(src, 'wb') as f:
            f.write(f'PG ML + {s.stored} {s.cols} {s.rows}\n'.encode())
            f.write(np.ascontiguousarray(frame).astype('>u2' if s.stored > 8 else 'u1').tobytes())
        run('opj_compress', '-i', src, '-o', dst, *opts)
    else:
        src = os.path.join(tmp, 'in.rawl')
        planes = [frame] if s.spp == 1 else [frame[..., c] for c in range(s.spp)]
        dt = ('<i2' if s.signed else '<u2') if s.stored > 8 else ('i1' if s.signed else 'u1')
        with open(src, 'wb') as f:  # raw input: component planes, little-endian (.rawl)
            for c in planes:
                f.write(np.ascontiguousarray(c).astype(dt).tobytes())
        run('opj_compress', '-i', src, '-o', dst, '-F', f'{s.cols},{s.rows},{s.spp},{s.stored},{"s" if s.signed else "u"}', *opts)
    return open(dst, 'rb').read()


# ------------------------------------------------------------------------------------- native + deflate

for src in GREY + COLOUR:
    add(S[src].file, TS['explicit'], 'pydicom', src)
    tool(src, TS['implicit'], 'dcmtk dcmconv +ti', ['dcmconv', '+ti'], 'implicit')
    tool(src, TS['big'], 'dcmtk dcmconv +tb', ['dcmconv', '+tb'], 'bigendian')
    tool(src, TS['deflate'], 'dcmtk dcmconv +td', ['dcmconv', '+td'], 'deflate')
    tool(src, TS['explicit'], 'GDCM gdcmconv --raw', ['gdcmconv', '--raw'], 'gdcmraw')
shutil.copyfile(p('src_us_ybr_full_422.dcm'), p('us_ybr_full_422.explicit.dcm'))
add('us_ybr_full_422.explicit.dcm', TS['explicit'], 'pydicom', S['us_ybr_full'].features(), lossless=True, photometric='YBR_FULL_422', base=None)
run('dcmconv', '+ti', p('src_us_ybr_full_422.dcm'), p('us_ybr_full_422.implicit.dcm'))
add('us_ybr_full_422.implicit.dcm', TS['implicit'], 'dcmtk dcmconv +ti', S['us_ybr_full'].features(), photometric='YBR_FULL_422', base='us_ybr_full_422.explicit.dcm')

# ------------------------------------------------------------------------------------------------- RLE

for src in GREY + COLOUR:
    tool(src, TS['rle'], 'dcmtk dcmcrle', ['dcmcrle'], 'dcmcrle')
    tool(src, TS['rle'], 'GDCM gdcmconv --rle', ['gdcmconv', '--rle'], 'gdcmrle')

# ----------------------------------------------------------------------------------------- JPEG lossless

for src in GREY + ['us_rgb', 'mf_rgb']:
    tool(src, TS['jpeg70'], 'dcmtk dcmcjpeg +e1', ['dcmcjpeg', '+e1'], 'dcmcjpeg_e1')
    tool(src, TS['jpeg70'], 'GDCM gdcmconv --jpeg', ['gdcmconv', '--jpeg'], 'gdcmjpeg')
for src in ['ct16s', 'cr12u', 'cxr8u']:
    for sv in range(1, 8):
        tool(src, TS['jpeg57'], f'dcmtk dcmcjpeg +el +sv {sv}', ['dcmcjpeg', '+el', '+sv', str(sv)], f'dcmcjpeg_sv{sv}')
tool('cr12u', TS['jpeg57'], 'dcmtk dcmcjpeg +el +sv 1 +pt 2', ['dcmcjpeg', '+el', '+sv', '1', '+pt', '2'], 'dcmcjpeg_pt2', lossless=False, tol=0,
     note='point transform 2: the encoder drops the low 2 bits (lossy), decoders must shift back; decoding is exact')
# Fragments: several per frame (+fs 1 = at most 1 KiB each), with and without a basic offset table.
for src in ['mf_cr12u', 'ct16s']:
    tool(src, TS['jpeg70'], 'dcmtk dcmcjpeg +e1 +fs 1 +ot', ['dcmcjpeg', '+e1', '+fs', '1', '+ot'], 'dcmcjpeg_frag_bot', fragments='many', offsetTable=True)
    tool(src, TS['jpeg70'], 'dcmtk dcmcjpeg +e1 +fs 1 -ot', ['dcmcjpeg', '+e1', '+fs', '1', '-ot'], 'dcmcjpeg_frag_nobot', fragments='many', offsetTable=False)
# gdcmconv --split cuts an already encapsulated frame into fragments of at most N bytes.
run('gdcmconv', '--split', '2048', p('cr16u.gdcmjpeg.dcm'), p('cr16u.gdcmjpeg_split.dcm'))
add('cr16u.gdcmjpeg_split.dcm', TS['jpeg70'], 'GDCM gdcmconv --jpeg, then --split 2048', 'cr16u', fragments='many')

# Our own SV1 encoder: byte-aligned scan ends (no fill bits before EOI: the issue-12 case, a CT whose last
# pixel is -2000), with an extra 0xFF fill byte, zero fill bits, restart intervals whose ends are aligned.
ct_full = Source('ct_full', ct, 16, 16, True, 'MONOCHROME2', rescale=(1, -1024), from_file=C, shape='512x512, ends in -2000 padding')
S['ct_full'] = ct_full
found = {}
for k in range(64):
    a = ct.copy()
    a[-1, -3] = -2000 + (1 << (k % 13))
    a[-1, -6] = -2000 + (1 << (k // 13 + 2))
    cs, pad = lj.encode(a.astype(np.int64) & 0xFFFF, precision=16)
    if pad not in found:
        found[pad] = a
    if 0 in found and 3 in found:
        break
for pad in (0, 3):
    a = found[pad]
    variant = Source(f'ct_lastpixel_pad{pad}', a, 16, 16, True, 'MONOCHROME2', rescale=(1, -1024), from_file=C, shape='512x512, last pixel -2000')
    S[variant.name] = variant
    variant.file = variant.write()
    cs, got = lj.encode(a.astype(np.int64) & 0xFFFF, precision=16)
    assert got == pad
    encap(variant.name, TS['jpeg70'], 'pointbox ljpeg_encoder (SV1)', [cs], 'ljpeg', note=f'{pad} fill bits before EOI' + (' (scan ends on a byte boundary: the issue-12 last-pixel case)' if pad == 0 else ''))
    if pad == 0:
        cs_ff, _ = lj.encode(a.astype(np.int64) & 0xFFFF, precision=16, extra_ff=True)
        encap(variant.name, TS['jpeg70'], 'pointbox ljpeg_encoder (SV1, 0xFF fill byte before EOI)', [cs_ff], 'ljpeg_ff', note='byte-aligned end, then a 0xFF fill byte before EOI')
        cs_z, _ = lj.encode(a.astype(np.int64) & 0xFFFF, precision=16, fill=0)
        encap(variant.name, TS['jpeg70'], 'pointbox ljpeg_encoder (SV1, zero fill bits)', [cs_z], 'ljpeg_zerofill')
for src, restart in [('ct16s', 162), ('cr12u', 167 * 3), ('cxr8u', 153 * 2)]:
    s = S[src]
    cs, _ = lj.encode(s.arr.astype(np.int64) & 0xFFFF if s.bits == 16 else s.arr.astype(np.int64), precision=s.stored if s.stored > 8 else 8, restart=restart)
    encap(src, TS['jpeg70'], f'pointbox ljpeg_encoder (SV1, restart interval {restart})', [cs], f'ljpeg_ri{restart}', note='restart markers between intervals')

# -------------------------------------------------------------------------------------------- JPEG-LS

for src in GREY + COLOUR:
    tool(src, TS['jls80'], 'dcmtk dcmcjpls', ['dcmcjpls'], 'dcmcjpls')
    tool(src, TS['jls80'], 'GDCM gdcmconv --jpegls', ['gdcmconv', '--jpegls'], 'gdcmjpegls')
for src in ['cr12u', 'cxr8u', 'ct16s', 'us_rgb']:
    tool(src, TS['jls81'], 'dcmtk dcmcjpls +en +md 3', ['dcmcjpls', '+en', '+md', '3'], 'dcmcjpls_near3', lossless=False)
    tool(src, TS['jls81'], 'GDCM gdcmconv --jpegls --lossy -e 2', ['gdcmconv', '--jpegls', '--lossy', '-e', '2'], 'gdcmjpegls_near2', lossless=False)
tool('us_rgb', TS['jls80'], 'dcmtk dcmcjpls +is', ['dcmcjpls', '+is'], 'dcmcjpls_sample_interleaved')
tool('us_rgb', TS['jls80'], 'dcmtk dcmcjpls +in', ['dcmcjpls', '+in'], 'dcmcjpls_not_interleaved')
tool('cxr8u', TS['jls80'], 'dcmtk dcmcjpls +pz', ['dcmcjpls', '+pz'], 'dcmcjpls_zeropad', note='odd-length stream padded with a zero byte (non-standard)')
tool('mf_cr12u', TS['jls80'], 'dcmtk dcmcjpls +fs 1 -ot', ['dcmcjpls', '+fs', '1', '-ot'], 'dcmcjpls_frag_nobot', fragments='many', offsetTable=False)
for src in ['cr15u_m1', 'cxr8u', 'ct16s', 'row_ct16s', 'col_cxr8u', 'us_rgb', 'mf_cr12u']:
    s = S[src]
    if s.signed:
        continue  # CharLS's encoder has no signed input: JPEG-LS stores the bit pattern (dcmtk/GDCM above cover it)
    modes = ['0', '1', '2'] if s.spp == 3 else ['0']
    for m in modes:
        frames = [codec_encode('jpegls', s, f, f'interleave={m}') for f in frames_of(s)]
        encap(src, TS['jls80'], f'CharLS (codec-charls) interleave {m}', frames, f'charls_il{m}')
    frames = [codec_encode('jpegls', s, f, 'near=2') for f in frames_of(s)]
    encap(src, TS['jls81'], 'CharLS (codec-charls) near 2', frames, 'charls_near2', lossless=False)

# ------------------------------------------------------------------------------------------- JPEG 2000

for src in GREY + COLOUR:
    tool(src, TS['j2k90'], 'GDCM gdcmconv --j2k', ['gdcmconv', '--j2k'], 'gdcmj2k')
for src in ['cr15u_m1', 'ct16s', 'cxr8u', 'us_rgb']:
    tool(src, TS['j2k91'], 'GDCM gdcmconv --j2k --lossy -q 40', ['gdcmconv', '--j2k', '--lossy', '-q', '40'], 'gdcmj2k_lossy', lossless=False)
OPJ = [('', []), ('_n1', ['-n', '1']), ('_t64', ['-t', '64,64']), ('_rpcl', ['-p', 'RPCL', '-b', '16,16']), ('_sop', ['-SOP', '-EPH', '-TLM'])]
for src in ['cr15u_m1', 'cr16u', 'ct16s', 'ct12s', 'cxr8u', 'cxr8s', 'row_ct16s', 'col_cxr8u', 'tiny_cr16u', 'us_rgb', 'mf_cr12u', 'mf_rgb']:
    s = S[src]
    variants = [(TS['j2k90'], suffix, opts) for suffix, opts in (OPJ if src in ('ct16s', 'cxr8u', 'cxr8s', 'us_rgb') else OPJ[:1])]
    if src in ('ct16s', 'cxr8s', 'us_rgb', 'cr15u_m1'):
        variants.append((TS['j2k91'], '_lossy', ['-I', '-r', '12']))
    for ts, suffix, opts in variants:
        name = f'OpenJPEG opj_compress {" ".join(opts)}'.strip()
        try:
            frames = [opj_encode(s, f, *opts) for f in frames_of(s)]
        except SystemExit as e:  # opj_compress's raw reader rejects some shapes (e.g. 15-bit at an odd width)
            skipped.append({'file': f'{src}.opj{suffix}.dcm', 'encoder': name, 'reason': str(e).splitlines()[1] if len(str(e).splitlines()) > 1 else str(e)})
            continue
        encap(src, ts, name, frames, f'opj{suffix}', lossless=ts == TS['j2k90'])
for has_bot in (True, False):
    s = S['mf_cr12u']
    frames = [opj_encode(s, f) for f in frames_of(s)]
    encap('mf_cr12u', TS['j2k90'], f'OpenJPEG opj_compress, pydicom encapsulate 3 fragments/frame, {"with" if has_bot else "no"} offset table',
          frames, f'opj_frag_{"bot" if has_bot else "nobot"}', has_bot=has_bot, fragments_per_frame=3, fragments='many', offsetTable=has_bot)

# ---------------------------------------------------------------------------------------------- HTJ2K

for src in ['cr15u_m1', 'cxr8u', 'cr12u', 'row_ct16s', 'us_rgb', 'mf_cr12u']:
    s = S[src]
    if s.signed:
        continue
    frames = [codec_encode('htj2k', s, f) for f in frames_of(s)]
    encap(src, TS['htj2k201'], 'OpenJPH (codec-openjph)', frames, 'openjph')

# ----------------------------------------------------------------------------------- JPEG baseline/ext.

for src in ['cxr8u', 'col_cxr8u', 'us_rgb', 'mf_rgb']:
    tool(src, TS['jpeg50'], 'dcmtk dcmcjpeg +eb', ['dcmcjpeg', '+eb'], 'dcmcjpeg_eb', lossless=False)
    tool(src, TS['jpeg50'], 'GDCM gdcmconv --jpeg --lossy', ['gdcmconv', '--jpeg', '--lossy', '-q', '90'], 'gdcmjpeg_lossy', lossless=False)
tool('us_rgb', TS['jpeg50'], 'dcmtk dcmcjpeg +eb +cr (RGB, Adobe)', ['dcmcjpeg', '+eb', '+cr'], 'dcmcjpeg_eb_rgb', lossless=False)
tool('us_rgb', TS['jpeg50'], 'dcmtk dcmcjpeg +eb +s4 (YBR_FULL 4:4:4)', ['dcmcjpeg', '+eb', '+s4'], 'dcmcjpeg_eb_444', lossless=False)
tool('us_rgb', TS['jpeg50'], 'dcmtk dcmcjpeg +eb +n2 (YBR_FULL 4:2:2)', ['dcmcjpeg', '+eb', '+n2'], 'dcmcjpeg_eb_n2', lossless=False)
for src in ['cr12u', 'ct12s', 'mf_cr12u']:
    tool(src, TS['jpeg51'], 'dcmtk dcmcjpeg +ee', ['dcmcjpeg', '+ee'], 'dcmcjpeg_ee', lossless=False)
    # GDCM writes 16-bit-sample DCT for BitsAllocated 16: outside ISO 10918-1, refused (dcmtk refuses it too).
    tool(src, TS['jpeg51'], 'GDCM gdcmconv --jpeg --lossy', ['gdcmconv', '--jpeg', '--lossy', '-q', '90'], 'gdcmjpeg_lossy', lossless=False,
         expect='UNSUPPORTED_IMAGE', note='GDCM wrote 16-bit DCT samples (not JPEG: 8 or 12); dcmtk refuses it too')
tool('us_rgb', TS['jpeg51'], 'dcmtk dcmcjpeg +ee', ['dcmcjpeg', '+ee'], 'dcmcjpeg_ee', lossless=False)
tool('mf_rgb', TS['jpeg50'], 'dcmtk dcmcjpeg +eb +fs 1 -ot', ['dcmcjpeg', '+eb', '+fs', '1', '-ot'], 'dcmcjpeg_eb_frag_nobot', lossless=False, fragments='many', offsetTable=False)
# Pillow (libjpeg-turbo, JFIF): grey, and colour at 4:4:4 / 4:2:2 / 4:2:0, labelled as DICOM would.
for src, sub, pi in [('cxr8u', None, 'MONOCHROME2'), ('us_rgb', 0, 'YBR_FULL'), ('us_rgb', 1, 'YBR_FULL_422'), ('us_rgb', 2, 'YBR_FULL_422')]:
    s = S[src]
    b = io.BytesIO()
    kw = {} if sub is None else {'subsampling': sub}
    Image.fromarray(s.arr).save(b, 'JPEG', quality=92, **kw)
    d = s.ds()
    d.PhotometricInterpretation = pi
    encap(src, TS['jpeg50'], f'Pillow JPEG{"" if sub is None else f" subsampling {sub}"}', [b.getvalue()], f'pillow{"" if sub is None else f"_sub{sub}"}', lossless=False, ds=d, photometric=pi)

# Colour transform: dcmtk's colour JPEG streams (YCbCr-coded with JFIF, RGB-coded with Adobe 0) with their
# markers and component ids rewritten, under every PhotometricInterpretation. The references decide by PI.
small = Source('us_small', us[5][80:128, 100:160], 8, 8, False, 'RGB', from_file=U, shape='60x48')
S['us_small'] = small
small.file = small.write()
run('dcmcjpeg', '+ee', '+cy', '+s4', p(small.file), os.path.join(tmp, 'ycc.dcm'))
run('dcmcjpeg', '+ee', '+cr', p(small.file), os.path.join(tmp, 'rgb.dcm'))
coded = {'ycbcr': next(generate_pixel_data_frame(read_dcm(os.path.join(tmp, 'ycc.dcm')).PixelData, 1)),
         'rgb': next(generate_pixel_data_frame(read_dcm(os.path.join(tmp, 'rgb.dcm')).PixelData, 1))}
IDS = {'123': [1, 2, 3], 'RGB': [82, 71, 66], '012': [0, 1, 2]}
for c, stream in coded.items():
    for mk in ('none', 'JFIF', 'Adobe0', 'Adobe1'):
        for ids in IDS:
            for pi in ('RGB', 'YBR_FULL', 'YBR_FULL_422'):
                d = small.ds()
                d.PhotometricInterpretation = pi
                fr = lj.with_markers(stream, mk, IDS[ids])
                encap('us_small', TS['jpeg51'], f'dcmtk dcmcjpeg +ee ({c}-coded), markers rewritten', [fr], f'{c}_{mk}_ids{ids}_{pi}', lossless=False, ds=d,
                      photometric=pi, jpegColour={'coded': c, 'markers': mk, 'componentIds': ids})

# ------------------------------------------------------------------------------------ refused, by name

# 16-bit colour: PointBox keeps colour as 8-bit RGB and refuses deeper colour by name (the webview's J2K codec
# returned zeros for it). Native, RLE and J2K (the webview-defect case).
rgb16 = Source('rgb16', (S['us_rgb'].arr.astype(np.uint16) * 257), 16, 16, False, 'RGB', from_file=U, shape='odd 173x121')
S['rgb16'] = rgb16
rgb16.file = rgb16.write()
add(rgb16.file, TS['explicit'], 'pydicom', 'rgb16', expect='UNSUPPORTED_IMAGE', note='16-bit colour is refused')
tool('rgb16', TS['rle'], 'GDCM gdcmconv --rle', ['gdcmconv', '--rle'], 'gdcmrle', expect='UNSUPPORTED_IMAGE', note='16-bit colour is refused')
encap('rgb16', TS['j2k90'], 'OpenJPEG opj_compress', [opj_encode(rgb16, rgb16.arr)], 'opj', expect='UNSUPPORTED_IMAGE', note='16-bit colour J2K is refused (the webview codec decoded it to zeros)')
# 12-bit colour JPEG (process 4): no 12-bit colour DCT decoder here.
tool('us_rgb', TS['jpeg51'], 'dcmtk dcmcjpeg +ee +bt', ['dcmcjpeg', '+ee', '+bt'], 'dcmcjpeg_ee_12bit', lossless=False, expect='UNSUPPORTED_IMAGE', note='12-bit colour JPEG is refused')

# ------------------------------------------------------------------------------------- PNG / JPEG files

def raster(name, img, fmt, encoder, features, **save):
    img.save(p(name), fmt, **save)
    manifest.append({'file': name, 'transferSyntaxUID': None, 'syntax': fmt.lower(), 'encoder': encoder, 'lossless': fmt == 'PNG',
                     'tolerance': 0 if fmt == 'PNG' else 1, 'expect': 'match', 'note': '', **features})

nih_crop = nih[200:321, 300:463]
fe = {'bits': 8, 'signed': False, 'frames': 1, 'width': nih_crop.shape[1], 'height': nih_crop.shape[0], 'source': N}
raster('cxr8u.pillow.png', Image.fromarray(nih_crop), 'PNG', 'Pillow PNG', {**fe, 'photometric': 'MONOCHROME2', 'samplesPerPixel': 1})
raster('cr16u.pillow.png', Image.fromarray(S['cr16u'].arr.astype(np.uint16)), 'PNG', 'Pillow PNG (16-bit grey)', {**S['cr16u'].features(), 'photometric': 'MONOCHROME2'})
raster('us_rgb.pillow.png', Image.fromarray(S['us_rgb'].arr), 'PNG', 'Pillow PNG (RGB)', S['us_rgb'].features())
rgba = np.dstack([S['us_rgb'].arr, np.full(S['us_rgb'].arr.shape[:2], 200, np.uint8)])
raster('us_rgba.pillow.png', Image.fromarray(rgba, 'RGBA'), 'PNG', 'Pillow PNG (RGBA: alpha dropped)', S['us_rgb'].features())
raster('cxr8u_la.pillow.png', Image.fromarray(np.dstack([nih_crop, nih_crop // 2]), 'LA'), 'PNG', 'Pillow PNG (grey+alpha: alpha dropped)', {**fe, 'photometric': 'MONOCHROME2', 'samplesPerPixel': 1})
raster('us_rgb_palette.pillow.png', Image.fromarray(S['us_rgb'].arr).quantize(64), 'PNG', 'Pillow PNG (palette)', {**S['us_rgb'].features(), 'base': None})
raster('cxr8u.pillow.jpg', Image.fromarray(nih_crop), 'JPEG', 'Pillow JPEG (grey)', {**fe, 'photometric': 'MONOCHROME2', 'samplesPerPixel': 1}, quality=92)
raster('us_rgb.pillow.jpg', Image.fromarray(S['us_rgb'].arr), 'JPEG', 'Pillow JPEG (JFIF 4:2:0)', S['us_rgb'].features(), quality=92)
raster('us_rgb_progressive.pillow.jpg', Image.fromarray(S['us_rgb'].arr), 'JPEG', 'Pillow JPEG (progressive)', S['us_rgb'].features(), quality=92, progressive=True)

# ------------------------------------------------------------------------------------------------- done

for f in os.listdir(out):
    if f.startswith('src_') and not any(f in (m['file'], m.get('base')) for m in manifest):
        os.remove(p(f))
shutil.rmtree(tmp, ignore_errors=True)
with open(p('manifest.json'), 'w') as f:
    json.dump({'files': manifest, 'skipped': skipped}, f, indent=1)
by_ts = {}
for m in manifest:
    by_ts[m['syntax']] = by_ts.get(m['syntax'], 0) + 1
print(f'wrote {len(manifest)} conformance files to {out}: ' + ', '.join(f'{k} {v}' for k, v in sorted(by_ts.items())))
for k in skipped:
    print(f"  not made: {k['file']} ({k['encoder']}): {k['reason']}")
