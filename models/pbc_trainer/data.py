"""Reading a PointBox COCO/PBC export (see docs/dataset-schema.md) into memory, letterboxed to the model size.

Everything the model sees lives in *model-input coordinates*: the image is scaled by s = S / max(W, H)
(aspect kept), placed at the top-left of an S x S canvas padded with 0 (before normalization), and every
coordinate (points, boxes) is divided by S, so it is in [0, 1]. IoU is invariant under this uniform
scaling, so AP50 computed here equals AP50 in pixels.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

# Normalization written into the ONNX metadata (pointbox.normalization) and applied by Preprocess below.
NORM_MEAN = 0.5
NORM_STD = 0.25
NORMALIZATION = {
    "grey": "per-image min-max of the grey values to [0,1] (after the DICOM Modality LUT; MONOCHROME1 "
            "inverted so that bone/lesion is bright; RGB(A) PNG converted to luma)",
    "resize": "scale s = S / max(width, height), bilinear with antialiasing",
    "letterbox": "top-left: the resized image occupies [0, round(W*s)) x [0, round(H*s)); the rest is 0 "
                 "(before mean/std)",
    "mean": NORM_MEAN,
    "std": NORM_STD,
    "formula": "image = (grey01 - mean) / std",
    "coordinates": "points and boxes in [0,1] of the S x S model input: x_model = x_pixel * s / S",
}


class PBCDataError(ValueError):
    """A dataset the trainer cannot use, with a message that says what is wrong and what to do."""


# ----------------------------------------------------------------------------------------------- images

def read_grey01(path: str) -> np.ndarray:
    """Reads a PNG/JPEG (8/16-bit grey or RGB(A)) or DICOM file as float32 [H, W] scaled to [0, 1] by min-max."""
    if not os.path.isfile(path):
        raise PBCDataError(f"image not found: {path}")
    with open(path, "rb") as f:
        head = f.read(132)
    is_dicom = head[128:132] == b"DICM" or path.lower().endswith((".dcm", ".dicom"))
    if is_dicom:
        arr = _read_dicom(path)
    else:
        from PIL import Image

        with Image.open(path) as im:
            if im.mode in ("RGB", "RGBA", "P", "LA", "CMYK"):
                im = im.convert("L")
            arr = np.asarray(im)
        arr = arr.astype(np.float32)
        if arr.ndim == 3:
            arr = arr[..., 0]
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.zeros(arr.shape, np.float32)
    return ((arr - lo) / (hi - lo)).astype(np.float32)


def _read_dicom(path: str) -> np.ndarray:
    import pydicom

    ds = pydicom.dcmread(path, force=True)
    try:
        arr = ds.pixel_array.astype(np.float32)
    except Exception as e:  # noqa: BLE001 - pydicom raises many kinds
        raise PBCDataError(f"cannot decode DICOM pixels of {path}: {e}") from e
    if arr.ndim == 3 and getattr(ds, "SamplesPerPixel", 1) == 1:
        arr = arr[0]  # first frame
    elif arr.ndim == 3:
        arr = arr.mean(axis=-1)
    slope = float(getattr(ds, "RescaleSlope", 1) or 1)
    inter = float(getattr(ds, "RescaleIntercept", 0) or 0)
    arr = arr * slope + inter
    if str(getattr(ds, "PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        arr = arr.max() - arr
    return arr


def letterbox(grey01: np.ndarray, size: int) -> Tuple[np.ndarray, float]:
    """Resizes [H, W] in [0,1] to fit size x size at the top-left; returns (canvas float32, scale s)."""
    from PIL import Image

    h, w = grey01.shape
    s = size / max(h, w)
    nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    im = Image.fromarray(grey01.astype(np.float32), mode="F").resize((nw, nh), Image.BILINEAR)
    canvas = np.zeros((size, size), np.float32)
    canvas[:nh, :nw] = np.asarray(im, np.float32)
    return canvas, s


def normalize(canvas01: np.ndarray) -> np.ndarray:
    return (canvas01 - NORM_MEAN) / NORM_STD


# ----------------------------------------------------------------------------------------------- COCO

@dataclass
class ImageRecord:
    image_id: int
    file_name: str
    level: str  # 'box' (boxes + points) or 'point' (points only)
    image: np.ndarray  # float16 [S, S] in [0,1], letterboxed (not yet normalized)
    labels: np.ndarray  # int64 [K] class index
    boxes: Optional[np.ndarray]  # float32 [K, 4] x1y1x2y2 in [0,1], or None for point-only images
    points: Optional[np.ndarray]  # float32 [K, 2] in [0,1] (None = not given: sample in the box)
    scale: float = 1.0  # s: model-input pixels per source pixel


@dataclass
class PBCData:
    classes: List[str]
    category_ids: List[int]
    train_box: List[ImageRecord]
    train_point: List[ImageRecord]
    val: List[ImageRecord]
    files: Dict[str, str] = field(default_factory=dict)
    image_size: int = 256

    def summary(self) -> dict:
        def n_ann(recs):
            return int(sum(len(r.labels) for r in recs))

        return {
            "classes": self.classes,
            "files": self.files,
            "image_size": self.image_size,
            "train_box_images": len(self.train_box), "train_box_annotations": n_ann(self.train_box),
            "train_point_images": len(self.train_point), "train_point_annotations": n_ann(self.train_point),
            "val_images": len(self.val), "val_annotations": n_ann(self.val),
        }


_SPLIT_PATTERNS = {
    "val": re.compile(r"(^|[_\-.])(val|valid|validation)([_\-.]|$)", re.I),
    "train_box": re.compile(r"train.*(box|full|labeled|strong)|(box|full|strong).*train", re.I),
    "train_point": re.compile(r"train.*(point|weak|unlabeled)|(point|weak).*train", re.I),
    "train": re.compile(r"(^|[_\-.])train([_\-.]|$)", re.I),
}


def find_annotation_files(export_dir: str, train_box: Optional[str] = None, train_point: Optional[str] = None,
                          val: Optional[str] = None, require_train: bool = True) -> Dict[str, str]:
    """Finds the COCO JSON files of a PBC export. Explicit paths (absolute or relative to the export dir or
    to its annotations/ folder) win over the name patterns (instances_train_box.json, ..._train_point.json,
    ..._val.json; a lone instances_train.json is split by each image's label level)."""
    if not os.path.isdir(export_dir):
        raise PBCDataError(f"export dir not found: {export_dir} (make one with `pointbox export coco <dataset> "
                           f"--out <dir> --layout pbc`)")
    ann_dir = os.path.join(export_dir, "annotations")
    search = ann_dir if os.path.isdir(ann_dir) else export_dir
    jsons = sorted(f for f in os.listdir(search) if f.endswith(".json"))

    def resolve(p: Optional[str]) -> Optional[str]:
        if p is None:
            return None
        for cand in (p, os.path.join(export_dir, p), os.path.join(search, p)):
            if os.path.isfile(cand):
                return cand
        raise PBCDataError(f"annotation file not found: {p}")

    out: Dict[str, str] = {}
    explicit = {"train_box": resolve(train_box), "train_point": resolve(train_point), "val": resolve(val)}
    for key in ("val", "train_box", "train_point"):
        if explicit[key]:
            out[key] = explicit[key]
            continue
        hits = [f for f in jsons if _SPLIT_PATTERNS[key].search(f)]
        if key != "val":
            hits = [f for f in hits if not _SPLIT_PATTERNS["val"].search(f)]
        if key == "train_box":
            hits = [f for f in hits if not _SPLIT_PATTERNS["train_point"].search(f)]
        if hits:
            out[key] = os.path.join(search, hits[0])
    if "train_box" not in out and "train_point" not in out:
        plain = [f for f in jsons if _SPLIT_PATTERNS["train"].search(f) and not _SPLIT_PATTERNS["val"].search(f)]
        if plain:
            out["train"] = os.path.join(search, plain[0])
    if require_train and "train_box" not in out and "train" not in out and "train_point" not in out:
        raise PBCDataError(
            f"no training annotations in {search}: expected COCO JSON files such as instances_train_box.json "
            f"(+ instances_train_point.json, instances_val.json), found {jsons or 'no .json files'}. "
            f"Is this a `pointbox export coco --layout pbc` directory? Use --train-box/--train-point/--val "
            f"to name the files.")
    return out


def _load_json(path: str) -> dict:
    try:
        with open(path, "r", encoding="utf-8") as f:
            d = json.load(f)
    except json.JSONDecodeError as e:
        raise PBCDataError(f"{path} is not valid JSON: {e}") from e
    for k in ("images", "annotations"):
        if k not in d or not isinstance(d[k], list):
            raise PBCDataError(f"{path} is not a COCO instances file: it has no '{k}' list")
    return d


def _image_path(export_dir: str, ann_file: str, file_name: str, image_root: Optional[str],
                doc_root: Optional[str] = None) -> str:
    # `pointbox export coco`: file_name is relative to <export>/images and to pointbox_export.image_root
    roots = [r for r in (image_root, os.path.join(export_dir, "images"), export_dir, doc_root,
                         os.path.dirname(os.path.dirname(os.path.abspath(ann_file)))) if r]
    if os.path.isabs(file_name) and os.path.isfile(file_name):
        return file_name
    for r in roots:
        p = os.path.join(r, file_name)
        if os.path.isfile(p):
            return p
    raise PBCDataError(f"image '{file_name}' (from {os.path.basename(ann_file)}) not found under "
                       f"{', '.join(roots)}; pass --image-root")


def _level_of(img: dict, anns: Sequence[dict], default: str) -> str:
    lvl = str(img.get("label_level", "")).lower()
    if lvl in ("boxes", "box"):
        return "box"
    if lvl in ("points", "point"):
        return "point"
    if lvl == "unlabeled":
        return "unlabeled"
    return default


def load_pbc_export(export_dir: str, image_size: int = 256, train_box: Optional[str] = None,
                    train_point: Optional[str] = None, val: Optional[str] = None,
                    image_root: Optional[str] = None, val_points: str = "given",
                    seed: int = 0, need_boxes: bool = True, max_images: Optional[int] = None,
                    log=None) -> PBCData:
    """Loads the export. `val_points`: 'given' (annotation `point`, else a seeded random point in the box),
    'center' (box centre) or 'random' (seeded uniform point in the box: the PBC protocol)."""
    files = find_annotation_files(export_dir, train_box, train_point, val, require_train=need_boxes)
    if not files:
        raise PBCDataError(f"no COCO annotation files in {export_dir}")
    docs = {k: _load_json(v) for k, v in files.items()}
    cats: Dict[int, str] = {}
    for d in docs.values():
        for c in d.get("categories", []):
            cats.setdefault(int(c["id"]), str(c.get("name", c["id"])))
    for d in docs.values():
        for a in d["annotations"]:
            cats.setdefault(int(a["category_id"]), str(a["category_id"]))
    if not cats:
        raise PBCDataError(f"no categories and no annotations in {export_dir}")
    cat_ids = sorted(cats)
    cat_index = {c: i for i, c in enumerate(cat_ids)}
    rng = np.random.default_rng(seed + 7919)
    cache: Dict[str, Tuple[np.ndarray, float]] = {}

    def records(key: str, default_level: str) -> List[ImageRecord]:
        d = docs[key]
        by_img: Dict[int, List[dict]] = {}
        for a in d["annotations"]:
            by_img.setdefault(int(a["image_id"]), []).append(a)
        out = []
        imgs = d["images"][: max_images] if max_images else d["images"]
        for img in imgs:
            anns = by_img.get(int(img["id"]), [])
            level = _level_of(img, anns, default_level)
            if level == "unlabeled" or not anns:
                continue  # nothing to learn from (negatives carry no point queries)
            path = _image_path(export_dir, files[key], img["file_name"], image_root,
                               (d.get("pointbox_export") or {}).get("image_root"))
            if path not in cache:
                grey = read_grey01(path)
                cache[path] = letterbox(grey, image_size)
            canvas, s = cache[path]
            k = s / image_size
            labels, boxes, points, has_box, has_pt = [], [], [], True, True
            for a in anns:
                labels.append(cat_index[int(a["category_id"])])
                bb = a.get("bbox")
                if bb and len(bb) == 4 and bb[2] > 0 and bb[3] > 0:
                    boxes.append([bb[0] * k, bb[1] * k, (bb[0] + bb[2]) * k, (bb[1] + bb[3]) * k])
                else:
                    has_box = False
                pt = a.get("point")
                if pt and len(pt) == 2:
                    points.append([pt[0] * k, pt[1] * k])
                else:
                    has_pt = False
            if level == "box" and not has_box:
                level = "point"
            bx = np.clip(np.asarray(boxes, np.float32), 0, 1) if has_box and boxes else None
            px = np.clip(np.asarray(points, np.float32), 0, 1) if has_pt and points else None
            if level == "point" and px is None:
                if bx is None:
                    continue
                px = sample_points_in_boxes(bx, rng)  # a fixed (seeded) click per lesion
            out.append(ImageRecord(int(img["id"]), img["file_name"], level, canvas.astype(np.float16),
                                   np.asarray(labels, np.int64), bx, px, s))
        return out

    train_box_recs: List[ImageRecord] = []
    train_point_recs: List[ImageRecord] = []
    if "train" in docs:
        for r in records("train", "box"):
            (train_box_recs if r.level == "box" else train_point_recs).append(r)
    if "train_box" in docs:
        for r in records("train_box", "box"):
            (train_box_recs if r.level == "box" else train_point_recs).append(r)
    if "train_point" in docs:
        for r in records("train_point", "point"):
            r.level = "point"
            train_point_recs.append(r)
    val_recs = [r for r in records("val", "box") if r.boxes is not None] if "val" in docs else []
    for r in val_recs:
        if val_points == "center" or (r.points is None and val_points == "center"):
            r.points = np.stack([(r.boxes[:, 0] + r.boxes[:, 2]) / 2, (r.boxes[:, 1] + r.boxes[:, 3]) / 2], 1)
        elif val_points == "random" or r.points is None:
            r.points = sample_points_in_boxes(r.boxes, rng)
    if need_boxes and not train_box_recs:
        raise PBCDataError(
            f"the dataset in {export_dir} has no training images with boxes ({', '.join(files.values())}): "
            f"Point DETR learns point->box from box-level images, so mark some train images label_level "
            f"'boxes' (PBC uses 10-50 %) and export again")
    data = PBCData([cats[c] for c in cat_ids], cat_ids, train_box_recs, train_point_recs, val_recs,
                   {k: os.path.abspath(v) for k, v in files.items()}, image_size)
    if log:
        log(f"loaded {export_dir}: {json.dumps(data.summary())}")
    return data


def sample_points_in_boxes(boxes: np.ndarray, rng: np.random.Generator, region: float = 1.0) -> np.ndarray:
    """Uniform points inside each box (region < 1 = the central fraction of the box)."""
    u = rng.random((len(boxes), 2)).astype(np.float32)
    u = 0.5 + (u - 0.5) * region
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    return np.stack([boxes[:, 0] + u[:, 0] * w, boxes[:, 1] + u[:, 1] * h], 1).astype(np.float32)
