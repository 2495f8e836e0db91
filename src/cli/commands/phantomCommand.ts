import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { hasFlag, optNumber, optString, parseArgs, requireString } from '../args';
import { generatePhantomDataset } from '../../core/phantom/generatePhantomDataset';
import type { MonochromeOption } from '../../core/phantom/generatePhantomImage';
import type { DicomTransferSyntax } from '../../core/phantom/encodeDicomPart10';
import type { PhantomFormat } from '../../core/phantom/renderPhantomFile';
import { resolve } from 'node:path';

const usage = `pointbox phantom --out <dir> --images N --seed K [options]

Generates synthetic chest radiographs with lesions (NIH's eight box classes, box sizes drawn from the
real NIH/RSNA statistics) and <dir>/dataset.pointbox.json with boxes, clicks and PBC-style splits.
The same options give byte-identical output.

  --out <dir>              output folder (created)
  --images N               number of images
  --seed K                 integer seed
  --size 1024              image width = height in pixels
  --format dicom|png|both  default dicom (CR, 12 bits stored)
  --box-ratio 0.2          fraction of train images that keep boxes (PBC); also '20%'
  --val 0.1 --test 0.2     split fractions
  --monochrome MONOCHROME2|MONOCHROME1|mixed
  --transfer-syntax explicit|rle|deflate   DICOM encoding (default explicit VR little endian)
  --png-bits 8|16          PNG depth (8 = windowed like NIH, 16 = full data)
  --workers N              worker threads (default: one per core, max 8; 0 = none)
  --json                   print a JSON summary on stdout`;

function fraction(s: string | undefined, name: string, def: number): number {
  if (s === undefined) return def;
  const pct = s.endsWith('%');
  const v = Number(pct ? s.slice(0, -1) : s);
  if (!Number.isFinite(v)) throw new UsageError(`--${name} must be a number or a percentage, got '${s}'`);
  const f = pct ? v / 100 : v;
  if (f < 0 || f > 1) throw new UsageError(`--${name} must be within 0..1 (or 0%..100%), got '${s}'`);
  return f;
}

function oneOf<T extends string>(v: string | undefined, name: string, allowed: readonly T[], def: T): T {
  if (v === undefined) return def;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}

export const phantomCommand: CliCommand = {
  name: 'phantom',
  summary: 'generate synthetic chest X-rays with known lesions and a dataset file',
  usage,
  async run(args, io) {
    const p = parseArgs(args, { values: ['out', 'images', 'seed', 'size', 'format', 'box-ratio', 'val', 'test', 'monochrome', 'transfer-syntax', 'png-bits', 'workers'], flags: ['json'] });
    if (hasFlag(p, 'help')) { io.out(usage + '\n'); return 0; }
    if (p.positionals.length) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
    const out = resolve(io.cwd, requireString(p, 'out'));
    const images = optNumber(p, 'images');
    if (images === undefined || !Number.isInteger(images) || images < 1) throw new UsageError('--images must be a positive integer');
    const seed = optNumber(p, 'seed');
    if (seed === undefined || !Number.isInteger(seed)) throw new UsageError('--seed must be an integer');
    const size = optNumber(p, 'size', 1024)!;
    if (!Number.isInteger(size) || size < 32 || size > 8192) throw new UsageError('--size must be an integer 32..8192');
    const ts = oneOf(optString(p, 'transfer-syntax'), 'transfer-syntax', ['explicit', 'rle', 'deflate'] as const, 'explicit');
    const transferSyntax: DicomTransferSyntax = ts === 'explicit' ? 'explicitLittle' : ts === 'rle' ? 'rle' : 'deflated';
    const pngBits = oneOf(optString(p, 'png-bits'), 'png-bits', ['8', '16'] as const, '8');
    const workers = optNumber(p, 'workers');
    if (workers !== undefined && (!Number.isInteger(workers) || workers < 0)) throw new UsageError('--workers must be an integer >= 0');
    let lastPct = -1;
    const r = await generatePhantomDataset({
      out, images, seed, size,
      format: oneOf<PhantomFormat>(optString(p, 'format'), 'format', ['dicom', 'png', 'both'], 'dicom'),
      boxRatio: fraction(optString(p, 'box-ratio'), 'box-ratio', 0.2),
      valFraction: fraction(optString(p, 'val'), 'val', 0.1),
      testFraction: fraction(optString(p, 'test'), 'test', 0.2),
      monochrome: oneOf<MonochromeOption>(optString(p, 'monochrome'), 'monochrome', ['MONOCHROME2', 'MONOCHROME1', 'mixed'], 'MONOCHROME2'),
      transferSyntax, pngBitDepth: pngBits === '16' ? 16 : 8, workers,
      onProgress: (done, total) => {
        const pct = Math.floor((done / total) * 10);
        if (pct !== lastPct) { lastPct = pct; io.err(`phantom: ${done}/${total}\n`); }
      },
    });
    const summary = { datasetFile: r.datasetFile, images: r.images, lesions: r.lesions, workers: r.workers, seconds: Math.round(r.ms) / 1000, imagesPerSecond: Math.round((r.images / r.ms) * 1e4) / 10 };
    if (hasFlag(p, 'json')) io.out(JSON.stringify(summary) + '\n');
    else io.err(`phantom: wrote ${r.images} images, ${r.lesions} lesions to ${r.datasetFile} in ${summary.seconds} s (${summary.imagesPerSecond} images/s, ${r.workers} workers)\n`);
    return 0;
  },
};
