"""The student detector: PBC's last stage. A torchvision FCOS (anchor-free, one stage) with a small CNN + FPN,
trained from scratch (or from the teacher's backbone, or from an earlier detector) on the ground-truth boxes
of the box-level images plus the teacher's pseudo-boxes on the point-level images, evaluated on val with COCO
mAP@[.5:.95] and AP50 per class, exported to ONNX for PointBox's detector layer (detector_export.py).

    python3 -m pbc_trainer detector --data <pbc export> --out <run dir> [--pseudo accepted|all|none] ...

Why FCOS: no anchor boxes to tune per dataset (lesion sizes run from a 1 cm nodule to a whole lung field),
one stage (fast on a CPU), and its torchvision implementation brings the focal, GIoU and centerness losses.
torchvision's own forward() resizes and post-processes inside the model; here the network runs on the same
letterboxed S x S input as the teacher (data.py), its *dense* outputs are what the ONNX model returns, and
the post-processing (score threshold, top-k per level, per-class NMS) is one function, `postprocess`,
written the same way in TypeScript (src/core/inference/detectorPostprocess.ts), so the numbers PointBox
computes are the numbers the trainer computed (the reference I/O checks it).

Which images train the detector (PBC: "boxes + pseudo-boxes"):
- box-level train images: their ground-truth boxes; a box-level image without lesions is a negative;
- point-level train images with pseudo-boxes (instances_train_pseudo.json of `pointbox export --layout pbc`,
  `--pseudo-boxes all` to include pending ones): those boxes. `--pseudo accepted` (default) uses accepted and
  edited ones, `all` also pending ones (never rejected), `none` none (the "boxes only" baseline).
  A point-level image is used only when *every* one of its points has a usable pseudo-box: an image with an
  unboxed lesion would teach the detector that the lesion is background.
The run directory has the teacher's layout (run.json, metrics.jsonl, checkpoints/, model.onnx), so PointBox's
Runs view, progress and cancel work unchanged; `eval` rows carry `ap50` (the Runs view's figure) and `map`.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .data import PBCDataError, _image_path, _load_json, letterbox, normalize, read_grey01

DETECTOR_CONTRACT_VERSION = "1"
PSEUDO_CHOICES = ("accepted", "all", "none")


# ------------------------------------------------------------------------------------------------ model

def conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    # the teacher's block (model.py), so its backbone weights load into ours
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


@dataclass
class DetectorConfig:
    num_classes: int = 1
    image_size: int = 256
    # the first four widths are the teacher's backbone (stride 16); the fifth is the stride-32 stage
    widths: Tuple[int, ...] = (24, 32, 64, 128, 192)
    fpn_channels: int = 64
    head_convs: int = 2
    strides: Tuple[int, ...] = (8, 16, 32)
    center_sampling_radius: float = 1.5
    # post-processing (written into the ONNX metadata; PointBox applies the same)
    score_threshold: float = 0.05
    nms_iou: float = 0.6
    topk_candidates: int = 1000
    detections_per_image: int = 100

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"], d["strides"] = list(self.widths), list(self.strides)
        return d

    @staticmethod
    def from_dict(d: dict) -> "DetectorConfig":
        d = dict(d)
        for k in ("widths", "strides"):
            if k in d:
                d[k] = tuple(d[k])
        return DetectorConfig(**d)


class DetectorBackbone(nn.Module):
    """C3 (/8), C4 (/16), C5 (/32) -> FPN P3..P5. `body` is layer for layer the teacher's stride-16 backbone."""

    def __init__(self, widths: Tuple[int, ...], fpn_channels: int):
        super().__init__()
        from torchvision.ops import FeaturePyramidNetwork

        w = widths
        self.body = nn.Sequential(conv_bn(1, w[0], 2), conv_bn(w[0], w[1], 2), conv_bn(w[1], w[2], 2),
                                  conv_bn(w[2], w[2], 1), conv_bn(w[2], w[3], 2), conv_bn(w[3], w[3], 1))
        self.c5 = nn.Sequential(conv_bn(w[3], w[4], 2), conv_bn(w[4], w[4], 1))
        self.fpn = FeaturePyramidNetwork([w[2], w[3], w[4]], fpn_channels)
        self.out_channels = fpn_channels

    def forward(self, x):
        c3 = self.body[3](self.body[2](self.body[1](self.body[0](x))))
        c4 = self.body[5](self.body[4](c3))
        c5 = self.c5(c4)
        return self.fpn(OrderedDict([("p3", c3), ("p4", c4), ("p5", c5)]))


