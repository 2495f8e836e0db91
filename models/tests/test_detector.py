"""The student detector (pbc_trainer/detector.py): data rules (which pseudo-boxes, which images), the dense
outputs + post-processing against torchvision's own FCOS inference, COCO AP on known cases, a tiny training
run's directory and ONNX export, --init-backbone from a teacher, and the CLI's one-line errors."""
import json
import os
import subprocess
import unittest

import numpy as np
import torch

from pbc_trainer.detector import (DenseDetector, DetectorConfig, DetectorSpec, DetRecord, average_precision,
                                  build_detector, copy_backbone, detector_losses, evaluate_detections,
                                  load_detector_data, make_batch, postprocess, predict, train_detector)
from pbc_trainer.data import PBCDataError
from pbc_trainer.export import read_metadata
from pbc_trainer.synth import make_synthetic_export
from tests._util import MODELS_DIR, PYTHON, TempDirTest, read_json, read_jsonl


def add_pseudo(export_dir: str, reviews):
    """instances_train_pseudo.json from the synthetic export's point images: one pseudo-box per point (its hidden
    true box), review states cycling through `reviews` per image."""
    ann = os.path.join(export_dir, "annotations")
    with open(os.path.join(ann, "instances_train_point.json")) as f:
        pt = json.load(f)
    images, anns = [], []
    for k, img in enumerate(pt["images"]):
        review = reviews[k % len(reviews)]
        mine = [a for a in pt["annotations"] if a["image_id"] == img["id"]]
        for j, a in enumerate(mine):
            r = review if j == 0 or review != "partial" else None
            if r is None:
                continue  # "partial": only the first point of the image gets a box
            anns.append({"id": 1000 + a["id"], "image_id": img["id"], "category_id": a["category_id"], "bbox": a["bbox"],
                         "area": a["bbox"][2] * a["bbox"][3], "iscrowd": 0, "annotation_id": a["id"],
                         "review": "accepted" if r == "partial" else r})
        images.append(img)
    with open(os.path.join(ann, "instances_train_pseudo.json"), "w") as f:
        json.dump({"images": images, "annotations": anns, "categories": pt["categories"]}, f)


class DetectorDataTest(TempDirTest):
    def test_which_pseudo_boxes_and_images_train_the_detector(self):
        d = make_synthetic_export(os.path.join(self.tmp, "ds"), n_train=16, n_val=4, size=64, box_ratio=0.25)
        add_pseudo(d, ["pending", "accepted", "edited", "rejected", "partial"])
        none = load_detector_data(d, 64, pseudo="none")
        acc = load_detector_data(d, 64, pseudo="accepted")
        every = load_detector_data(d, 64, pseudo="all")
        self.assertEqual({r.source for r in none.train}, {"boxes"})
        self.assertEqual(len(none.train), 4)
        n_point = 12
        per_review = {r: len(range(k, n_point, 5)) for k, r in enumerate(["pending", "accepted", "edited", "rejected", "partial"])}
        # accepted + edited; a "partial" image (one of several points boxed) is left out unless it has one point
        self.assertEqual(acc.counts["pseudo_images"] + acc.counts["pseudo_images_incomplete"],
                         per_review["accepted"] + per_review["edited"] + per_review["partial"])
        self.assertGreater(acc.counts["pseudo_images_incomplete"], 0)
        self.assertEqual(every.counts["pseudo_images"], acc.counts["pseudo_images"] + per_review["pending"])
        self.assertEqual(every.counts["pseudo_rejected_skipped"], per_review["rejected"])
        self.assertEqual(len(every.val), 4)
        self.assertEqual(every.classes, ["nodule", "opacity"])
        for r in every.train:
            self.assertTrue(((r.boxes >= 0) & (r.boxes <= 1)).all())
            self.assertTrue((r.boxes[:, 2] > r.boxes[:, 0]).all())

    def test_errors_name_the_problem(self):
        with self.assertRaisesRegex(PBCDataError, "export dir not found"):
            load_detector_data(os.path.join(self.tmp, "nope"))
        d = make_synthetic_export(os.path.join(self.tmp, "ds"), n_train=4, n_val=2, size=48, box_ratio=0.5)
        with self.assertRaisesRegex(PBCDataError, "--pseudo must be"):
            load_detector_data(d, 48, pseudo="maybe")
        os.remove(os.path.join(d, "annotations", "instances_train_box.json"))
        with self.assertRaisesRegex(PBCDataError, "no instances_train_box.json"):
            load_detector_data(d, 48)


class DetectorModelTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.cfg = DetectorConfig(num_classes=3, image_size=96, score_threshold=0.02)
        self.m = build_detector(self.cfg).eval()
        with torch.no_grad():  # a head that fires: candidates, suppressions, several classes
            self.m.head.classification_head.cls_logits.bias.fill_(-1.0)
            self.m.head.classification_head.cls_logits.weight.normal_(0, 0.05)

    def test_dense_outputs_and_postprocess_equal_torchvision_fcos_inference(self):
        x = torch.randn(2, 1, 96, 96)
        dense = DenseDetector(self.m, self.cfg).eval()
        with torch.no_grad():
            ours = [postprocess(b, s, self.cfg) for b, s in zip(*(t.numpy() for t in dense(x)))]
            theirs = self.m([im for im in x])  # torchvision: its transform (identity here), decode, NMS
        for o, t in zip(ours, theirs):
            self.assertGreater(len(t["scores"]), 5)
            self.assertEqual(len(o["scores"]), len(t["scores"]))
            np.testing.assert_allclose(o["scores"], t["scores"].numpy(), atol=1e-5)
            np.testing.assert_array_equal(o["labels"], t["labels"].numpy())
            np.testing.assert_allclose(o["boxes"] * 96, t["boxes"].numpy(), atol=1e-3)

    def test_losses_finite_and_zero_boxes_are_negatives(self):
        recs = [DetRecord(1, "a", np.random.rand(96, 96).astype(np.float16), np.array([[0.2, 0.2, 0.5, 0.6]], np.float32),
                          np.array([1]), "boxes"),
                DetRecord(2, "b", np.random.rand(96, 96).astype(np.float16), np.zeros((0, 4), np.float32),
                          np.zeros(0, np.int64), "negative")]
        self.m.train()
        images, targets = make_batch(recs, np.random.default_rng(0), True, 96)
        losses = detector_losses(self.m, images, targets, 96)
        for k in ("classification", "bbox_regression", "bbox_ctrness"):
            self.assertTrue(torch.isfinite(losses[k]), k)
        sum(losses.values()).backward()
        self.assertIsNotNone(self.m.backbone.body[0][0].weight.grad)

    def test_average_precision_on_known_cases(self):
        gts = {1: np.array([[0, 0, 10, 10]], np.float32), 2: np.array([[0, 0, 10, 10]], np.float32)}
        perfect = [(1, 0.9, np.array([0, 0, 10, 10.0])), (2, 0.8, np.array([0, 0, 10, 10.0]))]
        self.assertAlmostEqual(average_precision(gts, perfect, 0.5), 1.0)
        # a false positive ranked first: precision 0.5 at recall 0.5, 2/3 at recall 1 -> monotone 2/3 everywhere
        fp_first = [(1, 0.95, np.array([50, 50, 60, 60.0]))] + perfect
        self.assertAlmostEqual(average_precision(gts, fp_first, 0.5), 2 / 3, places=6)
        # a box of IoU 0.5 counts at 0.5, not at 0.55
        half = [(1, 0.9, np.array([5, 0, 15, 10.0]))]
        self.assertAlmostEqual(average_precision({1: gts[1]}, half, 0.333), 1.0)
        self.assertEqual(average_precision({1: gts[1]}, half, 0.55), 0.0)
        self.assertTrue(np.isnan(average_precision({}, perfect, 0.5)))
        ev = evaluate_detections([DetRecord(1, "a", None, gts[1] / 100, np.array([0]), "val")],
                                 [{"boxes": gts[1] / 100, "scores": np.array([0.9]), "labels": np.array([0])}], 2, ["x", "y"])
        self.assertEqual(ev["map"], 1.0)
        self.assertEqual(list(ev["per_class"]), ["x"])  # classes without ground truth are not averaged


