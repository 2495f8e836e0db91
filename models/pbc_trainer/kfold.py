"""Fine-tuning on the user's own boxes, checked the only honest way a 20-image set allows: k-fold.

  python3 -m pbc_trainer kfold --init pointbox-pbc-v2.onnx --out runs/kfold-v2 [--cxr ../../shared/data/cxr-png]

The real boxed images (../shared/data/cxr-png: NIH ChestX-ray14 + RSNA boxes) are split into k folds by
image (stratified so every fold holds pneumonia images). For each fold, the model is fine-tuned from
`--init` on the other folds' boxes only (`train --init`, the same code path as a user's run) and exported;
the held fold is never seen. `folds.json` lists each fold's held images and model, and
`npm run eval:real -- --kfold <out>` scores each fold's model on its held images only, pools the
predictions over folds and sets them beside the initial model and the prior learned on the other folds,
so every number in that table comes from the product's own evaluator.

Options mirror `train` (steps, lr, batch), plus `--films` to keep real films with synthetic lesions in
the mix (a regulariser against 16 images) and `--copy-paste` to paste the training folds' real lesions
into those films.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from typing import List

import numpy as np


def assign_folds(images: List[dict], anns: List[dict], k: int, seed: int) -> List[int]:
    """Fold of each image: images with a Pneumonia box are dealt round-robin first (in a seeded order),
    then the rest, so every fold holds some of the main class."""
    cats_of = {}
    for a in anns:
        cats_of.setdefault(a["image_id"], set()).add(a["category_id"])
    rng = np.random.default_rng(seed)
    order = [int(i) for i in rng.permutation(len(images))]
    pneu = Counter(a["category_id"] for a in anns).most_common(1)[0][0]
    first = [i for i in order if pneu in cats_of.get(images[i]["id"], ())]
    rest = [i for i in order if i not in first]
    fold = [0] * len(images)
    for n, i in enumerate(first + rest):
        fold[i] = n % k
    return fold


def main(argv=None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(prog="pbc_trainer kfold", description=__doc__.split("\n\n")[0])
    ap.add_argument("--init", required=True, help="the model to fine-tune (.onnx with its .pt beside it, or .pt)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cxr", default=os.path.join(here, "..", "..", "..", "shared", "data", "cxr-png"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--films", default=None, help="real films without boxes (e.g. ../shared/data/cxr-unboxed/images)")
    ap.add_argument("--real-fraction", type=float, default=0.5)
    ap.add_argument("--copy-paste", action="store_true", help="paste the training folds' real lesions into the films")
    ap.add_argument("--lesion-tables", default=None)
    ap.add_argument("--film-cache", default=None)
    ap.add_argument("--refit-prior", action="store_true")
    a = ap.parse_args(argv)
    from .data import PBCDataError
    from .real_eval import build_real_export
    from .train import TrainSpec, train

    if not os.path.isdir(a.cxr):
        print(f"pbc_trainer kfold: error: {a.cxr} not found (the real boxed images, ../shared/data/cxr-png)", file=sys.stderr)
        return 2
    from .export import read_metadata

    init = os.path.abspath(a.init)
    classes = json.loads(read_metadata(init)["pointbox.classes"]) if init.endswith(".onnx") else None
    if classes is None:
        import torch

        classes = torch.load(init, map_location="cpu")["classes"]
    os.makedirs(a.out, exist_ok=True)
    all_dir = os.path.join(a.out, "all")
    info = build_real_export(os.path.abspath(a.cxr), all_dir, classes)
    with open(os.path.join(all_dir, "annotations", "instances_val.json")) as f:
        doc = json.load(f)
    fold = assign_folds(doc["images"], doc["annotations"], a.folds, a.seed)
    folds = []
    t0 = time.time()
    for k in range(a.folds):
        held = {im["id"] for im, f in zip(doc["images"], fold) if f == k}
        d = os.path.join(a.out, f"fold-{k}", "data")
        os.makedirs(os.path.join(d, "annotations"), exist_ok=True)
        for name, keep in (("instances_train_box.json", lambda i: i not in held), ("instances_val.json", lambda i: i in held)):
            part = {"categories": doc["categories"],
                    "images": [dict(im, label_level="boxes") for im in doc["images"] if keep(im["id"])],
                    "annotations": [x for x in doc["annotations"] if keep(x["image_id"])]}
            with open(os.path.join(d, "annotations", name), "w") as f:
                json.dump(part, f)
        out = os.path.join(a.out, f"fold-{k}", "run")
        spec = TrainSpec(data=d, out=out, mode="mpc", epochs=1, steps_per_epoch=a.steps, batch=a.batch, lr=a.lr,
                         warmup_steps=max(1, a.steps // 10), eval_every=1, init=init, seed=a.seed + k,
                         refit_prior=a.refit_prior, val_points="random",
                         real_films=a.films, real_fraction=a.real_fraction if a.films else 0.5,
                         lesion_tables=a.lesion_tables, exclude_from=None, film_cache=a.film_cache,
                         copy_paste=d if (a.copy_paste and a.films) else None)
        try:
            run = train(spec, log=lambda m: print(f"[fold {k}] {m}", flush=True))
        except PBCDataError as e:
            print(f"pbc_trainer kfold: error: fold {k}: {e}", file=sys.stderr)
            return 2
        folds.append({"k": k, "images": sorted(os.path.basename(im["file_name"]) for im in doc["images"] if im["id"] in held),
                      "model": os.path.relpath(os.path.join(out, "model.onnx"), a.out),
                      "train_images": len(doc["images"]) - len(held),
                      "final": run.get("final")})
    res = {"init": init, "cxr": os.path.abspath(a.cxr), "data": info, "folds": folds,
           "spec": {k: v for k, v in vars(a).items() if k not in ("out",)},
           "seconds": round(time.time() - t0, 1),
           "note": "each fold's model was fine-tuned from init on the other folds' boxes only; score it on its own images"}
    tmp = os.path.join(a.out, "folds.json.tmp")
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1)
    os.replace(tmp, os.path.join(a.out, "folds.json"))
    print(json.dumps({"out": os.path.abspath(a.out), "folds": len(folds), "seconds": res["seconds"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
