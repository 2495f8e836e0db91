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

const npmEnv = () => ({ ...process.env, npm_config_unsafe_perm: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', npm_config_loglevel: 'error' });

function run(cmd, args, cwd) {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: npmEnv() });
  } catch (e) {
    throw new Error(`code-server setup: '${cmd} ${args.join(' ')}' failed in ${cwd}: ${e.message}`);
  }
}

/**
 * A native addon rebuild whose failure is tolerated: its compiler output is captured, not printed, and a
 * failure becomes one line saying what is lost (the full output is kept in the log file named there).
 */
function rebuild(mod, cwd, lost) {
  try {
    execFileSync('npm', ['rebuild', mod], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: npmEnv(), maxBuffer: 64 << 20 });
    return true;
  } catch (e) {
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    const log = join(cacheDir, `rebuild-${mod.replace(/[@/]/g, '_')}.log`);
    writeFileSync(log, out);
    // node-pty's extra compile_commands step wants the network, but pty.node is built before it.
    if (mod === 'node-pty' && existsSync(join(cwd, 'node_modules', 'node-pty', 'build', 'Release', 'pty.node'))) return true;
    const why = out.split('\n').map((l) => l.trim()).filter((l) => /error|not found|ENOENT/i.test(l) && !/^gyp ERR! (cwd|node|stack|System|command|node-gyp)/.test(l)).pop() ?? e.message.split('\n')[0];
    console.log(`code-server setup: ${mod} not rebuilt (${why.slice(0, 160)}); ${lost}. Output: ${log}`);
    return false;
  }
}

function which(cmd) {
  for (const d of (process.env.PATH ?? '').split(':')) if (d && existsSync(join(d, cmd))) return join(d, cmd);
  return undefined;
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
  console.log(`Installing code-server ${CODE_SERVER_VERSION} into ${cacheDir} (first run only, about 2-5 minutes)...`);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(join(cacheDir, 'package.json'), JSON.stringify({ name: 'pointbox-code-server-cache', private: true }));
  run('npm', ['install', '--no-save', '--ignore-scripts', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`], cacheDir);
  const vscodeDir = join(codeServerRoot, 'lib', 'vscode');
  run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-package-lock'], vscodeDir);
  // @vscode/ripgrep's postinstall would download rg from GitHub; Debian's rg does the same job.
  const rg = whichRg();
  if (rg) symlinkForce(rg, join(vscodeDir, 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg'));
  else console.warn('code-server setup: no ripgrep found (apt-get install ripgrep); only workbench text search is lost.');
  // Native addons. Each failure is tolerated with one line saying what is lost, never a screen of compiler output.
  const lost = {
    '@parcel/watcher': 'file watching falls back to polling', '@vscode/deviceid': 'no device id (telemetry is off anyway)',
    '@vscode/spdlog': 'no log files for the server', 'native-watchdog': 'no watchdog for a hung extension host', 'node-pty': 'no integrated terminal',
  };
  for (const [mod, what] of Object.entries(lost)) rebuild(mod, vscodeDir, what);
  // kerberos needs libkrb5-dev (krb5-config); without it only Kerberos proxy authentication is lost, so
  // don't even try: one line instead of a failed compile.
  if (which('krb5-config')) rebuild('kerberos', vscodeDir, 'only Kerberos proxy authentication is lost');
  else console.log('code-server setup: kerberos addon skipped (libkrb5-dev is not installed); only Kerberos proxy authentication is lost.');
  symlinkForce('node_modules', join(vscodeDir, 'node_modules.asar'));
  symlinkForce('code-linux.sh', join(vscodeDir, 'bin', 'remote-cli', 'code-server'));
  symlinkForce('browser-linux.sh', join(vscodeDir, 'bin', 'helpers', 'browser.sh'));
  run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-package-lock'], join(vscodeDir, 'extensions'));
  // argon2 (password hashing; unused with --auth none, but loaded at start) sits beside code-server.
  rebuild('argon2', cacheDir, 'password login is lost (PointBox uses --auth none)');
  if (!existsSync(entryJs)) throw new Error(`code-server setup: ${entryJs} missing after install`);
  const pkg = JSON.parse(readFileSync(join(codeServerRoot, 'package.json'), 'utf8'));
  writeFileSync(marker, JSON.stringify({ version: pkg.version, seconds: (Date.now() - t0) / 1000 }));
  console.log(`code-server ${pkg.version} ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return entryJs;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try { setupCodeServer(); } catch (e) { console.error(e.message); process.exit(1); }
}
