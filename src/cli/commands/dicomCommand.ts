import { writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { parseArgs, optNumber, optString, hasFlag } from '../args';
import { readFile } from 'node:fs/promises';
import {
  decodeImageFile, readDicomFileInfo, toDisplay8, modalityValues, minMax, ImagingError, isPng, isJpeg, type DecodedImage, type ImageAttributes,
} from '../../core/imaging';

const usage = `pointbox dicom info <file> [--json]
pointbox dicom decode <file> --out <path> [--frame N] [--stage stored|modality|display] [--window C,W] [--json]
pointbox dicom header <file> [--json] [--show-identifying]

info    prints the image attributes (rows, columns, bits, photometric, transfer syntax, frames, rescale,
        window, pixel spacing) as JSON.
decode  decodes one frame (0-based, default 0) and writes its samples, interleaved for colour, to --out:
          stored    little-endian int32, stored values after BitsStored masking and sign extension (default)
          modality  little-endian float32, after the Modality LUT (rescale or LUT sequence)
          display   uint8, after the VOI LUT / window (--window overrides) and MONOCHROME1 inversion
        and prints the info JSON plus min, max (of what was written) and decodeMs. PNG and JPEG files are
        accepted too (their info is derived from the decoded image).
header  prints the header summary; patient-identifying values are hidden unless --show-identifying.
Exit code 1 with a one-line reason on bad input.`;

interface InfoJson {
  file: string;
  rows: number; columns: number; samplesPerPixel: number; bitsAllocated: number; bitsStored: number;
  pixelRepresentation: number; photometricInterpretation: string; transferSyntaxUID: string; transferSyntax: string;
  frames: number; rescaleSlope: number; rescaleIntercept: number;
  windowCenter: number | number[] | null; windowWidth: number | number[] | null; voiLutFunction: string;
  pixelSpacing: [number, number] | null; pixelSpacingSource: string | null;
  warnings: string[];
}

function infoJson(file: string, a: ImageAttributes, tsUid: string, tsName: string, warnings: string[]): InfoJson {
  return {
    file: basename(file),
    rows: a.rows, columns: a.columns, samplesPerPixel: a.samplesPerPixel, bitsAllocated: a.bitsAllocated, bitsStored: a.bitsStored,
    pixelRepresentation: a.pixelRepresentation, photometricInterpretation: a.photometricInterpretation,
    transferSyntaxUID: tsUid, transferSyntax: tsName, frames: a.frames,
    rescaleSlope: a.rescaleSlope, rescaleIntercept: a.rescaleIntercept,
    windowCenter: a.windowCenter, windowWidth: a.windowWidth, voiLutFunction: a.voi.function,
    pixelSpacing: a.pixelSpacing, pixelSpacingSource: a.pixelSpacingSource,
    warnings,
  };
}

/** The `info` fields for a PNG/JPEG, taken from the decoded image. */
function rasterInfo(file: string, img: DecodedImage): InfoJson {
  return {
    file: basename(file), rows: img.height, columns: img.width, samplesPerPixel: img.samplesPerPixel, bitsAllocated: img.bitsAllocated,
    bitsStored: img.bitsStored, pixelRepresentation: 0, photometricInterpretation: img.photometric, transferSyntaxUID: '', transferSyntax: img.source.toUpperCase(),
    frames: 1, rescaleSlope: 1, rescaleIntercept: 0, windowCenter: null, windowWidth: null, voiLutFunction: 'LINEAR',
    pixelSpacing: null, pixelSpacingSource: null, warnings: img.warnings,
  };
}

function parseWindow(s: string | undefined): { center: number; width: number } | undefined {
  if (s === undefined) return undefined;
  const [c, w] = s.split(',').map(Number);
  if (!Number.isFinite(c) || !Number.isFinite(w) || w! <= 0) throw new UsageError(`--window must be CENTER,WIDTH with WIDTH > 0, got '${s}'`);
  return { center: c!, width: w! };
}

function stageBytes(img: DecodedImage, stage: string, window?: { center: number; width: number }): { bytes: Uint8Array; min: number; max: number } {
  if (stage === 'stored') {
    const a = Int32Array.from(img.data);
    const [min, max] = minMax(a);
    return { bytes: new Uint8Array(a.buffer), min, max };
  }
  if (stage === 'modality') {
    const a = modalityValues(img);
    const [min, max] = minMax(a);
    return { bytes: new Uint8Array(a.buffer), min, max };
  }
  const a = toDisplay8(img, { window });
  const [min, max] = minMax(a);
  return { bytes: a, min, max };
}

export const dicomCommand: CliCommand = {
  name: 'dicom',
  summary: 'inspect and decode DICOM (and PNG/JPEG) images: info, decode',
  usage,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub !== 'info' && sub !== 'decode' && sub !== 'header') throw new UsageError(sub ? `unknown subcommand '${sub}'` : 'missing subcommand (info, decode or header)');
    const p = parseArgs(rest, { values: ['out', 'frame', 'stage', 'window'], flags: ['json', 'show-identifying'] });
    const file = p.positionals[0];
    if (!file || p.positionals.length > 1) throw new UsageError('expected exactly one <file>');
    const path = resolve(io.cwd, file);
    // Validate every option before touching the file, so usage errors exit 2 whatever the file is.
    const out = optString(p, 'out');
    const stage = optString(p, 'stage') ?? 'stored';
    const frame = optNumber(p, 'frame', 0)!;
    const window = parseWindow(optString(p, 'window'));
    if (sub === 'decode') {
      if (!out) throw new UsageError('--out is required for decode');
      if (!['stored', 'modality', 'display'].includes(stage)) throw new UsageError(`--stage must be stored, modality or display, got '${stage}'`);
      if (!Number.isInteger(frame) || frame < 0) throw new UsageError(`--frame must be a non-negative integer, got ${frame}`);
    }
    try {
      if (sub === 'header') {
        const img = await decodeImageFile(path, { frame: 0 });
        const show = hasFlag(p, 'show-identifying');
        const entries = (img.header ?? []).map((e) => ({ ...e, value: e.identifying && !show ? '(hidden)' : e.value }));
        if (hasFlag(p, 'json')) io.out(JSON.stringify(entries) + '\n');
        else for (const e of entries) io.out(`${e.tag} ${e.keyword.padEnd(28)} ${e.value}\n`);
        return 0;
      }
      if (sub === 'decode') {
        const head = await readFile(path).then((b) => b.subarray(0, 16), () => new Uint8Array(0));
        if (isPng(head) || isJpeg(head)) {
          const img = await decodeImageFile(path);
          const { bytes, min, max } = stageBytes(img, stage, window);
          await writeFile(resolve(io.cwd, out!), bytes);
          io.out(JSON.stringify({ ...rasterInfo(path, img), frame: 0, stage, min, max, decodeMs: Math.round(img.decodeMs * 100) / 100 }) + '\n');
          return 0;
        }
      }
      const { parsed, attributes } = await readDicomFileInfo(path);
      const warnings = [...parsed.warnings, ...attributes.warnings];
      const info = infoJson(path, attributes, parsed.transferSyntax.uid, parsed.transferSyntax.name, warnings);
      if (sub === 'info') {
        io.out(JSON.stringify(info, null, hasFlag(p, 'json') ? undefined : 2) + '\n');
        return 0;
      }
      const img = await decodeImageFile(path, { frame, noHeader: true });
      const { bytes, min, max } = stageBytes(img, stage, window);
      await writeFile(resolve(io.cwd, out!), bytes);
      io.out(JSON.stringify({ ...info, warnings: img.warnings, frame, stage, min, max, decodeMs: Math.round(img.decodeMs * 100) / 100 }, null, hasFlag(p, 'json') ? undefined : 2) + '\n');
      return 0;
    } catch (e) {
      if (e instanceof ImagingError) {
        io.err(`pointbox dicom: ${e.code}: ${e.message.replace(/\s+/g, ' ')}\n`);
        return 1;
      }
      throw e;
    }
  },
};
