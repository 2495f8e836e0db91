#!/usr/bin/env node
// `npm run package [-- --target linux-x64|linux-arm64|win32-x64|win32-arm64|darwin-arm64]`: a platform-specific
// .vsix (vsce package --target) that carries only that platform's onnxruntime binaries (all five are ~290 MB
// unpacked; one is 25-86 MB). Default target: this machine's.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, statSync, rmSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ortPlatforms = { 'linux-x64': 'linux/x64', 'linux-arm64': 'linux/arm64', 'win32-x64': 'win32/x64', 'win32-arm64': 'win32/arm64', 'darwin-arm64': 'darwin/arm64' };
const i = process.argv.indexOf('--target');
const target = i > 0 ? process.argv[i + 1] : `${process.platform}-${process.arch}`;
if (!target || !(target in ortPlatforms)) {
  console.error(`package: unsupported target '${target}'; one of ${Object.keys(ortPlatforms).join(', ')}`);
  process.exit(2);
}

export function packageVsix(tgt) {
  execFileSync(process.execPath, ['scripts/build.mjs', '--production'], { cwd: root, stdio: ['ignore', 2, 2] });
  const base = readFileSync(join(root, '.vscodeignore'), 'utf8');
  const keep = `!node_modules/onnxruntime-node/bin/napi-v6/${ortPlatforms[tgt]}/**`;
  const ignoreFile = join(tmpdir(), `pointbox-vscodeignore-${tgt}`);
  writeFileSync(ignoreFile, `${base}\n# target ${tgt}: only this platform's onnxruntime binaries\n${keep}\n`);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const out = join(root, `${pkg.name}-${tgt}-${pkg.version}.vsix`);
  rmSync(out, { force: true });
  execFileSync(join(root, 'node_modules', '.bin', 'vsce'), ['package', '--target', tgt, '--ignoreFile', ignoreFile,
    '--allow-missing-repository', '--skip-license', '--no-update-package-json', '--no-rewrite-relative-links', '--out', out],
  { cwd: root, stdio: ['ignore', 2, 2] });
  rmSync(ignoreFile, { force: true });
  return { file: out, bytes: statSync(out).size };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = packageVsix(target);
  console.log(`${r.file}: ${(r.bytes / 2 ** 20).toFixed(1)} MiB`);
}
