/**
 * Issue 5 "Phantom CXRs": generation speed against the issue's targets - 1,000 images of 1024x1024 in under
 * a minute on this machine, ~300 at 1024 for the demo workspace "well under a minute", and the 26,684 small
 * images of the RSNA-scale benchmark - with the floor next to each: writing the same bytes (a prepared
 * DICOM per image) with the same number of threads' worth of plain writeFileSync. Prints one Markdown
 * section to stdout; progress goes to stderr. PHANTOM_BENCH_QUICK=1 runs a tenth of the sizes.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePhantomDataset } from '../src/core/phantom/generatePhantomDataset';
import { generatePhantomImage } from '../src/core/phantom/generatePhantomImage';
import { encodePhantomDicom } from '../src/core/phantom/encodePhantomDicom';

const quick = process.env.PHANTOM_BENCH_QUICK === '1';
const log = (s: string) => process.stderr.write(s + '\n');
const work = mkdtempSync(join(tmpdir(), 'pb-bench-phantom-'));

interface Row { what: string; images: number; size: number; seconds: number; cpuSec: number; load: number; perSec: number; target: string; floorSec?: number; ok?: boolean }

async function run(what: string, images: number, size: number, format: 'dicom' | 'png', targetSec: number | undefined, targetText: string): Promise<Row> {
  const out = join(work, `${size}-${images}-${format}`);
  log(`${what}: ${images} x ${size}px ${format} ...`);
  const load = loadavg()[0]!;
  // process.cpuUsage covers every thread of the process, workers included.
  const cpu0 = process.cpuUsage();
  const r = await generatePhantomDataset({ out, images, seed: 1, size, format });
  const seconds = r.ms / 1000;
  const cu = process.cpuUsage(cpu0);
  const cpuSec = (cu.user + cu.system) / 1e6;
  // Floor: the same number of files of the same size written with writeFileSync, nothing generated.
  const one = encodePhantomDicom(generatePhantomImage(1, 0, { size }), 1, 0);
  const floorDir = join(work, 'floor');
  mkdirSync(floorDir, { recursive: true });
  const t = performance.now();
  for (let i = 0; i < images; i++) writeFileSync(join(floorDir, `f${i}.dcm`), one);
  const floorSec = (performance.now() - t) / 1000;
  rmSync(out, { recursive: true, force: true });
  rmSync(floorDir, { recursive: true, force: true });
  return { what, images, size, seconds, cpuSec, load, perSec: images / seconds, target: targetText, floorSec, ok: targetSec === undefined ? undefined : seconds * (quick ? 10 : 1) <= targetSec };
}

async function main(): Promise<void> {
  const k = quick ? 10 : 1;
  const cores = availableParallelism();
  const rows: Row[] = [];
  // Single-thread render cost per image (no I/O), the unit everything else scales from.
  const t0 = performance.now();
  const n1 = 20;
  for (let i = 0; i < n1; i++) generatePhantomImage(3, i, { size: 1024 });
  const renderMs = (performance.now() - t0) / n1;
  rows.push(await run('demo workspace (~300 at 1024)', Math.round(300 / k), 1024, 'dicom', 30, '< 30 s ("well under a minute")'));
  rows.push(await run('1,000 at 1024', Math.round(1000 / k), 1024, 'dicom', 60, '< 60 s'));
  rows.push(await run('1,000 at 1024, PNG 8-bit', Math.round(1000 / k), 1024, 'png', 60, '< 60 s'));
  rows.push(await run('RSNA scale: 26,684 small (64 px)', Math.round(26684 / k), 64, 'dicom', undefined, '(scale fixture)'));
  const lines = [
    '## Phantom CXRs (issue 5)',
    '',
    `${availableParallelism()} cores, worker threads = one per core. Each row generates a full dataset (images + dataset.pointbox.json) with \`generatePhantomDataset\`; ` +
      `"floor" writes the same number of same-size prepared DICOM files with plain \`writeFileSync\` (I/O only).${quick ? ' QUICK run: a tenth of each size, targets scaled.' : ''}`,
    '',
    `Single-thread render of one 1024x1024 phantom (no encoding, no I/O): **${renderMs.toFixed(0)} ms**.`,
    '',
    'CPU s is the whole process (all worker threads); "CPU s / cores" is the wall time the run would take on an otherwise idle machine ' +
      '(the load column is the 1-minute load average when the run started: other work shares the cores).',
    '',
    '| run | images | size | seconds | images/s | target | within target | CPU s | CPU s / cores | load | floor (write only) s | PointBox / floor time |',
    '|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.what} | ${r.images} | ${r.size} | ${r.seconds.toFixed(1)} | ${r.perSec.toFixed(1)} | ${r.target} | ${r.ok === undefined ? '-' : r.ok ? 'yes' : '**no**'} | ${r.cpuSec.toFixed(1)} | ${(r.cpuSec / cores).toFixed(1)} | ${r.load.toFixed(1)} | ${r.floorSec!.toFixed(1)} | ${(r.seconds / r.floorSec!).toFixed(1)}x |`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().finally(() => rmSync(work, { recursive: true, force: true })).catch((e) => { console.error(e); process.exit(1); });
