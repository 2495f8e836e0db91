import os
import tempfile
import shutil
import unittest

import pbc_trainer  # noqa: F401  (sets OPENBLAS_NUM_THREADS before torch loads)
import torch

torch.set_num_threads(max(1, os.cpu_count() or 1))

MODELS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pbc-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def read_json(path):
    import json

    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_jsonl(path):
    import json

    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
