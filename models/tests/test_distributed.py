"""torchrun (DDP, gloo backend) with 2 CPU processes: smoke runs (teacher and student detector) that finish and write one run dir."""
import json
import os
import socket
import subprocess
import unittest

import torch

from pbc_trainer.synth import make_synthetic_export
from tests._util import read_json, read_jsonl, MODELS_DIR, PYTHON, TempDirTest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(torch.distributed.is_available() and torch.distributed.is_gloo_available(), "no gloo")
class TorchrunTest(TempDirTest):
    def _torchrun(self, args, out):
        """`python -m torch.distributed.run` with 2 CPU processes on gloo running `pbc_trainer <args>`; asserts it
        exited 0 and returns the run.json it wrote to `out`."""
        cmd = [PYTHON, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
               # torch 1.13's torchrun on Python 3.11 turns the default "0" of --redirects/--tee into None
               # (enum.Flag iteration skips 0) and crashes; any non-zero value avoids it
               "--redirects", "2", "--tee", "2", "-m", "pbc_trainer", *args]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        r = subprocess.run(cmd, cwd=MODELS_DIR, capture_output=True, text=True, timeout=240, env=env)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        return read_json(os.path.join(out, "run.json"))

    def test_two_process_gloo_smoke(self):
        d = make_synthetic_export(os.path.join(self.tmp, "ds"), n_train=8, n_val=2, size=48, box_ratio=0.5)
        out = os.path.join(self.tmp, "run")
        run = self._torchrun(["train", "--data", d, "--out", out, "--mode", "pbc", "--epochs", "2",
                              "--batch", "2", "--image-size", "32", "--stride", "8", "--device", "cpu", "--threads", "1",
                              "--steps-per-epoch", "2", "--no-export"], out)
        self.assertEqual(run["status"], "completed")
        self.assertEqual(run["world_size"], 2)
        rows = read_jsonl(os.path.join(out, "metrics.jsonl"))
        self.assertEqual(len([x for x in rows if x["type"] == "epoch"]), 2)  # rank 0 writes, once per epoch
        self.assertTrue(os.path.exists(os.path.join(out, "checkpoints", "last.pt")))

    def test_two_process_gloo_detector(self):
        """The student detector through torchrun, as the Slurm template runs it (PBC_COMMAND=detector)."""
        try:
            import torchvision  # noqa: F401
        except ImportError:
            self.skipTest("no torchvision (python3-torchvision)")
        d = make_synthetic_export(os.path.join(self.tmp, "ds"), n_train=8, n_val=2, size=48, box_ratio=0.5)
        out = os.path.join(self.tmp, "det")
        run = self._torchrun(["detector", "--data", d, "--out", out, "--pseudo", "none", "--epochs", "2",
                              "--batch", "2", "--image-size", "64", "--device", "cpu", "--threads", "1",
                              "--steps-per-epoch", "2", "--no-export"], out)
        self.assertEqual(run["status"], "completed")
        self.assertEqual(run["world_size"], 2)
        self.assertIsNotNone(run["final"]["map"])  # rank 0's evaluation is the one written
        rows = read_jsonl(os.path.join(out, "metrics.jsonl"))
        self.assertEqual(len([x for x in rows if x["type"] == "epoch"]), 2)


if __name__ == "__main__":
    unittest.main()
