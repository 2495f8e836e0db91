"""A tiny synthetic PBC export (bright ellipses on a noisy grey background, 8-bit or 16-bit PNG) so the tests
never depend on the phantom generator. Layout = `pointbox export coco --layout pbc`: images/ +
annotations/instances_train_box.json, instances_train_point.json, instances_val.json."""
from __future__ import annotations

import json
import os
from typing import List, Optional

import numpy as np


def make_synthetic_export(out: str, n_train: int = 24, n_val: int = 8, size: int = 96, box_ratio: float = 0.5,
                          classes: Optional[List[str]] = None, seed: int = 0, bits: int = 8,
                          with_boxes: bool = True) -> str:
    from PIL import Image

    classes = classes or ["nodule", "opacity"]
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    os.makedirs(os.path.join(out, "annotations"), exist_ok=True)
    cats = [{"id": i + 1, "name": c} for i, c in enumerate(classes)]
    docs = {k: {"images": [], "annotations": [], "categories": cats} for k in ("train_box", "train_point", "val")}
    n_box = max(1, int(round(n_train * box_ratio)))
    ann_id = 1
    for i in range(n_train + n_val):
        split = "val" if i >= n_train else ("train_box" if i < n_box else "train_point")
        w = size + int(rng.integers(-size // 8, size // 8 + 1))  # non-square images exercise the letterbox
        h = size
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = 0.25 + 0.08 * rng.standard_normal((h, w)).astype(np.float32)
        anns = []
        for _ in range(int(rng.integers(1, 4))):
            c = int(rng.integers(0, len(classes)))
            # class 0: small round; class 1: larger elongated
            rx = float(rng.uniform(0.05, 0.09) if c == 0 else rng.uniform(0.10, 0.18)) * w
            ry = float(rng.uniform(0.05, 0.09) if c == 0 else rng.uniform(0.06, 0.12)) * h
            cx, cy = float(rng.uniform(rx + 1, w - rx - 1)), float(rng.uniform(ry + 1, h - ry - 1))
            e = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
            img[e] += 0.5
            bbox = [cx - rx, cy - ry, 2 * rx, 2 * ry]
            u = rng.uniform(0.2, 0.8, 2)
            pt = [bbox[0] + u[0] * bbox[2], bbox[1] + u[1] * bbox[3]]
            a = {"id": ann_id, "image_id": i + 1, "category_id": c + 1, "point": pt, "area": bbox[2] * bbox[3],
                 "iscrowd": 0}
            if with_boxes and split != "train_point":
                a["bbox"] = bbox
            elif split == "train_point":
                a["bbox"] = bbox  # kept for evaluation only; the trainer ignores boxes of point-level images
            anns.append(a)
            ann_id += 1
        img = np.clip(img, 0, 1)
        fn = f"images/img_{i:04d}.png"
        if bits == 16:
            Image.fromarray((img * 4095).astype(np.uint16)).save(os.path.join(out, fn))
        else:
            Image.fromarray((img * 255).astype(np.uint8)).save(os.path.join(out, fn))
        level = "points" if split == "train_point" else "boxes"
        docs[split]["images"].append({"id": i + 1, "file_name": fn, "width": w, "height": h, "label_level": level})
        docs[split]["annotations"].extend(anns)
    for k, d in docs.items():
        with open(os.path.join(out, "annotations", f"instances_{k}.json"), "w") as f:
            json.dump(d, f)
    return out
