/**
 * Foundation benchmark: PointBox activation time inside a real VS Code (code-server 4.100.3, best of 3 fresh
 * starts) and the size of the linux-x64 .vsix. Targets from issue 2: activation < 150 ms, .vsix < 60 MB.
 */
// @ts-expect-error -- plain ESM helper scripts without type declarations
import { runIntegration } from '../test/integration/runInCodeServer.mjs';
// @ts-expect-error -- plain ESM helper script without type declarations
import { packageVsix } from '../scripts/package-vsix.mjs';

async function main() {
  const wall: number[] = [];
  const inside: number[] = [];
  for (let i = 0; i < 3; i++) {
    process.env.POINTBOX_SKIP_BUILD = i === 0 ? '' : '1';
    const r = await runIntegration({ grep: 'activates', quiet: true });
    if (r.failed || r.passed === 0) throw new Error(`activation test failed: ${JSON.stringify(r.tests)}`);
    wall.push(r.metrics.activationWallMs);
    inside.push(r.metrics.activationInsideMs);
  }
  const vsix = packageVsix(`${process.platform}-${process.arch}`);
  const mb = vsix.bytes / 1e6;
  const best = (a: number[]) => Math.min(...a);
  console.log('## Foundation: activation and package size (issue 2)\n');
  console.log('| measure | PointBox | target | target / measured |');
  console.log('|---|---:|---:|---:|');
  console.log(`| activation, ext.activate() wall time in code-server's extension host (best of 3 starts) | ${best(wall).toFixed(1)} ms | 150 ms | ${(150 / best(wall)).toFixed(1)}x |`);
  console.log(`| activation, module load to end of activate() (best of 3) | ${best(inside).toFixed(1)} ms | 150 ms | ${(150 / best(inside)).toFixed(1)}x |`);
  console.log(`| ${process.platform}-${process.arch} .vsix size | ${mb.toFixed(1)} MB | 60 MB | ${(60 / mb).toFixed(1)}x |`);
  console.log(`\nAll runs: wall ${wall.map((x) => x.toFixed(1)).join(', ')} ms; inside ${inside.map((x) => x.toFixed(1)).join(', ')} ms.`);
}
main().catch((e) => { console.error(e); process.exit(1); });
