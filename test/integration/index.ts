/**
 * Entry of the integration suite, run inside a real VS Code extension host with the real 'vscode' API:
 * by @vscode/test-electron (`run`, the --extensionTestsPath contract) or by the code-server harness
 * (`runSuite`, which returns a report). Bundled to out/test/integration/index.js.
 */
import { appendFileSync } from 'node:fs';
import Mocha from 'mocha';

export interface SuiteReport {
  passed: number;
  failed: number;
  tests: { title: string; state: 'passed' | 'failed' | 'pending'; durationMs?: number; error?: string }[];
  metrics: Record<string, number>;
}

/** Tests can record measurements (e.g. activation time) here; `npm run bench` reads them. */
export const metrics: Record<string, number> = {};
(globalThis as any).__pointboxMetrics = metrics;

/**
 * Which suites run: 'main' (every suite; its last part prepares the reload), 'after-reload' (the same
 * window after `workbench.action.reloadWindow`: a new extension host), 'untrusted' (a window with
 * Workspace Trust on and the folder not trusted).
 */
export type SuitePhase = 'main' | 'after-reload' | 'untrusted';

/** Whether a main run with this grep includes the reload tests (then the harness reloads the window after it). */
export function hasReloadPhase(grep?: string): boolean {
  return !grep || new RegExp(grep).test('Window reload');
}

export function runSuite(opts: { grep?: string; phase?: SuitePhase } = {}): Promise<SuiteReport> {
  const phase = opts.phase ?? 'main';
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, grep: opts.grep || undefined });
  // Register the bdd globals, then load the bundled suite files (esbuild keeps require() lazy).
  mocha.suite.emit('pre-require', globalThis, 'suite', mocha);
  /* eslint-disable @typescript-eslint/no-require-imports -- must run after 'pre-require', so not a hoisted import */
  if (phase === 'main') {
    require('./suite/activation.test');
    require('./suite/views.test');
    require('./suite/datasets.test');
    require('./suite/deidentify.test');
    require('./suite/training.test');
    require('./suite/benchmark.test');
    require('./suite/hostWork.test');
    require('./suite/reloadBefore.test');
  } else if (phase === 'after-reload') {
    require('./suite/reloadAfter.test');
  } else {
    require('./suite/untrusted.test');
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
  const report: SuiteReport = { passed: 0, failed: 0, tests: [], metrics };
  return new Promise((resolve) => {
    const runner = mocha.run(() => resolve(report));
    // A progress line per test (POINTBOX_TEST_PROGRESS): when a run hangs or overruns its deadline, the
    // runner can still say which tests finished and which one was running.
    const progress = process.env.POINTBOX_TEST_PROGRESS;
    const note = (line: string) => { if (progress) try { appendFileSync(progress, `${new Date().toISOString()} ${phase} ${line}\n`); } catch { /* progress is best effort */ } };
    runner.on('test', (t) => note(`start ${t.fullTitle()}`));
    runner.on('test end', (t) => note(`end   ${t.fullTitle()} (${t.duration ?? '?'} ms, ${t.state ?? 'pending'})`));
    runner.on('pass', (t) => { report.passed++; report.tests.push({ title: t.fullTitle(), state: 'passed', durationMs: t.duration }); });
    runner.on('fail', (t, err) => { report.failed++; report.tests.push({ title: t.fullTitle(), state: 'failed', error: String(err?.stack ?? err) }); });
    runner.on('pending', (t) => { report.tests.push({ title: t.fullTitle(), state: 'pending' }); });
  });
}

/** @vscode/test-electron entry point: rejects when any test fails. */
export async function run(): Promise<void> {
  const r = await runSuite({ grep: process.env.POINTBOX_TEST_GREP });
  for (const t of r.tests) console.log(`${t.state === 'passed' ? 'ok' : t.state === 'failed' ? 'FAIL' : 'skip'} ${t.title}${t.error ? '\n' + t.error : ''}`);
  console.log(`${r.passed} passed, ${r.failed} failed`);
  if (r.failed > 0) throw new Error(`${r.failed} integration test(s) failed`);
}
