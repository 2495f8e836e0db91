"""Loss terms: finite, zero where they should be, padded points contribute nothing; SC flip equivariance."""
import unittest

import numpy as np
import torch

from pbc_trainer import losses as L
from pbc_trainer.train import flip_sample, make_batch
from pbc_trainer.data import ImageRecord
from tests import _util  # noqa: F401


def _boxes(n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(1, n, 2, generator=g) * 0.5
    wh = torch.rand(1, n, 2, generator=g) * 0.4 + 0.05
    return torch.cat([xy, xy + wh], -1)


class LossTest(unittest.TestCase):
    def test_box_losses_zero_on_perfect_prediction(self):
        gt = _boxes()
        m = torch.ones(1, 3)
        t = L.box_losses(torch.stack([gt, gt, gt]), gt, m)
        self.assertAlmostEqual(t["l1"].item(), 0.0, places=6)
        self.assertAlmostEqual(t["giou"].item(), 0.0, places=5)

    def test_giou_known_values(self):
        a = torch.tensor([[0.0, 0.0, 0.5, 0.5]])
        b = torch.tensor([[0.25, 0.25, 0.75, 0.75]])
        iou, giou = L.box_iou_giou(a, b)
        self.assertAlmostEqual(iou.item(), 0.0625 / (0.25 + 0.25 - 0.0625), places=6)
        self.assertAlmostEqual(giou.item(), iou.item() - (0.5625 - 0.4375) / 0.5625, places=6)
        c = torch.tensor([[0.6, 0.6, 0.9, 0.9]])
        iou2, giou2 = L.box_iou_giou(a, c)
        self.assertEqual(iou2.item(), 0.0)
        self.assertLess(giou2.item(), 0.0)

    def test_losses_finite_and_masked(self):
        pred = _boxes(seed=1).requires_grad_(True)
        gt = _boxes(seed=2)
        m = torch.tensor([[1.0, 1.0, 0.0]])
        terms = L.box_losses(pred[None], gt, m)
        pair = torch.tensor([[1, 0, -1]])
        terms["mpc"] = L.mpc_loss(pred, pair, m)
        terms["sc"] = L.sc_loss(pred, L.mirror_boxes(_boxes(seed=3)), m)
        terms["iou"] = L.iou_head_loss(torch.full((1, 3), 0.5), pred, gt, m)
        tot = L.total(terms)
        for k, v in terms.items():
            self.assertTrue(torch.isfinite(v).all(), k)
            self.assertGreater(v.item(), 0.0, k)
        tot.backward()
        self.assertEqual(pred.grad[0, 2].abs().max().item(), 0.0)  # padded point: no gradient
        # degenerate inputs (zero-size boxes, everything masked) stay finite
        z = torch.zeros(1, 2, 4)
        t0 = L.box_losses(z[None], z, torch.zeros(1, 2))
        self.assertTrue(all(torch.isfinite(v) for v in t0.values()))
        self.assertEqual(L.mpc_loss(z, torch.tensor([[1, 0]]), torch.zeros(1, 2)).item(), 0.0)

    def test_mpc_zero_when_pairs_agree(self):
        b = _boxes(2)
        both = torch.cat([b, b], 1)  # queries 0,1 and 2,3 sampled in the same boxes
        pair = torch.tensor([[2, 3, 0, 1]])
        self.assertEqual(L.mpc_loss(both, pair, torch.ones(1, 4)).item(), 0.0)
        other = both.clone()
        other[0, 2] += 0.1
        self.assertAlmostEqual(L.mpc_loss(other, pair, torch.ones(1, 4)).item(), 2 * 0.01 / 4, places=6)

    def test_sc_zero_for_mirrored_boxes(self):
        b = _boxes()
        self.assertAlmostEqual(L.sc_loss(b, L.mirror_boxes(b), torch.ones(1, 3)).item(), 0.0, places=7)
        self.assertTrue(torch.allclose(L.mirror_boxes(L.mirror_boxes(b)), b))
        self.assertGreater(L.sc_loss(b, b, torch.ones(1, 3)).item(), 0.0)


class FlipTest(unittest.TestCase):
    def test_flip_sample_equivariance(self):
        rng = np.random.default_rng(0)
        img = rng.random((16, 16)).astype(np.float32)
        img[4:8, 2:6] = 5.0  # a "lesion" occupying columns 2..5 -> box x in [2/16, 6/16]
        box = np.array([[2 / 16, 4 / 16, 6 / 16, 8 / 16]], np.float32)
        pt = np.array([[3 / 16, 5 / 16]], np.float32)
        fimg, fpt, fbox = flip_sample(img, pt, box)
        np.testing.assert_array_equal(fimg, img[:, ::-1])
        # the lesion in the flipped image is exactly where the flipped box says
        ys, xs = np.where(fimg == 5.0)
        np.testing.assert_allclose(fbox[0], [xs.min() / 16, ys.min() / 16, (xs.max() + 1) / 16, (ys.max() + 1) / 16])
        np.testing.assert_allclose(fpt, [[1 - 3 / 16, 5 / 16]])
        # mirroring back = torch mirror_boxes
        np.testing.assert_allclose(L.mirror_boxes(torch.from_numpy(fbox)).numpy(), box, atol=1e-7)
        img2, pt2, box2 = flip_sample(fimg, fpt, fbox)
        np.testing.assert_array_equal(img2, img)
        np.testing.assert_allclose(box2, box, atol=1e-7)

    def test_sc_batch_flips_per_image_and_keeps_masks(self):
        rng = np.random.default_rng(0)

        def rec(k, level):
            img = rng.random((32, 32)).astype(np.float16)
            boxes = np.tile(np.array([[0.1, 0.1, 0.4, 0.5]], np.float32), (k, 1))
            return ImageRecord(0, "x", level, img, np.zeros(k, np.int64), boxes if level == "box" else None,
                               rng.random((k, 2)).astype(np.float32) * 0.5)

        box = [rec(1, "box")]
        pts = [rec(1, "point"), rec(3, "point")]  # different N: the flip must not move padding
        b = make_batch(box, pts, mpc=True, rng=np.random.default_rng(1), augment=False, erase=False)
        self.assertEqual(tuple(b.image.shape), (5, 1, 32, 32))
        self.assertEqual(b.points.shape[1], 3)
        self.assertEqual(b.sc_a.tolist(), [1, 3])
        self.assertEqual(b.sc_b.tolist(), [2, 4])
        for a, f in zip(b.sc_a.tolist(), b.sc_b.tolist()):
            torch.testing.assert_close(b.image[f], torch.flip(b.image[a], dims=[-1]))
            torch.testing.assert_close(b.mask[f], b.mask[a])  # the flipped view keeps its padding mask
            k = int(b.mask[a].sum())
            torch.testing.assert_close(b.points[f, :k, 0], 1 - b.points[a, :k, 0])
            torch.testing.assert_close(b.points[f, :k, 1], b.points[a, :k, 1])
            self.assertEqual(b.points[f, k:].abs().sum().item(), 0.0)  # padding untouched
        self.assertEqual(b.mask[1].tolist(), [1, 0, 0])
        # MPC: the box image has two queries, each the other's partner, same GT box, both inside it
        self.assertEqual(b.pair[0, :2].tolist(), [1, 0])
        self.assertEqual(b.sup[0].tolist(), [1, 1, 0])
        p, g = b.points[0, :2], b.gt[0, :2]
        self.assertTrue(((p[:, 0] >= g[:, 0]) & (p[:, 0] <= g[:, 2]) & (p[:, 1] >= g[:, 1]) & (p[:, 1] <= g[:, 3])).all())
        # the two points are different random draws (PBC's jitter U(0.05, 0.05) was a constant)
        self.assertGreater((p[0] - p[1]).abs().sum().item(), 0.0)


if __name__ == "__main__":
    unittest.main()
