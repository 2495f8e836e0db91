#!/usr/bin/env node
// Integration tier, runner B: runs test/integration (the same suite @vscode/test-electron runs) inside
// code-server 4.100.3's real extension host. code-server has no --extensionTestsPath, so a test-only
// harness extension (test/integration/harness) loads the bundled suite when a browser connects and
// writes a JSON report that this script prints and turns into the exit code.
// Two windows: the main suite in a trusted folder (the harness reloads that window once, for the
// window-reload tests), then the untrusted suite in a second code-server with Workspace Trust on and the
// folder not trusted (`untrusted: true`).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startCodeServer, launchBrowser, openWorkbench, buildUnlessSkipped } from '../support/codeServer.mjs';

export async function runIntegration({ grep, quiet = false, vsix, untrusted = false, timeoutMs = 1_200_000 } = {}) {
  buildUnlessSkipped();
  execFileSync(process.execPath, ['scripts/build-tests.mjs'], { cwd: repoRoot, stdio: ['ignore', 2, 2] });
  const work = mkdtempSync(join(tmpdir(), 'pointbox-it-'));
  const workspace = join(work, 'workspace');
  mkdirSync(workspace);
  writeFileSync(join(workspace, 'README.txt'), 'PointBox integration test workspace (no dataset here, so nothing activates PointBox early).\n');
  if (untrusted) {
    // A workspace that asks for its own interpreter: Restricted Mode must ignore it.
    mkdirSync(join(workspace, '.vscode'));
    writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'pointbox.training.pythonPath': '/custom/bin/python3' }, null, 2));
  }
  const resultsFile = join(work, 'results.json');
  const progressFile = join(work, 'progress.log');
  const server = await startCodeServer({
    workspace,
    env: {
      POINTBOX_TEST_SUITE: join(repoRoot, 'out', 'test', 'integration', 'index.js'), POINTBOX_TEST_RESULTS: resultsFile, POINTBOX_TEST_PROGRESS: progressFile, POINTBOX_TEST_GREP: grep ?? '',
      POINTBOX_TEST_MODE: untrusted ? 'untrusted' : '',
    },
    extraExtensions: [join(repoRoot, 'test', 'integration', 'harness')],
    vsix,
    trust: !untrusted,
  });
  const browser = await launchBrowser();
  try {
    await openWorkbench(browser, server.url);
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(resultsFile)) {
      if (Date.now() > deadline) {
        const progress = existsSync(progressFile) ? readFileSync(progressFile, 'utf8') : '(no test started)\n';
        throw new Error(`no integration results after ${timeoutMs / 1000} s; tests so far (start/end, time, phase):\n${progress}code-server log:\n${server.output().slice(-4000)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const report = JSON.parse(readFileSync(resultsFile, 'utf8'));
    if (!quiet) {
      for (const t of report.tests) {
        console.log(`${t.state === 'passed' ? 'ok  ' : t.state === 'failed' ? 'FAIL' : 'skip'} ${t.title}${t.durationMs !== undefined ? ` (${t.durationMs} ms)` : ''}`);
        if (t.error) console.log('     ' + t.error.split('\n').slice(0, 8).join('\n     '));
      }
      console.log(`integration (code-server 4.100.3${vsix ? ', packaged .vsix' : ''}${untrusted ? ', untrusted folder' : ''}): ${report.passed} passed, ${report.failed} failed`);
    }
    return report;
  } finally {
    await browser.close();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // --vsix: package the extension for this platform and run the suite against the installed .vsix.
  (async () => {
    let vsix;
    if (process.argv.includes('--vsix')) {
      const { packageVsix } = await import('../../scripts/package-vsix.mjs');
      vsix = packageVsix(`${process.platform}-${process.arch}`).file;
    }
    const grep = process.env.POINTBOX_TEST_GREP;
    const r = await runIntegration({ grep, vsix });
    // The untrusted-folder window: its own code-server (Workspace Trust on), same build.
    process.env.POINTBOX_SKIP_BUILD = '1';
    const u = grep && !new RegExp(grep).test('Untrusted workspace') ? { passed: 0, failed: 0 } : await runIntegration({ grep, vsix, untrusted: true });
    const passed = r.passed + u.passed, failed = r.failed + u.failed;
    console.log(`integration: ${passed} passed, ${failed} failed (trusted window with one reload, untrusted window)`);
    process.exit(failed > 0 || passed === 0 ? 1 : 0);
  })().catch((e) => { console.error(e.message ?? e); process.exit(1); });
}
