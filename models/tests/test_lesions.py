"""Real-film training samples: the lung-field estimate, each synthetic lesion kind, real-crop pasting and the
film source (cache, unreadable files), on a drawn chest whose lungs are known."""
import os
import unittest

import numpy as np
from PIL import Image

from pbc_trainer.anatomy import lung_fields
from pbc_trainer.data import ImageRecord
from pbc_trainer.lesions import FilmLevels, LesionRenderer, kind_of
from pbc_trainer.realfilms import FilmSource
from tests._util import TempDirTest

S = 256


def drawn_chest(seed=0):
    """A frontal chest drawn with ellipses: dark background, bright body, two dark lungs (with a little
    texture), bright mediastinum between them. Returns (image [S,S] in [0,1], left lung, right lung)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:S, 0:S] / S
    body = ((xx - 0.5) / 0.46) ** 2 + ((yy - 0.55) / 0.55) ** 2 < 1
    left = ((xx - 0.31) / 0.14) ** 2 + ((yy - 0.45) / 0.28) ** 2 < 1
    right = ((xx - 0.69) / 0.14) ** 2 + ((yy - 0.45) / 0.28) ** 2 < 1
    img = np.where(body, 0.75, 0.05) + 0.02 * rng.standard_normal((S, S))
    img = np.where(left | right, 0.3 + 0.05 * np.sin(yy * 60), img)
    return np.clip(img, 0, 1).astype(np.float32), left, right


def iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


class LungFieldsTest(unittest.TestCase):
    def test_finds_both_lungs(self):
        img, left, right = drawn_chest()
        lf = lung_fields(img)
        self.assertIsNotNone(lf)
        self.assertGreater(iou(lf.left, left), 0.7)
        self.assertGreater(iou(lf.right, right), 0.7)

    def test_no_lungs_no_estimate(self):
        self.assertIsNone(lung_fields(np.full((S, S), 0.5, np.float32)))


class LesionTest(unittest.TestCase):
    def test_every_kind_lands_in_a_lung_and_changes_only_its_region(self):
        img0, left, right = drawn_chest()
        lf = lung_fields(img0)
        r = LesionRenderer()
        for kind in ("consolidation", "infiltrate", "nodule", "mass", "effusion", "pneumothorax", "atelectasis"):
            for seed in range(3):
                img = img0.copy()
                les = r.render(img, lf, kind, np.random.default_rng(seed))
                self.assertIsNotNone(les, kind)
                x1, y1, x2, y2 = les.box
                self.assertTrue(0 <= x1 < x2 <= S and 0 <= y1 < y2 <= S, (kind, les.box))
                box = np.zeros((S, S), bool)
                box[int(y1):int(np.ceil(y2)), int(x1):int(np.ceil(x2))] = True
                lungs = left | right
                # mostly over a lung (effusions reach a little below it)
                self.assertGreater((box & lungs).sum() / box.sum(), 0.5, (kind, seed))
                diff = img - img0
                inside = diff[box].mean()
                if kind == "pneumothorax":  # a lucency (with a thin bright pleural line at its edge)
                    changed = diff[box][np.abs(diff[box]) > 1e-6]
                    self.assertLess(float(np.median(changed)), 0, kind)
                else:
                    self.assertGreater(inside, 0.005, kind)  # an opacity
                # nothing changes far from the box
                far = np.ones((S, S), bool)
                far[max(0, int(y1) - 12):int(y2) + 12, max(0, int(x1) - 12):int(x2) + 12] = False
                self.assertLess(np.abs(diff[far]).max(), 0.01, kind)  # (a soft edge may leave a trace)

    def test_box_sizes_follow_the_size_table(self):
        # the lesion's box (not its core) is what the table's boxes measure: the median box must match
        img0, _, _ = drawn_chest()
        lf = lung_fields(img0)
        for kind, wh in (("nodule", 0.07), ("mass", 0.12)):
            r = LesionRenderer({kind: np.asarray([[wh, wh]], np.float32)})
            rng = np.random.default_rng(0)
            sizes = []
            for _ in range(40):
                les = r.render(img0.copy(), lf, kind, rng)
                if les:
                    sizes.append(np.sqrt((les.box[2] - les.box[0]) * (les.box[3] - les.box[1])) / S)
            self.assertGreater(len(sizes), 30)
            self.assertAlmostEqual(float(np.median(sizes)) / wh, 1.0, delta=0.2, msg=kind)

    def test_same_seed_same_lesion(self):
        img0, _, _ = drawn_chest()
        lf = lung_fields(img0)
        a, b = img0.copy(), img0.copy()
        la = LesionRenderer().render(a, lf, "consolidation", np.random.default_rng(5))
        lb = LesionRenderer().render(b, lf, "consolidation", np.random.default_rng(5))
        self.assertEqual(la.box, lb.box)
        self.assertTrue(np.array_equal(a, b))

    def test_class_names(self):
        self.assertEqual(kind_of("Pneumonia"), "consolidation")
        self.assertEqual(kind_of("Infiltration"), "infiltrate")
        self.assertIsNone(kind_of("Cardiomegaly"))  # the heart's own border: never drawn in


class FilmSourceTest(TempDirTest):
    def _films(self, n=3):
        d = os.path.join(self.tmp, "films")
        os.makedirs(d)
        for i in range(n):
            img, _, _ = drawn_chest(i)
            Image.fromarray((img * 255).astype(np.uint8)).resize((384, 384)).save(os.path.join(d, f"f{i}.png"))
        with open(os.path.join(d, "broken.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\nnot a png")
        return d

    def test_samples_cache_and_bad_files(self):
        d = self._films()
        logs = []
        classes = ["Cardiomegaly", "Nodule", "Pneumonia"]
        fs = FilmSource(d, S, classes, LesionRenderer(), cache_dir=os.path.join(self.tmp, "cache"), log=logs.append)
        self.assertEqual(len(fs.films), 3)
        self.assertTrue(any("broken.png" in m for m in logs))  # named, and the rest goes on
        recs = fs.samples(20, np.random.default_rng(0))
        self.assertEqual(len(recs), 20)
        for r in recs:
            self.assertEqual(r.level, "box")
            self.assertTrue(((r.boxes >= 0) & (r.boxes <= 1)).all())
            self.assertTrue((r.boxes[:, 2] > r.boxes[:, 0]).all())
            self.assertNotIn(0, r.labels)  # Cardiomegaly is never synthesized
            self.assertAlmostEqual(float(r.image.min()), 0.0, places=2)
            self.assertAlmostEqual(float(r.image.max()), 1.0, places=2)
        self.assertEqual(len(os.listdir(os.path.join(self.tmp, "cache"))), 1)
        again = FilmSource(d, S, classes, LesionRenderer(), cache_dir=os.path.join(self.tmp, "cache"), log=logs.append)
        self.assertTrue(np.array_equal(again.films[0], fs.films[0]))

    def test_pasted_real_lesions(self):
        d = self._films(2)
        fs = FilmSource(d, S, ["Nodule", "Pneumonia"], LesionRenderer(), cache_dir=None)
        src, _, _ = drawn_chest(7)
        src[100:130, 60:90] = 1.0  # a bright "lesion"
        rec = ImageRecord(1, "x", "box", src.astype(np.float16), np.asarray([1]),
                          np.asarray([[60 / S, 100 / S, 90 / S, 130 / S]], np.float32), None)
        self.assertEqual(fs.add_crops([rec]), 1)
        recs = fs.samples(10, np.random.default_rng(1), paste_p=1.0)
        self.assertTrue(recs)
        for r in recs:
            self.assertTrue(set(r.labels.tolist()) <= {1})
            w = (r.boxes[:, 2] - r.boxes[:, 0]) * S
            self.assertTrue(((w > 20) & (w < 45)).all(), w)  # the crop's box, scaled by at most a few %


if __name__ == "__main__":
    unittest.main()
