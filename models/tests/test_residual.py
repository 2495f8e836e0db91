"""The residual head (contract 2): a zero residual is exactly the prior box, prior-only classes never move,
the click stays inside its box, padding changes nothing; the prior's sources and rules; --init's checks."""
import json
import os
import subprocess
import unittest

import numpy as np
import torch

from pbc_trainer.data import ImageRecord, PBCDataError, load_pbc_export
from pbc_trainer.export import export_onnx, read_metadata
from pbc_trainer.model import ModelConfig, PointDETR
from pbc_trainer.priors import ClassPrior, box_prior_from_config, build_box_prior, read_prior_table
from pbc_trainer.synth import make_synthetic_export
from pbc_trainer.train import TrainSpec, train
from tests._util import MODELS_DIR, PYTHON, TempDirTest, read_json

PRIOR = [[0.2, 0.3, 0.0, 0.0], [0.1, 0.1, 0.0, 0.0], [0.4, 0.25, 0.1, -0.1]]


def _residual(learned=(1.0, 1.0, 1.0), perturb=True, size=64):
    torch.manual_seed(0)
    m = PointDETR(ModelConfig(num_classes=3, image_size=size, stride=8, point_feat=True, head="residual",
                              box_prior=PRIOR, prior_learned=list(learned), prior_score=[0.5, 0.6, 0.7]))
    if perturb:
        with torch.no_grad():
            m.box_head.l2.weight.normal_(0, 0.3)
            m.box_head.l2.bias.normal_(0, 0.3)
    return m.eval()


def _prior_boxes(pts, lab):
    p = torch.tensor(PRIOR)[lab]
    cx = pts[..., 0] + p[..., 2] * p[..., 0]
    cy = pts[..., 1] + p[..., 3] * p[..., 1]
    b = torch.stack([cx - p[..., 0] / 2, cy - p[..., 1] / 2, cx + p[..., 0] / 2, cy + p[..., 1] / 2], -1)
    return b.clamp(0, 1)


class ResidualHeadTest(unittest.TestCase):
    def test_untrained_model_is_exactly_the_prior_box(self):
        m = _residual(perturb=False)
        img = torch.randn(2, 1, 64, 64)
        pts = torch.rand(2, 5, 2) * 0.6 + 0.2
        lab = torch.randint(0, 3, (2, 5))
        with torch.no_grad():
            boxes, scores = m(img, pts, lab, torch.ones(2, 5))
        self.assertLess((boxes - _prior_boxes(pts, lab)).abs().max().item(), 1e-6)
        self.assertTrue(((scores >= 0) & (scores <= 1)).all())

    def test_prior_only_class_never_moves_and_gets_its_score(self):
        m = _residual(learned=(1.0, 0.0, 1.0))
        img = torch.randn(1, 1, 64, 64)
        pts = torch.tensor([[[0.3, 0.4], [0.5, 0.5], [0.6, 0.7]]])
        lab = torch.tensor([[0, 1, 2]])
        with torch.no_grad():
            boxes, scores = m(img, pts, lab, torch.ones(1, 3))
        prior = _prior_boxes(pts, lab)
        self.assertLess((boxes[0, 1] - prior[0, 1]).abs().max().item(), 1e-6)
        self.assertAlmostEqual(scores[0, 1].item(), 0.6, places=6)
        # the learned classes did move (so the check above is not vacuous)
        self.assertGreater((boxes[0, 0] - prior[0, 0]).abs().max().item(), 1e-3)

    def test_click_inside_box_and_padding_changes_nothing(self):
        m = _residual()
        img = torch.randn(1, 1, 64, 64)
        pts = torch.tensor([[[0.3, 0.4], [0.7, 0.6]]])
        lab = torch.tensor([[0, 2]])
        with torch.no_grad():
            b0, s0 = m(img, pts, lab, torch.ones(1, 2))
            pts_p = torch.cat([pts, torch.tensor([[[0.9, 0.1], [0.0, 0.0]]])], 1)
            b1, s1 = m(img, pts_p, torch.tensor([[0, 2, 1, 0]]), torch.tensor([[1.0, 1, 0, 0]]))
        for b, p in zip(b0[0], pts[0]):
            self.assertTrue(b[0] <= p[0] + 1e-6 and p[0] <= b[2] + 1e-6 and b[1] <= p[1] + 1e-6 and p[1] <= b[3] + 1e-6)
        self.assertLess((b1[:, :2] - b0).abs().max().item(), 1e-5)
        self.assertLess((s1[:, :2] - s0).abs().max().item(), 1e-5)
        self.assertEqual(b1[:, 2:].abs().max().item(), 0.0)


