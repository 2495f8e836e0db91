"""Training loop: modes pointdetr | mpc | sc | pbc, single process or torchrun (DDP), run directory with
run.json, metrics.jsonl, checkpoints, model.onnx and reference inputs/outputs.

Fixes relative to PBC's public code (see models/README.md):
- the point of a box-level lesion is re-sampled uniformly in its box at every step (PBC's "jitter" is
  U(0.05, 0.05), a constant);
- the SC flip is applied per image *before* padding and the padding mask is kept for the flipped view;
- padded queries are masked out of decoder self-attention, so outputs never depend on batch composition.
"""
from __future__ import annotations

import json
import math
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from . import CONTRACT_VERSION, __version__
from . import losses as L
from .data import NORMALIZATION, ImageRecord, PBCData, PBCDataError, load_pbc_export, normalize, sample_points_in_boxes
from .evaluate import evaluate_model, evaluate_prior_box
from .export import export_onnx  # imported up front: a long run must not pick up code edited meanwhile
from .model import ModelConfig, build_model, checkpoint_payload, count_params
from .priors import BoxPrior, box_prior_from_config, build_box_prior, read_prior_table

MODES = ("pointdetr", "mpc", "sc", "pbc")


# ------------------------------------------------------------------------------------------------ batches

def _gamma(img: np.ndarray, rng) -> np.ndarray:
    return np.power(np.clip(img, 0, 1), rng.uniform(0.7, 1.4)).astype(np.float32)


def random_erase(img: np.ndarray, rng, p: float = 0.5, area=(0.02, 0.2), ratio=(0.3, 3.3)) -> np.ndarray:
    """torchvision-style RandomErasing (filled with uniform noise) on one [S,S] image in [0,1]."""
    if rng.random() >= p:
        return img
    S = img.shape[0]
    for _ in range(10):
        a = rng.uniform(*area) * S * S
        r = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        h, w = int(round(math.sqrt(a * r))), int(round(math.sqrt(a / r)))
        if 0 < h < S and 0 < w < S:
            y, x = rng.integers(0, S - h + 1), rng.integers(0, S - w + 1)
            img = img.copy()
            img[y:y + h, x:x + w] = rng.random((h, w), dtype=np.float32)
            return img
    return img


def flip_sample(img: np.ndarray, points: np.ndarray, boxes: Optional[np.ndarray] = None):
    """Horizontal flip of one un-padded sample: image columns reversed, x -> 1 - x (boxes: x1/x2 swap)."""
    fp = points.copy()
    fp[:, 0] = 1.0 - fp[:, 0]
    fb = None
    if boxes is not None:
        fb = boxes.copy()
        fb[:, 0], fb[:, 2] = 1.0 - boxes[:, 2], 1.0 - boxes[:, 0]
    return img[:, ::-1].copy(), fp, fb


@dataclass
class Batch:
    image: torch.Tensor  # [B,1,S,S] normalized
    points: torch.Tensor  # [B,N,2]
    labels: torch.Tensor  # [B,N]
    mask: torch.Tensor  # [B,N] 1 = real point
    gt: torch.Tensor  # [B,N,4]
    sup: torch.Tensor  # [B,N] 1 = real point with a GT box
    pair: torch.Tensor  # [B,N] MPC partner (-1 none)
    sc_a: torch.Tensor  # [U] rows of original SC views
    sc_b: torch.Tensor  # [U] rows of the flipped views (same query order)
    n_images: int

    def to(self, dev):
        return Batch(*(getattr(self, f).to(dev) if isinstance(getattr(self, f), torch.Tensor) else getattr(self, f)
                       for f in self.__dataclass_fields__))


