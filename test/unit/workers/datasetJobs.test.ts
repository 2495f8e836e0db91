import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { closeDatasetJobs, DatasetJobError, runDatasetJob } from '../../../src/core/workers/datasetJobs';
import { runImport } from '../../../src/core/dataset/importDataset';
import { serializeDataset } from '../../../src/core/dataset/datasetJson';
import { tinyDicom, tmpDir, writeFiles } from '../dataset/datasetFixtures';

after(() => closeDatasetJobs());

test('dataset jobs: the import runs in the worker, writes what the CLI table writes, and the caller\'s thread stays free', async () => {
  const t = tmpDir();
  try {
    mkdirSync(join(t.dir, 'dcm'));
    const rows = ['patientId,x,y,width,height,Target'];
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 400; i++) { files[`p${i}.dcm`] = tinyDicom(256, 256, `P${i}`, { pixels: false }); rows.push(i % 3 ? `p${i},,,,,0` : `p${i},10,20,30,40,1`); }
    writeFiles(join(t.dir, 'dcm'), files);
    writeFileSync(join(t.dir, 'labels.csv'), rows.join('\n'));
    const req = { format: 'rsna' as const, labels: join(t.dir, 'labels.csv'), images: join(t.dir, 'dcm') };
    const out = join(t.dir, 'rsna.pointbox.json');
    const h = monitorEventLoopDelay({ resolution: 1 }); h.enable();
    const r = await runDatasetJob({ type: 'import', request: req, out });
    h.disable();
    assert.deepEqual([r.images, r.annotations, r.missingFiles, r.errors], [400, 134, 0, 0]);
    const direct = runImport(req, join(t.dir, 'again.pointbox.json')).data;
    const written = JSON.parse(readFileSync(out, 'utf8'));
    for (const d of [direct, written]) delete d.info.created;
    assert.equal(serializeDataset(written), serializeDataset(direct), 'the records the shared importer table makes');
    console.log(`# import of 400 DICOM headers in the worker: ${r.ms.toFixed(0)} ms, longest stall of this thread ${(h.max / 1e6).toFixed(1)} ms`);

    const exp = await runDatasetJob({ type: 'export', dataset: out, out: join(t.dir, 'export'), layout: 'coco' });
    assert.equal(exp.files.length, 1);
    assert.ok(existsSync(join(t.dir, 'export', 'annotations', 'instances.json')));
    const v = await runDatasetJob({ type: 'validate', dataset: out });
    assert.equal(v.errors, 0);
  } finally { t.cleanup(); }
});

test('dataset jobs: an importer error comes back typed, with its message and code', async () => {
  const t = tmpDir();
  try {
    writeFileSync(join(t.dir, 'bad.csv'), 'a,b\n1,2\n');
    await assert.rejects(runDatasetJob({ type: 'import', request: { format: 'nih', bbox: join(t.dir, 'bad.csv'), images: t.dir }, out: join(t.dir, 'x.pointbox.json') }),
      (e: unknown) => e instanceof DatasetJobError && e.name === 'DatasetError' && e.code === 'missing-column' && /bad\.csv:1: not an NIH BBox list/.test(e.message));
    await assert.rejects(runDatasetJob({ type: 'export', dataset: join(t.dir, 'absent.json'), out: t.dir, layout: 'pbc' }), (e: unknown) => e instanceof DatasetJobError && e.code === 'io');
  } finally { t.cleanup(); }
});
