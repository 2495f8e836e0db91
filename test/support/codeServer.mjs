// Starts a real VS Code (code-server 4.100.3, the VS Code 1.100 server) on loopback with PointBox installed
// from this checkout, and drives it with Playwright in Debian's Chromium. Used by the integration tier
// (test/integration/runInCodeServer.mjs), the UI tier (test/e2e) and `npm start` (scripts/start-demo.mjs).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, symlinkSync, cpSync, existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupCodeServer } from '../../scripts/setup-code-server.mjs';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

/**
 * A fresh extensions dir (code-server marks extensions dropped into a used dir as obsolete) holding
 * PointBox as an unpacked extension: package.json, dist/, media/, models/ copied, node_modules linked
 * (onnxruntime-node alone is ~300 MB, so it is linked, not copied).
 */
export function prepareExtensionsDir(base, extra = []) {
  const extDir = join(base, 'extensions');
  mkdirSync(extDir, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const target = join(extDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`);
  mkdirSync(target, { recursive: true });
  for (const f of ['package.json', 'dist', 'media', 'models', 'README.md']) {
    if (existsSync(join(repoRoot, f))) cpSync(join(repoRoot, f), join(target, f), { recursive: true, filter: (p) => !p.includes('__pycache__') });
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(target, 'node_modules'));
  for (const dir of extra) cpSync(dir, join(extDir, dir.split('/').pop()), { recursive: true });
  return extDir;
}

/** Starts code-server; resolves when it listens. `env` reaches the extension host's process.env. */
export async function startCodeServer({ workspace, env = {}, extraExtensions = [], trust = true, port, log = false, vsix }) {
  const entry = setupCodeServer();
  const base = mkdtempSync(join(tmpdir(), 'pointbox-cs-'));
  let extDir;
  if (vsix) {
    // Install the packaged .vsix the way a user does, so the test runs exactly what ships.
    extDir = join(base, 'extensions');
    mkdirSync(extDir, { recursive: true });
    execFileSync(process.execPath, [entry, '--extensions-dir', extDir, '--install-extension', vsix], { stdio: ['ignore', 'ignore', 'inherit'] });
    for (const dir of extraExtensions) cpSync(dir, join(extDir, dir.split('/').pop()), { recursive: true });
    // The install wrote extensions.json, which would mark the folders copied in after it as obsolete;
    // without it code-server scans the folder and finds both.
    rmSync(join(extDir, 'extensions.json'), { force: true });
    rmSync(join(extDir, '.obsolete'), { force: true });
  } else {
    extDir = prepareExtensionsDir(base, extraExtensions);
  }
  const userData = join(base, 'user-data');
  mkdirSync(join(userData, 'User'), { recursive: true });
  // No welcome page, no telemetry, no update checks, no network lookups that stall a closed machine.
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'update.mode': 'none',
    'extensions.autoCheckUpdates': false, 'extensions.autoUpdate': false, 'workbench.tips.enabled': false,
    'security.workspace.trust.startupPrompt': 'never', 'chat.disableAIFeatures': true,
    'workbench.colorTheme': 'Default Dark Modern',
  }));
  port ??= await freePort();
  const args = [entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', userData,
    '--extensions-dir', extDir, '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override'];
  if (trust) args.push('--disable-workspace-trust');
  args.push(workspace);
  const proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (d) => { output += d; if (log) process.stderr.write(d); };
  proc.stdout.on('data', onData); proc.stderr.on('data', onData);
  await new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`code-server did not start in 60 s:\n${output}`)), 60_000);
    const check = () => { if (/HTTP server listening/.test(output)) { clearTimeout(t); res(); } };
    proc.stdout.on('data', check); proc.stderr.on('data', check);
    proc.once('exit', (c) => { clearTimeout(t); rej(new Error(`code-server exited with ${c}:\n${output}`)); });
  });
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
  return {
    url, port, base, proc, output: () => output,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => { const t = setTimeout(() => { proc.kill('SIGKILL'); r(); }, 5000); proc.once('exit', () => { clearTimeout(t); r(); }); });
      }
      // code-server's own children (extension host, file watcher) can still be writing into user-data for a
      // moment after it exits (CI failed once with ENOTEMPTY in workspaceStorage): retry, and a folder left in
      // the temp directory is only reported, not a test failure.
      try {
        rmSync(base, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      } catch (e) {
        process.stderr.write(`warning: could not remove ${base}: ${e instanceof Error ? e.message : e}\n`);
      }
    },
  };
}

export const chromiumPath = process.env.POINTBOX_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

/** Debian's Chromium through playwright-core (its own browser download cannot work offline). */
export async function launchBrowser() {
  if (!chromiumPath) throw new Error('Chromium not found (apt-get install chromium, or set POINTBOX_CHROMIUM)');
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
  });
}

/** Opens the workbench and waits until it is ready. */
export async function openWorkbench(browser, url, viewport = { width: 1400, height: 900 }) {
  const page = await browser.newPage({ viewport });
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
  return page;
}

/** `npm run build` unless POINTBOX_SKIP_BUILD is set (npm test builds once for every tier). */
export function buildUnlessSkipped() {
  if (!process.env.POINTBOX_SKIP_BUILD) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: ['ignore', 2, 2] });
}

/** Serves `workspace` in code-server with PointBox installed and opens the workbench in Chromium. */
export async function openWorkspaceInBrowser(workspace) {
  const server = await startCodeServer({ workspace });
  const browser = await launchBrowser();
  try {
    const page = await openWorkbench(browser, server.url);
    return { server, browser, page, async close() { await browser.close(); await server.stop(); } };
  } catch (e) {
    await browser.close();
    await server.stop();
    throw e;
  }
}