def _rec(labels, boxes):
    return ImageRecord(0, "x", "box", np.zeros((8, 8), np.float16), np.asarray(labels), np.asarray(boxes, np.float32), None)


class PriorRulesTest(TempDirTest):
    def test_sources_and_the_five_box_rule(self):
        recs = [_rec([0] * 6 + [1] * 2, [[0, 0, 0.2, 0.1]] * 6 + [[0, 0, 0.5, 0.5]] * 2)]
        table = {"b": ClassPrior(0.3, 0.3, boxes=100, source="table")}
        bp = build_box_prior(["a", "b", "c"], recs, table)
        a = bp.per_class["a"]
        self.assertAlmostEqual(a.w, 0.2, places=6)
        self.assertAlmostEqual(a.h, 0.1, places=6)
        self.assertTrue(a.learned)
        self.assertEqual(bp.per_class["a"].source, "training boxes")
        self.assertEqual(bp.per_class["b"].source, "table")  # the table wins over 2 boxes
        c = bp.per_class["c"]  # no boxes, no table row: prior only, and the report says why
        self.assertFalse(c.learned)
        self.assertIn("< 5", c.reason)
        self.assertTrue(any("prior only" in line for line in bp.report() if line.startswith("prior c")))
        # fine-tuning keeps the initial prior unless refitted from >= 5 boxes
        init = build_box_prior(["a", "b", "c"], [], {k: ClassPrior(0.5, 0.5, source="init") for k in "abc"})
        kept = build_box_prior(["a", "b", "c"], recs, None, init=init)
        self.assertEqual(kept.per_class["a"].w, 0.5)
        refit = build_box_prior(["a", "b", "c"], recs, None, init=init, refit=True)
        self.assertAlmostEqual(refit.per_class["a"].w, 0.2, places=6)
        self.assertEqual(refit.per_class["b"].w, 0.5)  # 2 boxes: kept, with the reason
        self.assertIn("only 2", refit.per_class["b"].reason)

    def test_prior_table_formats_and_errors(self):
        good = os.path.join(self.tmp, "p.csv")
        with open(good, "w") as f:
            f.write("class,width,height,unit,boxes,source\nNodule,0.07,0.067,frac,76,NIH\n")
        self.assertAlmostEqual(read_prior_table(good)["Nodule"].w, 0.07)
        for body, msg in (("class,width,height\nNodule,70,67\n", "frac"),
                          ("class,width,height,unit\nNodule,x,0.1,frac\n", "p2.csv:2"),
                          ("name,w\nNodule,1\n", "columns")):
            bad = os.path.join(self.tmp, "p2.csv")
            with open(bad, "w") as f:
                f.write(body)
            with self.assertRaises(PBCDataError) as cm:
                read_prior_table(bad)
            self.assertIn(msg, str(cm.exception))


