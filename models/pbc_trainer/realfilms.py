"""Training samples made from real chest films: synthetic lesions rendered into them (lesions.py) and, when
real boxed images are given, real lesion crops pasted into them.

Each sample is an ImageRecord at box level, so `train.make_batch` treats it like any boxed image (points
sampled in the boxes, MPC pairs, flips, gamma). On top of that the films get what real data varies in:
crop and scale (with the top-left letterbox a non-square crop produces), contrast, gamma, blur and noise.

Films are loaded once, letterboxed to the model size, and their lung fields estimated once; both are
cached in `<cache>/films-<S>.npz` (keyed by the file list), because estimating 554 lung fields takes
about half a minute.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .anatomy import LungFields, lung_fields
from .data import ImageRecord, PBCDataError, letterbox, read_grey01
from .lesions import FilmLevels, LesionRenderer, kind_of

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".dcm", ".dicom")


@dataclass
class Crop:
    """A real lesion: its pixels with a margin, where the box sits in it, and its class index."""
    pixels: np.ndarray  # float32 [h, w] in [0, 1] of its film's grey range
    box: Tuple[float, float, float, float]  # x1, y1, x2, y2 inside `pixels`
    label: int


class FilmSource:
    def __init__(self, folder: str, image_size: int, classes: Sequence[str], renderer: LesionRenderer,
                 cache_dir: Optional[str] = None, class_weights: Optional[Dict[str, float]] = None,
                 max_films: Optional[int] = None, log=None):
        if not os.path.isdir(folder):
            raise PBCDataError(f"--real-films: folder not found: {folder}")
        names = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXT))
        if max_films:
            names = names[:max_films]
        if not names:
            raise PBCDataError(f"--real-films: no PNG/JPEG/DICOM images in {folder}")
        self.S = image_size
        self.renderer = renderer
        self.classes = list(classes)
        # classes that can be drawn into a film, with how often (Pneumonia-like opacities dominate real data)
        self.kinds: List[Tuple[int, str, float]] = []
        for i, c in enumerate(self.classes):
            k = kind_of(c)
            if k:
                self.kinds.append((i, k, (class_weights or {}).get(c, 1.0)))
        if not self.kinds:
            raise PBCDataError(f"--real-films: none of the classes {self.classes} can be synthesized "
                               f"(known: pneumonia/consolidation, infiltrate, nodule, mass, effusion, pneumothorax, atelectasis)")
        w = np.asarray([k[2] for k in self.kinds], np.float64)
        self.kind_p = w / w.sum()
        self.films, self.lungs = self._load(folder, names, cache_dir, log)
        self.crops: List[Crop] = []
        if log:
            log(f"real films: {len(self.films)} of {len(names)} with lung fields, classes drawn: "
                f"{[self.classes[i] for i, _, _ in self.kinds]}")

    def _load(self, folder, names, cache_dir, log):
        key = hashlib.sha256(json.dumps([folder, names, self.S]).encode()).hexdigest()[:16]
        cache = os.path.join(cache_dir, f"films-{self.S}-{key}.npz") if cache_dir else None
        if cache and os.path.isfile(cache):
            z = np.load(cache)
            return list(z["films"]), [LungFields(l, r) for l, r in zip(z["left"], z["right"])]
        films, lungs = [], []
        for n in names:
            try:
                g = read_grey01(os.path.join(folder, n))
            except Exception as e:  # noqa: BLE001 - one unreadable film must not stop training
                if log:
                    log(f"real films: skipped {n}: {e}")
                continue
            canvas, s = letterbox(g, self.S)
            lf = lung_fields(canvas)
            if lf is None:
                continue
            films.append(canvas.astype(np.float16))
            lungs.append(lf)
        if not films:
            raise PBCDataError(f"--real-films: no film in {folder} gave a lung-field estimate")
        if cache:
            os.makedirs(cache_dir, exist_ok=True)
            tmp = cache + f".tmp{os.getpid()}.npz"
            np.savez_compressed(tmp, films=np.stack(films), left=np.stack([l.left for l in lungs]),
                                right=np.stack([l.right for l in lungs]))
            os.replace(tmp, cache)
        return films, lungs

    # -------------------------------------------------------------------------------- real lesion crops
    def add_crops(self, records: Sequence[ImageRecord], margin: float = 0.15) -> int:
        """Real lesions to paste: every box of the given box-level records (already letterboxed to S)."""
        n = 0
        for r in records:
            if r.boxes is None:
                continue
            img = r.image.astype(np.float32)
            S = img.shape[0]
            for b, lab in zip(r.boxes * S, r.labels):
                w, h = b[2] - b[0], b[3] - b[1]
                if w < 3 or h < 3:
                    continue
                x1, y1 = int(max(0, b[0] - margin * w)), int(max(0, b[1] - margin * h))
                x2, y2 = int(min(S, math.ceil(b[2] + margin * w))), int(min(S, math.ceil(b[3] + margin * h)))
                self.crops.append(Crop(img[y1:y2, x1:x2].copy(), (b[0] - x1, b[1] - y1, b[2] - x1, b[3] - y1), int(lab)))
                n += 1
        return n

    def _paste(self, img: np.ndarray, lungs: LungFields, crop: Crop, rng) -> Optional[Tuple[float, float, float, float]]:
        """Pastes a real lesion into a lung of this film, matched to the film's local brightness and contrast,
        with a feathered edge; returns the pasted box."""
        from scipy import ndimage as ndi

        S = img.shape[0]
        ch, cw = crop.pixels.shape
        scale = math.exp(rng.normal(0, 0.1))
        ph, pw = max(4, int(round(ch * scale))), max(4, int(round(cw * scale)))
        if ph >= S or pw >= S:
            return None
        from PIL import Image

        pix = np.asarray(Image.fromarray(crop.pixels, mode="F").resize((pw, ph), Image.BILINEAR), np.float32)
        side = lungs.left if rng.random() < 0.5 else lungs.right
        ys, xs = np.nonzero(side)
        if len(ys) == 0:
            return None
        # the box centre lands on a lung pixel; real lesions at the same height in the other lung look alike
        k = int(rng.integers(len(ys)))
        bx1, by1, bx2, by2 = (v * scale for v in crop.box)
        cy, cx = ys[k] - (by1 + by2) / 2, xs[k] - (bx1 + bx2) / 2
        y0, x0 = int(round(np.clip(cy, 0, S - ph))), int(round(np.clip(cx, 0, S - pw)))
        dst = img[y0:y0 + ph, x0:x0 + pw]
        mu_s, sd_s = float(pix.mean()), float(pix.std()) + 1e-3
        mu_d, sd_d = float(dst.mean()), float(dst.std()) + 1e-3
        pix = (pix - mu_s) * (sd_d / sd_s) ** 0.5 + mu_d + rng.normal(0, 0.02)
        feather = np.ones((ph, pw), np.float32)
        e = max(1, int(0.12 * min(ph, pw)))
        feather[:e] = 0
        feather[-e:] = 0
        feather[:, :e] = 0
        feather[:, -e:] = 0
        feather = ndi.gaussian_filter(feather, e / 2)
        dst += feather * (pix - dst)
        return (x0 + bx1, y0 + by1, x0 + bx2, y0 + by2)

    # -------------------------------------------------------------------------------- samples
    def _geometry(self, img: np.ndarray, lungs: LungFields, rng) -> Tuple[np.ndarray, LungFields]:
        """Random crop (scale 0.8-1, aspect 0.8-1.25) resized back so its longer side is S, top-left letterbox."""
        from PIL import Image

        S = self.S
        if rng.random() < 0.3:
            return img, lungs
        ch = int(S * rng.uniform(0.8, 1.0))
        cw = int(np.clip(ch * math.exp(rng.uniform(math.log(0.8), math.log(1.25))), 0.6 * S, S))
        y0, x0 = int(rng.integers(0, S - ch + 1)), int(rng.integers(0, S - cw + 1))
        k = S / max(ch, cw)
        nh, nw = max(1, int(round(ch * k))), max(1, int(round(cw * k)))

        def warp(a, mode):
            im = Image.fromarray(a[y0:y0 + ch, x0:x0 + cw], mode=mode).resize((nw, nh), Image.BILINEAR if mode == "F" else Image.NEAREST)
            out = np.zeros((S, S), a.dtype)
            out[:nh, :nw] = np.asarray(im)
            return out

        return warp(img, "F"), LungFields(warp(lungs.left.astype(np.uint8) * 255, "L") > 127,
                                          warp(lungs.right.astype(np.uint8) * 255, "L") > 127)

    @staticmethod
    def _photometric(img: np.ndarray, rng) -> np.ndarray:
        from scipy import ndimage as ndi

        if rng.random() < 0.5:  # contrast around the mean
            m = float(img.mean())
            img = (img - m) * rng.uniform(0.75, 1.3) + m
        if rng.random() < 0.3:
            img = ndi.gaussian_filter(img, rng.uniform(0.3, 1.2))
        if rng.random() < 0.4:
            img = img + rng.normal(0, rng.uniform(0.005, 0.03), img.shape).astype(np.float32)
        lo, hi = float(img.min()), float(img.max())
        return ((img - lo) / max(hi - lo, 1e-6)).astype(np.float32)  # the contract's per-image min-max

    def sample(self, rng, paste_p: float = 0.0) -> Optional[ImageRecord]:
        i = int(rng.integers(len(self.films)))
        img, lungs = self._geometry(self.films[i].astype(np.float32), self.lungs[i], rng)
        if lungs.left.sum() < 50 or lungs.right.sum() < 50:
            return None
        img = img.copy()
        levels = FilmLevels.of(img, lungs)
        boxes, labels = [], []
        for _ in range(1 if rng.random() < 0.7 else 2):
            if self.crops and rng.random() < paste_p:
                c = self.crops[int(rng.integers(len(self.crops)))]
                b = self._paste(img, lungs, c, rng)
                lab = c.label
            else:
                j = int(rng.choice(len(self.kinds), p=self.kind_p))
                lab, kind, _ = self.kinds[j]
                les = self.renderer.render(img, lungs, kind, rng, levels)
                b = les.box if les else None
            if b is not None and b[2] - b[0] >= 2 and b[3] - b[1] >= 2:
                boxes.append(b)
                labels.append(lab)
        if not boxes:
            return None
        img = self._photometric(img, rng)
        bx = np.clip(np.asarray(boxes, np.float32) / self.S, 0, 1)
        return ImageRecord(-1, f"film-{i}", "box", img.astype(np.float16), np.asarray(labels, np.int64), bx, None, 1.0)

    def samples(self, n: int, rng, paste_p: float = 0.0) -> List[ImageRecord]:
        out: List[ImageRecord] = []
        tries = 0
        while len(out) < n and tries < 10 * n:
            tries += 1
            r = self.sample(rng, paste_p)
            if r is not None:
                out.append(r)
        return out
