/**
 * The imaging conformance matrix (issue 12), in Node: every file scripts/fixtures-conformance.py makes from
 * the real images in ../shared/data (about 390: each transfer syntax PointBox claims x 8/12/16-bit unsigned,
 * 16/12/8-bit signed, MONOCHROME1, RGB and YBR planar/interleaved, multi-frame, odd sizes, one row, one
 * column, fragments with and without an offset table; by dcmtk, GDCM, CharLS, OpenJPH, OpenJPEG, Pillow and
 * our own lossless encoder; plus every colour-JPEG marker/id/PI combination) must match at least one of the
 * two references (pydicom+GDCM, dcmtk / OpenJPEG / netpbm) bit for bit or within its lossy tolerance, every
 * frame; or be refused with the manifest's error code naming the file. The same files go through the webview's
 * decode worker in builtBundles.test.ts. A summary per syntax and encoder is printed and written to
 * generated/conformance/summary.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImageFile, ImagingError } from '../../../src/core/imaging';
import { conformanceDir, diffStats, ensureConformanceFixtures, hasConformanceTools, hasDcmtkReference, hasReference, hasSharedData, referenceDecodeBoth, referenceMismatch } from './imagingTestHelpers';

const skip = !hasSharedData() ? 'shared/data absent' : !hasReference() ? '/usr/bin/python3 with pydicom+numpy+gdcm absent'
  : !hasDcmtkReference() || !hasConformanceTools() ? 'encoders or second reference absent (dcmtk, libgdcm-tools, libopenjp2-tools, netpbm)' : false;

test('conformance matrix: every file matches pydicom+GDCM or dcmtk (every frame), or is refused by name', { skip, timeout: 900_000 }, async (t) => {
  const m = ensureConformanceFixtures();
  if (typeof m === 'string') assert.fail(m);
  const entries = m.files;
  assert.ok(entries.length >= 300, `only ${entries.length} conformance files`);
  const specs: { entry: number; frame: number; spec: string }[] = [];
  entries.forEach((e, i) => {
    if (e.expect !== 'match') return;
    for (let f = 0; f < e.frames; f++) specs.push({ entry: i, frame: f, spec: e.frames > 1 ? `${join(conformanceDir, e.file)}::${f}` : join(conformanceDir, e.file) });
  });
  const refs = referenceDecodeBoth(specs.map((s) => s.spec));
  const failures: string[] = [];
  const rows = new Map<string, { files: number; both: number; gdcmOnly: number; dcmtkOnly: number; sourceOnly: number; refused: number; failed: number }>();
  const row = (k: string) => { let r = rows.get(k); if (!r) rows.set(k, r = { files: 0, both: 0, gdcmOnly: 0, dcmtkOnly: 0, sourceOnly: 0, refused: 0, failed: 0 }); return r; };
  const disagreements: string[] = [];
  const result = new Map<number, { matched: Set<string>; failed: boolean }>();
  for (const [k, s] of specs.entries()) {
    const e = entries[s.entry]!;
    const name = e.frames > 1 ? `${e.file} frame ${s.frame}` : e.file;
    const r = result.get(s.entry) ?? { matched: new Set(['pydicom+GDCM', 'dcmtk']), failed: false };
    result.set(s.entry, r);
    let img;
    try {
      img = await decodeImageFile(join(conformanceDir, e.file), { frame: s.frame });
    } catch (err) {
      failures.push(`${name} (${e.encoder}): PointBox failed: ${(err as Error).message}`); r.failed = true; continue;
    }
    const okRefs = new Set<string>();
    for (const [j, ref] of refs[k]!.entries()) {
      const why = referenceMismatch(img, ref, e.tolerance);
      const label = j === 0 ? 'pydicom+GDCM' : 'dcmtk';
      if (why) disagreements.push(`${name} (${e.encoder}): ${ref.reference ?? label} disagrees: ${why}`); else okRefs.add(label);
    }
    // Lossless: whatever the references say, the file must give back exactly the pixels it was encoded from
    // (decoder-independent). Where both references fail (HTJ2K colour: GDCM 3.0.21 has no HTJ2K and
    // OpenJPEG 2.5.0 misdecodes OpenJPH's 3-component stream) that round trip is the check, reported apart.
    let sourceOk: boolean | undefined;
    if (e.lossless && e.base) {
      const base = await decodeImageFile(join(conformanceDir, e.base), { frame: s.frame });
      sourceOk = diffStats(Int32Array.from(img.data), Int32Array.from(base.data)).maxAbs === 0 && img.width === base.width;
      if (!sourceOk) { failures.push(`${name} (${e.encoder}): lossless, but not the pixels of its source ${e.base}`); r.failed = true; }
    }
    if (okRefs.size === 0 && !sourceOk) { failures.push(`${name} (${e.encoder}) matches no reference: ${disagreements.slice(-2).join(' | ')}`); r.failed = true; }
    if (okRefs.size === 0 && sourceOk) r.matched.add('source');
    for (const l of [...r.matched]) if (l !== 'source' && !okRefs.has(l)) r.matched.delete(l);
  }
  for (const [i, e] of entries.entries()) {
    const key = `${e.syntax} | ${e.encoder.split(' ').slice(0, 2).join(' ').replace(/,$/, '')}`;
    const rw = row(key); rw.files++;
    if (e.expect !== 'match') {
      try {
        await decodeImageFile(join(conformanceDir, e.file));
        failures.push(`${e.file}: decoded, but PointBox must refuse it with ${e.expect} (${e.note})`); rw.failed++;
      } catch (err) {
        const ok = err instanceof ImagingError && err.code === e.expect && err.message.includes(e.file);
        if (!ok) { failures.push(`${e.file}: expected ${e.expect} naming the file, got ${(err as Error).message}`); rw.failed++; } else rw.refused++;
      }
      continue;
    }
    const r = result.get(i)!;
    if (r.failed) rw.failed++;
    else if (r.matched.has('pydicom+GDCM') && r.matched.has('dcmtk')) rw.both++;
    else if (r.matched.has('pydicom+GDCM')) rw.gdcmOnly++;
    else if (r.matched.has('dcmtk')) rw.dcmtkOnly++;
    else rw.sourceOnly++;
  }
  for (const d of disagreements) t.diagnostic(d);
  const lines = ['| syntax | encoder | files | match both | only pydicom+GDCM | only dcmtk/OpenJPEG/netpbm | only the lossless source | refused as expected | failed |', '|---|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const [k, r] of [...rows.entries()].sort()) {
    const [syntax, encoder] = k.split(' | ');
    lines.push(`| ${syntax} | ${encoder} | ${r.files} | ${r.both} | ${r.gdcmOnly} | ${r.dcmtkOnly} | ${r.sourceOnly} | ${r.refused} | ${r.failed} |`);
  }
  const total = [...rows.values()].reduce((a, r) => ({ files: a.files + r.files, failed: a.failed + r.failed, refused: a.refused + r.refused }), { files: 0, failed: 0, refused: 0 });
  lines.push('', `${total.files} files, ${total.files - total.failed} pass (${total.refused} refused as expected), ${total.failed} fail; ${disagreements.length} reference disagreements.`);
  if (m.skipped.length) lines.push('', 'Not made (encoder limits):', ...m.skipped.map((s) => `- ${s.file} (${s.encoder}): ${s.reason}`));
  writeFileSync(join(conformanceDir, 'summary.md'), lines.join('\n') + '\n');
  t.diagnostic(lines.join('\n'));
  assert.deepEqual(failures, [], `${failures.length} conformance failures`);
});