class ResidualTrainingAndInitTest(TempDirTest):
    def _export(self):
        return make_synthetic_export(os.path.join(self.tmp, "ds"), n_train=12, n_val=4, size=64, box_ratio=0.5)

    def test_train_export_contract_2_then_fine_tune(self):
        d = self._export()
        data = load_pbc_export(d, image_size=64)
        out = os.path.join(self.tmp, "run")
        run = train(TrainSpec(data=d, out=out, mode="mpc", epochs=1, batch=4, image_size=64, stride=8,
                              steps_per_epoch=3, warmup_steps=1), data=data, log=lambda *_: None)
        self.assertEqual(run["status"], "completed")
        meta = read_metadata(os.path.join(out, "model.onnx"))
        self.assertEqual(meta["pointbox.contract_version"], "2")
        bp = json.loads(meta["pointbox.box_prior"])
        self.assertEqual(bp["parameterization"], "prior-residual")
        self.assertEqual(sorted(bp["classes"]), ["nodule", "opacity"])
        # fine-tune from the exported model: its checkpoint is found through the run dir, same prior kept
        out2 = os.path.join(self.tmp, "ft")
        run2 = train(TrainSpec(data=d, out=out2, mode="mpc", epochs=1, batch=4, image_size=64, stride=8,
                               steps_per_epoch=1, warmup_steps=1, lr=1e-9, export=False,
                               init=os.path.join(out, "model.onnx")), data=data, log=lambda *_: None)
        self.assertEqual(run2["init"], os.path.abspath(os.path.join(out, "model.onnx")))
        self.assertEqual(run2["box_prior"]["classes"], bp["classes"])
        a = torch.load(os.path.join(out, "checkpoints", "last.pt"))["model"]
        b = torch.load(os.path.join(out2, "checkpoints", "last.pt"))["model"]
        # lr 1e-9: the fine-tuned weights are the initial ones (BatchNorm statistics aside)
        diffs = [(a[k] - b[k]).abs().max().item() for k in a if "running" not in k and "num_batches" not in k]
        self.assertLess(max(diffs), 1e-5)

    def test_init_errors_come_before_training(self):
        d = self._export()
        tiny = os.path.join(self.tmp, "tiny")
        subprocess.run([PYTHON, "-m", "pbc_trainer", "tiny-model", "--out", tiny, "--classes", "a,b"], cwd=MODELS_DIR,
                       check=True, capture_output=True)
        cases = [
            (os.path.join(tiny, "model.onnx"), "differ from the dataset"),  # other classes
            (os.path.join(self.tmp, "missing.onnx"), "not found"),
        ]
        # a model with another contract
        bad = os.path.join(self.tmp, "other.onnx")
        with open(os.path.join(tiny, "model.onnx"), "rb") as f:
            raw = f.read()
        from pbc_trainer.export import metadata_bytes

        with open(bad, "wb") as f:
            f.write(raw + metadata_bytes({"pointbox.contract_version": "9"}))
        cases.append((bad, "contract"))
        # a .onnx whose checkpoint is not beside it (same classes as the dataset)
        lone = os.path.join(self.tmp, "lone")
        subprocess.run([PYTHON, "-m", "pbc_trainer", "tiny-model", "--out", lone, "--classes", "nodule,opacity"],
                       cwd=MODELS_DIR, check=True, capture_output=True)
        os.remove(os.path.join(lone, "checkpoint.pt"))
        cases.append((os.path.join(lone, "model.onnx"), "no PyTorch checkpoint"))
        for init, msg in cases:
            out = os.path.join(self.tmp, "r-" + os.path.basename(init))
            p = subprocess.run([PYTHON, "-m", "pbc_trainer", "train", "--data", d, "--out", out, "--epochs", "1",
                                "--image-size", "64", "--stride", "8", "--init", init], cwd=MODELS_DIR,
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("pbc_trainer: error: --init", p.stderr)
            self.assertIn(msg, p.stderr)
            self.assertNotIn("Traceback", p.stderr)
            mp = os.path.join(out, "metrics.jsonl")
            if os.path.exists(mp):
                with open(mp) as f:
                    self.assertEqual(f.read(), "")  # nothing was trained
            self.assertEqual(read_json(os.path.join(out, "run.json"))["status"], "failed")

    def test_box_prior_round_trip_through_config(self):
        bp = build_box_prior(["a", "b"], [], {"a": ClassPrior(0.2, 0.3, boxes=7, source="t"),
                                               "b": ClassPrior(0.1, 0.1, source="t")}, prior_only=["b"])
        cfg = ModelConfig(num_classes=2, head="residual", box_prior=bp.rows(), prior_learned=bp.learned(),
                          prior_score=bp.scores()).to_dict()
        back = box_prior_from_config(cfg, ["a", "b"], {c: p.to_json() for c, p in bp.per_class.items()})
        self.assertEqual(json.loads(back.metadata()), json.loads(bp.metadata()))
        self.assertFalse(back.per_class["b"].learned)


if __name__ == "__main__":
    unittest.main()