def make_batch(box_recs: Sequence[ImageRecord], point_recs: Sequence[ImageRecord], mpc: bool, rng,
               augment: bool = True, erase: bool = True) -> Batch:
    """One forward batch: box-level images (1 point per box, or 2 with MPC), then for every point-only image
    an original view and its flipped view (both randomly erased) for SC. Flips happen per image, before
    padding, and every view keeps its own mask."""
    items = []  # (img, points, labels, gt or None, pair or None)
    for r in box_recs:
        img = r.image.astype(np.float32)
        boxes = r.boxes
        if augment:
            img = _gamma(img, rng)
        p1 = sample_points_in_boxes(boxes, rng)
        if mpc:
            p2 = sample_points_in_boxes(boxes, rng)
            k = len(boxes)
            pts = np.concatenate([p1, p2])
            gt = np.concatenate([boxes, boxes])
            labels = np.concatenate([r.labels, r.labels])
            pair = np.concatenate([np.arange(k, 2 * k), np.arange(0, k)])
        else:
            pts, gt, labels, pair = p1, boxes, r.labels, None
        if augment and rng.random() < 0.5:
            img, pts, gt = flip_sample(img, pts, gt)
        items.append((img, pts, labels, gt, pair))
    sc_a, sc_b = [], []
    for r in point_recs:
        img = r.image.astype(np.float32)
        if augment:
            img = _gamma(img, rng)
        fimg, fpts, _ = flip_sample(img, r.points)
        a = random_erase(img, rng) if erase else img
        b = random_erase(fimg, rng) if erase else fimg
        sc_a.append(len(items))
        items.append((a, r.points, r.labels, None, None))
        sc_b.append(len(items))
        items.append((b, fpts, r.labels, None, None))
    B = len(items)
    N = max(len(it[2]) for it in items)
    S = items[0][0].shape[0]
    image = np.zeros((B, 1, S, S), np.float32)
    points = np.zeros((B, N, 2), np.float32)
    labels = np.zeros((B, N), np.int64)
    mask = np.zeros((B, N), np.float32)
    gt = np.zeros((B, N, 4), np.float32)
    sup = np.zeros((B, N), np.float32)
    pair = np.full((B, N), -1, np.int64)
    for i, (img, pts, lab, g, pr) in enumerate(items):
        k = len(lab)
        image[i, 0] = normalize(img)
        points[i, :k] = pts
        labels[i, :k] = lab
        mask[i, :k] = 1
        if g is not None:
            gt[i, :k] = g
            sup[i, :k] = 1
        if pr is not None:
            pair[i, :k] = pr
    t = torch.from_numpy
    return Batch(t(image), t(points), t(labels), t(mask), t(gt), t(sup), t(pair),
                 torch.tensor(sc_a, dtype=torch.long), torch.tensor(sc_b, dtype=torch.long),
                 len(box_recs) + len(point_recs))


def compute_losses(model, batch: Batch, use_mpc: bool, use_sc: bool, w_mpc: float = L.W_MPC,
                   w_sc: float = L.W_SC) -> Dict[str, torch.Tensor]:
    boxes, scores, layer_boxes, raw_score = model(batch.image, batch.points, batch.labels, batch.mask, all_layers=True)
    terms = L.box_losses(layer_boxes, batch.gt, batch.sup)
    last = layer_boxes[-1]
    terms["iou"] = L.iou_head_loss(raw_score, last, batch.gt, batch.sup)
    if use_mpc:
        terms["mpc"] = L.mpc_loss(last, batch.pair, batch.sup)
    if use_sc:
        if len(batch.sc_a):
            terms["sc"] = L.sc_loss(last[batch.sc_a], last[batch.sc_b], batch.mask[batch.sc_a])
        else:
            terms["sc"] = last.sum() * 0.0
    terms["total"] = L.total(terms, w_mpc, w_sc)
    return terms


# ------------------------------------------------------------------------------------------------ run dir

def _atomic_json(path: str, obj) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def _git_commit() -> Optional[str]:
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except Exception:  # noqa: BLE001
        return None


def versions() -> dict:
    return {"pbc_trainer": __version__, "contract_version": CONTRACT_VERSION, "torch": torch.__version__,
            "numpy": np.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "git_commit": _git_commit(), "cuda": torch.version.cuda if torch.cuda.is_available() else None}


class MetricsWriter:
    def __init__(self, path: Optional[str]):
        self.f = open(path, "a", encoding="utf-8") if path else None

    def write(self, obj: dict) -> None:
        if self.f:
            self.f.write(json.dumps(obj) + "\n")
            self.f.flush()

    def close(self):
        if self.f:
            self.f.close()


