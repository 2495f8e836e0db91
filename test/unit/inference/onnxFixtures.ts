/**
 * Builds the ONNX fixtures of test/fixtures/onnx/makeOnnxFixtures.py once per test process (Debian's
 * python3-torch exports them). Returns undefined, with the reason, when torch is not installed, so tests
 * can skip with a message on a machine without it (CI installs it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const repoRoot = join(__dirname, '..', '..', '..');
export const systemPython = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
let cached: { dir?: string; reason?: string } | undefined;

export function onnxFixtures(): { dir?: string; reason?: string } {
  if (cached) return cached;
  const probe = spawnSync(systemPython, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return (cached = { reason: `PyTorch is not installed for ${systemPython} (apt-get install python3-torch)` });
  const dir = mkdtempSync(join(tmpdir(), 'pointbox-onnx-'));
  const r = spawnSync(systemPython, [join(repoRoot, 'test', 'fixtures', 'onnx', 'makeOnnxFixtures.py'), dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`makeOnnxFixtures.py failed:\n${r.stderr}`);
  return (cached = { dir });
}
