/**
 * Fixtures the dataset tests (and bench/dataset.bench.ts) generate themselves: tiny but valid DICOM files
 * (explicit VR little endian, 8-bit MONOCHROME2), PNG headers, temp folders, and the path to the real
 * data in ../shared/data when it is there.
 */
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';

export const repoRoot = resolve(__dirname, '..', '..', '..');
export const sharedData = resolve(repoRoot, '..', 'shared', 'data');
export const hasSharedData = existsSync(join(sharedData, 'cxr-png', 'annotations', 'rsna_stage_2_train_labels.csv'));
export const SKIP_NO_SHARED = hasSharedData ? false : 'needs ../shared/data (real CXR annotations); absent here';

export function tmpDir(prefix = 'pb-ds-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function element(group: number, el: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
  const pad = value.length % 2 ? Buffer.from([vr === 'UI' || vr === 'OB' ? 0 : 0x20]) : Buffer.alloc(0);
  const v = Buffer.concat([value, pad]);
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(group, 0); h.writeUInt16LE(el, 2); h.write(vr, 4, 'latin1');
  if (long) h.writeUInt32LE(v.length, 8); else h.writeUInt16LE(v.length, 6);
  return Buffer.concat([h, v]);
}
const us = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const str = (s: string) => Buffer.from(s, 'latin1');

/**
 * A minimal valid Part-10 DICOM (explicit VR LE, 8-bit grey, width x height, gradient pixels).
 * `pixels: false` writes the header only (Rows/Columns but no Pixel Data): enough for importers, which read
 * only the header, and small enough to write 26,684 full-size (1024x1024) RSNA stand-ins for the benchmark.
 */
export function tinyDicom(width = 64, height = 64, patientId = 'TEST', opts: { pixels?: boolean } = {}): Buffer {
  const sop = '1.2.840.10008.5.1.4.1.1.1.1'; // Digital X-Ray Image Storage - For Presentation
  const inst = `1.2.826.0.1.3680043.10.999.${Math.floor(Math.random() * 1e9)}`;
  const metaBody = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', str(sop)),
    element(0x0002, 0x0003, 'UI', str(inst)),
    element(0x0002, 0x0010, 'UI', str('1.2.840.10008.1.2.1')),
  ]);
  const groupLen = Buffer.alloc(4); groupLen.writeUInt32LE(metaBody.length);
  const withPixels = opts.pixels !== false;
  const pixels = Buffer.alloc(withPixels ? width * height : 0);
  if (withPixels) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels[y * width + x] = (x + y) & 0xff;
  return Buffer.concat([
    Buffer.alloc(128), str('DICM'), element(0x0002, 0x0000, 'UL', groupLen), metaBody,
    element(0x0008, 0x0016, 'UI', str(sop)), element(0x0008, 0x0018, 'UI', str(inst)), element(0x0008, 0x0060, 'CS', str('DX')),
    element(0x0010, 0x0020, 'LO', str(patientId)),
    element(0x0028, 0x0002, 'US', us(1)), element(0x0028, 0x0004, 'CS', str('MONOCHROME2')),
    element(0x0028, 0x0010, 'US', us(height)), element(0x0028, 0x0011, 'US', us(width)),
    element(0x0028, 0x0100, 'US', us(8)), element(0x0028, 0x0101, 'US', us(8)), element(0x0028, 0x0102, 'US', us(7)), element(0x0028, 0x0103, 'US', us(0)),
    ...(withPixels ? [element(0x7fe0, 0x0010, 'OB', pixels)] : []),
  ]);
}

/** A real (decodable) 8-bit grey PNG of the given size. */
export function tinyPng(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (b: Buffer) => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type: string, data: Buffer) => { const len = Buffer.alloc(4); len.writeUInt32BE(data.length); const td = Buffer.concat([Buffer.from(type, 'latin1'), data]); const c = Buffer.alloc(4); c.writeUInt32BE(crc(td)); return Buffer.concat([len, td, c]); };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4); ihdr[8] = 8; ihdr[9] = 0;
  const raw = Buffer.alloc((width + 1) * height);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

export function writeFiles(dir: string, files: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}

export function capture(cwd: string) {
  let out = ''; let err = '';
  return { io: { out: (t: string) => { out += t; }, err: (t: string) => { err += t; }, cwd }, get out() { return out; }, get err() { return err; } };
}
