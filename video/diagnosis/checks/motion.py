"""freeze: the decoded pictures do not change over the sampling window while frames still arrive.

Three measurements per consecutive pair of frames: the mean absolute luma change of the whole
picture, that of its most changed 40-pixel block, and the number of pixels that changed by more
than 24 grey levels. A frozen picture keeps all three near zero. A still scene with sensor
noise changes everywhere a little (whole picture); a scene with one small moving car changes
one block a lot (block) or, far away in a 1080p picture, a few pixels strongly (moving pixels):
an encoder refining a still picture changes many pixels a little, not a few a lot. Over the
pairs, the block change and the moving pixels are the lower quartile, the whole-picture change
the median: an encoder refines a still picture in bursts for a few frames after the stream
starts, while a car moves in every pair.
A scene that is both still and noise-free (or smoothed flat by a low bit rate) still looks
frozen; a per-camera `freeze_max_diff` allows for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, block_sums, r, ramp
from video.diagnosis.thresholds import Thresholds

BLOCK = 40
STRONG = 24  # grey levels: more than an encoder's refinement of a still picture


def _changes(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    diff = cv2.absdiff(a, b)  # uint8, no widening copies
    h, w = diff.shape
    bh, bw = max(1, h // BLOCK), max(1, w // BLOCK)
    bs_h, bs_w = h // bh, w // bw
    blocks = block_sums(diff, (bh, bw), (bs_h, bs_w), np.uint32)
    return float(cv2.mean(diff)[0]), float(blocks.max()) / (bs_h * bs_w), float(np.count_nonzero(diff > STRONG))


def freeze(lumas: Sequence[np.ndarray], t: Thresholds, window_s: float | None = None) -> Measurement:
    pairs = [(a, b) for a, b in itertools.pairwise(lumas) if a.shape == b.shape]
    if not pairs:
        return Measurement({"freeze": 0.0}, {"freeze_diff": None, "freeze_frames": len(lumas)})
    changes = np.array([_changes(a, b) for a, b in pairs])
    diff = float(np.median(changes[:, 0]))
    block = float(np.percentile(changes[:, 1], 25))
    moving = float(np.percentile(changes[:, 2], 25))

    def low(value: float, fault: float) -> float:
        if fault <= 0:
            return 1.0 if value == 0 else 0.0
        return ramp(value, clean=fault * 6, fault=fault, severe=0.0)

    score = min(low(diff, t.freeze_max_diff), low(block, t.freeze_max_block_diff), low(moving, t.freeze_max_moving_px))
    metrics = {
        "freeze_diff": r(diff, 4),
        "freeze_block_diff": r(block, 3),
        "freeze_moving_px": r(moving, 1),
        "freeze_frames": len(lumas),
    }
    if window_s is not None:
        metrics["freeze_window_s"] = r(window_s, 3)
    return Measurement({"freeze": score}, metrics)
