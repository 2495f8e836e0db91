#!/usr/bin/python3
"""Generate the imaging test fixtures: one real CR chest (RG1 from ../shared/data, 1955x1841, 15-bit,
MONOCHROME1) re-encoded into every transfer syntax PointBox decodes, with GDCM (gdcmconv) and DCMTK
(dcmconv, dcmcjpeg, dcmcjpls). Output: test/fixtures/imaging/generated/ (gitignored; rebuilt on demand
by the tests, about 10 s). Run with Debian's /usr/bin/python3 (pydicom + numpy).

usage: /usr/bin/python3 scripts/fixtures-imaging.py [--out DIR] [--source RG1_J2KI.dcm]
"""
import argparse, json, os, shutil, subprocess, sys
import numpy as np
import pydicom

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument('--out', default=os.path.join(root, 'test', 'fixtures', 'imaging', 'generated'))
ap.add_argument('--source', default=os.path.join(root, '..', 'shared', 'data', 'dicom-cxr', 'RG1_J2KI.dcm'))
args = ap.parse_args()
if not os.path.exists(args.source):
    sys.exit(f'source {args.source} not found')
out = args.out
tmp = os.path.join(out, '.tmp')
os.makedirs(tmp, exist_ok=True)

def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f'{" ".join(cmd)} failed: {r.stderr or r.stdout}')

def p(name):
    return os.path.join(out, name)

manifest = []
def add(name, ts, lossless, base, note=''):
    manifest.append({'file': name, 'transferSyntaxUID': ts, 'lossless': lossless, 'base': base, 'note': note})

def convert(cmd, src, dst, ts, lossless=True, note=''):
    """Re-encode fixture `src` into `dst` with a GDCM/DCMTK tool (cmd: the tool and its options) and record
    it with `src` as the file its pixels are checked against."""
    run(*cmd, p(src), p(dst))
    add(dst, ts, lossless, src, note)

# 16-bit base: the real RG1 pixels, decompressed (J2K lossy -> raw) by GDCM.
run('gdcmconv', '--raw', args.source, p('rg1_explicit_le.dcm'))
add('rg1_explicit_le.dcm', '1.2.840.10008.1.2.1', True, 'rg1_explicit_le.dcm')
convert(['dcmconv', '+ti'], 'rg1_explicit_le.dcm', 'rg1_implicit_le.dcm', '1.2.840.10008.1.2')
convert(['dcmconv', '+tb'], 'rg1_explicit_le.dcm', 'rg1_explicit_be.dcm', '1.2.840.10008.1.2.2')
convert(['dcmconv', '+td'], 'rg1_explicit_le.dcm', 'rg1_deflated.dcm', '1.2.840.10008.1.2.1.99')
convert(['gdcmconv', '--rle'], 'rg1_explicit_le.dcm', 'rg1_rle.dcm', '1.2.840.10008.1.2.5')
convert(['gdcmconv', '--jpeg'], 'rg1_explicit_le.dcm', 'rg1_jpeg_lossless.dcm', '1.2.840.10008.1.2.4.70')
convert(['gdcmconv', '--jpegls'], 'rg1_explicit_le.dcm', 'rg1_jpegls.dcm', '1.2.840.10008.1.2.4.80')
convert(['dcmcjpls', '+en', '+md', '3'], 'rg1_explicit_le.dcm', 'rg1_jpegls_near3.dcm', '1.2.840.10008.1.2.4.81', lossless=False, note='NEAR=3: every sample within 3 of the source')
convert(['gdcmconv', '--j2k'], 'rg1_explicit_le.dcm', 'rg1_j2k_lossless.dcm', '1.2.840.10008.1.2.4.90')
# JPEG 2000 lossy (.4.91) is the source file itself (gdcmconv --lossy refuses to 'derive' this input).
shutil.copyfile(args.source, p('rg1_j2k_lossy.dcm'))
add('rg1_j2k_lossy.dcm', '1.2.840.10008.1.2.4.91', False, 'rg1_explicit_le.dcm', 'the original NEMA WG04 RG1 J2K lossy file')

# 12-bit and 8-bit versions (JPEG extended / baseline need them), made by shifting the real pixels.
ds = pydicom.dcmread(p('rg1_explicit_le.dcm'))
px = ds.pixel_array.astype(np.uint16) & 0x7FFF
d12 = pydicom.dcmread(p('rg1_explicit_le.dcm'))
d12.BitsStored, d12.HighBit = 12, 11
d12.PixelData = (px >> 3).astype(np.uint16).tobytes()
d12.WindowCenter, d12.WindowWidth = 1875, 3750
d12.save_as(p('rg1_12bit_le.dcm'))
add('rg1_12bit_le.dcm', '1.2.840.10008.1.2.1', True, 'rg1_12bit_le.dcm')
convert(['dcmcjpeg', '+ee', '+q', '95'], 'rg1_12bit_le.dcm', 'rg1_jpeg_extended12.dcm', '1.2.840.10008.1.2.4.51', lossless=False)
d8 = pydicom.dcmread(p('rg1_explicit_le.dcm'))
d8.BitsAllocated, d8.BitsStored, d8.HighBit = 8, 8, 7
d8.PixelData = (px >> 7).astype(np.uint8).tobytes()
d8.WindowCenter, d8.WindowWidth = 117, 234
d8.save_as(p('rg1_8bit_le.dcm'))
add('rg1_8bit_le.dcm', '1.2.840.10008.1.2.1', True, 'rg1_8bit_le.dcm')
convert(['dcmcjpeg', '+eb', '+q', '90'], 'rg1_8bit_le.dcm', 'rg1_jpeg_baseline8.dcm', '1.2.840.10008.1.2.4.50', lossless=False)

