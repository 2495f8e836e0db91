"""The evidence table: AP50 on val for prior-box, Point DETR, +MPC, +SC and PBC at several box ratios and seeds,
all with the same budget of optimizer steps (PBC protocol: the train pool is split by a seeded draw into
box-level images and point-level images whose boxes are hidden and whose click is a uniform point in the
box; val points are uniform points in the val boxes, the same for every run).

  python3 -m pbc_trainer evidence --data <export with boxes on every train image> --out runs/evidence \
      --runs 0.2:0,0.2:1,0.2:2,0.1:0,0.5:0 --steps 240

Results go to <out>/results.jsonl (one line per run; finished runs are skipped on restart) and
<out>/evidence.md (the table for models/README.md).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import time
from typing import Dict, List

import numpy as np

from .data import ImageRecord, load_pbc_export, sample_points_in_boxes
from .evaluate import evaluate_prior_box

METHODS = [("prior-box", None), ("Point DETR", "pointdetr"), ("+MPC", "mpc"), ("+SC", "sc"), ("PBC (MPC, then SC)", "pbc"),
           ("2 points/box, MPC weight 0", "mpc0")]


def _prior_mean_iou(train, val, n) -> float:
    from .evaluate import _iou_matrix, prior_box_predict, prior_sizes

    preds = prior_box_predict(val, prior_sizes(train, n))
    return float(np.concatenate([np.diag(_iou_matrix(p["boxes"], r.boxes)) for p, r in zip(preds, val)]).mean())


def split_pool(pool: List[ImageRecord], ratio: float, seed: int):
    rng = np.random.default_rng(10_000 + seed)
    order = rng.permutation(len(pool))
    n_box = max(1, int(round(ratio * len(pool))))
    box, point = [], []
    for j, i in enumerate(order):
        r = copy.copy(pool[i])
        if j < n_box:
            r.level = "box"
            box.append(r)
        else:
            r.level = "point"
            r.points = sample_points_in_boxes(r.boxes, rng)
            r.boxes = None  # hidden: never reaches training
            point.append(r)
    return box, point


def _table(rows: List[dict], key: str = "ap50") -> str:
    by: Dict[tuple, Dict[str, List[float]]] = {}
    for r in rows:
        if r.get(key) is not None:
            by.setdefault((r["ratio"],), {}).setdefault(r["method"], []).append(r[key])
    ratios = sorted({k[0] for k in by}, key=lambda x: (x != 0.2, x))
    methods = [(m, k) for m, k in METHODS if any(m in d for d in by.values())]
    head = "| box ratio | seeds | " + " | ".join(m for m, _ in methods) + " |\n|---|---|" + "---|" * len(methods) + "\n"
    lines = []
    for ratio in ratios:
        d = by[(ratio,)]
        n = max(len(v) for v in d.values())
        cells = []
        for m, _ in methods:
            v = [100 * x for x in d.get(m, [])]
            if not v:
                cells.append("–")
            elif len(v) == 1:
                cells.append(f"{v[0]:.1f}")
            else:
                cells.append(f"{np.mean(v):.1f} ± {np.std(v, ddof=1):.1f}")
        lines.append(f"| {int(round(ratio * 100))} % | {n} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="pbc_trainer evidence")
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", default="0.2:0,0.2:1,0.2:2,0.1:0,0.5:0", help="ratio:seed,...")
    ap.add_argument("--methods", default="prior-box,pointdetr,mpc,sc,pbc")
    ap.add_argument("--steps", type=int, default=240)
    ap.add_argument("--epochs", type=int, default=4, help="the steps are split into this many epochs (evals)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--unlabeled-batch", type=int, default=4)
    ap.add_argument("--image-size", type=int, default=256)
    ap.add_argument("--stride", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--max-images", type=int, default=None)
    ap.add_argument("--point-feat", action="store_true", help="queries with the feature under the point (as shipped)")
    ap.add_argument("--table-only", action="store_true", help="only rewrite evidence.md from results.jsonl")
    a = ap.parse_args(argv)
    from .train import TrainSpec, train

    os.makedirs(a.out, exist_ok=True)
    res_path = os.path.join(a.out, "results.jsonl")
    done = {}
    if os.path.exists(res_path):
        with open(res_path) as f:
            for line in f:
                r = json.loads(line)
                done[(r["ratio"], r["seed"], r["method"])] = r
    if a.table_only:
        missing = [r for r in done.values() if r["mode"] == "prior-box" and r.get("mean_iou") is None]
        if missing:  # rows written before prior-box recorded its mean IoU
            data = load_pbc_export(a.data, a.image_size, val_points="random", seed=0, max_images=a.max_images)
            pool = [r for r in data.train_box + data.train_point if r.boxes is not None]
            for r in missing:
                box, _ = split_pool(pool, r["ratio"], r["seed"])
                r["mean_iou"] = _prior_mean_iou(box, data.val, len(data.classes))
        _write_tables(a.out, list(done.values()))
        return 0
    data = load_pbc_export(a.data, a.image_size, val_points="random", seed=0, max_images=a.max_images, log=print)
    pool = [r for r in data.train_box + data.train_point if r.boxes is not None]
    print(f"pool: {len(pool)} train images with boxes, val: {len(data.val)} images")
    wanted = a.methods.split(",")
    names = dict((k, m) for m, k in METHODS if k) | {"prior-box": "prior-box"}
    for spec_s in a.runs.split(","):
        ratio_s, seed_s = spec_s.split(":")
        ratio, seed = float(ratio_s), int(seed_s)
        box, point = split_pool(pool, ratio, seed)
        run_data = copy.copy(data)
        run_data.train_box, run_data.train_point = box, point
        for key in wanted:
            method = names[key]
            if (ratio, seed, method) in done:
                continue
            t0 = time.time()
            if key == "prior-box":
                ap50 = evaluate_prior_box(box, data.val, len(data.classes))["ap50"]
                extra = {"mean_iou": _prior_mean_iou(box, data.val, len(data.classes))}
            else:
                out = os.path.join(a.out, f"r{int(round(ratio * 100))}_s{seed}", key)
                spec = TrainSpec(data=a.data, out=out, mode="mpc" if key == "mpc0" else key,
                                 w_mpc=0.0 if key == "mpc0" else 100.0, epochs=a.epochs, batch=a.batch,
                                 unlabeled_batch=a.unlabeled_batch, image_size=a.image_size, stride=a.stride,
                                 seed=seed, lr=a.lr, steps_per_epoch=max(1, a.steps // a.epochs), export=False,
                                 threads=a.threads, log_every=20, device="cpu",
                                 point_feat=a.point_feat)
                run = train(spec, data=run_data, log=lambda *_: None)
                ap50 = run["final"]["ap50"]
                extra = {"mean_iou": run["final"]["mean_iou"], "score_iou_corr": run["final"]["score_iou_corr"],
                         "images_per_s": run["final"]["images_per_s"], "train_compute_s": run["final"]["train_compute_s"]}
            row = {"ratio": ratio, "seed": seed, "method": method, "mode": key, "ap50": ap50, "n_box": len(box),
                   "n_point": len(point), "steps": a.steps, "image_size": a.image_size, "point_feat": a.point_feat, "wall_s": round(time.time() - t0, 1),
                   **extra}
            print(json.dumps(row), flush=True)
            with open(res_path, "a") as f:
                f.write(json.dumps(row) + "\n")
            done[(ratio, seed, method)] = row
            _write_tables(a.out, list(done.values()))
    print(_write_tables(a.out, list(done.values())))
    return 0


def _write_tables(out: str, rows: List[dict]) -> str:
    text = ("AP50 (%) on val, uniform random point per val box (PBC protocol):\n\n" + _table(rows, "ap50") +
            "\nMean IoU (%) of the predicted box with its GT box, same points:\n\n" + _table(rows, "mean_iou"))
    with open(os.path.join(out, "evidence.md"), "w") as f:
        f.write(text)
    return text


if __name__ == "__main__":
    raise SystemExit(main())
