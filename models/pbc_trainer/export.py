"""ONNX export (contract in models/README.md) + metadata_props + reference inputs/outputs for parity tests.

`torch.onnx.export` cannot write metadata_props and the `onnx` package is optional here, so the entries are
appended to the serialized ModelProto as field 14 (repeated StringStringEntryProto {key = 1, value = 2}):
protobuf merges repeated fields that appear later in the stream, so this is a valid model.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from . import __version__
from .data import NORMALIZATION
from .model import ModelConfig, PointDETR, count_flops, count_params

OPSET = 17  # LayerNormalization is a single op from opset 17; onnxruntime 1.30 runs it


class _ExportWrapper(torch.nn.Module):
    def __init__(self, m: PointDETR):
        super().__init__()
        self.m = m

    def forward(self, image, points, labels, point_mask):
        return self.m(image, points, labels, point_mask)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _ld(field: int, payload: bytes) -> bytes:
    return _varint((field << 3) | 2) + _varint(len(payload)) + payload


def metadata_bytes(props: Dict[str, str]) -> bytes:
    return b"".join(_ld(14, _ld(1, k.encode()) + _ld(2, v.encode())) for k, v in props.items())


def read_metadata(path_or_bytes) -> Dict[str, str]:
    """Reads ModelProto.metadata_props (top-level field 14) without the onnx package."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        buf = path_or_bytes
    else:
        with open(path_or_bytes, "rb") as f:
            buf = f.read()

    def rd_varint(b, i):
        s = n = 0
        while True:
            c = b[i]
            i += 1
            n |= (c & 0x7F) << s
            s += 7
            if not c & 0x80:
                return n, i

    def fields(b):
        i = 0
        while i < len(b):
            key, i = rd_varint(b, i)
            f, wt = key >> 3, key & 7
            if wt == 0:
                v, i = rd_varint(b, i)
            elif wt == 1:
                v, i = b[i:i + 8], i + 8
            elif wt == 5:
                v, i = b[i:i + 4], i + 4
            elif wt == 2:
                ln, i = rd_varint(b, i)
                v, i = b[i:i + ln], i + ln
            else:
                raise ValueError(f"unsupported wire type {wt}")
            yield f, v

    out = {}
    for f, v in fields(buf):
        if f == 14:
            kv = dict(fields(v))
            out[kv.get(1, b"").decode()] = kv.get(2, b"").decode()
    return out


def load_checkpoint(path: str) -> Tuple[PointDETR, dict]:
    ck = torch.load(path, map_location="cpu")
    cfg = ModelConfig.from_dict(ck["config"])
    m = PointDETR(cfg)
    m.load_state_dict(ck["model"])
    m.eval()
    return m, ck


def reference_inputs(cfg: ModelConfig, seed: int = 0) -> Dict[str, np.ndarray]:
    """B=2, N=3; image 1 has 3 points, image 0 has 2 real + 1 padded point (garbage coords and label)."""
    rng = np.random.default_rng(seed)
    S = cfg.image_size
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32) / S
    img = np.stack([np.exp(-((xx - 0.4) ** 2 + (yy - 0.5) ** 2) / 0.02), np.exp(-((xx - 0.6) ** 2 + (yy - 0.3) ** 2) / 0.01)])
    img = (img + 0.1 * rng.random(img.shape)).astype(np.float32)
    image = ((img - 0.5) / 0.25)[:, None].astype(np.float32)
    points = np.array([[[0.4, 0.5], [0.7, 0.2], [0.9, 0.9]], [[0.6, 0.3], [0.2, 0.8], [0.5, 0.5]]], np.float32)
    labels = np.array([[0, cfg.num_classes - 1, cfg.num_classes - 1], [cfg.num_classes - 1, 0, 0]], np.int64)
    mask = np.array([[1, 1, 0], [1, 1, 1]], np.float32)
    return {"image": image, "points": points, "labels": labels, "point_mask": mask}


