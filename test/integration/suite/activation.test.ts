/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { performance } from 'node:perf_hooks';

const EXT_ID = 'pointbox.pointbox';

describe('PointBox activation', () => {
  it('is installed, not active before it is needed (lazy), and activates', async () => {
    const ext = vscode.extensions.getExtension(EXT_ID);
    assert.ok(ext, `${EXT_ID} is not installed in this VS Code`);
    // Nothing in the test workspace triggers activation (no '*' event, no dataset file, views closed).
    assert.equal(ext.isActive, false, 'PointBox activated eagerly; activation must be lazy');
    const t0 = performance.now();
    const api = await ext.activate();
    const wallMs = performance.now() - t0;
    assert.equal(ext.isActive, true);
    const info = api.info();
    assert.equal(info.version, ext.packageJSON.version);
    (globalThis as any).__pointboxMetrics.activationWallMs = wallMs;
    (globalThis as any).__pointboxMetrics.activationInsideMs = info.activationMs;
  });

  it('declares lazy activation, workspace extension kind and limited untrusted support', () => {
    const pkg = vscode.extensions.getExtension(EXT_ID)!.packageJSON;
    assert.ok(!pkg.activationEvents.includes('*'));
    assert.deepEqual(pkg.extensionKind, ['workspace']);
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  });
});
