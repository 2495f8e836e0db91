"""`python3 -m pbc_trainer train|export|eval|synth` (run from models/, or with models/ on PYTHONPATH)."""
from __future__ import annotations

import argparse
import json
import os
import sys

from .data import PBCDataError


def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="export dir from `pointbox export coco <dataset> --out <dir> --layout pbc`")
    p.add_argument("--out", required=True, help="run directory (run.json, metrics.jsonl, checkpoints/, model.onnx)")
    p.add_argument("--mode", default="pbc", choices=["pointdetr", "mpc", "sc", "pbc"])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=8, help="box-level images per step and per process")
    p.add_argument("--unlabeled-batch", type=int, default=None, help="point-only images per step for SC (default = --batch)")
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--stride", type=int, default=16, choices=[8, 16], help="backbone stride (8 for small inputs)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--w-mpc", type=float, default=100.0, help="MPC weight (PBC: 100)")
    p.add_argument("--w-sc", type=float, default=50.0, help="SC weight (PBC: 50)")
    p.add_argument("--sc-epochs", type=int, default=None, help="pbc: epochs of SC fine-tuning at the end (default epochs/3)")
    p.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the box-level images")
    p.add_argument("--eval-every", type=int, default=1)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--train-box", default=None, help="COCO JSON of box-level train images (default: found by name)")
    p.add_argument("--train-point", default=None, help="COCO JSON of point-level train images")
    p.add_argument("--val", default=None, help="COCO JSON of the validation split")
    p.add_argument("--image-root", default=None, help="folder that file_name is relative to (default: the export dir)")
    p.add_argument("--val-points", default="given", choices=["given", "center", "random"])
    p.add_argument("--no-export", dest="export", action="store_false")
    p.add_argument("--max-images", type=int, default=None)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--dec-layers", type=int, default=3)
    p.add_argument("--enc-layers", type=int, default=2)
    p.add_argument("--point-feat", default=True, action=argparse.BooleanOptionalAction,
                   help="add the encoder feature under each point (GridSample) to its query content (default on; "
                        "--no-point-feat = PBC's plain Point DETR query; see models/README.md for the ablation)")
    p.add_argument("--head", default="residual", choices=["residual", "ltrb"],
                   help="residual (default): the box is a learned residual on a class-conditional prior box, so the "
                        "untrained model is exactly the prior-box baseline; ltrb: v1's distances to the sides")
    p.add_argument("--prior-table", default=None, help="class prior sizes, CSV class,width,height,unit=frac[,boxes,source] "
                                                       "(models/priors/public-nih-rsna.csv) or box_prior JSON")
    p.add_argument("--prior-only-classes", default="", help="comma-separated classes that always get the prior box")
    p.add_argument("--min-prior-boxes", type=int, default=5, help="a class with fewer training boxes (and no table "
                                                                  "row) keeps the prior box")
    p.add_argument("--refit-prior", action="store_true", help="with --init: refit the prior size of classes with at "
                                                              "least --min-prior-boxes training boxes")
    p.add_argument("--init", default=None, help="fine-tune from a checkpoint .pt or a PointBox model .onnx (its "
                                                "checkpoint beside it); same classes required")
    p.add_argument("--real-films", default=None, help="folder of real chest films without boxes: synthetic lesions are "
                                                      "rendered into them (see pbc_trainer/lesions.py)")
    p.add_argument("--real-fraction", type=float, default=0.5, help="share of box-level samples drawn from the films")
    p.add_argument("--lesion-tables", default=None, help="folder with the public NIH BBox_List_2017.csv / RSNA "
                                                         "stage_2_train_labels.csv that size the synthetic lesions")
    p.add_argument("--exclude-from", default=None, help="an evaluation folder (cxr-png layout) whose images and RSNA "
                                                        "patients are left out of the lesion tables")
    p.add_argument("--class-weights", default="Pneumonia:3", help="how often each class is drawn into a film, e.g. "
                                                                  "Pneumonia:3,Nodule:1")
    p.add_argument("--copy-paste", default=None, help="a PBC export whose box-level lesions are pasted into the films")
    p.add_argument("--paste-p", type=float, default=0.5, help="probability that a film lesion is a pasted real crop")
    p.add_argument("--film-cache", default=None, help="cache folder for the letterboxed films and lung fields")
    p.add_argument("--max-films", type=int, default=None)
    p.add_argument("--real-val", default=None, help="an export with real boxes, scored at every eval (5 seeds of "
                                                    "uniform clicks, micro AP50 in metrics.jsonl)")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["evidence"]:
        from .evidence import main as evidence_main

        return evidence_main(argv[1:])
    if argv[:1] == ["kfold"]:
        from .kfold import main as kfold_main

        return kfold_main(argv[1:])
    if argv[:1] == ["real-eval"]:
        from .real_eval import main as real_main

        return real_main(argv[1:])
    # --- issue 15: the student detector (detector.py; own --help) ---
    if argv[:1] == ["detector"]:
        from .detector import main as detector_main

        return detector_main(argv[1:])
    # --- end issue 15 ---
    ap = argparse.ArgumentParser(prog="pbc_trainer", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("evidence", help="the evidence table (see pbc_trainer/evidence.py; own --help)", add_help=False)
    sub.add_parser("real-eval", help="shipped model vs prior-box on the real NIH/RSNA boxes (own --help)", add_help=False)
    sub.add_parser("kfold", help="k-fold fine-tuning on the real boxed images (own --help)", add_help=False)
    sub.add_parser("detector", help="train the student detector (FCOS) on boxes + pseudo-boxes; `detector export` "
                                    "exports one (own --help)", add_help=False)
    _add_train(sub.add_parser("train", help="train a Point DETR teacher (PBC modes)"))
    e = sub.add_parser("export", help="export a checkpoint to ONNX with the PointBox contract")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--reference-dir", default=None, help="also write reference inputs/outputs here")
    ev = sub.add_parser("eval", help="AP50 of a checkpoint (and the prior-box baseline) on an export's val split")
    ev.add_argument("--checkpoint", required=True)
    ev.add_argument("--data", required=True)
    ev.add_argument("--val", default=None)
    ev.add_argument("--train-box", default=None)
    ev.add_argument("--image-root", default=None)
    ev.add_argument("--val-points", default="given", choices=["given", "center", "random"])
    ev.add_argument("--seed", type=int, default=0)
    t = sub.add_parser("tiny-model", help="export a randomly initialised model + reference I/O (parity tests)")
    t.add_argument("--out", required=True, help="folder: model.onnx, checkpoint.pt, reference/")
    t.add_argument("--image-size", type=int, default=64)
    t.add_argument("--stride", type=int, default=8, choices=[8, 16])
    t.add_argument("--classes", default="nodule,opacity")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--point-feat", default=True, action=argparse.BooleanOptionalAction)
    s = sub.add_parser("synth", help="write a small synthetic PBC export (for tests and smoke runs)")
    s.add_argument("--out", required=True)
    s.add_argument("--train", type=int, default=24)
    s.add_argument("--val", type=int, default=8)
    s.add_argument("--size", type=int, default=96)
    s.add_argument("--box-ratio", type=float, default=0.5)
    s.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        if args.cmd == "train":
            from .train import TrainSpec, train

            d = vars(args).copy()
            d.pop("cmd")
            run = train(TrainSpec(**d))
            print(json.dumps({"status": run["status"], "out": os.path.abspath(args.out), "final": run.get("final")}))
            return 0
        if args.cmd == "export":
            from .export import export_onnx

            print(json.dumps(export_onnx(args.checkpoint, args.out, args.reference_dir)))
            return 0
        if args.cmd == "eval":
            from .data import load_pbc_export
            from .evaluate import evaluate_model, evaluate_prior_box
            from .export import load_checkpoint
            import torch

            torch.set_num_threads(os.cpu_count() or 1)
            model, ck = load_checkpoint(args.checkpoint)
            data = load_pbc_export(args.data, model.cfg.image_size, train_box=args.train_box, val=args.val,
                                   image_root=args.image_root, val_points=args.val_points, seed=args.seed,
                                   need_boxes=False)
            if data.classes != ck["classes"]:
                print(f"warning: dataset classes {data.classes} != model classes {ck['classes']}", file=sys.stderr)
            res = {"model": evaluate_model(model, data.val, len(data.classes))}
            if data.train_box:
                res["prior_box"] = evaluate_prior_box(data.train_box, data.val, len(data.classes))
            print(json.dumps(res))
            return 0
        if args.cmd == "tiny-model":
            from .export import export_onnx
            from .model import ModelConfig, PointDETR, checkpoint_payload
            import torch

            torch.manual_seed(args.seed)
            classes = [c for c in args.classes.split(",") if c]
            cfg = ModelConfig(num_classes=len(classes), image_size=args.image_size, stride=args.stride,
                              point_feat=args.point_feat)
            m = PointDETR(cfg)
            with torch.no_grad():  # non-trivial BN statistics and box head, so parity tests see real numbers
                for mod in m.modules():
                    if isinstance(mod, torch.nn.BatchNorm2d):
                        mod.running_mean.uniform_(-0.2, 0.2)
                        mod.running_var.uniform_(0.5, 2.0)
                m.box_head.l2.weight.normal_(0, 0.05)
            os.makedirs(args.out, exist_ok=True)
            ck = os.path.join(args.out, "checkpoint.pt")
            torch.save(checkpoint_payload(m, cfg, classes, {"spec": {"mode": "random-init", "seed": args.seed}}), ck)
            print(json.dumps(export_onnx(ck, os.path.join(args.out, "model.onnx"),
                                         reference_dir=os.path.join(args.out, "reference"))))
            return 0
        if args.cmd == "synth":
            from .synth import make_synthetic_export

            make_synthetic_export(args.out, args.train, args.val, args.size, args.box_ratio, seed=args.seed)
            print(json.dumps({"out": os.path.abspath(args.out)}))
            return 0
    except PBCDataError as e:
        print(f"pbc_trainer: error: {e}", file=sys.stderr)
        return 2
    return 1
