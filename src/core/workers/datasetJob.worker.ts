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
import { runImport } from '../dataset/importDataset';
import { validateDataset } from '../dataset/validateDataset';
import { writeFileAtomicSync } from '../dataset/writeFileAtomic';
import { readFileSync } from 'node:fs';
import type { DatasetJob, DatasetJobReply, ProblemSummary } from './datasetJobMessages';

function summarize(problems: readonly DatasetProblem[], counts: { errors: number; warnings: number; dropped?: Map<string, number> }, max = 200): ProblemSummary {
  // Errors first, then warnings; missing files last (they can be thousands and say the least).
  const rank = (x: DatasetProblem) => (x.severity === 'error' ? 0 : x.code === 'missing-file' ? 2 : 1);
  const sorted = problems.slice().sort((a, b) => rank(a) - rank(b));
  const dropped = [...(counts.dropped?.values() ?? [])].reduce((a, b) => a + b, 0);
  return { problems: sorted.slice(0, max), total: problems.length + dropped, errors: counts.errors, warnings: counts.warnings };
}

function run(job: DatasetJob): DatasetJobReply {
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
      const r = exportCoco(doc.data, { out: job.out, datasetDir: dirname(job.dataset), layout: job.layout, ...(job.images ? { images: job.images } : {}), ...(job.keepHiddenBoxes ? { keepHiddenBoxes: true } : {}) });
      return { ok: true, result: { files: r.files, imageRoot: r.imageRoot, ...summarize(r.log.problems, r.log, job.maxProblems), ms: performance.now() - t0 } };
    }
    case 'validate': {
      const doc = DatasetDocument.load(job.dataset);
      const v = validateDataset(doc.data, { file: job.dataset, text: readFileSync(job.dataset, 'utf8'), maxPerCode: 100 });
      return { ok: true, result: summarize(v.problems, { ...v, dropped: v.dropped }, job.maxProblems) };
    }
  }
}

parentPort?.on('message', (job: DatasetJob) => {
  let reply: DatasetJobReply;
  try {
    reply = run(job);
  } catch (e) {
    const err = e as Error & { code?: unknown };
    reply = { ok: false, name: err?.name ?? 'Error', message: err?.message ?? String(e), ...(typeof err?.code === 'string' ? { code: err.code } : {}) };
  }
  parentPort!.postMessage(reply);
});