# Signed variant with a rescale and several windows + SIGMOID: exercises sign extension and the VOI path.
ds_s = pydicom.dcmread(p('rg1_explicit_le.dcm'))
ds_s.PixelRepresentation = 1
ds_s.BitsStored, ds_s.HighBit = 16, 15
ds_s.PixelData = (px.astype(np.int32) - 16384).astype(np.int16).tobytes()
ds_s.RescaleSlope, ds_s.RescaleIntercept = 2, -100
ds_s.WindowCenter = [-1000, 0]
ds_s.WindowWidth = [20000, 8000]
ds_s.VOILUTFunction = 'SIGMOID'
ds_s.PhotometricInterpretation = 'MONOCHROME2'
ds_s.save_as(p('rg1_signed_le.dcm'))
add('rg1_signed_le.dcm', '1.2.840.10008.1.2.1', True, 'rg1_signed_le.dcm')
convert(['gdcmconv', '--jpegls'], 'rg1_signed_le.dcm', 'rg1_signed_jpegls.dcm', '1.2.840.10008.1.2.4.80')
convert(['gdcmconv', '--rle'], 'rg1_signed_le.dcm', 'rg1_signed_rle.dcm', '1.2.840.10008.1.2.5')
convert(['gdcmconv', '--j2k'], 'rg1_signed_le.dcm', 'rg1_signed_j2k.dcm', '1.2.840.10008.1.2.4.90')

# Stored-bits masking: garbage in the unused high bit must not reach the image.
ds_g = pydicom.dcmread(p('rg1_explicit_le.dcm'))
ds_g.PixelData = (px | 0x8000).astype(np.uint16).tobytes()  # BitsStored 15: bit 15 is not pixel data
ds_g.save_as(p('rg1_highbit_garbage.dcm'))
add('rg1_highbit_garbage.dcm', '1.2.840.10008.1.2.1', True, 'rg1_explicit_le.dcm', 'bit 15 set everywhere; BitsStored 15')

# LUT-driven grey levels on a 1024x1024 crop (12-bit): a Modality LUT Sequence, a VOI LUT Sequence, and a
# LINEAR_EXACT window. The reference maps them with pydicom's own apply_modality_lut / apply_voi_lut.
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
crop = (px[400:1424, 400:1424] >> 3).astype(np.uint16)
def crop_ds():
    d = pydicom.dcmread(p('rg1_explicit_le.dcm'))
    d.Rows, d.Columns = 1024, 1024
    d.BitsStored, d.HighBit = 12, 11
    d.PixelData = crop.tobytes()
    d.PhotometricInterpretation = 'MONOCHROME2'
    for k in ('WindowCenter', 'WindowWidth', 'RescaleSlope', 'RescaleIntercept', 'VOILUTFunction'):
        if k in d:
            delattr(d, k)
    return d
dm = crop_ds()
item = Dataset()
item.add_new(0x00283002, 'US', [4096, 0, 16])  # LUTDescriptor, VR fixed (US or SS)
item.ModalityLUTType = 'US'
item.add_new(0x00283006, 'US', [int(round(65535 * (i / 4095) ** 0.5)) for i in range(4096)])  # LUTData: a non-linear curve
dm.ModalityLUTSequence = Sequence([item])
dm.WindowCenter, dm.WindowWidth = 40000, 30000
dm.save_as(p('rg1_modality_lut.dcm'))
add('rg1_modality_lut.dcm', '1.2.840.10008.1.2.1', True, 'rg1_modality_lut.dcm')
dv = crop_ds()
vitem = Dataset()
vitem.add_new(0x00283002, 'US', [3000, 500, 10])  # entries, first mapped stored value, bits
vitem.add_new(0x00283006, 'US', [int(round(1023 * (i / 2999) ** 2)) for i in range(3000)])
vitem.LUTExplanation = 'GAMMA2'
dv.VOILUTSequence = Sequence([vitem])
dv.save_as(p('rg1_voi_lut.dcm'))
add('rg1_voi_lut.dcm', '1.2.840.10008.1.2.1', True, 'rg1_voi_lut.dcm')
de = crop_ds()
de.WindowCenter, de.WindowWidth = 1500, 1200
de.VOILUTFunction = 'LINEAR_EXACT'
de.PhotometricInterpretation = 'MONOCHROME1'
de.save_as(p('rg1_linear_exact.dcm'))
add('rg1_linear_exact.dcm', '1.2.840.10008.1.2.1', True, 'rg1_linear_exact.dcm')

