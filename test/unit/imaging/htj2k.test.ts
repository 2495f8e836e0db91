/**
 * HTJ2K (.4.201/.4.202/.4.203) through OpenJPH. No reference tool here writes HTJ2K DICOM, so the check is a
 * lossless round trip of real pixels: pixels decoded from a corpus file (which other tests match bit for
 * bit against pydicom+GDCM) are encoded by OpenJPH's encoder into an HTJ2K DICOM built below, and PointBox
 * must decode exactly those pixels back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import openjph from '@cornerstonejs/codec-openjph/wasmjs';
import { decodeImage, decodeImageFile, nodeImagingPlatform, transferSyntaxInfo, isDecodable, type DecodedImage } from '../../../src/core/imaging';
import { corpusDir, generatedDir, hasSharedData } from './imagingTestHelpers';

interface Encoder { getDecodedBuffer(info: object): Uint8Array; encode(): void; getEncodedBuffer(): Uint8Array; delete(): void }

async function encodeHtj2k(img: DecodedImage): Promise<Uint8Array> {
  const mod = (await openjph({ print: () => {}, printErr: () => {} })) as { HTJ2KEncoder: new () => Encoder };
  const enc = new mod.HTJ2KEncoder();
  try {
    const raw = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
    enc.getDecodedBuffer({ width: img.width, height: img.height, bitsPerSample: img.bitsStored, componentCount: img.samplesPerPixel, isSigned: img.isSigned, isUsingColorTransform: false }).set(raw);
    enc.encode();
    return enc.getEncodedBuffer().slice();
  } finally { enc.delete(); }
}

/** A minimal Part-10 file: meta + image pixel module + encapsulated Pixel Data with one fragment. */
function htj2kDicom(img: DecodedImage, codestream: Uint8Array, tsUid: string): Uint8Array {
  const parts: number[] = [];
  const u16 = (v: number) => { parts.push(v & 0xff, v >> 8); };
  const u32 = (v: number) => { u16(v & 0xffff); u16(v >>> 16); };
  const tag = (g: number, e: number) => { u16(g); u16(e); };
  const str = (g: number, e: number, vr: string, s: string) => {
    const b = [...new TextEncoder().encode(s)]; if (b.length % 2) b.push(vr === 'UI' ? 0 : 0x20);
    tag(g, e); parts.push(vr.charCodeAt(0), vr.charCodeAt(1)); u16(b.length); parts.push(...b);
  };
  const us = (g: number, e: number, v: number) => { tag(g, e); parts.push(0x55, 0x53); u16(2); u16(v); };
  // meta group (group length computed after)
  const metaStart = 0;
  str(0x0002, 0x0010, 'UI', tsUid);
  const meta = parts.splice(metaStart);
  tag(0x0002, 0x0000); parts.push(0x55, 0x4c); u16(4); u32(meta.length); parts.push(...meta);
  str(0x0008, 0x0060, 'CS', 'CR');
  us(0x0028, 0x0002, img.samplesPerPixel);
  str(0x0028, 0x0004, 'CS', img.photometric);
  us(0x0028, 0x0010, img.height); us(0x0028, 0x0011, img.width);
  us(0x0028, 0x0100, img.bitsAllocated); us(0x0028, 0x0101, img.bitsStored); us(0x0028, 0x0102, img.bitsStored - 1);
  us(0x0028, 0x0103, img.isSigned ? 1 : 0);
  tag(0x7fe0, 0x0010); parts.push(0x4f, 0x42, 0, 0); u32(0xffffffff);
  tag(0xfffe, 0xe000); u32(0); // empty basic offset table
  const padLen = codestream.length + (codestream.length % 2);
  tag(0xfffe, 0xe000); u32(padLen);
  const tail = [0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]; // sequence delimitation item
  const out = new Uint8Array(132 + parts.length + padLen + tail.length);
  out.set([0x44, 0x49, 0x43, 0x4d], 128);
  out.set(parts, 132);
  out.set(codestream, 132 + parts.length);
  out.set(tail, 132 + parts.length + padLen);
  return out;
}

test('HTJ2K is decodable and named', () => {
  for (const uid of ['1.2.840.10008.1.2.4.201', '1.2.840.10008.1.2.4.202', '1.2.840.10008.1.2.4.203']) {
    assert.match(transferSyntaxInfo(uid).name, /High-Throughput JPEG 2000/);
    assert.ok(isDecodable(transferSyntaxInfo(uid)));
  }
});

test('HTJ2K lossless round trip of real CT and CR pixels decodes bit for bit', { skip: hasSharedData() ? false : 'shared/data absent', timeout: 120_000 }, async () => {
  const sources = [join(corpusDir, 'pydicom/CT_small.dcm'), join(corpusDir, 'pydicom/MR_small.dcm')];
  const rg1 = join(generatedDir, 'rg1_explicit_le.dcm');
  if (existsSync(rg1)) sources.push(rg1);
  for (const src of sources) {
    const img = await decodeImageFile(src);
    const cs = await encodeHtj2k(img);
    const file = htj2kDicom(img, cs, '1.2.840.10008.1.2.4.201');
    const back = await decodeImage(file, nodeImagingPlatform, { fileName: `${src}.htj2k` });
    assert.equal(back.transferSyntaxUID, '1.2.840.10008.1.2.4.201');
    assert.equal(back.width, img.width); assert.equal(back.height, img.height);
    assert.equal(back.isSigned, img.isSigned);
    assert.deepEqual(Array.from(back.data), Array.from(img.data), src);
  }
});
