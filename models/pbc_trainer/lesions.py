"""Synthetic lesions rendered into real chest radiographs, for training the point->box model on real anatomy.

A model trained on phantoms alone learned phantom lesions on phantom anatomy and did not transfer to real
films (models/README.md). Real films without boxes are plentiful; real boxes are not. So the lesions are
synthetic but the anatomy, exposure, noise and devices around them are real, and the lesions are placed
the way radiologists' boxes sit on real films:

- *consolidation* (Pneumonia) and *patchy infiltrate* (Infiltrate): a region of one lung that spans most of
  the lung's width at its level (RSNA boxes end at the chest wall and the heart border), with a box height
  drawn from the public RSNA/NIH box tables, irregular soft edges, patchy density and air bronchograms;
- *nodule* and *mass*: round / lobulated opacities inside a lung, sizes from the NIH table;
- *effusion*: fluid at a lung base with a meniscus (higher laterally) and a blunted costophrenic angle;
- *pneumothorax*: a lucent rim without vessel markings along the apex and lateral wall, with the visceral
  pleural line;
- *atelectasis*: a plate-like band.
Cardiomegaly is the heart's own border and cannot be drawn in; it keeps the prior box (see model.py).

Everything is blended in the film's own intensity domain: an opacity pulls the pixels towards the film's
soft-tissue level (so ribs stay faintly visible through it, as on a real film), a lucency towards its air
level. The box of a lesion is the bounding box of where its density is at least `BOX_LEVEL` of its peak.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .anatomy import LungFields

BOX_LEVEL = 0.3

# class name (lower case) -> renderer kind; names follow NIH ChestX-ray14 / VinDr-CXR / RSNA
KIND_OF_CLASS = {
    "pneumonia": "consolidation", "consolidation": "consolidation", "lung opacity": "consolidation",
    "infiltrate": "infiltrate", "infiltration": "infiltrate", "nodule": "nodule", "mass": "mass",
    "nodule/mass": "nodule", "effusion": "effusion", "pleural effusion": "effusion",
    "pneumothorax": "pneumothorax", "atelectasis": "atelectasis",
}

def kind_of(class_name: str) -> Optional[str]:
    return KIND_OF_CLASS.get(class_name.strip().lower())


# ------------------------------------------------------------------------------------------------ helpers

class NoiseBank:
    """Smooth random fields (zero mean, unit std) at a few scales, cropped at random offsets: building one
    per lesion with a Gaussian filter costs more than the training step itself."""

    def __init__(self, size: int = 320, scales=(1.5, 3.0, 6.0, 12.0), per_scale: int = 6, seed: int = 12345):
        from scipy import ndimage as ndi

        rng = np.random.default_rng(seed)
        self.size = size
        self.fields: Dict[float, List[np.ndarray]] = {}
        for s in scales:
            lst = []
            for _ in range(per_scale):
                f = ndi.gaussian_filter(rng.standard_normal((size, size)).astype(np.float32), s, mode="wrap")
                lst.append(((f - f.mean()) / (f.std() + 1e-6)).astype(np.float32))
            self.fields[s] = lst

    def get(self, scale: float, h: int, w: int, rng) -> np.ndarray:
        s = min(self.fields, key=lambda k: abs(k - scale))
        f = self.fields[s][int(rng.integers(len(self.fields[s])))]
        if h > self.size or w > self.size:
            f = np.tile(f, (h // self.size + 1, w // self.size + 1))
        y = int(rng.integers(0, f.shape[0] - h + 1))
        x = int(rng.integers(0, f.shape[1] - w + 1))
        out = f[y:y + h, x:x + w]
        if rng.random() < 0.5:
            out = out[:, ::-1]
        return out


_BANK: Optional[NoiseBank] = None


def noise_bank() -> NoiseBank:
    global _BANK
    if _BANK is None:
        _BANK = NoiseBank()
    return _BANK


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _bbox(mask: np.ndarray) -> Optional[Tuple[int, int, int, int]]:
    ys = np.nonzero(mask.any(1))[0]
    xs = np.nonzero(mask.any(0))[0]
    if len(ys) == 0:
        return None
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1


@dataclass
class FilmLevels:
    """Intensity levels of one film: soft tissue (what an opacity tends to) and air (what a lucency tends to)."""
    tissue: float
    air: float

    @staticmethod
    def of(grey01: np.ndarray, lungs: Optional[LungFields]) -> "FilmLevels":
        S = grey01.shape[0]
        c = grey01[S // 8: S * 7 // 8, S // 8: S * 7 // 8]
        tissue = float(np.percentile(c, 85))
        air = float(np.percentile(grey01[lungs.both], 5)) if lungs is not None and lungs.both.any() else float(np.percentile(c, 5))
        return FilmLevels(tissue, air)


def _blend_opacity(img: np.ndarray, density: np.ndarray, y0: int, x0: int, strength: float, levels: FilmLevels) -> None:
    h, w = density.shape
    roi = img[y0:y0 + h, x0:x0 + w]
    target = max(levels.tissue, float(np.percentile(roi, 60)) + 0.05)
    roi += strength * density * np.clip(target - roi, 0.0, None)


# ------------------------------------------------------------------------------------------------ lesions

@dataclass
class Lesion:
    kind: str
    box: Tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the image


class LesionRenderer:
    """Renders lesions into [S, S] films in [0, 1]. `sizes`: per kind, (w, h) arrays of public box sizes as
    fractions of the image side, sampled to size the lesions (None = built-in ranges)."""

    def __init__(self, sizes: Optional[Dict[str, np.ndarray]] = None):
        self.sizes = sizes or {}

    def _size(self, kind: str, rng, S: int, default: Tuple[float, float]) -> Tuple[float, float]:
        arr = self.sizes.get(kind)
        if arr is not None and len(arr):
            w, h = arr[int(rng.integers(len(arr)))]
            j = np.exp(rng.normal(0, 0.1, 2))
            return float(w * S * j[0]), float(h * S * j[1])
        w, h = default
        j = np.exp(rng.normal(0, 0.35, 2))
        return float(w * S * j[0]), float(h * S * j[1])

    def render(self, img: np.ndarray, lungs: LungFields, kind: str, rng, levels: Optional[FilmLevels] = None) -> Optional[Lesion]:
        """Draws one lesion of `kind` into img (in place). Returns its box, or None when it did not fit."""
        levels = levels or FilmLevels.of(img, lungs)
        side = lungs.left if rng.random() < 0.5 else lungs.right
        if side.sum() < 50:
            return None
        fn = {"consolidation": self._consolidation, "infiltrate": self._infiltrate, "nodule": self._nodule,
              "mass": self._mass, "effusion": self._effusion, "pneumothorax": self._pneumothorax,
              "atelectasis": self._atelectasis}[kind]
        return fn(img, side, side is lungs.left, rng, levels)

    # -- opacities spanning the lung's width (RSNA-like) -------------------------------------------------
    def _region_band(self, img, lung, left, rng, h, y_bias, width_frac):
        S = img.shape[0]
        rows = np.nonzero(lung.any(1))[0]
        top, bottom = int(rows[0]), int(rows[-1])
        H = bottom - top
        h = float(np.clip(h, 0.12 * H, 1.0 * H))
        lo, hi = top + h / 2, bottom - h / 4
        if hi <= lo:
            hi = lo + 1
        yc = lo + (hi - lo) * rng.beta(*y_bias)
        y1, y2 = int(max(0, yc - h / 2)), int(min(S, yc + h / 2))
        band = lung[y1:y2]
        cols = np.nonzero(band.any(0))[0]
        if len(cols) < 4 or y2 - y1 < 4:
            return None
        xl, xr = int(cols[0]), int(cols[-1]) + 1
        W = xr - xl
        f = rng.uniform(*width_frac)
        keep = max(4, int(round(W * f)))
        lateral_first = rng.random() < 0.6
        if lateral_first:  # against the chest wall (image-left lung: lateral = small x)
            x1, x2 = (xl, xl + keep) if left else (xr - keep, xr)
        else:
            off = int(rng.integers(0, W - keep + 1))
            x1, x2 = xl + off, xl + off + keep
        return y1, y2, x1, x2

    def _soft_region(self, lung, y1, y2, x1, x2, rng, edge_noise=0.35, pad=6):
        from scipy import ndimage as ndi

        S = lung.shape[0]
        Y1, Y2, X1, X2 = max(0, y1 - pad), min(S, y2 + pad), max(0, x1 - pad), min(S, x2 + pad)
        h, w = Y2 - Y1, X2 - X1
        reg = np.zeros((h, w), np.float32)
        reg[y1 - Y1:y2 - Y1, x1 - X1:x2 - X1] = 1.0
        # the lesion lives in the lung (dilated a little: real opacities reach the pleura)
        inlung = ndi.binary_dilation(lung[Y1:Y2, X1:X2], iterations=2).astype(np.float32)
        reg *= inlung
        sig = max(1.0, 0.08 * min(y2 - y1, x2 - x1))
        reg = ndi.gaussian_filter(reg, sig)
        n = noise_bank().get(max(2.0, sig), h, w, rng)
        soft = _smoothstep(reg + edge_noise * 0.25 * n, 0.35, 0.65)
        return soft, Y1, X1

    def _finish(self, img, density, Y1, X1, strength, levels, kind, margin=1.0) -> Optional[Lesion]:
        if density.max() <= 0:
            return None
        _blend_opacity(img, density, Y1, X1, strength, levels)
        bb = _bbox(density >= BOX_LEVEL * density.max())
        if bb is None:
            return None
        x1, y1, x2, y2 = bb
        if margin != 1.0:
            cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * margin / 2, (y2 - y1) * margin / 2
            x1, x2, y1, y2 = cx - hw, cx + hw, cy - hh, cy + hh
        S = img.shape[0]
        return Lesion(kind, (max(0.0, X1 + x1), max(0.0, Y1 + y1), min(S, X1 + x2), min(S, Y1 + y2)))

    def _air_bronchograms(self, density, rng):
        """A few branching lucent tubes inside the opacity (blurred so they are tubes, not pixel lines)."""
        from scipy import ndimage as ndi

        h, w = density.shape
        tubes = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(1, 4))):
            y, x = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
            ang = rng.uniform(0, 2 * math.pi)
            for _ in range(int(0.4 * max(h, w))):
                ang += rng.normal(0, 0.12)
                y += math.sin(ang)
                x += math.cos(ang)
                iy, ix = int(y), int(x)
                if not (0 <= iy < h and 0 <= ix < w):
                    break
                tubes[iy, ix] = 1.0
        tubes = ndi.gaussian_filter(tubes, 0.8)
        return density * (1.0 - 0.5 * np.clip(tubes / max(float(tubes.max()), 1e-6), 0, 1))

    # Real airspace opacities run from barely visible to dense; the faint end matters most, because there the
    # box has to come from the anatomy (lung edges, level) rather than from the lesion's own edges.
    def _consolidation(self, img, lung, left, rng, levels, kind="consolidation", strength=(0.05, 0.65), patch=0.5):
        S = img.shape[0]
        w, h = self._size(kind, rng, S, (0.21, 0.29))
        band = self._region_band(img, lung, left, rng, h, (2.0, 1.3), (0.55, 1.0))
        if band is None:
            return None
        y1, y2, x1, x2 = band
        soft, Y1, X1 = self._soft_region(lung, y1, y2, x1, x2, rng)
        # patchy at two scales: lobular blotches and a finer mottling, so it never looks like a flat plate
        n = 0.75 * noise_bank().get(rng.uniform(3, 8), *soft.shape, rng) + 0.35 * noise_bank().get(1.5, *soft.shape, rng)
        density = soft * np.clip(1 - patch + patch * 0.5 * (n + 1), 0, 1)
        if kind == "consolidation" and rng.random() < 0.6:
            density = self._air_bronchograms(density, rng)
        return self._finish(img, density, Y1, X1, rng.uniform(*strength), levels, kind)

    def _infiltrate(self, img, lung, left, rng, levels):
        return self._consolidation(img, lung, left, rng, levels, kind="infiltrate", strength=(0.05, 0.5), patch=0.8)

    # -- focal opacities ----------------------------------------------------------------------------------
    def _blob(self, img, lung, rng, levels, kind, r, lobes, strength, margin):
        from scipy import ndimage as ndi

        S = img.shape[0]
        inner = ndi.binary_erosion(lung, iterations=max(1, int(r * 0.6)))
        ys, xs = np.nonzero(inner if inner.any() else lung)
        if len(ys) == 0:
            return None
        k = int(rng.integers(len(ys)))
        cy, cx = float(ys[k]), float(xs[k])
        R = int(math.ceil(r * 2.2)) + 2
        Y1, X1 = max(0, int(cy) - R), max(0, int(cx) - R)
        Y2, X2 = min(S, int(cy) + R), min(S, int(cx) + R)
        yy, xx = np.mgrid[Y1:Y2, X1:X2].astype(np.float32)
        d = np.zeros_like(yy)
        for i in range(lobes):
            oy, ox = (rng.normal(0, 0.35 * r, 2) if i else (0.0, 0.0))
            rr = r * (rng.uniform(0.6, 0.9) if i else 1.0)
            e = rng.uniform(0.8, 1.25)
            dist = np.sqrt(((yy - cy - oy) * e) ** 2 + ((xx - cx - ox) / e) ** 2)
            d = np.maximum(d, 1.0 / (1.0 + np.exp((dist - rr) / max(0.6, 0.18 * rr))))
        d *= np.clip(1.0 + 0.15 * noise_bank().get(2.0, *d.shape, rng), 0, None)
        return self._finish(img, d, Y1, X1, rng.uniform(*strength), levels, kind, margin)

    def _nodule(self, img, lung, left, rng, levels):
        S = img.shape[0]
        w, h = self._size("nodule", rng, S, (0.068, 0.066))
        margin = rng.uniform(1.05, 1.3)
        # the box at BOX_LEVEL of a blob of radius r spans about 2.1 r, then the margin: sized so the box
        # matches the public table's size (checked in tests/test_lesions.py)
        r = max(2.0, math.sqrt(w * h) / (2.1 * margin))
        return self._blob(img, lung, rng, levels, "nodule", r, 1, (0.3, 0.85), margin)

    def _mass(self, img, lung, left, rng, levels):
        S = img.shape[0]
        w, h = self._size("mass", rng, S, (0.12, 0.14))
        margin = rng.uniform(1.0, 1.2)
        r = max(4.0, math.sqrt(w * h) / (2.4 * margin))  # extra lobes widen a mass's box by about 10 %
        return self._blob(img, lung, rng, levels, "mass", r, int(rng.integers(2, 4)), (0.35, 0.9), margin)

    # -- pleura ---------------------------------------------------------------------------------------------
    def _effusion(self, img, lung, left, rng, levels):
        from scipy import ndimage as ndi

        S = img.shape[0]
        rows = np.nonzero(lung.any(1))[0]
        top, bottom = int(rows[0]), int(rows[-1])
        H = bottom - top
        _, h = self._size("effusion", rng, S, (0.2, 0.27))
        he = float(np.clip(h * rng.uniform(0.5, 0.9), 0.12 * H, 0.6 * H))
        yc = bottom - he
        # the fluid fills the lung from below and a little beyond its lowest row (blunted costophrenic angle)
        ext = int(rng.integers(2, 8))
        shifted = np.zeros_like(lung)
        shifted[ext:] = lung[:-ext]
        space = lung | shifted
        cols = np.nonzero(space[int(yc):].any(0))[0]
        if len(cols) < 4:
            return None
        xl, xr = int(cols[0]), int(cols[-1]) + 1
        # fluid gathers laterally first (costophrenic angle): the lateral 50-90 % of the base
        keep = max(4, int(round((xr - xl) * rng.uniform(0.5, 0.9))))
        if left:
            xr = xl + keep
        else:
            xl = xr - keep
        space[:, :xl] = False
        space[:, xr:] = False
        W = xr - xl
        Y1, Y2 = max(0, int(yc - he)), min(S, bottom + ext + 2)
        X1, X2 = max(0, xl - 3), min(S, xr + 3)
        yy, xx = np.mgrid[Y1:Y2, X1:X2].astype(np.float32)
        lat = np.clip((xx - xl) / max(W, 1) if left else (xr - xx) / max(W, 1), 0, 1)  # 0 at the lateral wall
        level = yc - rng.uniform(0.3, 0.8) * he * (1 - lat) ** 2  # meniscus: higher laterally
        inside = ndi.binary_dilation(space[Y1:Y2, X1:X2], iterations=2).astype(np.float32)
        soft_top = rng.uniform(2.0, 6.0)
        density = _smoothstep(yy - level, -soft_top, soft_top) * inside
        density = ndi.gaussian_filter(density, 1.0)
        density *= np.clip(0.7 + 0.3 * (yy - level) / max(he, 1), 0.5, 1.0)  # denser towards the base
        return self._finish(img, density, Y1, X1, rng.uniform(0.35, 0.85), levels, "effusion")

    def _pneumothorax(self, img, lung, left, rng, levels):
        from scipy import ndimage as ndi

        S = img.shape[0]
        rows = np.nonzero(lung.any(1))[0]
        top, bottom = int(rows[0]), int(rows[-1])
        H = bottom - top
        cols = np.nonzero(lung.any(0))[0]
        W = int(cols[-1] - cols[0] + 1)
        dist = ndi.distance_transform_edt(lung)
        depth = rng.uniform(0.06, 0.2) * W
        y_end = top + rng.uniform(0.2, 0.55) * H  # apical and upper lateral (NIH boxes: median 0.20 x 0.20)
        yy, xx = np.mgrid[0:S, 0:S]
        lateral = (xx <= cols[0] + 0.45 * W) if left else (xx >= cols[-1] - 0.45 * W)
        region = lung & (dist < depth) & (yy < y_end) & (lateral | (yy < top + 0.05 * H))
        bb = _bbox(region)
        if bb is None:
            return None
        x1, y1, x2, y2 = bb
        Y1, X1, Y2, X2 = max(0, y1 - 3), max(0, x1 - 3), min(S, y2 + 3), min(S, x2 + 3)
        reg = ndi.gaussian_filter(region[Y1:Y2, X1:X2].astype(np.float32), 1.0)
        roi = img[Y1:Y2, X1:X2]
        smooth = ndi.gaussian_filter(roi, 3.0)
        a = rng.uniform(0.4, 0.9)
        new = roi + reg * (a * (smooth - roi) - rng.uniform(0.2, 0.6) * np.clip(smooth - levels.air, 0, None))
        # visceral pleural line: a thin bright edge where the collapsed lung starts
        inner = ndi.binary_dilation(region[Y1:Y2, X1:X2], iterations=1) & ~region[Y1:Y2, X1:X2] & lung[Y1:Y2, X1:X2]
        new = np.where(inner, new + rng.uniform(0.03, 0.1), new)
        img[Y1:Y2, X1:X2] = new
        return Lesion("pneumothorax", (float(x1), float(y1), float(x2), float(y2)))

    def _atelectasis(self, img, lung, left, rng, levels):
        S = img.shape[0]
        rows = np.nonzero(lung.any(1))[0]
        top, bottom = int(rows[0]), int(rows[-1])
        H = bottom - top
        w, h = self._size("atelectasis", rng, S, (0.167, 0.115))
        yc = top + H * rng.uniform(0.45, 0.9)
        row = lung[min(int(yc), S - 1)]
        cols = np.nonzero(row)[0] if row.any() else np.nonzero(lung.any(0))[0]
        xl, xr = int(cols[0]), int(cols[-1]) + 1
        L = float(np.clip(w * rng.uniform(1.15, 1.75), 6, (xr - xl) * 1.1))
        T = float(np.clip(h * rng.uniform(0.75, 1.45), 3, 0.4 * H))
        xc = rng.uniform(xl + L / 3, max(xl + L / 3 + 1, xr - L / 3))
        ang = math.radians(rng.uniform(-25, 25))
        R = int(L / 2 + T) + 3
        Y1, X1, Y2, X2 = max(0, int(yc) - R), max(0, int(xc) - R), min(S, int(yc) + R), min(S, int(xc) + R)
        yy, xx = np.mgrid[Y1:Y2, X1:X2].astype(np.float32)
        u = (xx - xc) * math.cos(ang) + (yy - yc) * math.sin(ang)
        v = -(xx - xc) * math.sin(ang) + (yy - yc) * math.cos(ang)
        d = (u / (L / 2)) ** 2 + (v / (T / 2)) ** 2
        from scipy import ndimage as ndi

        inlung = ndi.binary_dilation(lung[Y1:Y2, X1:X2], iterations=2)
        n = noise_bank().get(3.0, *d.shape, rng)
        density = _smoothstep(1.1 - d + 0.15 * n, 0.0, 0.8) * inlung * np.clip(0.75 + 0.25 * n, 0, 1)
        return self._finish(img, density.astype(np.float32), Y1, X1, rng.uniform(0.15, 0.5), levels, "atelectasis")


def sizes_from_public_tables(nih_csv: Optional[str], rsna_csv: Optional[str], exclude_images: Sequence[str] = (),
                             exclude_patients: Sequence[str] = (), side: float = 1024.0) -> Dict[str, np.ndarray]:
    """(w, h) fractions of the image side per lesion kind, from the public NIH BBox list and the RSNA stage-2
    labels (both on 1024 x 1024 films), leaving out the given images / patients (an evaluation set)."""
    import csv

    out: Dict[str, List[Tuple[float, float]]] = {}
    ex_i, ex_p = set(exclude_images), set(exclude_patients)
    if nih_csv:
        with open(nih_csv, newline="") as f:
            rd = csv.reader(f)
            next(rd, None)
            for row in rd:
                if len(row) < 6 or row[0] in ex_i:
                    continue
                k = kind_of(row[1])
                if k:
                    out.setdefault(k, []).append((float(row[4]) / side, float(row[5]) / side))
    if rsna_csv:
        with open(rsna_csv, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("Target") == "1" and row.get("width") and row["patientId"] not in ex_p:
                    out.setdefault("consolidation", []).append((float(row["width"]) / side, float(row["height"]) / side))
    return {k: np.asarray(v, np.float32) for k, v in out.items()}
