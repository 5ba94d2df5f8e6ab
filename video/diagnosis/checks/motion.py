"""freeze: the decoded pictures do not change over the sampling window while frames still arrive.

Measured as the median, over consecutive frame pairs, of the mean absolute luma change. The
median, not the maximum, because an encoder often refines a still picture for a frame or two
after a keyframe. A live scene changes at least by its sensor noise; only a scene that is both
still and noise-free (or smoothed flat by a low bit rate) looks frozen, which a per-camera
`freeze_max_diff` can allow for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.thresholds import Thresholds


def freeze(lumas: Sequence[np.ndarray], t: Thresholds, window_s: float | None = None) -> Measurement:
    pairs = [(a, b) for a, b in zip(lumas, lumas[1:], strict=False) if a.shape == b.shape]
    if not pairs:
        return Measurement({"freeze": 0.0}, {"freeze_diff": None, "freeze_frames": len(lumas)})
    diffs = [float(np.abs(a.astype(np.int16) - b).mean()) for a, b in pairs]
    diff = float(np.median(diffs))
    clean = max(t.freeze_max_diff * 6, 0.3)
    score = ramp(diff, clean=clean, fault=t.freeze_max_diff, severe=0.0) \
        if t.freeze_max_diff > 0 else (1.0 if diff == 0 else 0.0)
    metrics = {"freeze_diff": r(diff, 4), "freeze_frames": len(lumas)}
    if window_s is not None:
        metrics["freeze_window_s"] = r(window_s, 3)
    return Measurement({"freeze": score}, metrics)