def build_detector(cfg: DetectorConfig):
    from torchvision.models.detection import FCOS
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.fcos import FCOSHead

    backbone = DetectorBackbone(cfg.widths, cfg.fpn_channels)
    anchors = AnchorGenerator(tuple((s,) for s in cfg.strides), ((1.0,),) * len(cfg.strides))
    head = FCOSHead(cfg.fpn_channels, 1, cfg.num_classes, num_convs=cfg.head_convs)
    m = FCOS(backbone, cfg.num_classes, min_size=cfg.image_size, max_size=cfg.image_size, image_mean=[0.0],
             image_std=[1.0], anchor_generator=anchors, head=head, center_sampling_radius=cfg.center_sampling_radius,
             score_thresh=cfg.score_threshold, nms_thresh=cfg.nms_iou, detections_per_img=cfg.detections_per_image,
             topk_candidates=cfg.topk_candidates)
    m.cfg = cfg
    return m


def level_sizes(cfg: DetectorConfig) -> List[int]:
    """Locations per FPN level for an S x S input (the conv arithmetic of the backbone: ceil per stride-2 layer)."""
    out, s = [], cfg.image_size
    for _ in range(3):  # /8
        s = (s + 1) // 2
    for stride in cfg.strides:
        if stride > 8:
            s = (s + 1) // 2
        out.append(s * s)
    return out


def anchors_for(model, cfg: DetectorConfig, device=None) -> torch.Tensor:
    """[A, 4] anchor boxes (pixels of the S x S input) of every location, levels in order."""
    from torchvision.models.detection.image_list import ImageList

    S = cfg.image_size
    x = torch.zeros(1, 1, S, S, device=device)
    with torch.no_grad():
        feats = list(model.backbone(x).values())
    return model.anchor_generator(ImageList(x, [(S, S)]), feats)[0]


class DenseDetector(nn.Module):
    """image [B,1,S,S] -> boxes [B,A,4] (x1,y1,x2,y2 in [0,1] of the input, clipped) and scores [B,A,C]
    (sqrt(sigmoid(class logit) * sigmoid(centerness)), FCOS's ranking score). What the ONNX model computes."""

    def __init__(self, model, cfg: DetectorConfig):
        super().__init__()
        self.m = model
        self.S = float(cfg.image_size)
        self.register_buffer("anchors", anchors_for(model, cfg).clone())

    def forward(self, image):
        feats = list(self.m.backbone(image).values())
        out = self.m.head(feats)
        a = self.anchors
        cx = 0.5 * (a[:, 0] + a[:, 2])
        cy = 0.5 * (a[:, 1] + a[:, 3])
        wa = a[:, 2] - a[:, 0]
        ha = a[:, 3] - a[:, 1]
        r = out["bbox_regression"]  # [B,A,4] l,t,r,b in units of the anchor size (BoxLinearCoder, normalized)
        boxes = torch.stack([cx - r[..., 0] * wa, cy - r[..., 1] * ha, cx + r[..., 2] * wa, cy + r[..., 3] * ha], -1)
        boxes = (boxes / self.S).clamp(0.0, 1.0)
        scores = torch.sqrt(torch.sigmoid(out["cls_logits"]) * torch.sigmoid(out["bbox_ctrness"]))
        return boxes, scores


