"""The class-conditional prior box that the residual head starts from (and never has to fall below).

Per class: a box size (w, h) in model-input units (= a fraction of the image's longer side, because the
letterbox scales by the longer side) and a centre offset of the box from the click (dx, dy, in units of
w, h). Sources, in order:
1. a prior table (`--prior-table`, CSV `class,width,height[,unit][,boxes][,source]` with unit `frac`, as
   `pointbox prior-table` writes it from the public NIH / RSNA box tables; models/priors/);
2. the median size of the training export's box-level boxes, for a class with at least `min_boxes` of them;
3. otherwise the class is *prior-only*: the model returns the prior box for it unchanged (the median over
   all classes when nothing else is known), and the report says why.
When fine-tuning (`--init`), the initial model's prior is kept, except for classes refitted from at least
`min_boxes` of the user's boxes with `--refit-prior`.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from .data import ImageRecord, PBCDataError


@dataclass
class ClassPrior:
    w: float
    h: float
    dx: float = 0.0
    dy: float = 0.0
    learned: bool = True
    boxes: int = 0
    source: str = ""
    reason: str = ""
    score: float = 0.5

    def to_json(self) -> dict:
        d = {"w": round(self.w, 6), "h": round(self.h, 6), "dx": round(self.dx, 6), "dy": round(self.dy, 6),
             "learned": self.learned, "boxes": self.boxes, "source": self.source}
        if self.reason:
            d["reason"] = self.reason
        return d


@dataclass
class BoxPrior:
    classes: List[str]
    per_class: Dict[str, ClassPrior] = field(default_factory=dict)

    def rows(self) -> List[List[float]]:
        return [[self.per_class[c].w, self.per_class[c].h, self.per_class[c].dx, self.per_class[c].dy] for c in self.classes]

    def learned(self) -> List[float]:
        return [1.0 if self.per_class[c].learned else 0.0 for c in self.classes]

    def scores(self) -> List[float]:
        return [self.per_class[c].score for c in self.classes]

    def metadata(self) -> str:
        """`pointbox.box_prior` of the ONNX contract v2 (models/README.md)."""
        return json.dumps({"parameterization": "prior-residual", "unit": "frac",
                           "classes": {c: self.per_class[c].to_json() for c in self.classes}})

    def report(self) -> List[str]:
        out = []
        for c in self.classes:
            p = self.per_class[c]
            line = f"prior {c}: {p.w:.3f} x {p.h:.3f} ({p.source}, {p.boxes} boxes)"
            if not p.learned:
                line += f" - prior only: {p.reason}"
            out.append(line)
        return out


def read_prior_table(path: str) -> Dict[str, ClassPrior]:
    """Reads a prior table (CSV as above, or the JSON of `pointbox.box_prior`). Sizes must be in `frac`."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        raise PBCDataError(f"--prior-table: cannot read {path}: {e}") from e
    out: Dict[str, ClassPrior] = {}
    if path.lower().endswith(".json"):
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise PBCDataError(f"--prior-table: {path} is not valid JSON: {e}") from e
        for name, v in (d.get("classes") or {}).items():
            unit = v.get("unit", d.get("unit", "frac"))
            if unit != "frac":
                raise PBCDataError(f"--prior-table: {path}: class {name}: unit {unit!r}; the trainer needs 'frac' "
                                   f"(a fraction of the image's longer side)")
            out[name] = ClassPrior(float(v["w"]), float(v["h"]), float(v.get("dx", 0)), float(v.get("dy", 0)),
                                   boxes=int(v.get("boxes", 0)), source=str(v.get("source", path)))
        return out
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or not {"class", "width", "height"} <= set(rows[0]):
        raise PBCDataError(f"--prior-table: {path}: expected a CSV with columns class,width,height[,unit][,boxes][,source]")
    for i, r in enumerate(rows, start=2):
        try:
            w, h = float(r["width"]), float(r["height"])
        except (TypeError, ValueError):
            raise PBCDataError(f"--prior-table: {path}:{i}: width/height are not numbers") from None
        unit = (r.get("unit") or "px").strip()
        if unit != "frac":
            raise PBCDataError(f"--prior-table: {path}:{i}: unit {unit!r}; the trainer needs 'frac' (a fraction of "
                               f"the image's longer side; `pointbox prior-table` writes it)")
        if not (0 < w <= 1 and 0 < h <= 1):
            raise PBCDataError(f"--prior-table: {path}:{i}: width/height must be in (0, 1] for unit frac")
        out[r["class"].strip()] = ClassPrior(w, h, boxes=int(float(r.get("boxes") or 0)),
                                             source=(r.get("source") or path).strip())
    return out


def build_box_prior(classes: Sequence[str], train_box: Sequence[ImageRecord], table: Optional[Dict[str, ClassPrior]] = None,
                    prior_only: Sequence[str] = (), min_boxes: int = 5, init: Optional[BoxPrior] = None,
                    refit: bool = False) -> BoxPrior:
    by_class: Dict[int, List[np.ndarray]] = {}
    for r in train_box:
        if r.boxes is None:
            continue
        for b, l in zip(r.boxes, r.labels):
            by_class.setdefault(int(l), []).append(b)
    allb = np.concatenate([np.stack(v) for v in by_class.values()]) if by_class else np.zeros((0, 4), np.float32)
    glob = (np.median(allb[:, 2] - allb[:, 0]), np.median(allb[:, 3] - allb[:, 1])) if len(allb) else (0.15, 0.15)
    bp = BoxPrior(list(classes))
    for i, c in enumerate(classes):
        boxes = np.stack(by_class[i]) if i in by_class else np.zeros((0, 4), np.float32)
        n = len(boxes)
        med = (float(np.median(boxes[:, 2] - boxes[:, 0])), float(np.median(boxes[:, 3] - boxes[:, 1]))) if n else None
        if init is not None and c in init.per_class:
            p = ClassPrior(**{**init.per_class[c].__dict__})
            if refit and n >= min_boxes:
                p.w, p.h, p.boxes, p.source = med[0], med[1], n, "training boxes (refitted)"
            elif refit:
                p.reason = (p.reason + "; " if p.reason else "") + f"kept the initial model's prior size: only {n} training box(es) (< {min_boxes})"
        elif table and c in table:
            p = ClassPrior(**{**table[c].__dict__})
        elif n >= min_boxes:
            p = ClassPrior(med[0], med[1], boxes=n, source="training boxes")
        else:
            p = ClassPrior(float(glob[0]), float(glob[1]), learned=False, boxes=n, source="median of all training boxes",
                           reason=f"only {n} training box(es) of this class (< {min_boxes}) and no prior table row")
        if c in prior_only:
            p.learned = False
            p.reason = "prior only by choice (--prior-only-classes)"
        bp.per_class[c] = p
    return bp


def box_prior_from_config(cfg_dict: dict, classes: Sequence[str], meta: Optional[dict] = None) -> Optional[BoxPrior]:
    """The BoxPrior of a checkpoint (config rows + the metadata saved beside them)."""
    rows = cfg_dict.get("box_prior")
    if not rows:
        return None
    learned = cfg_dict.get("prior_learned") or [1.0] * len(rows)
    scores = cfg_dict.get("prior_score") or [0.5] * len(rows)
    bp = BoxPrior(list(classes))
    for c, r, l, s in zip(classes, rows, learned, scores):
        m = (meta or {}).get(c, {})
        bp.per_class[c] = ClassPrior(r[0], r[1], r[2], r[3], learned=bool(l), boxes=int(m.get("boxes", 0)),
                                     source=str(m.get("source", "")), reason=str(m.get("reason", "")), score=float(s))
    return bp