class DetectorTrainingTest(TempDirTest):
    def test_tiny_run_fills_the_run_dir_and_exports_the_detector_contract(self):
        d = make_synthetic_export(os.path.join(self.tmp, "ds"), n_train=16, n_val=4, size=64, box_ratio=0.5)
        add_pseudo(d, ["pending"])
        out = os.path.join(self.tmp, "run")
        spec = DetectorSpec(data=d, out=out, pseudo="all", epochs=2, batch=4, image_size=64, steps_per_epoch=4,
                            log_every=2, warmup_steps=2)
        data = load_detector_data(d, 64, pseudo="all")
        probe_imgs, probe_t = make_batch(data.train[:4], np.random.default_rng(1), False, 64)
        torch.manual_seed(0)
        m0 = build_detector(DetectorConfig(num_classes=2, image_size=64))
        m0.train()
        with torch.no_grad():
            before = sum(detector_losses(m0, probe_imgs, probe_t, 64).values()).item()
        run = train_detector(spec, data=data, log=lambda *_: None)
        self.assertEqual(run["status"], "completed")
        ck = torch.load(os.path.join(out, "checkpoints", "last.pt"))
        self.assertEqual(ck["kind"], "detector")
        m1 = build_detector(DetectorConfig.from_dict(ck["config"]))
        m1.load_state_dict(ck["model"])
        m1.train()
        with torch.no_grad():
            after = sum(detector_losses(m1, probe_imgs, probe_t, 64).values()).item()
        self.assertLess(after, before)
        rj = read_json(os.path.join(out, "run.json"))
        self.assertEqual((rj["kind"], rj["spec"]["mode"], rj["spec"]["pseudo"]), ("detector", "detector", "all"))
        self.assertEqual(rj["data"]["pseudo_images"], 8)
        for k in ("map", "ap50", "steps", "train_compute_s"):
            self.assertIn(k, rj["final"])
        rows = read_jsonl(os.path.join(out, "metrics.jsonl"))
        ev = [r for r in rows if r["type"] == "eval"]
        self.assertEqual(len(ev), 2)
        self.assertTrue(0.0 <= ev[-1]["ap50"] <= 1.0 and 0.0 <= ev[-1]["map"] <= ev[-1]["ap50"] + 1e-9)
        self.assertTrue({"cls", "box", "ctr", "total", "lr"} <= set(next(r for r in rows if r["type"] == "train")))
        self.assertEqual([r["epoch"] for r in rows if r["type"] == "epoch"], [0, 1])
        meta = read_metadata(os.path.join(out, "model.onnx"))
        self.assertEqual(meta["pointbox.kind"], "detector")
        self.assertNotIn("pointbox.contract_version", meta)
        det = json.loads(meta["pointbox.detector"])
        self.assertEqual([lv["locations"] for lv in det["levels"]], [64, 16, 4])
        self.assertEqual(json.loads(meta["pointbox.training"])["pseudo"], "all")
        ref = read_json(os.path.join(out, "reference", "reference.json"))
        self.assertEqual(ref["outputs"]["scores"]["shape"], [2, 84, 2])

    def test_init_backbone_copies_the_teachers_cnn(self):
        from pbc_trainer.model import ModelConfig, PointDETR, checkpoint_payload

        torch.manual_seed(3)
        cfg = ModelConfig(num_classes=2, image_size=64, stride=16)
        teacher = PointDETR(cfg)
        ck = os.path.join(self.tmp, "teacher.pt")
        torch.save(checkpoint_payload(teacher, cfg, ["a", "b"], {}), ck)
        det = build_detector(DetectorConfig(num_classes=2, image_size=64))
        n = copy_backbone(det, {**torch.load(ck), "_path": ck}, log=lambda *_: None)
        self.assertEqual(n, len([k for k in det.state_dict() if k.startswith("backbone.body.")]))
        torch.testing.assert_close(det.backbone.body[4][0].weight, teacher.backbone.body[4][0].weight)
        narrow = PointDETR(ModelConfig(num_classes=2, image_size=64, widths=(8, 8, 8, 8)))
        with self.assertRaisesRegex(PBCDataError, "no backbone tensor fits"):
            copy_backbone(det, {"model": narrow.state_dict(), "config": {"widths": [8, 8, 8, 8]}, "_path": "x"}, log=lambda *_: None)

    def test_cli_refuses_a_dataset_without_boxes_in_one_line(self):
        d = make_synthetic_export(os.path.join(self.tmp, "ds"), n_train=4, n_val=2, size=48, box_ratio=0.5)
        with open(os.path.join(d, "annotations", "instances_train_box.json")) as f:
            doc = json.load(f)
        doc["annotations"] = []
        doc["images"] = []
        with open(os.path.join(d, "annotations", "instances_train_box.json"), "w") as f:
            json.dump(doc, f)
        out = os.path.join(self.tmp, "run")
        r = subprocess.run([PYTHON, "-m", "pbc_trainer", "detector", "--data", d, "--out", out, "--pseudo", "none",
                            "--image-size", "48"], cwd=MODELS_DIR, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr.strip().splitlines()[-1], r"^pbc_trainer: error: .*no training boxes")
        self.assertNotIn("Traceback", r.stderr)
        self.assertEqual(read_json(os.path.join(out, "run.json"))["status"], "failed")


if __name__ == "__main__":
    unittest.main()
