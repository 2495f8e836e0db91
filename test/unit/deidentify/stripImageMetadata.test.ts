// PNG and JPEG: every metadata chunk/segment that can carry text goes, the image data stays byte for byte and
// decodes to the same pixels (PIL, an independent decoder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { generatePhantomImage } from '../../../src/core/phantom/generatePhantomImage';
import { encodePhantomPng } from '../../../src/core/phantom/encodePhantomPng';
import { ImageMetadataError, jpegSegments, pngChunks, stripJpegMetadata, stripPngMetadata, stripRasterMetadata } from '../../../src/core/deidentify/stripImageMetadata';
import { PYTHON } from './deidTestHelpers';
import { sharedData } from '../imaging/imagingTestHelpers';

function chunk(type: string, data: Uint8Array | string): Buffer {
  const d = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
  const h = Buffer.alloc(8); h.writeUInt32BE(d.length, 0); h.write(type, 4, 'latin1');
  const c = Buffer.alloc(4); c.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), d])) >>> 0, 0);
  return Buffer.concat([h, d, c]);
}

/** A phantom PNG (the product's encoder) with every kind of metadata inserted after IHDR and junk after IEND. */
function pngWithMetadata(): Buffer {
  const png = Buffer.from(encodePhantomPng(generatePhantomImage(7, 0, { size: 96 })));
  const ihdrEnd = 8 + 12 + 13;
  const extra = Buffer.concat([
    chunk('tEXt', 'Author\0PHI-PNG-AUTHOR'), chunk('zTXt', 'Comment\0\0x\x9c\x0b\xf0\xf0\xd4\x05\x00\x03\x0d\x01\x26'),
    chunk('iTXt', 'Patient\0\0\0en\0Patient\0PHI-ITXT-NAME'), chunk('eXIf', 'MM\0*PHI-EXIF-MAKE'), chunk('tIME', Buffer.from([7, 226, 1, 2, 3, 4, 5])),
    chunk('prIv', 'PHI-PRIVATE-CHUNK'), chunk('pHYs', Buffer.from([0, 0, 11, 19, 0, 0, 11, 19, 1])),
  ]);
  return Buffer.concat([png.subarray(0, ihdrEnd), extra, png.subarray(ihdrEnd), Buffer.from('PHI-AFTER-IEND')]);
}

function pilPixelsEqual(a: string, b: string): boolean | string {
  const r = spawnSync(PYTHON, ['-c', 'import sys\nfrom PIL import Image\nx, y = (Image.open(p) for p in sys.argv[1:3])\nprint("same" if x.size == y.size and x.mode == y.mode and x.tobytes() == y.tobytes() else "differ")', a, b], { encoding: 'utf8' });
  if (r.status !== 0) return `PIL unavailable: ${r.stderr.trim().split('\n').pop()}`;
  return r.stdout.trim() === 'same';
}

test('PNG: text, EXIF, time, private chunks and trailing bytes dropped; IHDR/IDAT/pHYs kept byte for byte', (t) => {
  const src = pngWithMetadata();
  const r = stripPngMetadata(src);
  assert.deepEqual(r.removed, ['tEXt', 'zTXt', 'iTXt', 'eXIf', 'tIME', 'prIv', '14 bytes after IEND']);
  const types = pngChunks(r.bytes).chunks.map((c) => c.type);
  assert.deepEqual([...new Set(types)], ['IHDR', 'pHYs', 'IDAT', 'IEND']);
  const idat = (b: Uint8Array) => Buffer.concat(pngChunks(b).chunks.filter((c) => c.type === 'IDAT').map((c) => Buffer.from(b.subarray(c.start, c.end))));
  assert.deepEqual(idat(r.bytes), idat(src));
  const text = Buffer.from(r.bytes).toString('latin1');
  for (const m of ['PHI-', 'Author', 'Patient', 'prIv']) assert.equal(text.includes(m), false, m);
  const dir = mkdtempSync(join(tmpdir(), 'pb-deid-png-'));
  writeFileSync(join(dir, 'a.png'), src); writeFileSync(join(dir, 'b.png'), r.bytes);
  const same = pilPixelsEqual(join(dir, 'a.png'), join(dir, 'b.png'));
  if (typeof same === 'string') t.diagnostic(same); else assert.equal(same, true);
  // A critical chunk PointBox does not know cannot be dropped without breaking the image: refused.
  const bad = Buffer.concat([src.subarray(0, 33), chunk('ABCD', 'x'), src.subarray(33)]);
  assert.throws(() => stripPngMetadata(bad), ImageMetadataError);
  assert.throws(() => stripPngMetadata(src.subarray(0, 60)), /truncated/);
});

