#!/usr/bin/env node
// Installs code-server 4.100.3 (= VS Code 1.100.3, the last line that runs on Node 20) into
// .cache/code-server, from the npm registry only. A plain `npm install code-server` fails on machines
// that reach nothing but the registry (its postinstalls download ripgrep and refuse root), so this
// replays the steps that work offline; see ../shared/notes/vscode-in-a-browser.md.
// Cached: a marker file records a finished install, so later runs return at once.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, symlinkSync, rmSync, lstatSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const cacheDir = process.env.POINTBOX_CODE_SERVER_DIR ?? join(root, '.cache', `code-server-${CODE_SERVER_VERSION}`);
export const codeServerRoot = join(cacheDir, 'node_modules', 'code-server');
export const entryJs = join(codeServerRoot, 'out', 'node', 'entry.js');
const marker = join(cacheDir, '.pointbox-installed');

function run(cmd, args, cwd, allowFail = false) {
  const env = { ...process.env, npm_config_unsafe_perm: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env });
  } catch (e) {
    if (!allowFail) throw new Error(`code-server setup: '${cmd} ${args.join(' ')}' failed in ${cwd}: ${e.message}`);
    console.warn(`code-server setup: '${cmd} ${args.join(' ')}' failed (tolerated): ${e.message.split('\n')[0]}`);
  }
}

function symlinkForce(target, path) {
  try { lstatSync(path); rmSync(path, { force: true, recursive: true }); } catch { /* absent */ }
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path);
}

function whichRg() {
  for (const p of ['/usr/bin/rg', '/usr/local/bin/rg']) if (existsSync(p)) return p;
  return undefined;
}

export function setupCodeServer() {
  if (existsSync(marker) && existsSync(entryJs)) return entryJs;
  const t0 = Date.now();
  console.log(`Installing code-server ${CODE_SERVER_VERSION} into ${cacheDir} (first run only, about 2-4 minutes)...`);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(join(cacheDir, 'package.json'), JSON.stringify({ name: 'pointbox-code-server-cache', private: true }));
  run('npm', ['install', '--no-save', '--ignore-scripts', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`], cacheDir);
  const vscodeDir = join(codeServerRoot, 'lib', 'vscode');
  run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-package-lock'], vscodeDir);
  // @vscode/ripgrep's postinstall would download rg from GitHub; Debian's rg does the same job.
  const rg = whichRg();
  if (rg) symlinkForce(rg, join(vscodeDir, 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg'));
  else console.warn('code-server setup: no ripgrep found (apt-get install ripgrep); only workbench text search is lost.');
  // Native addons: kerberos fails without libkrb5-dev, which only loses Kerberos proxy auth; tolerate it.
  for (const mod of ['@parcel/watcher', '@vscode/deviceid', '@vscode/spdlog', 'native-watchdog', 'node-pty']) {
    run('npm', ['rebuild', mod], vscodeDir, true);
  }
  run('npm', ['rebuild', 'kerberos'], vscodeDir, true);
  symlinkForce('node_modules', join(vscodeDir, 'node_modules.asar'));
  symlinkForce('code-linux.sh', join(vscodeDir, 'bin', 'remote-cli', 'code-server'));
  symlinkForce('browser-linux.sh', join(vscodeDir, 'bin', 'helpers', 'browser.sh'));
  run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-package-lock'], join(vscodeDir, 'extensions'));
  // argon2 (password hashing; unused with --auth none, but loaded at start) sits beside code-server.
  run('npm', ['rebuild', 'argon2'], cacheDir, true);
  if (!existsSync(entryJs)) throw new Error(`code-server setup: ${entryJs} missing after install`);
  const pkg = JSON.parse(readFileSync(join(codeServerRoot, 'package.json'), 'utf8'));
  writeFileSync(marker, JSON.stringify({ version: pkg.version, seconds: (Date.now() - t0) / 1000 }));
  console.log(`code-server ${pkg.version} ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return entryJs;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try { setupCodeServer(); } catch (e) { console.error(e.message); process.exit(1); }
}