# Colour secondary captures (from the shared corpus' 100x100 2-frame RGB): JPEG-LS and JPEG 2000 colour,
# native YBR_FULL, native YBR_FULL_422 and planar-configuration-1 RGB.
sc_src = os.path.join(os.path.dirname(args.source), '..', 'dicom-corpus', 'pydicom', 'SC_rgb_rle_2frame.dcm')
if os.path.exists(sc_src):
    from pydicom.pixel_data_handlers.util import convert_color_space
    run('gdcmconv', '--raw', sc_src, p('sc_rgb_le.dcm'))
    add('sc_rgb_le.dcm', '1.2.840.10008.1.2.1', True, 'sc_rgb_le.dcm')
    convert(['gdcmconv', '--jpegls'], 'sc_rgb_le.dcm', 'sc_rgb_jpegls.dcm', '1.2.840.10008.1.2.4.80')
    convert(['gdcmconv', '--j2k'], 'sc_rgb_le.dcm', 'sc_rgb_j2k.dcm', '1.2.840.10008.1.2.4.90')
    sc = pydicom.dcmread(p('sc_rgb_le.dcm'))
    rgb = sc.pixel_array  # (frames, rows, cols, 3)
    ybr = convert_color_space(rgb, 'RGB', 'YBR_FULL')
    dy = pydicom.dcmread(p('sc_rgb_le.dcm'))
    dy.PhotometricInterpretation = 'YBR_FULL'
    dy.PixelData = ybr.astype(np.uint8).tobytes()
    dy.save_as(p('sc_ybr_full_le.dcm'))
    add('sc_ybr_full_le.dcm', '1.2.840.10008.1.2.1', False, 'sc_rgb_le.dcm', 'YBR_FULL round trip: within 2 of the RGB source')
    run('gdcmconv', '--j2k', p('sc_ybr_full_le.dcm'), p('sc_ybr_full_j2k.dcm'))
    add('sc_ybr_full_j2k.dcm', '1.2.840.10008.1.2.4.90', False, 'sc_rgb_le.dcm', 'YBR_FULL inside a J2K stream: converted after decoding')
    # 4:2:2: Y1 Y2 Cb Cr per pixel pair, chroma of the even pixel (PS3.3 C.7.6.3.1.2)
    f, h, w, _ = ybr.shape
    packed = np.empty((f, h, w // 2, 4), dtype=np.uint8)
    packed[..., 0] = ybr[:, :, 0::2, 0]; packed[..., 1] = ybr[:, :, 1::2, 0]
    packed[..., 2] = ybr[:, :, 0::2, 1]; packed[..., 3] = ybr[:, :, 0::2, 2]
    d4 = pydicom.dcmread(p('sc_rgb_le.dcm'))
    d4.PhotometricInterpretation = 'YBR_FULL_422'
    d4.PixelData = packed.tobytes()
    d4.save_as(p('sc_ybr_full_422_le.dcm'))
    add('sc_ybr_full_422_le.dcm', '1.2.840.10008.1.2.1', False, 'sc_rgb_le.dcm', 'YBR_FULL_422: chroma subsampled')
    dpl = pydicom.dcmread(p('sc_rgb_le.dcm'))
    dpl.PlanarConfiguration = 1
    dpl.PixelData = np.ascontiguousarray(rgb.transpose(0, 3, 1, 2)).astype(np.uint8).tobytes()
    dpl.save_as(p('sc_rgb_planar_le.dcm'))
    add('sc_rgb_planar_le.dcm', '1.2.840.10008.1.2.1', True, 'sc_rgb_le.dcm')

# A 2.5k x 3k 16-bit raw image for the display-speed target (tiled from the real chest).
big = np.zeros((3000, 2500), dtype=np.uint16)
big[:1955, :1841] = px
big[1955:, :1841] = px[:1045, :]
big[:, 1841:] = big[:, :659]
db = pydicom.dcmread(p('rg1_explicit_le.dcm'))
db.Rows, db.Columns = 3000, 2500
db.PixelData = big.tobytes()
db.save_as(p('big_2500x3000_le.dcm'))
add('big_2500x3000_le.dcm', '1.2.840.10008.1.2.1', True, 'big_2500x3000_le.dcm')

for m in manifest:
    got = str(pydicom.dcmread(p(m['file']), stop_before_pixels=True).file_meta.TransferSyntaxUID)
    if got != m['transferSyntaxUID']:
        raise SystemExit(f"{m['file']}: expected {m['transferSyntaxUID']}, tool wrote {got}")
shutil.rmtree(tmp, ignore_errors=True)
with open(p('manifest.json'), 'w') as f:
    json.dump(manifest, f, indent=1)
print(f'wrote {len(manifest)} fixtures to {out}')
