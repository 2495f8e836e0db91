"""PBC losses. All boxes are x1y1x2y2 in [0,1] of the model input; every term is averaged over real points only
(padded points, mask 0, contribute exactly 0 to every term and to every gradient)."""
from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn.functional as F

W_L1 = 5.0
W_GIOU = 2.0
W_MPC = 100.0
W_SC = 50.0
W_IOU = 1.0


def box_iou_giou(a: torch.Tensor, b: torch.Tensor):
    """Element-wise IoU and GIoU of boxes [..., 4]."""
    area_a = (a[..., 2] - a[..., 0]).clamp(min=0) * (a[..., 3] - a[..., 1]).clamp(min=0)
    area_b = (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)
    lt = torch.max(a[..., :2], b[..., :2])
    rb = torch.min(a[..., 2:], b[..., 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a + area_b - inter
    iou = inter / union.clamp(min=1e-9)
    lt_c = torch.min(a[..., :2], b[..., :2])
    rb_c = torch.max(a[..., 2:], b[..., 2:])
    wh_c = (rb_c - lt_c).clamp(min=0)
    area_c = wh_c[..., 0] * wh_c[..., 1]
    giou = iou - (area_c - union) / area_c.clamp(min=1e-9)
    return iou, giou


def _masked_mean(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (x * m).sum() / m.sum().clamp(min=1.0)


def box_losses(layer_boxes: torch.Tensor, gt: torch.Tensor, m: torch.Tensor) -> Dict[str, torch.Tensor]:
    """layer_boxes [L,B,N,4], gt [B,N,4], m [B,N] (1 = a real point with a GT box). Query i <-> box i
    (no Hungarian matching). Returns unweighted L1 and (1 - GIoU), summed over decoder layers."""
    l1 = layer_boxes.new_zeros(())
    lg = layer_boxes.new_zeros(())
    for pb in layer_boxes:
        l1 = l1 + _masked_mean((pb - gt).abs().sum(-1), m)
        _, giou = box_iou_giou(pb, gt)
        lg = lg + _masked_mean(1.0 - giou, m)
    return {"l1": l1, "giou": lg}


def iou_head_loss(score: torch.Tensor, pred_box: torch.Tensor, gt: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """BCE between the IoU head and the real IoU of the (detached) predicted box: the `scores` output."""
    with torch.no_grad():
        iou, _ = box_iou_giou(pred_box, gt)
    bce = F.binary_cross_entropy(score.clamp(1e-6, 1 - 1e-6), iou, reduction="none")
    return _masked_mean(bce, m)


def mpc_loss(boxes: torch.Tensor, pair: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Multi-point consistency: query i and query pair[b,i] were sampled in the same GT box, so their boxes
    must agree (mean squared error over the 4 coordinates, as F.mse_loss). pair [B,N] long (-1 = no partner)."""
    has = (pair >= 0).to(boxes.dtype) * m
    idx = pair.clamp(min=0)
    other = torch.gather(boxes, 1, idx[..., None].expand(-1, -1, 4))
    return _masked_mean(((boxes - other) ** 2).mean(-1), has)


def mirror_boxes(boxes: torch.Tensor) -> torch.Tensor:
    """Boxes of a horizontally flipped input mapped back: x -> 1 - x (x1 and x2 swap)."""
    return torch.stack([1.0 - boxes[..., 2], boxes[..., 1], 1.0 - boxes[..., 0], boxes[..., 3]], -1)


def sc_loss(boxes_orig: torch.Tensor, boxes_flip: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Symmetric consistency: boxes of the flipped image (mirrored points) mirrored back must equal the
    boxes of the original (L2 = mean squared error over the 4 coordinates). Both [B,N,4] in the same query order."""
    return _masked_mean(((boxes_orig - mirror_boxes(boxes_flip)) ** 2).mean(-1), m)


def total(terms: Dict[str, torch.Tensor], w_mpc: float = W_MPC, w_sc: float = W_SC) -> torch.Tensor:
    t = W_L1 * terms["l1"] + W_GIOU * terms["giou"] + W_IOU * terms.get("iou", 0.0)
    if "mpc" in terms:
        t = t + w_mpc * terms["mpc"]
    if "sc" in terms:
        t = t + w_sc * terms["sc"]
    return t
