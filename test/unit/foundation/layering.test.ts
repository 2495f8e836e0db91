import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { ESLint } from 'eslint';

const root = join(__dirname, '..', '..', '..');

test("the lint rule rejects 'vscode' imports in core, shared, cli and webview", async () => {
  const eslint = new ESLint({ cwd: root });
  for (const file of ['src/core/x.ts', 'src/shared/x.ts', 'src/cli/x.ts', 'webview/viewer/x.ts']) {
    const [r] = await eslint.lintText("import * as vscode from 'vscode';\nexport const a = vscode;\n", { filePath: join(root, file) });
    assert.ok(r!.messages.some((m) => m.ruleId === 'no-restricted-imports'), `${file}: no-restricted-imports did not fire`);
    const [r2] = await eslint.lintText("export const v = require('vscode');\n", { filePath: join(root, file) });
    assert.ok(r2!.messages.some((m) => m.ruleId === 'no-restricted-syntax'), `${file}: require('vscode') not caught`);
  }
  const [ok] = await eslint.lintText("import * as vscode from 'vscode';\nexport const a = vscode;\n", { filePath: join(root, 'src/extension/x.ts') });
  assert.equal(ok!.messages.filter((m) => m.ruleId === 'no-restricted-imports').length, 0);
});

test("no file in src/core, src/shared, src/cli or webview imports 'vscode' today", () => {
  const offenders: string[] = [];
  const walk = (d: string) => {
    let names: string[] = [];
    try { names = readdirSync(d); } catch { return; }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|js|mjs)$/.test(n) && /from ['"]vscode['"]|require\(['"]vscode['"]\)/.test(readFileSync(p, 'utf8'))) offenders.push(p);
    }
  };
  for (const d of ['src/core', 'src/shared', 'src/cli', 'webview']) walk(join(root, d));
  assert.deepEqual(offenders, []);
});

test('package.json: lazy activation, workspace kind, limited untrusted support, engines <= 1.100', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.name, 'pointbox');
  assert.equal(pkg.displayName, 'PointBox');
  assert.ok(!(pkg.activationEvents ?? []).includes('*'));
  assert.deepEqual(pkg.extensionKind, ['workspace']);
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  const m = /^\^?(\d+)\.(\d+)/.exec(pkg.engines.vscode);
  assert.ok(m && (Number(m[1]) < 1 || (Number(m[1]) === 1 && Number(m[2]) <= 100)), `engines.vscode ${pkg.engines.vscode} is newer than 1.100`);
  assert.equal(pkg.bin.pointbox, './dist/cli.js');
});
