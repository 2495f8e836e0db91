// Test-only extension, installed next to PointBox by test/integration/runInCodeServer.mjs and never shipped.
// It plays the part of VS Code's --extensionTestsPath: loads the bundled suite named by
// POINTBOX_TEST_SUITE and runs it in this real extension host, writing results to POINTBOX_TEST_RESULTS.
const fs = require('fs');

exports.activate = async function activate() {
  const suite = process.env.POINTBOX_TEST_SUITE;
  const results = process.env.POINTBOX_TEST_RESULTS;
  if (!suite || !results) return;
  let report;
  try {
    report = await require(suite).runSuite({ grep: process.env.POINTBOX_TEST_GREP });
  } catch (e) {
    report = { passed: 0, failed: 1, tests: [{ title: 'suite load', state: 'failed', error: String(e && e.stack || e) }] };
  }
  fs.writeFileSync(results + '.tmp', JSON.stringify(report, null, 2));
  fs.renameSync(results + '.tmp', results);
};
exports.deactivate = function () {};
