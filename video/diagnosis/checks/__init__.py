"""The measurements behind each fault code. Each check reads an `AnalysedFrame` and returns
its measurements and the score of the fault(s) it judges; scores are 0 … 1 with 0.5 at the
threshold, so every code reads the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np


@dataclass
class Measurement:
    scores: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def ramp(value: float, clean: float, fault: float, severe: float) -> float:
    """Score of a measurement: 0 at `clean`, 0.5 at the `fault` threshold, 1 at `severe`.

    Works in either direction (for a fault at low values, pass clean > fault > severe).
    """
    if clean == fault or fault == severe:
        raise ValueError("clean, fault and severe must differ")
    if (value - fault) * (severe - fault) >= 0:  # at or past the threshold
        return float(min(1.0, 0.5 + 0.5 * (value - fault) / (severe - fault)))
    return float(max(0.0, 0.5 * (value - clean) / (fault - clean)))


def r(value: float, digits: int = 3) -> float:
    """A JSON-friendly number."""
    return round(float(value), digits)


def block_sums(img: np.ndarray, grid: tuple[int, int], size: tuple[int, int], dtype: type) -> np.ndarray:
    """Each block's sum, for a `grid` of blocks (rows, columns) of `size` pixels from the top left
    (the rest cut off), in `dtype`: down the rows first (whole rows added at once), then along each
    block's columns. Exact sums (integers, or values float64 adds exactly) are the same as one
    reduction over both axes, which is about three times slower."""
    (gh, gw), (sh, sw) = grid, size
    rows = img[: gh * sh, : gw * sw].reshape(gh, sh, gw * sw).sum(axis=1, dtype=dtype)
    return rows.reshape(gh, gw, sw).sum(axis=2, dtype=dtype)


def block_max(img: np.ndarray, grid: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Each block's maximum, blocks as in `block_sums` (down the rows first)."""
    (gh, gw), (sh, sw) = grid, size
    rows = img[: gh * sh, : gw * sw].reshape(gh, sh, gw * sw).max(axis=1)
    return rows.reshape(gh, gw, sw).max(axis=2)


def share(mask: np.ndarray) -> float:
    """The share of true pixels, as `mask.mean()` gives it (an exact count over the size, without
    numpy's float pass over the picture; NaN for an empty mask, as numpy)."""
    return np.count_nonzero(mask) / mask.size if mask.size else float("nan")


def grey_mean(gray: np.ndarray) -> float:
    """The mean of an 8-bit picture: what `gray.mean()` gives (an exact sum over the size; NaN
    for an empty one)."""
    return float(cv2.sumElems(gray)[0]) / gray.size if gray.size else float("nan")


def grey_range(gray: np.ndarray) -> int:
    """The grey range of an 8-bit picture, its 1st to its 99th percentile (dusk and fog shrink
    it, and keep the same edges)."""
    cdf = np.cumsum(cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel())
    lo, hi = np.searchsorted(cdf, (0.01 * cdf[-1], 0.99 * cdf[-1]))
    return int(hi - lo)