# ------------------------------------------------------------------------------------------------ training

@dataclass
class TrainSpec:
    data: str
    out: str
    mode: str = "pbc"
    epochs: int = 20
    batch: int = 8
    unlabeled_batch: Optional[int] = None
    image_size: int = 256
    stride: int = 16
    device: str = "auto"
    seed: int = 0
    lr: float = 4e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    grad_clip: float = 1.0
    sc_epochs: Optional[int] = None  # pbc: the last sc_epochs of `epochs` are the SC fine-tuning stage
    steps_per_epoch: Optional[int] = None
    eval_every: int = 1
    log_every: int = 10
    threads: Optional[int] = None
    train_box: Optional[str] = None
    train_point: Optional[str] = None
    val: Optional[str] = None
    image_root: Optional[str] = None
    val_points: str = "given"
    export: bool = True
    max_images: Optional[int] = None
    dim: int = 128
    dec_layers: int = 3
    enc_layers: int = 2
    point_feat: bool = True
    w_mpc: float = 100.0  # PBC's weights; w_mpc 0 in mode mpc = two supervised points per box, no consistency
    w_sc: float = 50.0
    # box head: 'residual' (on a class-conditional prior box; cannot fall below the prior-box baseline) or
    # 'ltrb' (v1's sigmoid distances)
    head: str = "residual"
    prior_table: Optional[str] = None
    prior_only_classes: str = ""
    min_prior_boxes: int = 5
    refit_prior: bool = False
    init: Optional[str] = None  # fine-tune from a checkpoint .pt or a model .onnx (its checkpoint beside it)
    # real films with synthetic lesions (realfilms.py): a folder of chest films without boxes
    real_films: Optional[str] = None
    real_fraction: float = 0.5  # share of each step's box-level samples drawn from the films
    lesion_tables: Optional[str] = None  # folder with the public NIH / RSNA box tables that size the lesions
    exclude_from: Optional[str] = None  # a cxr-png-like folder: its images/patients are left out of those tables
    class_weights: str = "Pneumonia:3"  # how often each class is drawn into a film
    copy_paste: Optional[str] = None  # a PBC export whose box-level boxes are pasted into films as real lesions
    paste_p: float = 0.5
    film_cache: Optional[str] = None
    max_films: Optional[int] = None
    real_val: Optional[str] = None  # an export with real boxes, evaluated (uniform clicks) at each eval

    def to_dict(self):
        return dict(self.__dict__)


def _dist_info():
    ws = int(os.environ.get("WORLD_SIZE", "1"))
    return ws, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), \
        int(os.environ.get("LOCAL_WORLD_SIZE", str(ws)))


