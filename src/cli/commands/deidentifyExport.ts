/**
 * The `--deidentify` branch of `pointbox export` (options, key handling, report), kept apart from
 * exportCommand.ts so the plain export stays short.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { CliIo } from '../command';
import { UsageError } from '../command';
import { hasFlag, optString, type ParsedArgs } from '../args';
import type { DatasetFile } from '../../core/dataset/schema';
import type { ExportLayout } from '../../core/dataset/exportCoco';
import { parsePrivateKeepRule } from '../../core/deidentify/deidentifyDicom';
import { exportDeidentified } from '../../core/deidentify/exportDeidentified';
import { MIN_KEY_BYTES, newKeyFileText, randomKey, readKeyFile } from '../../core/deidentify/keyedIds';
import { parseProfile } from '../../core/deidentify/profile';
import { reportProblems } from './importCommand';

export const DEID_VALUES = ['profile', 'key-file', 'new-key-file', 'mapping', 'keep-private'];
export const DEID_FLAGS = ['deidentify', 'include-burned-in'];
export const DEID_USAGE = '[--deidentify [--profile basic|basic+retain-dates|basic+retain-device] [--key-file FILE | --new-key-file FILE] [--mapping FILE] [--include-burned-in] [--keep-private "GGGG,xxEE,CREATOR;..."]]';

const inside = (root: string, p: string) => { const r = relative(root, p); return r === '' || (!r.startsWith('..') && !isAbsolute(r)); };

/** Throws a UsageError when de-identification options are given without --deidentify. */
export function checkDeidFlags(p: ParsedArgs): boolean {
  const on = hasFlag(p, 'deidentify');
  if (!on) for (const n of [...DEID_VALUES, 'include-burned-in']) if (p.options.has(n)) throw new UsageError(`--${n} needs --deidentify`);
  return on;
}

export function runDeidentifiedExport(io: CliIo, p: ParsedArgs, d: DatasetFile, o: { out: string; datasetDir: string; imagesRoot?: string; layout: ExportLayout; keepHiddenBoxes: boolean }): number {
  const images = optString(p, 'images');
  if (images !== undefined && images !== 'copy') throw new UsageError(`--deidentify writes de-identified copies of the images; --images ${images} would leave the originals reachable`);
  let profile;
  try { profile = parseProfile(optString(p, 'profile')); } catch (e) { throw new UsageError((e as Error).message); }
  const keyFile = optString(p, 'key-file'); const newKeyFile = optString(p, 'new-key-file');
  if (keyFile && newKeyFile) throw new UsageError('give --key-file or --new-key-file, not both');
  const out = resolve(o.out);
  let key: Uint8Array; let keySource: string;
  const kf = keyFile ?? newKeyFile;
  if (kf) {
    const path = resolve(io.cwd, kf);
    if (inside(out, path)) throw new UsageError(`the key file must not be inside the export folder (${path})`);
    if (newKeyFile) {
      if (existsSync(path)) throw new UsageError(`--new-key-file ${path} exists: use --key-file to reuse it`);
      writeFileSync(path, newKeyFileText(), { mode: 0o600, flag: 'wx' });
      io.err(`wrote a new de-identification key to ${path} (keep it secret; the same key gives the same UIDs in later exports)\n`);
    }
    try { key = readKeyFile(path); } catch (e) { throw new UsageError((e as Error).message); }
    keySource = 'key file';
  } else if (process.env.POINTBOX_DEID_KEY) {
    key = Buffer.from(process.env.POINTBOX_DEID_KEY, 'utf8');
    if (key.length < MIN_KEY_BYTES) throw new UsageError(`POINTBOX_DEID_KEY must have at least ${MIN_KEY_BYTES} bytes`);
    keySource = 'POINTBOX_DEID_KEY';
  } else {
    key = randomKey();
    keySource = 'one-off random key (not kept)';
    io.err('no --key-file: UIDs are pseudonymised under a one-off random key, so they will not match those of any other export (use --new-key-file FILE once, then --key-file FILE)\n');
  }
  const mapping = optString(p, 'mapping');
  let keepPrivate;
  try { keepPrivate = (optString(p, 'keep-private') ?? '').split(';').filter((s) => s.trim()).map(parsePrivateKeepRule); } catch (e) { throw new UsageError((e as Error).message); }
  const r = exportDeidentified(d, {
    out, datasetDir: o.datasetDir, ...(o.imagesRoot ? { imagesRoot: o.imagesRoot } : {}), layout: o.layout, keepHiddenBoxes: o.keepHiddenBoxes,
    profile, key, keySource, ...(kf ? { keyFile: resolve(io.cwd, kf) } : {}), ...(mapping ? { mappingFile: resolve(io.cwd, mapping) } : {}),
    includeBurnedIn: hasFlag(p, 'include-burned-in'), keepPrivate,
  });
  reportProblems(io, r, false);
  for (const x of r.excluded.slice(0, 50)) io.err(`excluded image id=${x.id} (${x.reason}): ${x.file}: ${x.detail}\n`);
  if (r.excluded.length > 50) io.err(`... and ${r.excluded.length - 50} more excluded image(s)\n`);
  const burned = r.excluded.filter((x) => x.reason === 'burned-in').length;
  if (burned) io.err(`${burned} image(s) may show burned-in text and were left out; check them and add --include-burned-in to export them anyway\n`);
  if (hasFlag(p, 'json')) {
    io.out(JSON.stringify({ imageRoot: r.imageRoot, files: r.files, profile: profile.name, keyId: r.keyId, exported: r.exported, excluded: r.excluded, mappingFile: r.mappingFile ?? null }) + '\n');
  } else {
    for (const f of r.files) io.err(`wrote ${f.file}: ${f.images} images, ${f.annotations} annotations\n`);
    io.err(`de-identified (${profile.name}): ${r.exported.dicom} DICOM, ${r.exported.png} PNG, ${r.exported.jpeg} JPEG into ${dirname(r.imageRoot) === out ? r.imageRoot : out}; ${r.excluded.length} left out; key id ${r.keyId}${r.mappingFile ? `; mapping in ${r.mappingFile}` : ''}\n`);
  }
  return 0;
}
