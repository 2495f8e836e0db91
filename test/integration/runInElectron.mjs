#!/usr/bin/env node
// Integration tier, runner A: the same suite (test/integration/index.ts) in a desktop VS Code downloaded by
// @vscode/test-electron. Needs a machine that can download VS Code (a laptop, public CI); the machines this
// project's CI uses reach only the npm registry, so `npm test` uses runner B (code-server) instead.
// VS Code version: POINTBOX_VSCODE_VERSION (default 1.100.3, the engines floor).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, ['scripts/build-tests.mjs'], { cwd: root, stdio: 'inherit' });
const workspace = join(mkdtempSync(join(tmpdir(), 'pointbox-electron-')), 'workspace');
mkdirSync(workspace);
try {
  await runTests({
    version: process.env.POINTBOX_VSCODE_VERSION ?? '1.100.3',
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, 'out', 'test', 'integration', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (e) {
  console.error(`test:desktop failed: ${e.message ?? e}`);
  process.exit(1);
}
