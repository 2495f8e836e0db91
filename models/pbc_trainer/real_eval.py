"""AP50 of a model on the real NIH ChestX-ray14 / RSNA boxes in ../shared/data/cxr-png (the only real boxes
we have here), with the click = box centre and = a seeded uniform point in the box, vs the prior-box
baseline whose per-class median sizes come from a training export (the phantom benchmark).

  python3 -m pbc_trainer real-eval --model-checkpoint C --cxr ../../shared/data/cxr-png --prior-data <export>

RSNA boxes ("Lung Opacity" = pneumonia evidence, Target=1) are class Pneumonia; NIH boxes keep their
finding label (NIH's eight box classes, as the phantom's). An image with both keeps both.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile

import torch

from .data import load_pbc_export
from .evaluate import evaluate_model, gts_of, ap_at, prior_box_predict, prior_sizes
from .export import load_checkpoint


def build_real_export(cxr_dir: str, out: str, classes) -> dict:
    img_dir = os.path.join(cxr_dir, "images")
    present = set(os.listdir(img_dir))
    cat = {c: i + 1 for i, c in enumerate(classes)}
    boxes = {}  # file -> [(class, x, y, w, h)]
    with open(os.path.join(cxr_dir, "annotations", "nih_BBox_List_2017.csv"), newline="") as f:
        rd = csv.reader(f)
        next(rd)
        for row in rd:
            if len(row) >= 6 and row[0] in present and row[1] in cat:
                boxes.setdefault(row[0], []).append((row[1], *map(float, row[2:6])))
    with open(os.path.join(cxr_dir, "annotations", "rsna_boxes_on_nih.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["Target"] == "1" and row["nih_image"] in present and row["x"]:
                boxes.setdefault(row["nih_image"], []).append(
                    ("Pneumonia", float(row["x"]), float(row["y"]), float(row["width"]), float(row["height"])))
    images, anns = [], []
    from PIL import Image

    for i, (fn, bl) in enumerate(sorted(boxes.items())):
        with Image.open(os.path.join(img_dir, fn)) as im:
            w, h = im.size
        images.append({"id": i + 1, "file_name": os.path.join(img_dir, fn), "width": w, "height": h,
                       "label_level": "boxes"})
        for c, x, y, bw, bh in bl:
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cat[c], "bbox": [x, y, bw, bh],
                         "area": bw * bh, "iscrowd": 0})
    os.makedirs(os.path.join(out, "annotations"), exist_ok=True)
    doc = {"images": images, "annotations": anns, "categories": [{"id": v, "name": k} for k, v in cat.items()]}
    with open(os.path.join(out, "annotations", "instances_val.json"), "w") as f:
        json.dump(doc, f)
    return {"images": len(images), "boxes": len(anns),
            "per_class": {c: sum(1 for a in anns if a["category_id"] == cat[c]) for c in classes}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="pbc_trainer real-eval")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--cxr", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "cxr-png"))
    ap.add_argument("--prior-data", required=True, help="export whose train boxes give the prior-box sizes")
    ap.add_argument("--seeds", default="0,1,2", help="seeds of the random interior points")
    ap.add_argument("--out", default=None, help="write the result JSON here")
    a = ap.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    model, ck = load_checkpoint(a.checkpoint)
    S, classes = model.cfg.image_size, ck["classes"]
    prior_data = load_pbc_export(a.prior_data, S)
    sizes = prior_sizes(prior_data.train_box, len(classes))
    res = {"checkpoint": os.path.abspath(a.checkpoint), "image_size": S}
    with tempfile.TemporaryDirectory() as tmp:
        res["data"] = build_real_export(os.path.abspath(a.cxr), tmp, classes)
        for mode, seeds in (("center", [0]), ("random", [int(s) for s in a.seeds.split(",")])):
            for seed in seeds:
                data = load_pbc_export(tmp, S, val_points=mode, seed=seed, need_boxes=False)
                m = evaluate_model(model, data.val, len(classes))
                p = ap_at(prior_box_predict(data.val, sizes), gts_of(data.val), len(classes))
                res[f"{mode}_s{seed}" if mode == "random" else mode] = {
                    "model_ap50": m["ap50"], "prior_ap50": p["ap50"], "model_mean_iou": m["mean_iou"],
                    "model_per_class": m["per_class"], "prior_per_class": p["per_class"]}
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0