def nms_numpy(boxes: np.ndarray, scores: np.ndarray, iou: float) -> List[int]:
    """Greedy NMS (torchvision.ops.nms): highest score first, drop boxes whose IoU with a kept one is > iou."""
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    keep: List[int] = []
    area = np.maximum(0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0, boxes[:, 3] - boxes[:, 1])
    suppressed = np.zeros(len(scores), bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        xx1 = np.maximum(boxes[i, 0], boxes[:, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[:, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[:, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[:, 3])
        inter = np.maximum(0, xx2 - xx1) * np.maximum(0, yy2 - yy1)
        union = area[i] + area - inter
        ov = np.where(union > 0, inter / np.maximum(union, 1e-12), 0)
        suppressed |= ov > iou
    return keep


def postprocess(boxes: np.ndarray, scores: np.ndarray, cfg: DetectorConfig) -> Dict[str, np.ndarray]:
    """FCOS's post-processing on one image's dense outputs (boxes [A,4], scores [A,C]): per level, the scores
    above the threshold, the top `topk_candidates` of them; then per-class NMS over all levels; the best
    `detections_per_image`. Same algorithm as torchvision's FCOS.postprocess_detections and as PointBox's
    detectorPostprocess.ts. Returns boxes [K,4] in [0,1], scores [K], labels [K] (class index)."""
    C = scores.shape[1]
    sel_b, sel_s, sel_l = [], [], []
    start = 0
    for n in level_sizes(cfg):
        s = scores[start:start + n].reshape(-1)
        idx = np.nonzero(s > cfg.score_threshold)[0]
        if len(idx) > cfg.topk_candidates:
            # top-k by score; ties broken by position (stable), as in the TypeScript twin
            order = np.lexsort((idx, -s[idx]))[: cfg.topk_candidates]
            idx = idx[order]
        sel_b.append(boxes[start + idx // C])
        sel_s.append(s[idx])
        sel_l.append(idx % C)
        start += n
    b = np.concatenate(sel_b) if sel_b else np.zeros((0, 4), np.float32)
    sc = np.concatenate(sel_s) if sel_s else np.zeros(0, np.float32)
    lb = np.concatenate(sel_l) if sel_l else np.zeros(0, np.int64)
    keep: List[int] = []
    for c in np.unique(lb):
        ids = np.nonzero(lb == c)[0]
        keep += [int(ids[k]) for k in nms_numpy(b[ids], sc[ids], cfg.nms_iou)]
    keep.sort(key=lambda i: (-float(sc[i]), i))
    keep = keep[: cfg.detections_per_image]
    return {"boxes": b[keep].astype(np.float32), "scores": sc[keep].astype(np.float32), "labels": lb[keep].astype(np.int64)}


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ------------------------------------------------------------------------------------------------ data

@dataclass
class DetRecord:
    image_id: int
    file_name: str
    image: np.ndarray  # float16 [S,S] in [0,1], letterboxed (not normalized)
    boxes: np.ndarray  # float32 [K,4] x1,y1,x2,y2 in [0,1] of the model input
    labels: np.ndarray  # int64 [K]
    source: str  # 'boxes' | 'pseudo' | 'negative' | 'val'


@dataclass
class DetectorData:
    classes: List[str]
    category_ids: List[int]
    train: List[DetRecord]
    val: List[DetRecord]
    files: Dict[str, str] = field(default_factory=dict)
    counts: Dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        return {"classes": self.classes, "files": self.files, **self.counts,
                "train_images": len(self.train), "train_boxes": int(sum(len(r.labels) for r in self.train)),
                "val_images": len(self.val), "val_boxes": int(sum(len(r.labels) for r in self.val))}


def _find(export_dir: str, explicit: Optional[str], name: str) -> Optional[str]:
    ann = os.path.join(export_dir, "annotations")
    if explicit:
        for cand in (explicit, os.path.join(export_dir, explicit), os.path.join(ann, explicit)):
            if os.path.isfile(cand):
                return cand
        raise PBCDataError(f"annotation file not found: {explicit}")
    p = os.path.join(ann, name)
    return p if os.path.isfile(p) else None


def load_detector_data(export_dir: str, image_size: int = 256, pseudo: str = "accepted",
                       train_box: Optional[str] = None, train_pseudo: Optional[str] = None, val: Optional[str] = None,
                       image_root: Optional[str] = None, max_images: Optional[int] = None, log=None) -> DetectorData:
    """Reads a `pointbox export coco --layout pbc` folder into letterboxed records (see the module docstring)."""
    if pseudo not in PSEUDO_CHOICES:
        raise PBCDataError(f"--pseudo must be one of {', '.join(PSEUDO_CHOICES)}")
    if not os.path.isdir(export_dir):
        raise PBCDataError(f"export dir not found: {export_dir} (make one with `pointbox export coco <dataset> "
                           f"--out <dir> --layout pbc`)")
    files = {"train_box": _find(export_dir, train_box, "instances_train_box.json"),
             "train_point": _find(export_dir, None, "instances_train_point.json"),
             "train_pseudo": _find(export_dir, train_pseudo, "instances_train_pseudo.json") if pseudo != "none" else None,
             "val": _find(export_dir, val, "instances_val.json")}
    if not files["train_box"]:
        raise PBCDataError(f"no instances_train_box.json in {export_dir}/annotations: is this a `pointbox export coco "
                           f"--layout pbc` folder? (--train-box names another file)")
    docs = {k: _load_json(v) for k, v in files.items() if v}
    cats: Dict[int, str] = {}
    for d in docs.values():
        for c in d.get("categories", []):
            cats.setdefault(int(c["id"]), str(c.get("name", c["id"])))
        for a in d["annotations"]:
            cats.setdefault(int(a["category_id"]), str(a["category_id"]))
    if not cats:
        raise PBCDataError(f"no categories and no annotations in {export_dir}")
    cat_ids = sorted(cats)
    cat_index = {c: i for i, c in enumerate(cat_ids)}
    cache: Dict[str, Tuple[np.ndarray, float]] = {}
    counts = {"box_images": 0, "box_negatives": 0, "pseudo_images": 0, "pseudo_boxes": 0,
              "pseudo_images_incomplete": 0, "pseudo_pending": 0, "pseudo_rejected_skipped": 0}

    def image_of(key: str, img: dict) -> Tuple[np.ndarray, float]:
        d = docs[key]
        path = _image_path(export_dir, files[key], img["file_name"], image_root,
                           (d.get("pointbox_export") or {}).get("image_root"))
        if path not in cache:
            cache[path] = letterbox(read_grey01(path), image_size)
        return cache[path]

    def boxes_of(anns: Sequence[dict], k: float) -> Tuple[np.ndarray, np.ndarray]:
        bx, lb = [], []
        for a in anns:
            bb = a.get("bbox")
            if not bb or len(bb) != 4 or bb[2] <= 0 or bb[3] <= 0:
                continue
            bx.append([bb[0] * k, bb[1] * k, (bb[0] + bb[2]) * k, (bb[1] + bb[3]) * k])
            lb.append(cat_index[int(a["category_id"])])
        b = np.clip(np.asarray(bx, np.float32).reshape(-1, 4), 0, 1)
        return b, np.asarray(lb, np.int64)

    def by_image(d: dict) -> Dict[int, List[dict]]:
        out: Dict[int, List[dict]] = {}
        for a in d["annotations"]:
            out.setdefault(int(a["image_id"]), []).append(a)
        return out

    train: List[DetRecord] = []
    d = docs["train_box"]
    anns = by_image(d)
    for img in d["images"][: max_images] if max_images else d["images"]:
        if str(img.get("label_level", "boxes")).lower() not in ("boxes", "box"):
            continue
        a = anns.get(int(img["id"]), [])
        if any(not x.get("bbox") for x in a):
            continue  # a lesion without its box would be taught as background
        canvas, s = image_of("train_box", img)
        b, lb = boxes_of(a, s / image_size)
        src = "boxes" if len(lb) else "negative"
        counts["box_images" if len(lb) else "box_negatives"] += 1
        train.append(DetRecord(int(img["id"]), img["file_name"], canvas.astype(np.float16), b, lb, src))
    if "train_pseudo" in docs:
        d = docs["train_pseudo"]
        use = {"accepted": ("accepted", "edited"), "all": ("accepted", "edited", "pending")}[pseudo]
        pseudo_by = {}
        for a in d["annotations"]:
            review = str(a.get("review", "accepted"))
            if review == "pending":
                counts["pseudo_pending"] += 1
            if review not in use:
                if review == "rejected":
                    counts["pseudo_rejected_skipped"] += 1
                continue
            pseudo_by.setdefault(int(a["image_id"]), []).append(a)
        # which points each point-level image has: an image is used only if every point got a box
        points_of: Dict[int, int] = {}
        if "train_point" in docs:
            for a in docs["train_point"]["annotations"]:
                points_of[int(a["image_id"])] = points_of.get(int(a["image_id"]), 0) + 1
        imgs = d["images"][: max_images] if max_images else d["images"]
        for img in imgs:
            a = pseudo_by.get(int(img["id"]), [])
            if not a:
                continue
            boxed_points = {x.get("annotation_id", x.get("id")) for x in a}
            if len(boxed_points) < points_of.get(int(img["id"]), 0):
                counts["pseudo_images_incomplete"] += 1
                continue
            canvas, s = image_of("train_pseudo", img)
            b, lb = boxes_of(a, s / image_size)
            if not len(lb):
                continue
            counts["pseudo_images"] += 1
            counts["pseudo_boxes"] += len(lb)
            train.append(DetRecord(int(img["id"]), img["file_name"], canvas.astype(np.float16), b, lb, "pseudo"))
    if not any(len(r.labels) for r in train):
        raise PBCDataError(f"the export in {export_dir} has no training boxes (box-level images with boxes, or "
                           f"usable pseudo-boxes with --pseudo {pseudo}): the detector has nothing to learn from")
    val_recs: List[DetRecord] = []
    if "val" in docs:
        d = docs["val"]
        anns = by_image(d)
        for img in d["images"][: max_images] if max_images else d["images"]:
            a = anns.get(int(img["id"]), [])
            if any(not x.get("bbox") for x in a):
                continue
            canvas, s = image_of("val", img)
            b, lb = boxes_of(a, s / image_size)
            val_recs.append(DetRecord(int(img["id"]), img["file_name"], canvas.astype(np.float16), b, lb, "val"))
    data = DetectorData([cats[c] for c in cat_ids], cat_ids, train, val_recs,
                        {k: os.path.abspath(v) for k, v in files.items() if v}, counts)
    if log:
        log(f"loaded {export_dir}: {json.dumps(data.summary())}")
    return data


def _gamma(img: np.ndarray, rng) -> np.ndarray:
    return np.power(np.clip(img, 0, 1), rng.uniform(0.7, 1.4)).astype(np.float32)


def make_batch(recs: Sequence[DetRecord], rng, augment: bool, S: int):
    """Normalized images [B,1,S,S] and torchvision targets (boxes in input pixels, labels)."""
    ims, targets = [], []
    for r in recs:
        img = r.image.astype(np.float32)
        b = r.boxes.copy()
        if augment:
            img = _gamma(img, rng)
            if rng.random() < 0.5:  # a chest film flipped left-right is still a chest film (situs aside)
                img = img[:, ::-1].copy()
                b[:, 0], b[:, 2] = 1.0 - r.boxes[:, 2], 1.0 - r.boxes[:, 0]
        ims.append(normalize(img))
        px = torch.from_numpy(b * S).float()
        # torchvision refuses degenerate boxes; a sub-pixel box gets one pixel
        px[:, 2] = torch.maximum(px[:, 2], px[:, 0] + 1.0)
        px[:, 3] = torch.maximum(px[:, 3], px[:, 1] + 1.0)
        targets.append({"boxes": px, "labels": torch.from_numpy(r.labels.copy())})
    return torch.from_numpy(np.stack(ims)[:, None].astype(np.float32)), targets


def detector_losses(model, images: torch.Tensor, targets: List[Dict[str, torch.Tensor]], S: int) -> Dict[str, torch.Tensor]:
    """FCOS's losses on an already letterboxed batch (no torchvision transform: the input is the model input)."""
    from torchvision.models.detection.image_list import ImageList

    core = model.module if hasattr(model, "module") else model
    feats = list(core.backbone(images).values())
    head = core.head(feats)
    anchors = core.anchor_generator(ImageList(images, [(S, S)] * images.shape[0]), feats)
    n_per_level = [f.shape[2] * f.shape[3] for f in feats]
    return core.compute_loss(targets, head, anchors, n_per_level)


# ------------------------------------------------------------------------------------------------ evaluation

_RECALL = np.linspace(0, 1, 101)
IOU_THRESHOLDS = [0.5 + 0.05 * i for i in range(10)]


def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(aa[:, None] + ab[None, :] - inter, 1e-12)


def average_precision(gts: Dict[int, np.ndarray], dets: List[Tuple[int, float, np.ndarray]], thr: float) -> float:
    """COCO AP of one class at one IoU threshold (the algorithm of src/core/eval/boxEvaluation.ts
    averagePrecision): detections by score (stable), each greedily matched to the unmatched ground truth of its
    image with the highest IoU >= thr; precision made monotone, sampled at 101 recall points. NaN without GT."""
    n_gt = sum(len(v) for v in gts.values())
    if n_gt == 0:
        return float("nan")
    used = {k: np.zeros(len(v), bool) for k, v in gts.items()}
    order = sorted(range(len(dets)), key=lambda i: (-dets[i][1], i))
    tp = np.zeros(len(order))
    for k, di in enumerate(order):
        img, _, box = dets[di]
        g = gts.get(img)
        if g is None or not len(g):
            continue
        ious = _iou_matrix(box[None], g)[0]
        best, best_iou = -1, min(thr, 1 - 1e-10)
        for gi in range(len(g)):
            if not used[img][gi] and ious[gi] >= best_iou:
                best, best_iou = gi, ious[gi]
        if best >= 0:
            used[img][best] = True
            tp[k] = 1
    ctp = np.cumsum(tp)
    prec = ctp / np.arange(1, len(order) + 1) if len(order) else np.zeros(0)
    rec = ctp / n_gt
    for i in range(len(prec) - 2, -1, -1):
        prec[i] = max(prec[i], prec[i + 1])
    s, k = 0.0, 0
    for r in _RECALL:
        while k < len(rec) and rec[k] < r:
            k += 1
        s += prec[k] if k < len(prec) else 0.0
    return s / len(_RECALL)


def evaluate_detections(gt: Sequence[DetRecord], preds: Sequence[Dict[str, np.ndarray]], num_classes: int,
                        classes: Optional[Sequence[str]] = None) -> dict:
    """COCO mAP@[.5:.95], AP50, AP75 per class and their mean over the classes that have ground truth."""
    per = {}
    for c in range(num_classes):
        g = {r.image_id: r.boxes[r.labels == c] for r in gt}
        if sum(len(v) for v in g.values()) == 0:
            continue
        d = [(r.image_id, float(p["scores"][j]), p["boxes"][j]) for r, p in zip(gt, preds)
             for j in range(len(p["labels"])) if int(p["labels"][j]) == c]
        aps = [average_precision(g, d, t) for t in IOU_THRESHOLDS]
        name = classes[c] if classes else str(c)
        per[name] = {"ap50": aps[0], "ap75": aps[5], "map": float(np.mean(aps)),
                     "gt": int(sum(len(v) for v in g.values())), "detections": len(d)}
    mean = (lambda k: float(np.mean([v[k] for v in per.values()])) if per else None)
    return {"ap50": mean("ap50"), "ap75": mean("ap75"), "map": mean("map"), "per_class": per,
            "images": len(gt), "gt_boxes": int(sum(len(r.labels) for r in gt))}


@torch.no_grad()
def predict(dense: DenseDetector, recs: Sequence[DetRecord], cfg: DetectorConfig, device="cpu", batch: int = 16):
    dense.eval()
    out = []
    for i in range(0, len(recs), batch):
        x = torch.from_numpy(np.stack([normalize(r.image.astype(np.float32)) for r in recs[i:i + batch]])[:, None])
        boxes, scores = dense(x.to(device))
        for b, s in zip(boxes.cpu().numpy(), scores.cpu().numpy()):
            out.append(postprocess(b, s, cfg))
    return out


# ------------------------------------------------------------------------------------------------ training

@dataclass
class DetectorSpec:
    data: str
    out: str
    pseudo: str = "accepted"
    epochs: int = 12
    batch: int = 8
    image_size: int = 256
    steps_per_epoch: Optional[int] = None
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    grad_clip: float = 10.0
    seed: int = 0
    device: str = "auto"
    threads: Optional[int] = None
    eval_every: int = 1
    log_every: int = 10
    init: Optional[str] = None  # a detector checkpoint / model.onnx to fine-tune (same classes)
    init_backbone: Optional[str] = None  # a teacher checkpoint / model.onnx: its CNN backbone starts ours
    train_box: Optional[str] = None
    train_pseudo: Optional[str] = None
    val: Optional[str] = None
    image_root: Optional[str] = None
    max_images: Optional[int] = None
    export: bool = True
    fpn_channels: int = 64
    head_convs: int = 2
    score_threshold: float = 0.05
    mode: str = "detector"

    def to_dict(self):
        return dict(self.__dict__)


def _checkpoint_of(path: str, what: str) -> dict:
    from .train import resolve_init

    ck_path = resolve_init(path)
    try:
        ck = torch.load(ck_path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a non-checkpoint
        raise PBCDataError(f"{what} {ck_path}: not a PyTorch checkpoint: {e}") from e
    if not isinstance(ck, dict) or "model" not in ck or "config" not in ck:
        raise PBCDataError(f"{what} {ck_path}: not a pbc_trainer checkpoint (needs model and config)")
    ck["_path"] = ck_path
    return ck


def copy_backbone(model, ck: dict, log=print) -> int:
    """Copies the teacher's CNN (backbone.body.*) into the detector's identical `body`; returns tensors copied."""
    own = model.state_dict()
    keys = [k for k in own if k.startswith("backbone.body.")]
    src = ck["model"]
    misfit = [k for k in keys if k not in src or tuple(src[k].shape) != tuple(own[k].shape)]
    if misfit:
        raise PBCDataError(f"--init-backbone {ck['_path']}: no backbone tensor fits as a whole (e.g. {misfit[0]}: the "
                           f"teacher's widths {ck['config'].get('widths')} differ from the detector's); train from "
                           f"scratch instead")
    for k in keys:
        own[k] = src[k]
    n, want = len(keys), len(keys)
    model.load_state_dict(own)
    log(f"init-backbone: copied {n} of {want} backbone tensors from {ck['_path']}")
    return n


def _lr_at(step: int, total: int, spec: DetectorSpec) -> float:
    warm = min(spec.warmup_steps, max(1, total // 10))
    if step < warm:
        return spec.lr * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    return spec.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def train_detector(spec: DetectorSpec, data: Optional[DetectorData] = None, log=print) -> dict:
    from .train import MetricsWriter, _atomic_json, _dist_info, _in_main_thread, versions

    ws, rank, local_rank, local_ws = _dist_info()
    distributed = ws > 1
    want_cuda = spec.device == "cuda" or (spec.device == "auto" and torch.cuda.is_available())
    if spec.device == "cuda" and not torch.cuda.is_available():
        raise PBCDataError(f"--device cuda, but this torch ({torch.__version__}) sees no CUDA device")
    if want_cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
        torch.set_num_threads(spec.threads or max(1, (os.cpu_count() or 1) // max(1, local_ws)))
    if distributed and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if want_cuda else "gloo")
    is_main = rank == 0
    say = log if is_main else (lambda *_: None)
    os.makedirs(os.path.join(spec.out, "checkpoints"), exist_ok=True)
    run_json = os.path.join(spec.out, "run.json")
    run = {"kind": "detector", "spec": spec.to_dict(), "status": "running", "versions": versions(),
           "world_size": ws, "device": str(device), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "argv": sys.argv, "pid": os.getpid()}
    if is_main:
        _atomic_json(run_json, run)
    metrics = MetricsWriter(os.path.join(spec.out, "metrics.jsonl") if is_main else None)

    def on_term(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt(f"signal {signum}")

    prev = signal.signal(signal.SIGTERM, on_term) if is_main and _in_main_thread() else None
    try:
        torch.manual_seed(spec.seed)
        S = spec.image_size
        if data is None:
            data = load_detector_data(spec.data, S, spec.pseudo, spec.train_box, spec.train_pseudo, spec.val,
                                      spec.image_root, spec.max_images, log=say)
        cfg = DetectorConfig(num_classes=len(data.classes), image_size=S, fpn_channels=spec.fpn_channels,
                             head_convs=spec.head_convs, score_threshold=spec.score_threshold)
        init = _checkpoint_of(spec.init, "--init") if spec.init else None
        if init is not None:
            if init.get("kind") != "detector":
                raise PBCDataError(f"--init {init['_path']}: not a detector checkpoint (a teacher's backbone goes "
                                   f"with --init-backbone)")
            if list(init["classes"]) != list(data.classes):
                raise PBCDataError(f"--init {init['_path']}: the detector's classes {init['classes']} differ from the "
                                   f"dataset's {data.classes}")
            cfg = DetectorConfig.from_dict({**init["config"], "score_threshold": spec.score_threshold})
            if cfg.image_size != S:
                raise PBCDataError(f"--init {init['_path']}: the detector's input size is {cfg.image_size}; pass "
                                   f"--image-size {cfg.image_size}")
        model = build_detector(cfg).to(device)
        if init is not None:
            model.load_state_dict(init["model"])
            say(f"init from {init['_path']} (epoch {init.get('epoch')})")
        elif spec.init_backbone:
            copy_backbone(model, _checkpoint_of(spec.init_backbone, "--init-backbone"), say)
        n_params = count_params(model)
        dense = DenseDetector(model, cfg).to(device)
        if distributed and want_cuda:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        # DDP hooks its gradient sync into the wrapped module's forward: the loss is computed inside it
        ddp = torch.nn.parallel.DistributedDataParallel(_LossModule(model, S), device_ids=[local_rank] if want_cuda else None) \
            if distributed else None
        opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
        B = spec.batch
        steps_per_epoch = spec.steps_per_epoch or max(1, math.ceil(len(data.train) / (B * ws)))
        total_steps = steps_per_epoch * spec.epochs
        run.update({"data": data.summary(), "model": {"arch": "FCOS", "config": cfg.to_dict(), "params": n_params},
                    "steps_per_epoch": steps_per_epoch, "total_steps": total_steps,
                    "init": os.path.abspath(spec.init) if spec.init else None,
                    "init_backbone": os.path.abspath(spec.init_backbone) if spec.init_backbone else None})
        if is_main:
            _atomic_json(run_json, run)
        say(f"detector: FCOS params={n_params} train images={len(data.train)} steps/epoch={steps_per_epoch} "
            f"world={ws} device={device}")
        rng = np.random.default_rng([spec.seed, rank])
        perm_rng = np.random.default_rng(spec.seed)
        step, best, t_train, n_seen = 0, -1.0, 0.0, 0
        last_eval: Dict = {}
        for epoch in range(spec.epochs):
            model.train()
            order = perm_rng.permutation(len(data.train))
            t_ep, seen_ep, acc = time.time(), 0, {}
            for it in range(steps_per_epoch):
                g = (epoch * steps_per_epoch + it) * ws + rank
                recs = [data.train[order[(g * B + j) % len(order)]] for j in range(min(B, len(order)))]
                images, targets = make_batch(recs, rng, True, S)
                images = images.to(device)
                targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
                lr = _lr_at(step, total_steps, spec)
                for gr in opt.param_groups:
                    gr["lr"] = lr
                t0 = time.time()
                losses = ddp(images, targets) if ddp is not None else detector_losses(model, images, targets, S)
                total = losses["classification"] + losses["bbox_regression"] + losses["bbox_ctrness"]
                opt.zero_grad(set_to_none=True)
                total.backward()
                if spec.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
                opt.step()
                dt = time.time() - t0
                t_train += dt
                n_seen += len(recs) * ws
                seen_ep += len(recs) * ws
                vals = {"cls": float(losses["classification"]), "box": float(losses["bbox_regression"]),
                        "ctr": float(losses["bbox_ctrness"]), "total": float(total)}
                if not all(math.isfinite(v) for v in vals.values()):
                    raise FloatingPointError(f"non-finite loss at step {step}: {vals}")
                for k, v in vals.items():
                    acc[k] = acc.get(k, 0.0) + v
                step += 1
                if is_main and (step % spec.log_every == 0 or it == steps_per_epoch - 1):
                    metrics.write({"type": "train", "epoch": epoch, "step": step, "lr": lr, **vals,
                                   "images_per_s": round(len(recs) * ws / max(dt, 1e-9), 2), "time": round(time.time(), 3)})
            ep_time = time.time() - t_ep
            ep = {"type": "epoch", "epoch": epoch, "step": step, "time_s": round(ep_time, 2),
                  "images_per_s": round(seen_ep / max(ep_time, 1e-9), 2), **{k: v / steps_per_epoch for k, v in acc.items()}}
            if is_main and data.val and ((epoch + 1) % spec.eval_every == 0 or epoch == spec.epochs - 1):
                t_ev = time.time()
                ev = evaluate_detections(data.val, predict(dense, data.val, cfg, device), cfg.num_classes, data.classes)
                last_eval = ev
                row = {"type": "eval", "epoch": epoch, "step": step, "ap50": ev["ap50"], "map": ev["map"],
                       "ap75": ev["ap75"], "ap50_per_class": {k: v["ap50"] for k, v in ev["per_class"].items()},
                       "map_per_class": {k: v["map"] for k, v in ev["per_class"].items()},
                       "eval_s": round(time.time() - t_ev, 2)}
                metrics.write(row)
                ep.update({"ap50": ev["ap50"], "map": ev["map"]})
            if is_main:
                metrics.write(ep)
                say(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in ep.items()}))
                payload = {"kind": "detector", "model": model.state_dict(), "config": cfg.to_dict(),
                           "classes": data.classes, "category_ids": data.category_ids, "epoch": epoch, "step": step,
                           "spec": spec.to_dict(), "ap50": ep.get("ap50"), "map": ep.get("map"),
                           "versions": run["versions"], "data": data.summary()}
                torch.save(payload, os.path.join(spec.out, "checkpoints", "last.pt"))
                if ep.get("map") is not None and ep["map"] > best:
                    best = ep["map"]
                    torch.save(payload, os.path.join(spec.out, "checkpoints", "best.pt"))
        if distributed:
            torch.distributed.barrier()
        run.update({"status": "completed", "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "final": {"ap50": last_eval.get("ap50"), "map": last_eval.get("map"), "ap75": last_eval.get("ap75"),
                              "per_class": last_eval.get("per_class"), "best_map": best if best >= 0 else None,
                              "steps": step, "train_compute_s": round(t_train, 2),
                              "images_per_s": round(n_seen / max(t_train, 1e-9), 2)}})
        if is_main and spec.export:
            from .detector_export import export_detector_onnx

            run["export"] = export_detector_onnx(os.path.join(spec.out, "checkpoints", "last.pt"),
                                                 os.path.join(spec.out, "model.onnx"),
                                                 reference_dir=os.path.join(spec.out, "reference"))
        if is_main:
            _atomic_json(run_json, run)
        return run
    except BaseException as e:
        run.update({"status": "cancelled" if isinstance(e, KeyboardInterrupt) else "failed",
                    "error": f"{type(e).__name__}: {e}", "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        if is_main:
            _atomic_json(run_json, run)
        raise
    finally:
        metrics.close()
        if prev is not None:
            signal.signal(signal.SIGTERM, prev)
        if distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


class _LossModule(nn.Module):
    """DDP needs the loss computed inside the wrapped module's forward (its gradient hooks are set up there)."""

    def __init__(self, model, S: int):
        super().__init__()
        self.model = model
        self.S = S

    def forward(self, images, targets):
        return detector_losses(self.model, images, targets, self.S)


# ------------------------------------------------------------------------------------------------ CLI

def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="export dir from `pointbox export coco <dataset> --out <dir> --layout pbc`")
    p.add_argument("--out", required=True, help="run directory (run.json, metrics.jsonl, checkpoints/, model.onnx)")
    p.add_argument("--pseudo", default="accepted", choices=PSEUDO_CHOICES,
                   help="pseudo-boxes to train on: accepted (+ edited; default), all (also pending; never rejected), "
                        "none (ground-truth boxes only)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch", type=int, default=8, help="images per step and per process")
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the training images")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--eval-every", type=int, default=1)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--init", default=None, help="fine-tune a detector: its checkpoint .pt or model .onnx (same classes)")
    p.add_argument("--init-backbone", default=None, help="start the CNN from a teacher's checkpoint .pt or model .onnx "
                                                         "(its backbone.body layers)")
    p.add_argument("--train-box", default=None, help="COCO JSON of box-level train images (default instances_train_box.json)")
    p.add_argument("--train-pseudo", default=None, help="COCO JSON of pseudo-boxes (default instances_train_pseudo.json)")
    p.add_argument("--val", default=None, help="COCO JSON of the validation split (default instances_val.json)")
    p.add_argument("--image-root", default=None)
    p.add_argument("--max-images", type=int, default=None)
    p.add_argument("--no-export", dest="export", action="store_false")
    p.add_argument("--fpn-channels", type=int, default=64)
    p.add_argument("--head-convs", type=int, default=2)
    p.add_argument("--score-threshold", type=float, default=0.05, help="post-processing score threshold (also in the ONNX metadata)")


def main(argv=None) -> int:
    """`pbc_trainer detector ...` (train) and `pbc_trainer detector export --checkpoint .. --out ..`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["export"]:
        ap = argparse.ArgumentParser(prog="pbc_trainer detector export", description="export a detector checkpoint to ONNX")
        ap.add_argument("--checkpoint", required=True)
        ap.add_argument("--out", required=True)
        ap.add_argument("--reference-dir", default=None)
        a = ap.parse_args(argv[1:])
        from .detector_export import export_detector_onnx

        try:
            print(json.dumps(export_detector_onnx(a.checkpoint, a.out, a.reference_dir)))
        except PBCDataError as e:
            print(f"pbc_trainer: error: {e}", file=sys.stderr)
            return 2
        return 0
    ap = argparse.ArgumentParser(prog="pbc_trainer detector", description=__doc__.split("\n\n")[0])
    add_args(ap)
    a = ap.parse_args(argv)
    spec = DetectorSpec(**vars(a))
    try:
        run = train_detector(spec)
    except PBCDataError as e:
        print(f"pbc_trainer: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"status": run["status"], "out": os.path.abspath(spec.out), "final": {
        k: v for k, v in (run.get("final") or {}).items() if k != "per_class"}}))
    return 0
