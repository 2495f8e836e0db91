/**
 * The raw-DICOM fast path checks the unused high bits with an OR summary made while the file is read
 * (readImageFile + wordOrSummary). A wrong summary would let overlay/garbage bits through as pixel values,
 * so these tests put single bad words at the block edges and in the middle and check the OR and the
 * decoded pixels against a plain scan.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { orAll, orOfWords } from '../../../src/core/imaging/wordOrSummary';
import { readImageFile } from '../../../src/core/imaging/readImageFile';
import { decodeImage, decodeImageFile, nodeImagingPlatform } from '../../../src/core/imaging';
import { encodeDicomPart10 } from '../../../src/core/phantom/encodeDicomPart10';

/** An explicit-LE MONOCHROME2 file with the given 16-bit words as Pixel Data (the project's own writer). */
function encodeDicomForTest(pixels: Uint16Array, width: number, height: number, bitsStored: number): Uint8Array {
  return encodeDicomPart10({
    transferSyntax: 'explicitLittle', sopClassUid: '1.2.840.10008.5.1.4.1.1.1', sopInstanceUid: '2.25.1',
    elements: [
      { tag: 0x00280002, vr: 'US', value: 1 }, { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
      { tag: 0x00280010, vr: 'US', value: height }, { tag: 0x00280011, vr: 'US', value: width },
      { tag: 0x00280100, vr: 'US', value: 16 }, { tag: 0x00280101, vr: 'US', value: bitsStored },
      { tag: 0x00280102, vr: 'US', value: bitsStored - 1 }, { tag: 0x00280103, vr: 'US', value: 0 },
    ],
    frame: { rows: height, columns: width, bitsAllocated: 16, pixels },
  });
}

function lcg(seed: number) { let s = seed >>> 0; return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32; }

test('orOfWords equals a full scan for every view of a summarized file, with one set bit anywhere', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-wordor-'));
  const rnd = lcg(7);
  for (const size of [0, 3, 64, 1000, 4096 + 6, 20_000]) {
    for (const block of [16, 64, 256]) {
      for (let trial = 0; trial < 12; trial++) {
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; i++) bytes[i] = Math.floor(rnd() * 256) & 0x0f; // clean: only low nibbles
        const bad = size > 0 ? Math.floor(rnd() * size) : -1;
        if (bad >= 0) bytes[bad] = 0x80;
        const file = join(dir, `f${size}-${block}-${trial}.bin`);
        writeFileSync(file, bytes);
        const r = readImageFile(file, block);
        assert.deepEqual(r.bytes, bytes, 'the bytes read are the file');
        assert.equal(r.bytes.buffer.byteLength, size, 'the buffer is exactly the file (transferable without copying)');
        for (let v = 0; v < 20 && size >= 4; v++) {
          const startWord = Math.floor(rnd() * (size >> 2));
          const len = Math.floor(rnd() * ((size >> 2) - startWord + 1));
          const words: Int32Array = new Int32Array(r.bytes.buffer, startWord * 4, len);
          assert.equal(orOfWords(words, r.wordOr), orAll(words), `size ${size} block ${block} view ${startWord}+${len} bad byte ${bad}`);
        }
      }
    }
  }
});

test('a summary of another buffer is ignored (full scan), not trusted', () => {
  const a = new Int32Array([1, 2, 4, 8]);
  const summary = { buffer: new ArrayBuffer(16), blockBytes: 4, ors: new Int32Array([0, 0, 0, 0]) };
  assert.equal(orOfWords(a, summary), 15);
});

test('raw 16-bit DICOM read through the summary: a single high-bit word at the start, middle or end is masked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-wordor-dcm-'));
  const width = 700; const height = 600; // 840,000 bytes of pixels: several 256 KiB blocks plus partial ones
  const pixels = new Uint16Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) & 0x0fff;
  const clean = encodeDicomForTest(pixels, width, height, 12);
  const cleanFile = join(dir, 'clean.dcm');
  writeFileSync(cleanFile, clean);
  const ref = await decodeImage(new Uint8Array(readFileSync(cleanFile)), nodeImagingPlatform, { noHeader: true });
  const viaFile = await decodeImageFile(cleanFile, { noHeader: true });
  assert.deepEqual(viaFile.data, ref.data);
  assert.equal(viaFile.data.buffer.byteLength, clean.length, 'clean file: pixels are a view into the file buffer, no copy');
  const pixelStart = clean.length - pixels.length * 2;
  for (const k of [0, 1, 131_072 - 1, 131_072, 200_001, pixels.length - 2, pixels.length - 1]) {
    const bad = new Uint8Array(clean); // a copy (Buffer#slice would be a view and the bad bits would pile up)
    bad[pixelStart + 2 * k + 1]! |= 0x80; // bit 15 of pixel k: outside BitsStored 12
    const file = join(dir, `bad${k}.dcm`);
    writeFileSync(file, bad);
    for (const blockBytes of [undefined, 4096, 1 << 16]) {
      const img = blockBytes
        ? await decodeImage(...readWithBlock(file, blockBytes))
        : await decodeImageFile(file, { noHeader: true });
      assert.equal(img.data[k], pixels[k], `pixel ${k} masked (block ${blockBytes ?? 'default'})`);
      assert.deepEqual(img.data, ref.data, `all pixels equal the clean decode (bad pixel ${k}, block ${blockBytes ?? 'default'})`);
    }
  }
});

function readWithBlock(file: string, blockBytes: number) {
  const r = readImageFile(file, blockBytes);
  return [r.bytes, nodeImagingPlatform, { noHeader: true, ownsInput: true, wordOr: r.wordOr }] as const;
}
