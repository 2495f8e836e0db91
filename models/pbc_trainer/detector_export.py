"""ONNX export of the student detector (detector.py) with the PointBox *detector* contract (models/README.md,
"Detector contract"): input `image` [B,1,S,S] (the teacher's preprocessing), outputs the dense `boxes`
[B,A,4] (x1,y1,x2,y2 in [0,1] of the input) and `scores` [B,A,C]; the post-processing parameters (score
threshold, top-k per level, NMS IoU, detections per image, locations per level) in the metadata
`pointbox.detector`. `pointbox.kind` = "detector" is how PointBox tells it from a point->box model.

Reference I/O (`reference/`): the input, the dense outputs and the post-processed detections PyTorch computed,
for the TypeScript parity test of both the graph and the post-processing.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from typing import Dict, Optional

import numpy as np
import torch

from . import __version__
from .data import NORMALIZATION, PBCDataError
from .detector import (DETECTOR_CONTRACT_VERSION, DenseDetector, DetectorConfig, build_detector, count_params,
                       level_sizes, postprocess)
from .export import metadata_bytes

OPSET = 17


def load_detector(path: str):
    ck = torch.load(path, map_location="cpu")
    if not isinstance(ck, dict) or ck.get("kind") != "detector":
        raise PBCDataError(f"{path}: not a detector checkpoint (pbc_trainer detector writes them)")
    cfg = DetectorConfig.from_dict(ck["config"])
    m = build_detector(cfg)
    m.load_state_dict(ck["model"])
    m.eval()
    return m, cfg, ck


def reference_image(cfg: DetectorConfig, seed: int = 0) -> np.ndarray:
    """[2,1,S,S]: two smooth blobs on noise, normalized like a real input (letterbox padding included)."""
    rng = np.random.default_rng(seed)
    S = cfg.image_size
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32) / S
    a = np.exp(-((xx - 0.35) ** 2 + (yy - 0.45) ** 2) / 0.01) + 0.6 * np.exp(-((xx - 0.7) ** 2 + (yy - 0.6) ** 2) / 0.004)
    b = np.exp(-((xx - 0.5) ** 2 + (yy - 0.3) ** 2) / 0.02)
    img = np.stack([a, b]) + 0.1 * rng.random((2, S, S))
    img = np.clip(img, 0, 1).astype(np.float32)
    img[1, int(S * 0.8):, :] = 0.0  # letterbox padding at the bottom of image 1
    return ((img - NORMALIZATION["mean"]) / NORMALIZATION["std"])[:, None].astype(np.float32)


def write_reference(dense: DenseDetector, cfg: DetectorConfig, ref_dir: str, low_threshold: bool = True) -> Dict:
    os.makedirs(ref_dir, exist_ok=True)
    image = reference_image(cfg)
    with torch.no_grad():
        boxes, scores = dense(torch.from_numpy(image))
    boxes, scores = boxes.numpy(), scores.numpy()
    meta = {"inputs": {}, "outputs": {}, "note": "raw little-endian arrays; outputs max abs diff < 1e-4; "
            "detections.json: postprocess() of the PyTorch outputs with `postprocess` parameters"}
    for k, a in {"image": image, "boxes": boxes, "scores": scores}.items():
        fn = f"{k}.bin"
        np.ascontiguousarray(a).astype("<f4").tofile(os.path.join(ref_dir, fn))
        (meta["inputs"] if k == "image" else meta["outputs"])[k] = {"file": fn, "dtype": "float32", "shape": list(a.shape)}
    # An untrained or weak model scores below the shipped threshold everywhere; a lower one makes the
    # post-processing parity test see many candidates, suppressions and the top-k cut.
    pcfg = DetectorConfig.from_dict({**cfg.to_dict(), **({"score_threshold": min(cfg.score_threshold, float(
        np.quantile(scores, 0.995)))} if low_threshold else {})})
    dets = [postprocess(boxes[i], scores[i], pcfg) for i in range(len(image))]
    meta["postprocess"] = {"score_threshold": pcfg.score_threshold, "nms_iou": pcfg.nms_iou,
                           "topk_candidates": pcfg.topk_candidates, "detections_per_image": pcfg.detections_per_image,
                           "levels": level_sizes(pcfg)}
    meta["detections"] = [{"boxes": d["boxes"].tolist(), "scores": d["scores"].tolist(), "labels": d["labels"].tolist()}
                          for d in dets]
    with open(os.path.join(ref_dir, "reference.json"), "w") as f:
        json.dump(meta, f)
    return meta


def export_detector_onnx(checkpoint: str, out: str, reference_dir: Optional[str] = None, opset: int = OPSET) -> Dict:
    model, cfg, ck = load_detector(checkpoint)
    dense = DenseDetector(model, cfg).eval()
    x = torch.from_numpy(reference_image(cfg))
    tmp = out + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(dense, (x,), tmp, opset_version=opset, do_constant_folding=True, input_names=["image"],
                          output_names=["boxes", "scores"],
                          dynamic_axes={"image": {0: "B"}, "boxes": {0: "B"}, "scores": {0: "B"}})
    spec = ck.get("spec", {})
    data = ck.get("data", {})
    provenance = {"checkpoint": os.path.basename(checkpoint), "epoch": ck.get("epoch"), "step": ck.get("step"),
                  "mode": "detector", "pseudo": spec.get("pseudo"), "seed": spec.get("seed"), "epochs": spec.get("epochs"),
                  "init_backbone": spec.get("init_backbone"), "data": data.get("files"),
                  "train_images": data.get("train_images"), "pseudo_boxes": data.get("pseudo_boxes"),
                  "val_ap50": ck.get("ap50"), "val_map": ck.get("map"), "versions": ck.get("versions"),
                  "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    levels = level_sizes(cfg)
    props = {
        "pointbox.kind": "detector",
        "pointbox.detector_contract_version": DETECTOR_CONTRACT_VERSION,
        "pointbox.classes": json.dumps(ck["classes"]),
        "pointbox.category_ids": json.dumps(ck.get("category_ids", list(range(len(ck["classes"]))))),
        "pointbox.input_size": str(cfg.image_size),
        "pointbox.normalization": json.dumps(NORMALIZATION),
        "pointbox.detector": json.dumps({
            "score": "sqrt(sigmoid(class logit) * sigmoid(centerness)) (FCOS)",
            "score_threshold": cfg.score_threshold, "nms_iou": cfg.nms_iou, "topk_candidates": cfg.topk_candidates,
            "detections_per_image": cfg.detections_per_image,
            "levels": [{"stride": s, "locations": n} for s, n in zip(cfg.strides, levels)],
            "nms": "per class, greedy by score, suppress IoU > nms_iou; then the best detections_per_image"}),
        "pointbox.outputs": json.dumps({"boxes": "[B,A,4] x1,y1,x2,y2 in [0,1] of the model input, every location of "
                                                 "every FPN level in order", "scores": "[B,A,C] per class, in [0,1]"}),
        "pointbox.model": json.dumps({"arch": "FCOS (torchvision) + compact CNN/FPN", "config": cfg.to_dict(),
                                      "params": count_params(model), "trainer": f"pbc_trainer {__version__}"}),
        "pointbox.training": json.dumps(provenance),
    }
    with open(tmp, "ab") as f:
        f.write(metadata_bytes(props))
    os.replace(tmp, out)
    info = {"onnx": os.path.abspath(out), "bytes": os.path.getsize(out), "opset": opset, "params": count_params(model),
            "anchors": int(sum(levels)), "metadata": sorted(props)}
    if reference_dir:
        write_reference(dense, cfg, reference_dir)
        info["reference"] = os.path.abspath(reference_dir)
    return info
