"""color_cast: the equivalent-circle method on the a*b* plane, K = D / M.

D is the distance of the mean chroma from neutral, M the mean spread around it: a cast shifts
the whole distribution (large D) and squeezes it (small M), while a colourful scene spreads it
(large M). A scene dominated by one natural colour (a lawn, a river) also has a large K; with
the camera's reference picture the shift is measured from that reference instead, which keeps
such scenes clean.
"""

from __future__ import annotations

import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds


def chroma_stats(lab: np.ndarray) -> tuple[float, float, float, float]:
    """(mean a*, mean b*, M_a, M_b) over pixels that are neither black nor clipped."""
    sub = lab.reshape(-1, 3)
    keep = (sub[:, 0] > 20) & (sub[:, 0] < 250)
    if keep.sum() < 100:
        keep[:] = True
    a, b = sub[keep, 1], sub[keep, 2]
    da, db = float(a.mean()), float(b.mean())
    return da, db, float(np.abs(a - da).mean()), float(np.abs(b - db).mean())


def color_cast(frame: AnalysedFrame, t: Thresholds, reference_chroma: tuple[float, float] | None = None) -> Measurement:
    da, db, ma, mb = chroma_stats(frame.lab)
    m = max(float(np.hypot(ma, mb)), 1.0)
    d = float(np.hypot(da, db))
    metrics = {"cast_k": r(d / m), "cast_d": r(d, 2), "cast_m": r(m, 2), "a_mean": r(da, 2), "b_mean": r(db, 2)}
    if reference_chroma is not None:
        shift = float(np.hypot(da - reference_chroma[0], db - reference_chroma[1]))
        metrics["cast_shift"] = r(shift, 2)
    else:
        shift = d
    k = d / m
    by_offset = ramp(shift, clean=0.0, fault=t.cast_offset, severe=t.cast_offset * 2.5)
    if reference_chroma is not None:
        # The camera's own view is the neutral point: its lawn or river is not a cast.
        return Measurement({"color_cast": by_offset}, metrics)
    # Both the ratio and the offset must be large: a faint tint of a grey scene has a large K
    # but is not visible, a colourful scene has a large offset but a larger spread.
    by_k = ramp(k, clean=t.cast_k * 0.4, fault=t.cast_k, severe=t.cast_k * 2)
    return Measurement({"color_cast": min(by_k, by_offset)}, metrics)
