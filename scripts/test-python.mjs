#!/usr/bin/env node
// `npm run test:python`: the PBC trainer's Python tests (models/tests, unittest) with Debian's /usr/bin/python3
// (the one that sees python3-torch; a pyenv/venv python3 on PATH usually does not). PBC_PYTHON overrides it
// (e.g. a CUDA pip-torch environment). Prints unittest's own summary and exits non-zero on any failure, and
// with a clear message when the interpreter has no torch. `npm run test:python -- tests.test_model` runs one module.
import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const models = join(root, 'models');
const python = process.env.PBC_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const probe = spawnSync(python, ['-c', 'import torch, numpy, PIL; print(torch.__version__)'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.error(`test:python: ${python} cannot import torch/numpy/PIL.\n` +
    `Install them (Debian: apt-get install -y python3-torch python3-numpy python3-pil python3-pydicom) or set PBC_PYTHON.\n` +
    (probe.stderr || probe.error?.message || '').trim());
  process.exit(1);
}
console.error(`test:python: ${python} (torch ${probe.stdout.trim()})`);
const only = process.argv.slice(2);
const args = only.length ? ['-m', 'unittest', '-v', ...only] : ['-m', 'unittest', 'discover', '-v', '-s', 'tests', '-t', '.'];
const t0 = Date.now();
const r = spawnSync(python, args, { cwd: models, stdio: 'inherit', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
console.error(`test:python: ${r.status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(r.status ?? 1);
