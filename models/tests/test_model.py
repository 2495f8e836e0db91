"""Shapes, masks (padded points change nothing), batch-composition independence, box contains its point."""
import unittest

import torch

from pbc_trainer.model import ModelConfig, PointDETR, count_params
from tests import _util  # noqa: F401  (threads)


def _model(num_classes=3, size=64, stride=8, point_feat=True):
    torch.manual_seed(0)
    m = PointDETR(ModelConfig(num_classes=num_classes, image_size=size, stride=stride, point_feat=point_feat))
    with torch.no_grad():
        m.box_head.l2.weight.normal_(0, 0.1)  # make the boxes depend on the input
    return m.eval()


class ModelTest(unittest.TestCase):
    def test_shapes_and_ranges(self):
        m = _model()
        img = torch.randn(2, 1, 64, 64)
        pts = torch.rand(2, 5, 2)
        lab = torch.randint(0, 3, (2, 5))
        msk = torch.ones(2, 5)
        with torch.no_grad():
            boxes, scores = m(img, pts, lab, msk)
        self.assertEqual(tuple(boxes.shape), (2, 5, 4))
        self.assertEqual(tuple(scores.shape), (2, 5))
        self.assertTrue(((boxes >= 0) & (boxes <= 1)).all())
        self.assertTrue(((scores >= 0) & (scores <= 1)).all())
        # PBC's ltrb parameterisation: the point lies inside its box
        self.assertTrue((boxes[..., 0] <= pts[..., 0] + 1e-6).all() and (boxes[..., 2] >= pts[..., 0] - 1e-6).all())
        self.assertTrue((boxes[..., 1] <= pts[..., 1] + 1e-6).all() and (boxes[..., 3] >= pts[..., 1] - 1e-6).all())

    def test_param_budget(self):
        n = count_params(PointDETR(ModelConfig(num_classes=2, image_size=256)))
        self.assertGreater(n, 500_000)
        self.assertLess(n, 1_500_000)

    def test_padded_points_change_nothing(self):
        m = _model()
        img = torch.randn(1, 1, 64, 64)
        pts = torch.tensor([[[0.3, 0.4], [0.7, 0.6]]])
        lab = torch.tensor([[0, 2]])
        with torch.no_grad():
            b0, s0 = m(img, pts, lab, torch.ones(1, 2))
            # same points + 3 padded ones with garbage coordinates and labels
            pts_p = torch.cat([pts, torch.tensor([[[0.9, 0.1], [0.0, 0.0], [0.5, 0.5]]])], 1)
            lab_p = torch.cat([lab, torch.tensor([[1, 2, 0]])], 1)
            msk_p = torch.tensor([[1.0, 1, 0, 0, 0]])
            b1, s1 = m(img, pts_p, lab_p, msk_p)
            # padded in the middle too
            order = [0, 2, 1, 3, 4]
            b2, s2 = m(img, pts_p[:, order], lab_p[:, order], msk_p[:, order])
        self.assertLess((b1[:, :2] - b0).abs().max().item(), 1e-5)
        self.assertLess((s1[:, :2] - s0).abs().max().item(), 1e-5)
        self.assertLess((b2[:, [0, 2]] - b0).abs().max().item(), 1e-5)
        self.assertEqual(b1[:, 2:].abs().max().item(), 0.0)  # padded outputs are exactly 0
        self.assertEqual(s1[:, 2:].abs().max().item(), 0.0)

    def test_padded_points_change_nothing_plain_query(self):
        m = _model(point_feat=False)
        img = torch.randn(2, 1, 64, 64)
        pts = torch.rand(2, 4, 2)
        lab = torch.randint(0, 3, (2, 4))
        with torch.no_grad():
            b0, s0 = m(img, pts[:, :2], lab[:, :2], torch.ones(2, 2))
            b1, s1 = m(img, pts, lab, torch.tensor([[1.0, 1, 0, 0], [1, 1, 0, 0]]))
        self.assertLess((b1[:, :2] - b0).abs().max().item(), 1e-5)
        self.assertLess((s1[:, :2] - s0).abs().max().item(), 1e-5)

    def test_real_points_do_interact(self):
        # the mask must not disable self-attention between real points (sanity of the masking test above)
        m = _model()
        img = torch.randn(1, 1, 64, 64)
        pts = torch.tensor([[[0.3, 0.4], [0.7, 0.6]]])
        lab = torch.tensor([[0, 2]])
        with torch.no_grad():
            b_both, _ = m(img, pts, lab, torch.ones(1, 2))
            b_one, _ = m(img, pts[:, :1], lab[:, :1], torch.ones(1, 1))
        self.assertGreater((b_both[:, 0] - b_one[:, 0]).abs().max().item(), 1e-7)

    def test_batch_composition_independence(self):
        m = _model()
        img = torch.randn(2, 1, 64, 64)
        pts = torch.rand(2, 4, 2)
        lab = torch.randint(0, 3, (2, 4))
        msk = torch.tensor([[1.0, 1, 0, 0], [1, 1, 1, 1]])
        with torch.no_grad():
            b, s = m(img, pts, lab, msk)
            b_alone, s_alone = m(img[:1], pts[:1, :2], lab[:1, :2], torch.ones(1, 2))
        self.assertLess((b[0, :2] - b_alone[0]).abs().max().item(), 1e-5)
        self.assertLess((s[0, :2] - s_alone[0]).abs().max().item(), 1e-5)

    def test_gradients_ignore_padded_points(self):
        m = _model()
        m.train()
        img = torch.randn(1, 1, 64, 64)
        pts = torch.rand(1, 3, 2, requires_grad=True)
        lab = torch.tensor([[0, 1, 2]])
        msk = torch.tensor([[1.0, 1, 0]])
        boxes, scores = m(img, pts, lab, msk)
        (boxes.sum() + scores.sum()).backward()
        self.assertEqual(pts.grad[0, 2].abs().max().item(), 0.0)
        self.assertGreater(pts.grad[0, :2].abs().max().item(), 0.0)


if __name__ == "__main__":
    unittest.main()
