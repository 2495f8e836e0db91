/**
 * The Node implementation of ImagingPlatform (CLI, extension-host worker threads, unit tests).
 * WASM files are looked up next to the bundle first (dist/wasm, copied by scripts/build.mjs), then in
 * node_modules, so the same code works from source (tsx) and from dist/cli.js or dist/workers/*.js.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { inflateRawSync, inflateSync } from 'node:zlib';
import openjpegFactory from '@cornerstonejs/codec-openjpeg/decodewasmjs';
import charlsFactory from '@cornerstonejs/codec-charls/decodewasmjs';
import libjpegTurboFactory from '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs';
import openjphFactory from '@cornerstonejs/codec-openjph/wasmjs';
import type { CodecModuleName, EmscriptenCodecModule, ImagingPlatform } from './ImagingPlatform';
import { decodeJ2kMultithreaded } from './codecs/openjpeg-mt/openjpegMt';

const codecFiles: Record<CodecModuleName, { pkg: string; entry: string; wasm: string; factory: (m?: Record<string, unknown>) => Promise<unknown> }> = {
  openjpeg: { pkg: '@cornerstonejs/codec-openjpeg', entry: 'decodewasmjs', wasm: 'openjpegwasm_decode.wasm', factory: openjpegFactory },
  charls: { pkg: '@cornerstonejs/codec-charls', entry: 'decodewasmjs', wasm: 'charlswasm_decode.wasm', factory: charlsFactory },
  libjpegturbo: { pkg: '@cornerstonejs/codec-libjpeg-turbo-8bit', entry: 'decodewasmjs', wasm: 'libjpegturbowasm_decode.wasm', factory: libjpegTurboFactory },
  // OpenJPH ships one build (decoder and encoder) for HTJ2K.
  openjph: { pkg: '@cornerstonejs/codec-openjph', entry: 'wasmjs', wasm: 'openjphjs.wasm', factory: openjphFactory },
};

function locateWasm(name: CodecModuleName): string {
  const { pkg, entry, wasm } = codecFiles[name];
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  const candidates = [join(here, 'wasm', wasm), join(here, '..', 'wasm', wasm)];
  // package.json is not exported by these packages; resolve an exported entry instead.
  try { candidates.push(join(dirname(require.resolve(`${pkg}/${entry}`)), wasm)); } catch {}
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`cannot find ${wasm} (looked in ${candidates.join(', ')})`);
  return found;
}

const cache = new Map<CodecModuleName, Promise<EmscriptenCodecModule>>();

export const nodeImagingPlatform: ImagingPlatform = {
  inflateZlibSync(data, maxOutputBytes) {
    // zlib's default 16 KB output chunks are collected and concatenated (a second copy of a 1 MB image); one
    // chunk of the expected size (the PNG path passes the exact inflated size) made a 1024x1024 PNG's inflate
    // ~20 % faster. Capped so a header that lies about its size cannot make it allocate much up front.
    const max = Math.min(maxOutputBytes, 2 ** 31 - 1);
    const out = inflateSync(data, { maxOutputLength: max, chunkSize: Math.max(64, Math.min(max, 64 * 2 ** 20)) });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  },
  async inflateRaw(data, maxOutputBytes) {
    // maxOutputLength makes zlib stop with ERR_BUFFER_TOO_LARGE instead of filling memory (zip bombs).
    const out = inflateRawSync(data, { maxOutputLength: Math.min(maxOutputBytes, 2 ** 31 - 1) });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  },
  resetCodec(name) { cache.delete(name); },
  // OpenJPEG with WASM threads (codecs/openjpeg-mt); null -> the cornerstone 'openjpeg' module decodes.
  decodeJ2kMultithreaded,
  loadCodec(name) {
    let p = cache.get(name);
    if (!p) {
      const spec = codecFiles[name];
      p = (async () => {
        const wasmBinary = readFileSync(locateWasm(name));
        // The codecs log "[INFO] ..." through Emscripten's print: stdout must stay clean for --json.
        const mod = await spec.factory({ wasmBinary, print: () => {}, printErr: () => {} });
        return mod as EmscriptenCodecModule;
      })();
      p.catch(() => cache.delete(name));
      cache.set(name, p);
    }
    return p;
  },
};
