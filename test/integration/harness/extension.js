// Test-only extension, installed next to PointBox by test/integration/runInCodeServer.mjs and never shipped.
// It plays the part of VS Code's --extensionTestsPath: loads the bundled suite named by POINTBOX_TEST_SUITE
// and runs it in this real extension host, writing results to POINTBOX_TEST_RESULTS.
// Phases: POINTBOX_TEST_MODE=untrusted runs the untrusted-workspace suite. Otherwise the main suite runs;
// when it includes the reload tests, the harness then reloads the window (a new extension host: PointBox is
// deactivated and activated again) and, activated again in the new host, runs the after-reload suite and
// writes the combined report. The phase survives the reload in `<results>.phase.json`.
const fs = require('fs');
const vscode = require('vscode');

function write(results, report) {
  fs.writeFileSync(results + '.tmp', JSON.stringify(report, null, 2));
  fs.renameSync(results + '.tmp', results);
}

exports.activate = async function activate() {
  const suite = process.env.POINTBOX_TEST_SUITE;
  const results = process.env.POINTBOX_TEST_RESULTS;
  if (!suite || !results) return;
  const grep = process.env.POINTBOX_TEST_GREP;
  const stateFile = results + '.phase.json';
  let state;
  try { state = JSON.parse(fs.readFileSync(stateFile, 'utf8')); } catch { state = undefined; }
  let report;
  try {
    const mod = require(suite);
    if (process.env.POINTBOX_TEST_MODE === 'untrusted') {
      report = await mod.runSuite({ grep, phase: 'untrusted' });
    } else if (!state) {
      report = await mod.runSuite({ grep, phase: 'main' });
      if (mod.hasReloadPhase(grep)) {
        fs.writeFileSync(stateFile, JSON.stringify({ phase: 'after-reload', report, hostPid: process.pid }));
        // This host ends with the reload (the command's promise is cancelled then): the next host reports.
        vscode.commands.executeCommand('workbench.action.reloadWindow').then(undefined, () => undefined);
        return;
      }
    } else {
      const after = await mod.runSuite({ grep, phase: 'after-reload' });
      report = {
        passed: state.report.passed + after.passed, failed: state.report.failed + after.failed,
        tests: [...state.report.tests, ...after.tests], metrics: { ...state.report.metrics, ...after.metrics },
      };
    }
  } catch (e) {
    report = { passed: 0, failed: 1, tests: [{ title: 'suite load', state: 'failed', error: String((e && e.stack) || e) }], metrics: {} };
    if (state) { report.passed += state.report.passed; report.failed += state.report.failed; report.tests.unshift(...state.report.tests); }
  }
  write(results, report);
};
exports.deactivate = function () {};
