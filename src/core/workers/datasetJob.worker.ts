/**
 * Worker-thread entry for dataset jobs (built to dist/workers/datasetJob.js): the synchronous importers
 * (CSV parsing, tens of thousands of header reads), exports (atomic writes, copies) and validation run here,
 * so the extension host's main thread only posts paths and receives a summary.
 */
import { parentPort } from 'node:worker_threads';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DatasetDocument } from '../dataset/DatasetDocument';
import type { DatasetProblem } from '../dataset/DatasetError';
import { serializeDataset } from '../dataset/datasetJson';
import { exportCoco } from '../dataset/exportCoco';
import { findMissingImages } from '../dataset/findMissingImages';
import { runImport } from '../dataset/importDataset';
import { validateDataset } from '../dataset/validateDataset';
import { writeFileAtomicSync } from '../dataset/writeFileAtomic';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { DatasetFile } from '../dataset/schema';
import { parsePrivateKeepRule } from '../deidentify/deidentifyDicom';
import { exportDeidentified } from '../deidentify/exportDeidentified';
import { randomKey, readKeyFile } from '../deidentify/keyedIds';
import { phiReport, phiReportMarkdown } from '../deidentify/phiReport';
import { parseProfile } from '../deidentify/profile';
import type { DatasetJob, DatasetJobReply, ExportJobResult, ProblemSummary } from './datasetJobMessages';

function summarize(problems: readonly DatasetProblem[], counts: { errors: number; warnings: number; dropped?: Map<string, number> }, max = 200): ProblemSummary {
  // Errors first, then warnings; missing files last (they can be thousands and say the least).
  const rank = (x: DatasetProblem) => (x.severity === 'error' ? 0 : x.code === 'missing-file' ? 2 : 1);
  const sorted = problems.slice().sort((a, b) => rank(a) - rank(b));
  const dropped = [...(counts.dropped?.values() ?? [])].reduce((a, b) => a + b, 0);
  return { problems: sorted.slice(0, max), total: problems.length + dropped, errors: counts.errors, warnings: counts.warnings };
}

async function run(job: DatasetJob): Promise<DatasetJobReply> {
  const t0 = performance.now();
  switch (job.type) {
    case 'import': {
      const r = runImport(job.request, job.out);
      writeFileAtomicSync(job.out, serializeDataset(r.data));
      return { ok: true, result: {
        dataset: job.out, images: r.data.images.length, annotations: r.data.annotations.length, categories: r.data.categories.length,
        missingFiles: r.missingFiles, ...summarize(r.log.problems, r.log, job.maxProblems), ms: performance.now() - t0,
      } };
    }
    case 'export': {
      const doc = DatasetDocument.load(job.dataset);
      if (job.deidentify) return { ok: true, result: deidentifiedExport(job, doc.data, t0) };
      const r = exportCoco(doc.data, { out: job.out, datasetDir: dirname(job.dataset), layout: job.layout, ...(job.images ? { images: job.images } : {}), ...(job.keepHiddenBoxes ? { keepHiddenBoxes: true } : {}), ...(job.pseudoBoxes ? { pseudoBoxes: job.pseudoBoxes } : {}) });
      return { ok: true, result: { files: r.files, imageRoot: r.imageRoot, ...summarize(r.log.problems, r.log, job.maxProblems), ms: performance.now() - t0 } };
    }
    case 'phi-report': {
      const doc = DatasetDocument.load(job.dataset);
      const report = phiReport(doc.data, { datasetDir: dirname(job.dataset), profile: parseProfile(job.profile) });
      return { ok: true, result: { report, markdown: phiReportMarkdown(report), ms: performance.now() - t0 } };
    }
    case 'validate': {
      const doc = DatasetDocument.load(job.dataset);
      const v = validateDataset(doc.data, { file: job.dataset, text: readFileSync(job.dataset, 'utf8'), maxPerCode: 100 });
      return { ok: true, result: summarize(v.problems, { ...v, dropped: v.dropped }, job.maxProblems) };
    }
    case 'missing': {
      const doc = DatasetDocument.load(job.dataset);
      return { ok: true, result: { missing: await findMissingImages(doc.data, dirname(job.dataset)) } };
    }
  }
}

function deidentifiedExport(job: Extract<DatasetJob, { type: 'export' }>, d: DatasetFile, t0: number): ExportJobResult {
  const o = job.deidentify!;
  const r = exportDeidentified(d, {
    out: job.out, datasetDir: dirname(job.dataset), layout: job.layout, ...(job.keepHiddenBoxes ? { keepHiddenBoxes: true } : {}),
    profile: parseProfile(o.profile), key: o.keyFile ? readKeyFile(o.keyFile) : randomKey(), keySource: o.keyFile ? 'key file' : 'one-off random key (not kept)',
    ...(o.keyFile ? { keyFile: o.keyFile } : {}),
    ...(o.mappingFile ? { mappingFile: o.mappingFile } : {}), ...(o.includeBurnedIn ? { includeBurnedIn: true } : {}),
    keepPrivate: (o.keepPrivate ?? []).map(parsePrivateKeepRule),
  });
  return {
    files: r.files, imageRoot: r.imageRoot, ...summarize(r.log.problems, r.log, job.maxProblems), ms: performance.now() - t0,
    deidentified: { profile: o.profile, exported: r.exported, excluded: r.excluded.slice(0, 200), excludedTotal: r.excluded.length, keyId: r.keyId, ...(r.mappingFile ? { mappingFile: r.mappingFile } : {}) },
  };
}

// A background job: on Linux, nice values are per thread, so this lowers only this worker thread and the
// extension host's own thread (same process) keeps the CPU when both want it.
try { setPriority(10); } catch { /* not permitted or not supported: run at normal priority */ }

parentPort?.on('message', async (job: DatasetJob) => {
  let reply: DatasetJobReply;
  try {
    reply = await run(job);
  } catch (e) {
    const err = e as Error & { code?: unknown };
    reply = { ok: false, name: err?.name ?? 'Error', message: err?.message ?? String(e), ...(typeof err?.code === 'string' ? { code: err.code } : {}) };
  }
  parentPort!.postMessage(reply);
});
