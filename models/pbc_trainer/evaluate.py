"""AP50 for point->box (per class, COCO-style 101-point interpolation, over all predicted boxes — one per
point, scored by the predicted IoU — against all GT boxes) and the prior-box baseline."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from .data import ImageRecord, normalize


def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(aa[:, None] + ab[None, :] - inter, 1e-12)


def ap_at(preds: Sequence[dict], gts: Sequence[dict], num_classes: int, iou_thr: float = 0.5) -> Dict:
    """preds/gts: per image {'boxes': [K,4], 'labels': [K], 'scores': [K] (preds only)}, same order.
    Returns {'ap50': mean over classes that have GT, 'per_class': [...]}."""
    per_class: List[Optional[float]] = []
    for c in range(num_classes):
        scores, tps = [], []
        n_gt = 0
        for p, g in zip(preds, gts):
            gb = g["boxes"][g["labels"] == c]
            n_gt += len(gb)
            sel = p["labels"] == c
            pb, ps = p["boxes"][sel], p["scores"][sel]
            if len(pb) == 0:
                continue
            order = np.argsort(-ps, kind="stable")
            pb, ps = pb[order], ps[order]
            ious = _iou_matrix(pb, gb)
            used = np.zeros(len(gb), bool)
            for i in range(len(pb)):
                tp = False
                if len(gb):
                    cand = np.where(~used, ious[i], -1.0)
                    j = int(np.argmax(cand))
                    if cand[j] >= iou_thr:
                        used[j] = True
                        tp = True
                scores.append(ps[i])
                tps.append(tp)
        if n_gt == 0:
            per_class.append(None)
            continue
        if not scores:
            per_class.append(0.0)
            continue
        order = np.argsort(-np.asarray(scores), kind="stable")
        tp = np.asarray(tps, np.float64)[order]
        ctp = np.cumsum(tp)
        cfp = np.cumsum(1 - tp)
        rec = ctp / n_gt
        prec = ctp / np.maximum(ctp + cfp, 1e-12)
        for i in range(len(prec) - 2, -1, -1):  # precision envelope
            prec[i] = max(prec[i], prec[i + 1])
        ap = 0.0
        for r in np.linspace(0, 1, 101):
            k = np.searchsorted(rec, r, side="left")
            ap += prec[k] if k < len(prec) else 0.0
        per_class.append(float(ap / 101))
    valid = [a for a in per_class if a is not None]
    return {"ap50": float(np.mean(valid)) if valid else 0.0, "per_class": per_class}


def ap_micro(preds: Sequence[dict], gts: Sequence[dict], iou_thr: float = 0.5) -> float:
    """Box-weighted AP: every class's detections pooled and ranked by score (a detection still matches only
    a GT of its own class in its own image), recall over all GT boxes. Unlike the class mean, a class with
    one box weighs one box."""
    n_gt = int(sum(len(g["boxes"]) for g in gts))
    if n_gt == 0:
        return 0.0
    scores, tps = [], []
    for p, g in zip(preds, gts):
        order = np.argsort(-p["scores"], kind="stable")
        used = np.zeros(len(g["boxes"]), bool)
        ious = _iou_matrix(p["boxes"][order], g["boxes"])
        for i, k in enumerate(order):
            cand = np.where(~used & (g["labels"] == p["labels"][k]), ious[i], -1.0)
            j = int(np.argmax(cand)) if len(cand) else -1
            tp = j >= 0 and cand[j] >= iou_thr
            if tp:
                used[j] = True
            scores.append(p["scores"][k])
            tps.append(tp)
    order = np.argsort(-np.asarray(scores), kind="stable")
    tp = np.asarray(tps, np.float64)[order]
    ctp = np.cumsum(tp)
    rec = ctp / n_gt
    prec = ctp / np.arange(1, len(tp) + 1)
    for i in range(len(prec) - 2, -1, -1):
        prec[i] = max(prec[i], prec[i + 1])
    ap = 0.0
    for r in np.linspace(0, 1, 101):
        k = np.searchsorted(rec, r, side="left")
        ap += prec[k] if k < len(prec) else 0.0
    return float(ap / 101)


def gts_of(records: Sequence[ImageRecord]) -> List[dict]:
    return [{"boxes": r.boxes, "labels": r.labels} for r in records]


@torch.no_grad()
def predict(model: torch.nn.Module, records: Sequence[ImageRecord], batch: int = 16,
            device: str = "cpu") -> List[dict]:
    m = model.module if hasattr(model, "module") else model
    was_training = m.training
    m.eval()
    out = []
    for i in range(0, len(records), batch):
        chunk = records[i:i + batch]
        n = max(len(r.labels) for r in chunk)
        B = len(chunk)
        S = chunk[0].image.shape[0]
        img = np.zeros((B, 1, S, S), np.float32)
        pts = np.zeros((B, n, 2), np.float32)
        lab = np.zeros((B, n), np.int64)
        msk = np.zeros((B, n), np.float32)
        for b, r in enumerate(chunk):
            k = len(r.labels)
            img[b, 0] = normalize(r.image.astype(np.float32))
            pts[b, :k] = r.points
            lab[b, :k] = r.labels
            msk[b, :k] = 1
        boxes, scores = m(torch.from_numpy(img).to(device), torch.from_numpy(pts).to(device),
                          torch.from_numpy(lab).to(device), torch.from_numpy(msk).to(device))
        boxes, scores = boxes.cpu().numpy(), scores.cpu().numpy()
        for b, r in enumerate(chunk):
            k = len(r.labels)
            out.append({"boxes": boxes[b, :k].astype(np.float64), "scores": scores[b, :k].astype(np.float64),
                        "labels": r.labels})
    if was_training:
        m.train()
    return out


def evaluate_model(model, records, num_classes, device="cpu") -> Dict:
    if not records:
        return {"ap50": None, "per_class": []}
    preds = predict(model, records, device=device)
    res = ap_at(preds, gts_of(records), num_classes)
    res["ap50_micro"] = ap_micro(preds, gts_of(records))
    ious = [np.diag(_iou_matrix(p["boxes"], g["boxes"])) for p, g in zip(preds, gts_of(records))]
    allv = np.concatenate(ious) if ious else np.zeros(0)
    res["mean_iou"] = float(allv.mean()) if len(allv) else None
    sc = np.concatenate([p["scores"] for p in preds])
    res["score_iou_corr"] = float(np.corrcoef(sc, allv)[0, 1]) if len(allv) > 2 and sc.std() > 0 else None
    return res


def prior_sizes(train_records: Sequence[ImageRecord], num_classes: int) -> np.ndarray:
    """Per-class median (w, h) of the train boxes (model-input units); classes without boxes get the global median."""
    allw = [r.boxes for r in train_records if r.boxes is not None]
    if not allw:
        return np.full((num_classes, 2), 0.1, np.float32)
    allb = np.concatenate(allw)
    alll = np.concatenate([r.labels for r in train_records if r.boxes is not None])
    wh = np.stack([allb[:, 2] - allb[:, 0], allb[:, 3] - allb[:, 1]], 1)
    glob = np.median(wh, 0)
    out = np.zeros((num_classes, 2), np.float32)
    for c in range(num_classes):
        sel = wh[alll == c]
        out[c] = np.median(sel, 0) if len(sel) else glob
    return out


def prior_box_predict(records: Sequence[ImageRecord], sizes: np.ndarray) -> List[dict]:
    out = []
    for r in records:
        wh = sizes[r.labels]
        b = np.concatenate([r.points - wh / 2, r.points + wh / 2], 1).clip(0, 1)
        out.append({"boxes": b.astype(np.float64), "scores": np.ones(len(b)), "labels": r.labels})
    return out


def evaluate_prior_box(train_records, records, num_classes) -> Dict:
    sizes = prior_sizes(train_records, num_classes)
    return ap_at(prior_box_predict(records, sizes), gts_of(records), num_classes)