function pilJpeg(dir: string, progressive: boolean): Buffer | string {
  const out = join(dir, progressive ? 'p.jpg' : 'b.jpg');
  const script = `
import sys
from PIL import Image
im = Image.linear_gradient('L').resize((80, 60))
exif = Image.Exif(); exif[0x010F] = 'PHI-EXIF-MAKE'; exif[0x0131] = 'PHI-EXIF-SOFTWARE'
im.save(sys.argv[1], 'JPEG', quality=90, exif=exif.tobytes(), comment=b'PHI-COMMENT', progressive=${progressive ? 'True' : 'False'}, restart_marker_blocks=2, icc_profile=b'ICCTEST')`;
  const r = spawnSync(PYTHON, ['-c', script, out], { encoding: 'utf8' });
  if (r.status !== 0) return `PIL unavailable: ${r.stderr.trim().split('\n').pop()}`;
  return readFileSync(out);
}

/** Adds an XMP APP1, an IPTC APP13, an APP15 and a JFIF APP0 with a 1x1 thumbnail, plus bytes after EOI. */
function withMoreMetadata(j: Buffer): Buffer {
  const seg = (marker: number, payload: Buffer) => { const h = Buffer.from([0xff, marker, 0, 0]); h.writeUInt16BE(payload.length + 2, 2); return Buffer.concat([h, payload]); };
  const jfif = Buffer.concat([Buffer.from('JFIF\0', 'latin1'), Buffer.from([1, 1, 0, 0, 1, 0, 1, 1, 1]), Buffer.from('PHI')]);
  const xmp = Buffer.from('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>PHI-XMP-CREATOR</x:xmpmeta>', 'latin1');
  const iptc = Buffer.from('Photoshop 3.0\x008BIM\x04\x04PHI-IPTC-BYLINE', 'latin1');
  const segs = jpegSegments(j).segments;
  const rest = j.subarray(segs[1]!.start);
  const noApp0 = segs[1]!.marker === 0xe0 ? j.subarray(segs[1]!.end) : rest;
  return Buffer.concat([j.subarray(0, 2), seg(0xe0, jfif), seg(0xe1, xmp), seg(0xed, iptc), seg(0xef, Buffer.from('PHI-APP15')), noApp0, Buffer.from('PHI-AFTER-EOI')]);
}

test('JPEG: EXIF, XMP, IPTC, APPn, comments, the JFIF thumbnail and trailing bytes dropped; scans and tables byte for byte', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-deid-jpg-'));
  for (const progressive of [false, true]) {
    const made = pilJpeg(dir, progressive);
    if (typeof made === 'string') { t.skip(made); return; }
    const src = withMoreMetadata(made);
    const r = stripJpegMetadata(src);
    const removed = r.removed.join(', ');
    for (const x of ['JFIF thumbnail', 'APP1 Exif', 'APP1 XMP', 'APP13 Photoshop/IPTC', 'APP15', 'COM', '13 bytes after EOI']) assert.ok(r.removed.includes(x), `${x} not in ${removed}`);
    const text = Buffer.from(r.bytes).toString('latin1');
    assert.equal(text.includes('PHI'), false, `no PHI marker left (${progressive ? 'progressive' : 'baseline'})`);
    assert.equal(removed.includes('PHI'), false, 'the list of what was removed repeats no free text');
    const kept = jpegSegments(r.bytes).segments;
    assert.ok(kept.some((s) => s.marker === 0xe2 && s.id === 'ICC_PROFILE'), 'ICC profile kept');
    assert.ok(kept.some((s) => s.marker === 0xe0 && s.id === 'JFIF'), 'JFIF header kept');
    // Everything from the first SOF on (tables, scans, restart markers) is identical.
    const fromSof = (b: Uint8Array) => { const s = jpegSegments(b).segments.find((x) => x.marker >= 0xc0 && x.marker <= 0xc2)!; return Buffer.from(b.subarray(s.start, jpegSegments(b).segments.at(-1)!.end)); };
    assert.deepEqual(fromSof(r.bytes), fromSof(src));
    writeFileSync(join(dir, 'src.jpg'), src); writeFileSync(join(dir, 'out.jpg'), r.bytes);
    const same = pilPixelsEqual(join(dir, 'src.jpg'), join(dir, 'out.jpg'));
    if (typeof same === 'string') t.diagnostic(same); else assert.equal(same, true);
  }
  assert.throws(() => stripRasterMetadata(Buffer.from('GIF89a')), ImageMetadataError);
});

test('real NIH PNGs: the tIME chunk goes, pixels stay', { skip: existsSync(join(sharedData, 'cxr-png', 'images')) ? false : 'shared/data absent' }, (t) => {
  const d = join(sharedData, 'cxr-png', 'images');
  const dir = mkdtempSync(join(tmpdir(), 'pb-deid-nih-'));
  const names = readdirSync(d).filter((n) => n.endsWith('.png'));
  assert.equal(names.length, 36);
  for (const n of names) {
    const src = readFileSync(join(d, n));
    const r = stripPngMetadata(src);
    assert.ok(r.removed.every((x) => x === 'tIME'), `${n}: ${r.removed}`);
    writeFileSync(join(dir, n), r.bytes);
    const same = pilPixelsEqual(join(d, n), join(dir, n));
    if (typeof same === 'string') { t.diagnostic(same); return; }
    assert.equal(same, true, n);
  }
});
