"""A 2-epoch tiny training lowers the loss and writes a complete run dir; export + reference + metadata."""
import json
import os
import unittest

import numpy as np
import torch

from pbc_trainer.data import load_pbc_export
from pbc_trainer.export import read_metadata
from pbc_trainer.synth import make_synthetic_export
from pbc_trainer.train import TrainSpec, compute_losses, make_batch, train
from pbc_trainer.model import ModelConfig, PointDETR
from tests._util import read_json, read_jsonl, TempDirTest


class TrainingTest(TempDirTest):
    def test_two_epochs_lower_the_loss_and_fill_the_run_dir(self):
        d = make_synthetic_export(os.path.join(self.tmp, "ds"), n_train=16, n_val=4, size=64, box_ratio=0.5)
        out = os.path.join(self.tmp, "run")
        spec = TrainSpec(data=d, out=out, mode="pbc", epochs=2, batch=4, image_size=64, stride=8, seed=0,
                         steps_per_epoch=8, log_every=4, warmup_steps=2, lr=1e-3, head="ltrb")
        data = load_pbc_export(d, image_size=64)
        # fixed evaluation batch, before and after
        probe = make_batch(data.train_box[:4], [], mpc=False, rng=np.random.default_rng(123), augment=False)
        torch.manual_seed(0)
        cfg = ModelConfig(num_classes=2, image_size=64, stride=8)
        m0 = PointDETR(cfg).eval()  # train() seeds the same way, so this is its initial state
        with torch.no_grad():
            before = compute_losses(m0, probe, False, False)["total"].item()
        run = train(spec, data=data, log=lambda *_: None)
        self.assertEqual(run["status"], "completed")
        ck = torch.load(os.path.join(out, "checkpoints", "last.pt"))
        m1 = PointDETR(ModelConfig.from_dict(ck["config"]))
        m1.load_state_dict(ck["model"])
        m1.eval()
        with torch.no_grad():
            after = compute_losses(m1, probe, False, False)["total"].item()
        self.assertLess(after, before)
        # run.json
        rj = read_json(os.path.join(out, "run.json"))
        self.assertEqual(rj["status"], "completed")
        for k in ("spec", "versions", "data", "model", "final", "export"):
            self.assertIn(k, rj)
        self.assertEqual(rj["spec"]["mode"], "pbc")
        self.assertIn("torch", rj["versions"])
        # metrics.jsonl: train steps with each loss term and lr; evals with ap50
        rows = read_jsonl(os.path.join(out, "metrics.jsonl"))
        tr = [r for r in rows if r["type"] == "train"]
        ev = [r for r in rows if r["type"] == "eval"]
        self.assertTrue(tr and ev)
        for k in ("epoch", "step", "lr", "l1", "giou", "iou", "mpc", "total"):
            self.assertIn(k, tr[0])
        self.assertIn("sc", tr[-1])  # pbc: SC fine-tuning in the last epoch
        self.assertEqual(len(ev), 2)
        self.assertTrue(0.0 <= ev[-1]["ap50"] <= 1.0)
        # export: ONNX with metadata, reference I/O
        meta = read_metadata(os.path.join(out, "model.onnx"))
        self.assertEqual(json.loads(meta["pointbox.classes"]), ["nodule", "opacity"])
        self.assertEqual(meta["pointbox.input_size"], "64")
        self.assertEqual(meta["pointbox.contract_version"], "1")
        self.assertEqual(json.loads(meta["pointbox.normalization"])["mean"], 0.5)
        self.assertEqual(json.loads(meta["pointbox.training"])["mode"], "pbc")
        with open(os.path.join(out, "reference", "reference.json")) as f:
            ref = json.load(f)
        self.assertEqual(ref["outputs"]["boxes"]["shape"], [2, 3, 4])
        self.assertTrue(os.path.exists(os.path.join(out, "checkpoints", "best.pt")))

    def test_every_mode_runs_one_step(self):
        d = make_synthetic_export(os.path.join(self.tmp, "ds"), n_train=6, n_val=2, size=48, box_ratio=0.5)
        data = load_pbc_export(d, image_size=32)
        for mode in ("pointdetr", "mpc", "sc"):
            spec = TrainSpec(data=d, out=os.path.join(self.tmp, mode), mode=mode, epochs=1, batch=2, image_size=32,
                             stride=8, steps_per_epoch=1, export=False)
            run = train(spec, data=data, log=lambda *_: None)
            self.assertEqual(run["status"], "completed", mode)
            rows = read_jsonl(os.path.join(self.tmp, mode, "metrics.jsonl"))
            tr = [r for r in rows if r["type"] == "train"][0]
            self.assertEqual("mpc" in tr, mode == "mpc", mode)
            self.assertEqual("sc" in tr, mode == "sc", mode)


if __name__ == "__main__":
    unittest.main()


class EvidenceSplitTest(TempDirTest):
    def test_split_pool_hides_boxes_of_point_images(self):
        from pbc_trainer.evidence import split_pool

        d = make_synthetic_export(os.path.join(self.tmp, "ds"), n_train=10, n_val=2, size=48, box_ratio=1.0)
        data = load_pbc_export(d, image_size=32)
        pool = data.train_box
        box, point = split_pool(pool, 0.2, seed=3)
        self.assertEqual((len(box), len(point)), (2, 8))
        ids = {r.image_id for r in pool}
        for r in point:
            self.assertIsNone(r.boxes)
            orig = next(p for p in pool if p.image_id == r.image_id)
            inside = (r.points[:, 0] >= orig.boxes[:, 0]) & (r.points[:, 0] <= orig.boxes[:, 2]) & \
                     (r.points[:, 1] >= orig.boxes[:, 1]) & (r.points[:, 1] <= orig.boxes[:, 3])
            self.assertTrue(inside.all())
        self.assertTrue(all(p.boxes is not None for p in pool))  # the pool itself is untouched
        self.assertEqual({r.image_id for r in box + point}, ids)
        box2, _ = split_pool(pool, 0.2, seed=3)
        self.assertEqual([r.image_id for r in box2], [r.image_id for r in box])  # seeded
