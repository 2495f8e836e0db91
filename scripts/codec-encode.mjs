#!/usr/bin/env node
// Encoders from the codec packages PointBox already depends on, for the imaging conformance fixtures
// (scripts/fixtures-conformance.py calls this): CharLS (@cornerstonejs/codec-charls, JPEG-LS) and OpenJPH
// (@cornerstonejs/codec-openjph, HTJ2K), neither of which Debian ships a command-line encoder for.
//
// usage: node scripts/codec-encode.mjs jpegls|htj2k IN.raw OUT W H BITS COMPONENTS SIGNED(0|1) [near=N] [interleave=0|1|2]
// IN.raw: pixel-interleaved samples, little-endian, 1 byte per sample up to 8 bits, else 2.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [codec, input, output, w, h, bits, comps, signed, ...opts] = process.argv.slice(2);
const opt = Object.fromEntries(opts.map((o) => o.split('=')));
const info = { width: +w, height: +h, bitsPerSample: +bits, componentCount: +comps, isSigned: signed === '1' };
const raw = readFileSync(input);
const quiet = { print: () => {}, printErr: () => {} };

let encoded;
if (codec === 'jpegls') {
  const mod = await require('@cornerstonejs/codec-charls/wasmjs')(quiet);
  const enc = new mod.JpegLSEncoder();
  enc.getDecodedBuffer(info).set(raw);
  if (opt.near) enc.setNearLossless(+opt.near);
  if (opt.interleave) enc.setInterleaveMode(+opt.interleave);
  enc.encode();
  encoded = enc.getEncodedBuffer().slice();
  enc.delete();
} else if (codec === 'htj2k') {
  const mod = await require('@cornerstonejs/codec-openjph/wasmjs')(quiet);
  const enc = new mod.HTJ2KEncoder();
  enc.getDecodedBuffer({ ...info, isUsingColorTransform: false }).set(raw);
  enc.encode();
  encoded = enc.getEncodedBuffer().slice();
  enc.delete();
} else {
  console.error(`unknown codec ${codec}`);
  process.exit(2);
}
writeFileSync(output, encoded);