def _lr_at(step: int, total: int, spec: TrainSpec) -> float:
    warm = min(spec.warmup_steps, max(1, total // 10))
    if step < warm:
        return spec.lr * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    return spec.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def stage_of(mode: str, epoch: int, spec: TrainSpec):
    """(use_mpc, use_sc) for this epoch. pbc = MPC pretraining, then SC fine-tuning (MPC kept on)."""
    if mode == "pointdetr":
        return False, False
    if mode == "mpc":
        return True, False
    if mode == "sc":
        return False, True
    sc_e = spec.sc_epochs if spec.sc_epochs is not None else max(1, spec.epochs // 3)
    return True, epoch >= spec.epochs - sc_e


def train(spec: TrainSpec, data: Optional[PBCData] = None, log=print) -> dict:
    if spec.mode not in MODES:
        raise PBCDataError(f"--mode must be one of {MODES}")
    ws, rank, local_rank, local_ws = _dist_info()
    distributed = ws > 1
    want_cuda = spec.device == "cuda" or (spec.device == "auto" and torch.cuda.is_available())
    if spec.device == "cuda" and not torch.cuda.is_available():
        raise PBCDataError(f"--device cuda, but this torch ({torch.__version__}) sees no CUDA device; "
                           f"use --device auto or cpu, or a CUDA build of torch")
    if want_cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
        torch.set_num_threads(spec.threads or max(1, (os.cpu_count() or 1) // max(1, local_ws)))
    if distributed and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if want_cuda else "gloo")
    is_main = rank == 0
    quiet = (lambda *_: None)
    say = log if is_main else quiet

    os.makedirs(os.path.join(spec.out, "checkpoints"), exist_ok=True)
    run_json = os.path.join(spec.out, "run.json")
    run = {"spec": spec.to_dict(), "status": "running", "versions": versions(), "world_size": ws,
           "device": str(device), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "argv": sys.argv, "pid": os.getpid()}
    if is_main:
        _atomic_json(run_json, run)
    metrics = MetricsWriter(os.path.join(spec.out, "metrics.jsonl") if is_main else None)

    def on_term(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt(f"signal {signum}")

    prev = signal.signal(signal.SIGTERM, on_term) if is_main and _in_main_thread() else None
    try:
        torch.manual_seed(spec.seed)
        if data is None:
            data = load_pbc_export(spec.data, spec.image_size, spec.train_box, spec.train_point, spec.val,
                                   spec.image_root, spec.val_points, seed=spec.seed, max_images=spec.max_images,
                                   log=say)
        use_points = spec.mode in ("sc", "pbc")
        if use_points and not data.train_point:
            say("warning: no point-only training images: the SC term has nothing to work on")
        init = load_init(spec.init, data.classes, say) if spec.init else None
        cfg = ModelConfig(num_classes=len(data.classes), image_size=spec.image_size, stride=spec.stride,
                          dim=spec.dim, dec_layers=spec.dec_layers, enc_layers=spec.enc_layers,
                          point_feat=spec.point_feat, head=spec.head)
        if init is not None:  # the architecture is the initial model's; only the head may change (v1 -> residual)
            icfg = ModelConfig.from_dict(init["config"])
            cfg = ModelConfig(**{**icfg.__dict__, "head": spec.head, "box_prior": None, "prior_learned": None,
                                 "prior_score": None})
            if cfg.image_size != spec.image_size:
                say(f"--init: using the initial model's input size {cfg.image_size} (not {spec.image_size})")
                if cfg.image_size != data.image_size:
                    raise PBCDataError(f"--init {spec.init}: the model's input size is {cfg.image_size}; pass "
                                       f"--image-size {cfg.image_size}")
        box_prior: Optional[BoxPrior] = None
        if cfg.head == "residual":
            table = read_prior_table(spec.prior_table) if spec.prior_table else None
            init_prior = None
            if init is not None and init["config"].get("head") == "residual":
                init_prior = box_prior_from_config(init["config"], data.classes, init.get("box_prior_meta"))
            box_prior = build_box_prior(data.classes, data.train_box, table,
                                        [c for c in spec.prior_only_classes.split(",") if c], spec.min_prior_boxes,
                                        init_prior, spec.refit_prior)
            cfg.box_prior, cfg.prior_learned, cfg.prior_score = box_prior.rows(), box_prior.learned(), box_prior.scores()
            for line in box_prior.report():
                say(line)
        model = build_model(cfg).to(device)
        if init is not None:
            apply_init(model, init, say)
        films = make_film_source(spec, data, say) if spec.real_films else None
        real_val = None
        if spec.real_val:  # five seeds of uniform clicks, each an independent query set
            real_val = [r for sd in range(5) for r in
                        load_pbc_export(spec.real_val, cfg.image_size, val_points="random", seed=sd, need_boxes=False).val]
        if distributed and want_cuda:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        n_params = count_params(model)
        if distributed:
            model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if want_cuda else None)
        opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
        B = spec.batch
        Bu = spec.unlabeled_batch if spec.unlabeled_batch is not None else B
        steps_per_epoch = spec.steps_per_epoch or max(1, math.ceil(len(data.train_box) / (B * ws)))
        total_steps = steps_per_epoch * spec.epochs
        prior = evaluate_prior_box(data.train_box, data.val, len(data.classes)) if data.val else None
        run.update({"data": data.summary(), "model": {"config": cfg.to_dict(), "params": n_params},
                    "steps_per_epoch": steps_per_epoch, "total_steps": total_steps,
                    "prior_box_val": prior, "init": os.path.abspath(spec.init) if spec.init else None,
                    "box_prior": json.loads(box_prior.metadata()) if box_prior else None,
                    "real_films": {"films": len(films.films), "crops": len(films.crops)} if films else None})
        if is_main:
            _atomic_json(run_json, run)
        say(f"mode={spec.mode} params={n_params} steps/epoch={steps_per_epoch} world={ws} device={device}")
        rng = np.random.default_rng([spec.seed, rank])
        perm_rng = np.random.default_rng(spec.seed)  # same permutation on every rank
        step, best, t_train, n_seen = 0, -1.0, 0.0, 0
        last_eval: Dict = {}
        model.train()
        for epoch in range(spec.epochs):
            use_mpc, use_sc = stage_of(spec.mode, epoch, spec)
            order = perm_rng.permutation(len(data.train_box))
            porder = perm_rng.permutation(len(data.train_point)) if data.train_point else np.zeros(0, int)
            t_ep, seen_ep, acc = time.time(), 0, {}
            for it in range(steps_per_epoch):
                g = (epoch * steps_per_epoch + it) * ws + rank
                n_film = int(round(B * spec.real_fraction)) if films else 0
                bi = [order[(g * B + j) % len(order)] for j in range(B - n_film)]
                box_recs = [data.train_box[i] for i in bi]
                if n_film:
                    box_recs += films.samples(n_film, rng, spec.paste_p if films.crops else 0.0)
                pt_recs = [data.train_point[porder[(g * Bu + j) % len(porder)]] for j in range(Bu)] \
                    if use_sc and len(porder) else []
                batch = make_batch(box_recs, pt_recs, use_mpc, rng).to(device)
                lr = _lr_at(step, total_steps, spec)
                for gr in opt.param_groups:
                    gr["lr"] = lr
                t0 = time.time()
                terms = compute_losses(model, batch, use_mpc, use_sc, spec.w_mpc, spec.w_sc)
                opt.zero_grad(set_to_none=True)
                terms["total"].backward()
                if spec.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
                opt.step()
                dt = time.time() - t0
                t_train += dt
                n_seen += batch.n_images * ws
                seen_ep += batch.n_images * ws
                vals = {k: float(v.detach()) for k, v in terms.items()}
                if not all(math.isfinite(v) for v in vals.values()):
                    raise FloatingPointError(f"non-finite loss at step {step}: {vals}")
                for k, v in vals.items():
                    acc[k] = acc.get(k, 0.0) + v
                step += 1
                if step % spec.log_every == 0 or it == steps_per_epoch - 1:
                    metrics.write({"type": "train", "epoch": epoch, "step": step, "lr": lr, **vals,
                                   "images_per_s": round(batch.n_images * ws / max(dt, 1e-9), 2),
                                   "time": round(time.time(), 3)})
            ep_time = time.time() - t_ep
            ep = {"type": "epoch", "epoch": epoch, "step": step, "time_s": round(ep_time, 2),
                  "images_per_s": round(seen_ep / max(ep_time, 1e-9), 2),
                  **{k: v / steps_per_epoch for k, v in acc.items()}, "mpc_on": use_mpc, "sc_on": use_sc}
            do_eval = data.val and ((epoch + 1) % spec.eval_every == 0 or epoch == spec.epochs - 1)
            if do_eval and is_main:
                ev = evaluate_model(model, data.val, len(data.classes), device=str(device))
                last_eval = ev
                ep.update({"ap50": ev["ap50"], "mean_iou": ev["mean_iou"], "score_iou_corr": ev["score_iou_corr"],
                           "ap50_per_class": ev["per_class"]})
                row = {"type": "eval", "epoch": epoch, "step": step, "ap50": ev["ap50"],
                       "mean_iou": ev["mean_iou"], "score_iou_corr": ev["score_iou_corr"],
                       "ap50_per_class": ev["per_class"]}
                if real_val:
                    rv = evaluate_model(model, real_val, len(data.classes), device=str(device))
                    row.update({"real_ap50": rv["ap50"], "real_ap50_micro": rv["ap50_micro"], "real_mean_iou": rv["mean_iou"],
                                "real_ap50_per_class": rv["per_class"]})
                    ep.update({"real_ap50_micro": rv["ap50_micro"], "real_mean_iou": rv["mean_iou"]})
                metrics.write(row)
            if is_main:
                metrics.write(ep)
                say(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in ep.items()
                                if k != "ap50_per_class"}))
                payload = checkpoint_payload(model, cfg, data.classes, {
                    "epoch": epoch, "step": step, "spec": spec.to_dict(), "category_ids": data.category_ids,
                    "ap50": ep.get("ap50"), "versions": run["versions"], "data": data.summary(),
                    "box_prior_meta": {c: p.to_json() for c, p in box_prior.per_class.items()} if box_prior else None,
                    "init": run.get("init")})
                torch.save(payload, os.path.join(spec.out, "checkpoints", "last.pt"))
                if ep.get("ap50") is not None and ep["ap50"] > best:
                    best = ep["ap50"]
                    torch.save(payload, os.path.join(spec.out, "checkpoints", "best.pt"))
        if distributed:
            torch.distributed.barrier()
        run.update({"status": "completed", "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "final": {"ap50": last_eval.get("ap50"), "mean_iou": last_eval.get("mean_iou"),
                              "score_iou_corr": last_eval.get("score_iou_corr"), "best_ap50": best if best >= 0 else None,
                              "steps": step, "train_compute_s": round(t_train, 2),
                              "images_per_s": round(n_seen / max(t_train, 1e-9), 2)}})
        if is_main and spec.export:
            ck = os.path.join(spec.out, "checkpoints", "last.pt")
            info = export_onnx(ck, os.path.join(spec.out, "model.onnx"),
                               reference_dir=os.path.join(spec.out, "reference"))
            run["export"] = info
        if is_main:
            _atomic_json(run_json, run)
        return run
    except BaseException as e:
        run.update({"status": "cancelled" if isinstance(e, KeyboardInterrupt) else "failed",
                    "error": f"{type(e).__name__}: {e}",
                    "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        if is_main:
            _atomic_json(run_json, run)
        raise
    finally:
        metrics.close()
        if prev is not None:
            signal.signal(signal.SIGTERM, prev)
        if distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def resolve_init(path: str) -> str:
    """--init accepts a checkpoint (.pt) or a model (.onnx): a model's weights are read from the PyTorch
    checkpoint shipped beside it (<name>.pt) or, for a run's model.onnx, <run>/checkpoints/last.pt."""
    if not os.path.isfile(path):
        raise PBCDataError(f"--init: file not found: {path}")
    if not path.lower().endswith(".onnx"):
        return path
    stem = os.path.splitext(path)[0]
    for cand in (stem + ".pt", os.path.join(os.path.dirname(path), "checkpoints", "last.pt")):
        if os.path.isfile(cand):
            return cand
    raise PBCDataError(f"--init {path}: no PyTorch checkpoint beside this model (looked for {stem}.pt and "
                       f"checkpoints/last.pt); pass --init <checkpoint.pt>")


def load_init(path: str, classes: Sequence[str], log=print) -> dict:
    """Loads and checks the initial weights before anything is trained: same contract family, same classes
    in the same order. A model of another contract or other classes is a clear error, not a silent remap."""
    from . import CONTRACT_VERSIONS
    from .export import read_metadata

    if path.lower().endswith(".onnx") and os.path.isfile(path):
        meta = read_metadata(path)
        ver = meta.get("pointbox.contract_version")
        if ver not in CONTRACT_VERSIONS:
            raise PBCDataError(f"--init {path}: not a PointBox point->box model of contract {'/'.join(CONTRACT_VERSIONS)} "
                               f"(its pointbox.contract_version is {ver!r})")
        mc = json.loads(meta.get("pointbox.classes", "[]"))
        if list(mc) != list(classes):
            raise PBCDataError(f"--init {path}: the model's classes {mc} differ from the dataset's {list(classes)}; "
                               f"fine-tuning needs the same classes in the same order (rename categories or train from scratch)")
    ck_path = resolve_init(path)
    try:
        ck = torch.load(ck_path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a non-checkpoint
        raise PBCDataError(f"--init {ck_path}: not a PyTorch checkpoint: {e}") from e
    if not isinstance(ck, dict) or "model" not in ck or "config" not in ck or "classes" not in ck:
        raise PBCDataError(f"--init {ck_path}: not a pbc_trainer checkpoint (needs model, config and classes)")
    if list(ck["classes"]) != list(classes):
        raise PBCDataError(f"--init {ck_path}: the checkpoint's classes {ck['classes']} differ from the dataset's "
                           f"{list(classes)}; fine-tuning needs the same classes in the same order")
    log(f"init from {ck_path} (epoch {ck.get('epoch')}, head {ck['config'].get('head', 'ltrb')})")
    return ck


def apply_init(model: torch.nn.Module, ck: dict, log=print) -> None:
    """Copies the initial weights. From a v1 (ltrb) model into a residual model, everything but the head's
    last layer and the prior buffers is copied, so the new model still starts exactly at the prior box."""
    own = model.state_dict()
    src = ck["model"]
    same_head = ck["config"].get("head", "ltrb") == model.cfg.head
    skip = set() if same_head else {"box_head.l2.weight", "box_head.l2.bias"}
    skip |= {"prior", "learned", "prior_score"}  # this run's prior (kept from the initial model unless refitted)
    copied = 0
    for k, v in src.items():
        if k in skip or k not in own or own[k].shape != v.shape:
            continue
        own[k] = v
        copied += 1
    model.load_state_dict(own)
    log(f"init: copied {copied} of {len(own)} tensors" + ("" if same_head else " (new box head: starts at the prior box)"))


def make_film_source(spec: TrainSpec, data: PBCData, log=print):
    from .lesions import LesionRenderer, sizes_from_public_tables
    from .realfilms import FilmSource

    sizes = {}
    if spec.lesion_tables:
        nih = os.path.join(spec.lesion_tables, "nih_BBox_List_2017.csv")
        rsna = os.path.join(spec.lesion_tables, "rsna_stage_2_train_labels.csv")
        ex_i, ex_p = [], []
        if spec.exclude_from:
            ex_i, ex_p = excluded_from(spec.exclude_from)
        sizes = sizes_from_public_tables(nih if os.path.isfile(nih) else None, rsna if os.path.isfile(rsna) else None, ex_i, ex_p)
        log(f"lesion sizes from {spec.lesion_tables}: " + ", ".join(f"{k} {len(v)}" for k, v in sizes.items())
            + (f" (left out: {len(ex_i)} images, {len(ex_p)} RSNA patients of {spec.exclude_from})" if spec.exclude_from else ""))
    weights = {}
    for part in spec.class_weights.split(","):
        if ":" in part:
            k, v = part.split(":", 1)
            weights[k.strip()] = float(v)
    fs = FilmSource(spec.real_films, data.image_size, data.classes, LesionRenderer(sizes),
                    cache_dir=spec.film_cache or os.path.join(spec.out, "cache"), class_weights=weights,
                    max_films=spec.max_films, log=log)
    if spec.copy_paste:
        cp = load_pbc_export(spec.copy_paste, data.image_size, need_boxes=True)
        if cp.classes != data.classes:
            remap = {i: data.classes.index(c) for i, c in enumerate(cp.classes) if c in data.classes}
            for r in cp.train_box:
                keep = np.asarray([int(l) in remap for l in r.labels])
                r.labels = np.asarray([remap[int(l)] for l in r.labels[keep]], np.int64)
                r.boxes = r.boxes[keep] if r.boxes is not None else None
        n = fs.add_crops(cp.train_box)
        log(f"copy-paste: {n} real lesion crops from {spec.copy_paste}")
    return fs


def excluded_from(folder: str):
    """Images (by file name) and RSNA patients of an evaluation folder laid out like ../shared/data/cxr-png."""
    import csv

    imgs = sorted(os.listdir(os.path.join(folder, "images"))) if os.path.isdir(os.path.join(folder, "images")) else []
    pats = []
    p = os.path.join(folder, "annotations", "rsna_boxes_on_nih.csv")
    if os.path.isfile(p):
        with open(p, newline="") as f:
            pats = sorted({r["patientId"] for r in csv.DictReader(f)})
    return imgs, pats


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
