import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main';
import { productInfo } from '../../../src/shared/productInfo';

function capture() {
  let out = ''; let err = '';
  return { io: { out: (t: string) => { out += t; }, err: (t: string) => { err += t; }, cwd: process.cwd() }, get out() { return out; }, get err() { return err; } };
}

test('version prints JSON with the package.json version', async () => {
  const c = capture();
  assert.equal(await runCli(['version'], c.io), 0);
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
  assert.equal(JSON.parse(c.out).version, pkg.version);
  assert.equal(productInfo.version, pkg.version);
});

test('unknown command exits 2 with a message naming it', async () => {
  const c = capture();
  assert.equal(await runCli(['frobnicate'], c.io), 2);
  assert.match(c.err, /unknown command 'frobnicate'/);
});

test('--help lists commands', async () => {
  const c = capture();
  assert.equal(await runCli(['--help'], c.io), 0);
  assert.match(c.out, /version/);
});
