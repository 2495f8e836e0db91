#!/usr/bin/env node
// `npm test`: every tier, in order, and a non-zero exit if any fails.
//   1. static: type-check (host + webview) and lint (incl. the no-'vscode'-outside-src/extension rule)
//   2. build (esbuild bundles)
//   3. unit: node:test in plain Node                       (scripts/test-unit.mjs)
//   4. python: the PyTorch trainer's tests                 (scripts/test-python.mjs, if present)
//   5. integration: the suite inside a real VS Code         (code-server 4.100.3 here; test-electron: npm run test:desktop)
//   6. e2e: Playwright + Chromium against code-server       (test/e2e)
//   7. integration-vsix: the suite against the packaged .vsix, installed as a user would
// The last line is 'N passed, N failed' over the tiers.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const npx = (args) => [join(root, 'node_modules', '.bin', args[0]), ...args.slice(1)];
const tiers = [
  ['typecheck', npx(['tsc', '-p', 'tsconfig.json', '--noEmit'])],
  ['typecheck webview', npx(['tsc', '-p', 'webview/tsconfig.json', '--noEmit'])],
  ['lint', npx(['eslint', '--no-error-on-unmatched-pattern', 'src', 'webview', 'test', 'scripts', 'bench'])],
  ['build', [process.execPath, 'scripts/build.mjs']],
  ['unit', [process.execPath, 'scripts/test-unit.mjs']],
  ...(existsSync(join(root, 'scripts', 'test-python.mjs')) ? [['python', [process.execPath, 'scripts/test-python.mjs']]] : []),
  ['integration', [process.execPath, 'test/integration/runInCodeServer.mjs']],
  // Every test/e2e/*.test.mjs, so a new browser test cannot be left out of `npm test`.
  ['e2e', [process.execPath, '--test', '--test-concurrency=1', ...readdirSync(join(root, 'test', 'e2e')).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => `test/e2e/${f}`)]],
  // The same integration suite against the packaged linux .vsix installed with --install-extension:
  // what ships, with only its own node_modules (catches files .vscodeignore drops by mistake).
  ['integration-vsix', [process.execPath, 'test/integration/runInCodeServer.mjs', '--vsix']],
];
const only = process.argv.slice(2);
// The browser tiers build first unless told the build tier already ran in this invocation.
const built = !only.length || only.includes('build');
const results = [];
for (const [name, [cmd, ...args]] of tiers) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n=== ${name}: ${[cmd.replace(root + '/', ''), ...args].join(' ')}`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: built ? { ...process.env, POINTBOX_SKIP_BUILD: '1' } : process.env });
  const ok = r.status === 0;
  results.push({ name, ok, s: (Date.now() - t0) / 1000 });
  console.log(`=== ${name}: ${ok ? 'passed' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
console.log('\nTiers:');
for (const r of results) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(18)} ${r.s.toFixed(1)} s`);
const failed = results.filter((r) => !r.ok).length;
console.log(`tiers: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
