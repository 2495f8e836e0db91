#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.ts (through tsx) one after another, each printing a Markdown
// section (its measurements side by side with the reference named in its issue, as ratios), and writes
// them all to BENCHMARKS.md with the machine it ran on. `npm run bench -- imaging` runs only matching files.
import { readdirSync, writeFileSync, renameSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv.slice(2);
// *.bench.mjs run in plain Node (the browser benches: bench/viewer.e2e.bench.mjs drives code-server + Chromium).
const files = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.bench.ts') || f.endsWith('.bench.mjs'))
  .filter((f) => filter.length === 0 || filter.some((s) => f.includes(s))).sort();
const sections = [];
let failed = 0;
for (const f of files) {
  console.error(`== bench/${f}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [...(f.endsWith('.ts') ? ['--import', 'tsx'] : []), join('bench', f)], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  process.stdout.write(r.stdout ?? '');
  if (r.status !== 0) { failed++; sections.push(`## bench/${f}\n\nFAILED (exit ${r.status}).\n`); continue; }
  sections.push(`${(r.stdout ?? '').trim()}\n\n_bench/${f} took ${((Date.now() - t0) / 1000).toFixed(1)} s._\n`);
}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = `# Benchmarks\n\nWritten by \`npm run bench\` on ${new Date().toISOString()}: ${os.cpus().length} x ${cpu}, ` +
  `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, ${os.platform()} ${os.release()}.\n` +
  `Each section runs PointBox and its reference side by side in the same run; ratios > 1 mean PointBox is faster ` +
  `unless the section says otherwise.\n\n`;
if (filter.length === 0) {
  const tmp = join(root, 'BENCHMARKS.md.tmp');
  writeFileSync(tmp, header + sections.join('\n'));
  renameSync(tmp, join(root, 'BENCHMARKS.md'));
  console.error('wrote BENCHMARKS.md');
}
process.exit(failed ? 1 : 0);
