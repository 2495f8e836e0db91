#!/usr/bin/env node
// One command bundles everything with esbuild:
//   dist/extension.js        extension host (Node, CJS; 'vscode' and 'onnxruntime-node' stay external)
//   dist/cli.js              the `pointbox` CLI (Node, CJS; built only from core, so 'vscode' is NOT external:
//                            an accidental import fails the build)
//   dist/workers/<name>.js   every src/**/<name>.worker.ts (worker_threads entry points)
//   dist/webview/<dir>.js    every webview/<dir>/main.ts (browser bundles)
//   dist/wasm/*.wasm         codec WebAssembly files copied from node_modules
//   dist/openjpeg-mt/*       the committed multithreaded OpenJPEG build (src/core/imaging/codecs/openjpeg-mt/
//                            prebuilt), copied as is: Emscripten's pthread workers load its glue by path
// Entry points are discovered by convention so adding a worker or a webview needs no edit here.
// --watch rebuilds on change; --production minifies.
import * as esbuild from 'esbuild';
import { readdirSync, statSync, mkdirSync, copyFileSync, existsSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname, basename, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const dist = join(root, 'dist');

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out); else out.push(p);
  }
  return out;
}

const nodeCommon = {
  bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true,
  minify: production, logLevel: 'warning', absWorkingDir: root,
  // .node addons and ORT's per-platform binaries are loaded from node_modules at run time.
  external: ['onnxruntime-node'],
};

const workerEntries = Object.fromEntries(walk(join(root, 'src'))
  .filter((f) => f.endsWith('.worker.ts'))
  .map((f) => [basename(f, '.worker.ts'), f]));

const webviewEntries = Object.fromEntries(existsSync(join(root, 'webview'))
  ? readdirSync(join(root, 'webview'))
    .filter((d) => existsSync(join(root, 'webview', d, 'main.ts')))
    .map((d) => [d, join(root, 'webview', d, 'main.ts')])
  : []);

const configs = [
  { ...nodeCommon, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: dist, external: [...nodeCommon.external, 'vscode'] },
  { ...nodeCommon, entryPoints: { cli: 'src/cli/main.ts' }, outdir: dist, banner: { js: '#!/usr/bin/env node' } },
];
if (Object.keys(workerEntries).length) configs.push({ ...nodeCommon, entryPoints: workerEntries, outdir: join(dist, 'workers') });
if (Object.keys(webviewEntries).length) {
  configs.push({
    bundle: true, platform: 'browser', target: 'es2022', format: 'esm', sourcemap: true, minify: production,
    logLevel: 'warning', absWorkingDir: root, entryPoints: webviewEntries, outdir: join(dist, 'webview'),
    loader: { '.css': 'text', '.wasm': 'file' },
  });
}

function copyAssets() {
  const wasmDir = join(dist, 'wasm');
  mkdirSync(wasmDir, { recursive: true });
  for (const pkg of ['@cornerstonejs/codec-openjpeg', '@cornerstonejs/codec-charls', '@cornerstonejs/codec-libjpeg-turbo-8bit', '@cornerstonejs/codec-openjph']) {
    const d = join(root, 'node_modules', pkg, 'dist');
    for (const f of walk(d).filter((f) => f.endsWith('.wasm'))) copyFileSync(f, join(wasmDir, basename(f)));
    // Browser copies of the decode glue as ES modules (dist/wasm/<name>.mjs): the webview's decode worker
    // imports them at run time, because the npm glue names 'fs'/'path' and cannot be bundled for the browser.
    for (const f of walk(d).filter((f) => /(wasm_decode|openjphjs)\.js$/.test(f))) {
      const src = readFileSync(f, 'utf8');
      const name = /^\s*var (\w+) = \(\(\) => \{/m.exec(src)?.[1];
      if (name) writeFileSync(join(wasmDir, basename(f, '.js') + '.mjs'), `${src}\nexport default ${name};\n`);
    }
  }
  const mtSrc = join(root, 'src', 'core', 'imaging', 'codecs', 'openjpeg-mt', 'prebuilt');
  const mtDir = join(dist, 'openjpeg-mt');
  mkdirSync(mtDir, { recursive: true });
  for (const f of ['openjpeg-mt.js', 'openjpeg-mt.wasm', 'openjpeg-mt.worker.js', 'LICENSE.openjpeg']) copyFileSync(join(mtSrc, f), join(mtDir, f));
}

if (!watch) rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
copyAssets();
if (watch) {
  const ctxs = await Promise.all(configs.map((c) => esbuild.context(c)));
  await Promise.all(ctxs.map((c) => c.watch()));
  console.log(`watching ${configs.length} bundles (Ctrl+C to stop)`);
} else {
  const t0 = Date.now();
  await Promise.all(configs.map((c) => esbuild.build(c)));
  console.log(`built ${configs.length} bundles into ${relative(root, dist)}/ in ${Date.now() - t0} ms`);
}
