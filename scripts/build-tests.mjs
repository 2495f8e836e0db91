#!/usr/bin/env node
// Bundles the integration suite (which runs inside VS Code's extension host) to out/test/integration/index.js.
// 'vscode' comes from the host; mocha is resolved from node_modules at run time.
import * as esbuild from 'esbuild';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
await esbuild.build({
  absWorkingDir: root, bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: 'inline',
  entryPoints: { index: 'test/integration/index.ts' }, outdir: 'out/test/integration',
  external: ['vscode', 'mocha', 'onnxruntime-node'], logLevel: 'warning',
});