def write_reference(model: PointDETR, cfg: ModelConfig, ref_dir: str) -> Dict:
    os.makedirs(ref_dir, exist_ok=True)
    model.eval()
    inp = reference_inputs(cfg)
    with torch.no_grad():
        boxes, scores = model(*(torch.from_numpy(inp[k]) for k in ("image", "points", "labels", "point_mask")))
    arrays = {**inp, "boxes": boxes.numpy(), "scores": scores.numpy()}
    meta = {"inputs": {}, "outputs": {}, "note": "raw little-endian arrays; compare outputs with max abs diff < 1e-4"}
    for k, a in arrays.items():
        fn = f"{k}.bin"
        a = np.ascontiguousarray(a)
        a.astype(a.dtype.newbyteorder("<")).tofile(os.path.join(ref_dir, fn))
        (meta["outputs"] if k in ("boxes", "scores") else meta["inputs"])[k] = {
            "file": fn, "dtype": {"float32": "float32", "int64": "int64"}[str(a.dtype)], "shape": list(a.shape)}
    with open(os.path.join(ref_dir, "reference.json"), "w") as f:
        json.dump(meta, f, indent=2)
    return meta


def export_onnx(checkpoint: str, out: str, reference_dir: Optional[str] = None, opset: int = OPSET,
                extra_meta: Optional[Dict[str, str]] = None) -> Dict:
    model, ck = load_checkpoint(checkpoint)
    cfg = model.cfg
    inp = reference_inputs(cfg)
    args = tuple(torch.from_numpy(inp[k]) for k in ("image", "points", "labels", "point_mask"))
    tmp = out + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    wrapper = _ExportWrapper(model).eval()  # export restores the wrapper's mode afterwards: keep it eval
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, args, tmp, opset_version=opset, do_constant_folding=True,
                          input_names=["image", "points", "labels", "point_mask"], output_names=["boxes", "scores"],
                          dynamic_axes={"image": {0: "B"}, "points": {0: "B", 1: "N"}, "labels": {0: "B", 1: "N"},
                                        "point_mask": {0: "B", 1: "N"}, "boxes": {0: "B", 1: "N"},
                                        "scores": {0: "B", 1: "N"}})
    model.eval()
    spec = ck.get("spec", {})
    provenance = {"checkpoint": os.path.basename(checkpoint), "epoch": ck.get("epoch"), "step": ck.get("step"),
                  "mode": spec.get("mode"), "seed": spec.get("seed"), "epochs": spec.get("epochs"),
                  "data": ck.get("data", {}).get("files"), "val_ap50": ck.get("ap50"),
                  "versions": ck.get("versions"), "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    residual = cfg.head == "residual"
    props = {
        "pointbox.contract_version": "2" if residual else "1",
        "pointbox.classes": json.dumps(ck["classes"]),
        "pointbox.category_ids": json.dumps(ck.get("category_ids", list(range(len(ck["classes"]))))),
        "pointbox.input_size": str(cfg.image_size),
        "pointbox.normalization": json.dumps(NORMALIZATION),
        "pointbox.outputs": json.dumps({"boxes": "x1,y1,x2,y2 in [0,1] of the model input; 0 for padded points",
                                        "scores": "predicted IoU of the box with the true box, [0,1]; 0 for padded points"}),
        "pointbox.model": json.dumps({"arch": "PointDETR-compact", "config": cfg.to_dict(), "params": count_params(model),
                                      "flops_per_image_3_points": count_flops(cfg, 3),
                                      "trainer": f"pbc_trainer {__version__}"}),
        "pointbox.training": json.dumps(provenance),
    }
    if residual:
        from .priors import box_prior_from_config

        bp = box_prior_from_config(cfg.to_dict(), ck["classes"], ck.get("box_prior_meta"))
        props["pointbox.box_prior"] = bp.metadata()
    props.update(extra_meta or {})
    with open(tmp, "ab") as f:
        f.write(metadata_bytes(props))
    os.replace(tmp, out)
    info = {"onnx": os.path.abspath(out), "bytes": os.path.getsize(out), "opset": opset, "params": count_params(model),
            "metadata": sorted(props)}
    if reference_dir:
        write_reference(model, cfg, reference_dir)
        info["reference"] = os.path.abspath(reference_dir)
    return info
