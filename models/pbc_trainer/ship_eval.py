"""Numbers for the model card: AP50 (and mean IoU) of a checkpoint vs prior-box on
(a) the training phantom set's own test split, (b) the 1000-image phantom benchmark's val split (another
seed: images never seen in training), each with the dataset's clicks ('given') and with uniform points in
the boxes ('random', PBC protocol); (c) the real NIH/RSNA boxes with centre and random interior points.

  python3 -m pbc_trainer.ship_eval --checkpoint runs/ship-pbc-s0/checkpoints/last.pt --out runs/ship-eval.json
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile

import numpy as np
import torch

from .data import load_pbc_export
from .evaluate import ap_at, evaluate_model, gts_of, prior_box_predict, prior_sizes, _iou_matrix
from .export import load_checkpoint
from .real_eval import build_real_export


def _prior_eval(records, sizes, n):
    preds = prior_box_predict(records, sizes)
    res = ap_at(preds, gts_of(records), n)
    ious = np.concatenate([np.diag(_iou_matrix(p["boxes"], g["boxes"])) for p, g in zip(preds, gts_of(records))])
    res["mean_iou"] = float(ious.mean())
    return res


def main(argv=None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(prog="pbc_trainer.ship_eval")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--train-data", default=os.path.join(here, "..", "data", "ship-3k-pbc"))
    ap.add_argument("--bench-data", default=os.path.join(here, "..", "data", "bench-r20-pbc"))
    ap.add_argument("--cxr", default=os.path.join(here, "..", "..", "..", "shared", "data", "cxr-png"))
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    model, ck = load_checkpoint(a.checkpoint)
    S, n = model.cfg.image_size, len(ck["classes"])
    train = load_pbc_export(a.train_data, S)
    sizes = prior_sizes(train.train_box, n)
    out = {"checkpoint": os.path.abspath(a.checkpoint), "epoch": ck.get("epoch"), "step": ck.get("step"), "rows": []}

    def row(name, records):
        m = evaluate_model(model, records, n)
        p = _prior_eval(records, sizes, n)
        r = {"set": name, "images": len(records), "boxes": int(sum(len(x.labels) for x in records)),
             "model_ap50": m["ap50"], "prior_ap50": p["ap50"], "model_mean_iou": m["mean_iou"],
             "prior_mean_iou": p["mean_iou"], "score_iou_corr": m["score_iou_corr"],
             "model_per_class": m["per_class"], "prior_per_class": p["per_class"]}
        out["rows"].append(r)
        print(json.dumps({k: v for k, v in r.items() if "per_class" not in k}), flush=True)

    for vp in ("given", "random"):
        d = load_pbc_export(a.train_data, S, val="instances_test.json", val_points=vp, seed=0)
        row(f"phantom seed 7, test split, {vp} points", d.val)
    for vp in ("given", "random"):
        d = load_pbc_export(a.bench_data, S, val_points=vp, seed=0)
        row(f"phantom benchmark (seed 6) val, {vp} points", d.val)
    if os.path.isdir(a.cxr):
        with tempfile.TemporaryDirectory() as tmp:
            out["real_data"] = build_real_export(os.path.abspath(a.cxr), tmp, ck["classes"])
            d = load_pbc_export(tmp, S, val_points="center", need_boxes=False)
            row("NIH/RSNA real boxes, centre points", d.val)
            for seed in (0, 1, 2):
                d = load_pbc_export(tmp, S, val_points="random", seed=seed, need_boxes=False)
                row(f"NIH/RSNA real boxes, random interior points (seed {seed})", d.val)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
