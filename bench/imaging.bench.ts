/**
 * Imaging decode speed vs pydicom 2.3 + GDCM (C/C++ codecs) decoding the same files to numpy, measured
 * side by side in this run. Both sides time "read the file + decode the first frame" as best of N.
 * Files: the real 1955x1841 16-bit CR chest (RG1) re-encoded into each syntax by
 * scripts/fixtures-imaging.py, and the 1024x1024 SIIM JPEG baseline chest. Prints a Markdown section.
 */
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { decodeImage, nodeImagingPlatform, toDisplay8 } from '../src/core/imaging';

const root = resolve(__dirname, '..');
const gen = join(root, 'test', 'fixtures', 'imaging', 'generated');
const cxr = resolve(root, '..', 'shared', 'data', 'dicom-cxr');
const N = Number(process.env.POINTBOX_BENCH_REPEAT ?? 7);

interface Case { label: string; file: string; target: string; check: (ratio: number) => boolean }
const within15 = (r: number) => r >= 1 / 1.5;
const faster = (r: number) => r > 1;
const cases: Case[] = [
  { label: 'raw explicit LE 16-bit (RG1 1841x1955)', file: join(gen, 'rg1_explicit_le.dcm'), target: 'within 1.5x', check: within15 },
  { label: 'RLE lossless (RG1)', file: join(gen, 'rg1_rle.dcm'), target: 'faster', check: faster },
  { label: 'deflated explicit LE (RG1)', file: join(gen, 'rg1_deflated.dcm'), target: 'faster', check: faster },
  { label: 'JPEG-LS lossless (RG1)', file: join(gen, 'rg1_jpegls.dcm'), target: 'within 1.5x', check: within15 },
  { label: 'JPEG 2000 lossless (RG1)', file: join(gen, 'rg1_j2k_lossless.dcm'), target: 'within 1.5x', check: within15 },
  { label: 'JPEG 2000 lossy (RG1_J2KI original)', file: join(cxr, 'RG1_J2KI.dcm'), target: 'within 1.5x', check: within15 },
  { label: 'JPEG baseline 8-bit (SIIM 1024x1024)', file: join(cxr, 'siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm'), target: 'within 1.5x', check: within15 },
  { label: 'JPEG lossless SV1 (RG1)', file: join(gen, 'rg1_jpeg_lossless.dcm'), target: '(none)', check: () => true },
  { label: 'JPEG extended 12-bit (RG1)', file: join(gen, 'rg1_jpeg_extended12.dcm'), target: '(none)', check: () => true },
];

const py = `
import sys, time, json
import pydicom
try:
    import gdcm  # noqa
    pydicom.config.pixel_data_handlers = [h for h in pydicom.config.pixel_data_handlers if 'gdcm' in h.__name__] + [h for h in pydicom.config.pixel_data_handlers if 'gdcm' not in h.__name__]
except ImportError:
    pass
n = int(sys.argv[1])
out = {}
for path in sys.argv[2:]:
    best = 1e9
    for _ in range(n):
        t = time.perf_counter()
        a = pydicom.dcmread(path).pixel_array
        best = min(best, time.perf_counter() - t)
    out[path] = best * 1000
print(json.dumps(out))
`;

async function oursMs(file: string, display = false): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < N + 1; i++) { // +1: the first run compiles the WASM codec, which is not decode time
    const t = performance.now();
    const b = readFileSync(file);
    const img = await decodeImage(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), nodeImagingPlatform, { noHeader: true, ownsInput: true });
    if (display) toDisplay8(img);
    const ms = performance.now() - t;
    if (i > 0) best = Math.min(best, ms);
  }
  return best;
}

async function main() {
  const lines: string[] = ['## Imaging: DICOM decode vs pydicom 2.3 + GDCM', ''];
  if (!existsSync(join(gen, 'manifest.json'))) {
    const r = spawnSync('/usr/bin/python3', [join(root, 'scripts', 'fixtures-imaging.py')], { encoding: 'utf8' });
    if (r.status !== 0) { console.log(lines.concat([`Skipped: fixtures could not be generated (${(r.stderr || '').trim().slice(-200)}).`]).join('\n')); return; }
  }
  const present = cases.filter((c) => existsSync(c.file));
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-'));
  writeFileSync(join(dir, 'ref.py'), py);
  const r = spawnSync('/usr/bin/python3', [join(dir, 'ref.py'), String(N), ...present.map((c) => c.file)], { encoding: 'utf8' });
  const ref: Record<string, number> = r.status === 0 ? JSON.parse(r.stdout) : {};
  lines.push(`Best of ${N}, read file + parse + decode first frame to a typed array (PointBox) / numpy array (pydicom). Ratio = reference ms / PointBox ms (> 1: PointBox faster).`, '');
  lines.push('| case | PointBox ms | pydicom+GDCM ms | ratio | target | met |', '|---|---:|---:|---:|---|---|');
  for (const c of present) {
    const ms = await oursMs(c.file);
    const refMs = ref[c.file];
    const ratio = refMs !== undefined ? refMs / ms : NaN;
    lines.push(`| ${c.label} | ${ms.toFixed(1)} | ${refMs?.toFixed(1) ?? 'n/a'} | ${Number.isNaN(ratio) ? 'n/a' : ratio.toFixed(2)} | ${c.target} | ${Number.isNaN(ratio) ? 'n/a' : c.check(ratio) ? 'yes' : 'NO'} |`);
  }
  const big = join(gen, 'big_2500x3000_le.dcm');
  if (existsSync(big)) {
    const ms = await oursMs(big, true);
    lines.push('', `Decode + window/level to 8-bit display of a 2500x3000 16-bit raw image: **${ms.toFixed(1)} ms** (target < 60 ms: ${ms < 60 ? 'met' : 'NOT met'}).`);
  }
  if (r.status !== 0) lines.push('', `Reference unavailable: ${(r.stderr || '').trim().slice(-200)}`);
  console.log(lines.join('\n'));
}

main().catch((e) => { console.error(e); process.exit(1); });
