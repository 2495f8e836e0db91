"""Reading the PBC export: layouts, 8/16-bit PNG and DICOM, letterbox coordinates, clear errors."""
import json
import os
import subprocess
import unittest

import numpy as np

from pbc_trainer.data import PBCDataError, find_annotation_files, letterbox, load_pbc_export, read_grey01
from pbc_trainer.synth import make_synthetic_export
from tests._util import read_json, read_jsonl, MODELS_DIR, PYTHON, TempDirTest


class DataTest(TempDirTest):
    def test_loads_synthetic_export_and_letterboxes(self):
        d = make_synthetic_export(os.path.join(self.tmp, "ds"), n_train=6, n_val=2, size=48, box_ratio=0.5)
        data = load_pbc_export(d, image_size=32)
        self.assertEqual(data.classes, ["nodule", "opacity"])
        self.assertEqual(len(data.train_box), 3)
        self.assertEqual(len(data.train_point), 3)
        self.assertEqual(len(data.val), 2)
        doc = read_json(os.path.join(d, "annotations", "instances_val.json"))
        img0 = doc["images"][0]
        a0 = [a for a in doc["annotations"] if a["image_id"] == img0["id"]][0]
        s = 32 / max(img0["width"], img0["height"])
        r = data.val[0]
        self.assertAlmostEqual(r.scale, s)
        np.testing.assert_allclose(r.boxes[0], np.clip(np.array(a0["bbox"][:2] + [a0["bbox"][0] + a0["bbox"][2],
                                                                                   a0["bbox"][1] + a0["bbox"][3]]) * s / 32, 0, 1), atol=1e-5)
        np.testing.assert_allclose(r.points[0], np.array(a0["point"]) * s / 32, atol=1e-5)  # 'given' points
        self.assertEqual(r.image.shape, (32, 32))
        for rec in data.train_point:
            self.assertIsNotNone(rec.points)

    def test_letterbox_top_left(self):
        img = np.ones((10, 20), np.float32)
        canvas, s = letterbox(img, 40)
        self.assertEqual(s, 2.0)
        self.assertTrue((canvas[:20, :40] > 0.99).all())
        self.assertEqual(canvas[20:].max(), 0.0)

    def test_reads_16bit_png_and_dicom(self):
        from PIL import Image

        a = (np.arange(64 * 48).reshape(48, 64) % 4096).astype(np.uint16)
        p = os.path.join(self.tmp, "x16.png")
        Image.fromarray(a).save(p)
        g = read_grey01(p)
        self.assertEqual(g.shape, (48, 64))
        self.assertAlmostEqual(float(g.max()), 1.0)
        self.assertAlmostEqual(float(g.min()), 0.0)
        try:
            import pydicom
            from pydicom.dataset import FileDataset, FileMetaDataset
            from pydicom.uid import ExplicitVRLittleEndian, generate_uid
        except ImportError:
            self.skipTest("pydicom not installed")
        meta = FileMetaDataset()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        dp = os.path.join(self.tmp, "x.dcm")
        ds = FileDataset(dp, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.Rows, ds.Columns = a.shape
        ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 16, 12, 11, 0
        ds.PhotometricInterpretation = "MONOCHROME1"
        ds.PixelData = a.tobytes()
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.save_as(dp, write_like_original=False)
        gd = read_grey01(dp)
        np.testing.assert_allclose(gd, 1.0 - g, atol=1e-6)  # MONOCHROME1 inverted

    def test_error_missing_dir(self):
        with self.assertRaisesRegex(PBCDataError, "export dir not found"):
            load_pbc_export(os.path.join(self.tmp, "nope"))

    def test_error_broken_export_dir(self):
        os.makedirs(os.path.join(self.tmp, "broken", "annotations"))
        with self.assertRaisesRegex(PBCDataError, "no training annotations"):
            find_annotation_files(os.path.join(self.tmp, "broken"))
        with open(os.path.join(self.tmp, "broken", "annotations", "instances_train_box.json"), "w") as f:
            f.write("{not json")
        with self.assertRaisesRegex(PBCDataError, "not valid JSON"):
            load_pbc_export(os.path.join(self.tmp, "broken"))
        with open(os.path.join(self.tmp, "broken", "annotations", "instances_train_box.json"), "w") as f:
            json.dump({"images": [{"id": 1, "file_name": "missing.png", "width": 8, "height": 8}],
                       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}],
                       "categories": [{"id": 1, "name": "a"}]}, f)
        with self.assertRaisesRegex(PBCDataError, "missing.png"):
            load_pbc_export(os.path.join(self.tmp, "broken"))

    def test_error_no_boxes(self):
        d = make_synthetic_export(os.path.join(self.tmp, "nobox"), n_train=4, n_val=1, size=32, box_ratio=0.5,
                                  with_boxes=False)
        os.remove(os.path.join(d, "annotations", "instances_train_box.json"))
        with self.assertRaisesRegex(PBCDataError, "no training images with boxes"):
            load_pbc_export(d, image_size=32)

    def test_cli_reports_dataset_errors_clearly(self):
        d = make_synthetic_export(os.path.join(self.tmp, "nobox"), n_train=4, n_val=1, size=32, with_boxes=False)
        os.remove(os.path.join(d, "annotations", "instances_train_box.json"))
        r = subprocess.run([PYTHON, "-m", "pbc_trainer", "train", "--data", d, "--out", os.path.join(self.tmp, "run"),
                            "--epochs", "1", "--image-size", "32"], cwd=MODELS_DIR, capture_output=True, text=True)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no training images with boxes", r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        self.assertIn("pbc_trainer: error:", r.stderr)
        run = read_json(os.path.join(self.tmp, "run", "run.json"))
        self.assertEqual(run["status"], "failed")
        self.assertIn("no training images with boxes", run["error"])


if __name__ == "__main__":
    unittest.main()
