"""A rough estimate of the aerated lung fields of a frontal chest radiograph, from the pixels alone.

Synthetic lesions (`lesions.py`) have to land where real ones do: inside the lungs, spanning the lung's
width at their level (RSNA pneumonia boxes end at the chest wall and the heart border far more often than
anywhere else). No lung masks ship with the real films we may use, and no segmentation model can be
downloaded here, so this is a classical estimate, good enough to place lesions, not to measure anything:

1. smooth, then subtract a heavy blur: lungs are darker than what surrounds them (ribs, chest wall,
   mediastinum, diaphragm), whatever the film's overall exposure;
2. remove the air outside the body (very dark regions connected to the image border, dilated);
3. keep the largest dark component in each half, near the middle vertically; close and fill holes.

It fails on some films (heavily rotated, very low contrast, large effusions); `lung_fields` then returns
None and callers place lesions without anatomy. The test in tests/test_lesions.py checks it on
generated phantoms, whose lungs are known.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class LungFields:
    """Boolean masks [S, S] of the image-left and image-right lung (patient's right and left on a PA film)."""
    left: np.ndarray
    right: np.ndarray

    @property
    def both(self) -> np.ndarray:
        return self.left | self.right


def lung_fields(grey01: np.ndarray) -> Optional[LungFields]:
    """grey01: [S, S] float in [0, 1] (bone bright). Returns the two lung masks, or None when the estimate
    does not look like two lungs."""
    from scipy import ndimage as ndi

    S = grey01.shape[0]
    g = ndi.gaussian_filter(grey01.astype(np.float32), S / 100)
    local = g - ndi.gaussian_filter(g, S / 10)
    q5, q50 = np.percentile(g, [5, 50])
    air = g < q5 + 0.35 * (q50 - q5)
    lab, _ = ndi.label(air)
    border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    outside = np.isin(lab, border[border > 0])
    outside = ndi.binary_dilation(outside, iterations=max(1, S // 40))
    yy, xx = np.mgrid[0:S, 0:S] / S
    cand = (local < -0.01) & ~outside & (yy > 0.08) & (yy < 0.92) & (xx > 0.05) & (xx < 0.95)
    cand = ndi.binary_opening(cand, iterations=S // 100 + 1)
    lab, n = ndi.label(cand)
    if n == 0:
        return None
    idx = np.arange(1, n + 1)
    area = ndi.sum(cand, lab, idx) / (S * S)
    cy, cx = (np.asarray(c) / S for c in zip(*ndi.center_of_mass(cand, lab, idx)))
    keep = area >= 0.015
    pick = {}
    for side, lo, hi in (("left", 0.1, 0.5), ("right", 0.5, 0.9)):
        ok = keep & (cx >= lo) & (cx < hi) & (cy > 0.2) & (cy < 0.7)
        if not ok.any():
            return None
        pick[side] = int(idx[ok][np.argmax(area[ok])])
    out = {}
    for side, comp in pick.items():
        m = lab == comp
        m = ndi.binary_closing(m, iterations=max(1, S // 40), border_value=0)
        out[side] = ndi.binary_fill_holes(m)
    return LungFields(out["left"], out["right"])
