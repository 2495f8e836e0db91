/**
 * ImagingPlatform for a browser (the webview's decode web worker). The cornerstone Emscripten glue cannot
 * be bundled for the browser (it names 'fs'/'path'), so scripts/build.mjs copies each glue file to
 * dist/wasm/<name>.mjs with an ES `export default`, and this platform imports it at run time from the
 * webview resource URL the host passes in, then hands it the .wasm bytes it fetched itself (no reliance on
 * the server's MIME type for streaming compilation). Needs CSP 'wasm-unsafe-eval' for WebAssembly.
 */
import type { CodecModuleName, EmscriptenCodecModule, ImagingPlatform } from './ImagingPlatform';

const glue: Record<CodecModuleName, { js: string; wasm: string }> = {
  openjpeg: { js: 'openjpegwasm_decode.mjs', wasm: 'openjpegwasm_decode.wasm' },
  charls: { js: 'charlswasm_decode.mjs', wasm: 'charlswasm_decode.wasm' },
  libjpegturbo: { js: 'libjpegturbowasm_decode.mjs', wasm: 'libjpegturbowasm_decode.wasm' },
  openjph: { js: 'openjphjs.mjs', wasm: 'openjphjs.wasm' },
};

interface DecompressionStreamCtor { new (format: string): { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } }

async function inflateOnce(data: Uint8Array, maxOutputBytes: number): Promise<Uint8Array> {
  const DS = (globalThis as unknown as { DecompressionStream?: DecompressionStreamCtor }).DecompressionStream;
  if (!DS) throw new Error('DecompressionStream is not available');
  const ds = new DS('deflate-raw');
  const writer = ds.writable.getWriter();
  void writer.write(data).then(() => writer.close()).catch(() => {});
  const reader = ds.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxOutputBytes) { void reader.cancel(); throw new Error(`inflated data set exceeds ${maxOutputBytes} bytes (too large)`); }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

export function createBrowserImagingPlatform(wasmBaseUrl: string): ImagingPlatform {
  const base = wasmBaseUrl.endsWith('/') ? wasmBaseUrl : `${wasmBaseUrl}/`;
  const cache = new Map<CodecModuleName, Promise<EmscriptenCodecModule>>();
  return {
    async inflateRaw(data, maxOutputBytes) {
      try {
        return await inflateOnce(data, maxOutputBytes);
      } catch (e) {
        // Some writers leave bytes after the final deflate block (pydicom's image_dfl.dcm has an 8-byte
        // gzip-style trailer). zlib ignores them; browsers fail with "junk found". Retry without them.
        if (!/junk|trailing/i.test(e instanceof Error ? e.message : String(e))) throw e;
        for (let k = 1; k <= 16 && k < data.length; k++) {
          try { return await inflateOnce(data.subarray(0, data.length - k), maxOutputBytes); } catch (e2) {
            if (!/junk|trailing/i.test(e2 instanceof Error ? e2.message : String(e2))) throw e2;
          }
        }
        throw e;
      }
    },
    resetCodec(name) { cache.delete(name); },
    loadCodec(name) {
      let p = cache.get(name);
      if (!p) {
        p = (async () => {
          const url = base + glue[name].js;
          // A non-literal specifier: the bundler must leave this import to run time.
          const mod = (await import(/* @vite-ignore */ url)) as { default: (m: Record<string, unknown>) => Promise<unknown> };
          const wasmBinary = new Uint8Array(await (await fetch(base + glue[name].wasm)).arrayBuffer());
          return (await mod.default({ wasmBinary, print: () => {}, printErr: () => {}, locateFile: (f: string) => base + f })) as EmscriptenCodecModule;
        })();
        p.catch(() => cache.delete(name));
        cache.set(name, p);
      }
      return p;
    },
  };
}
