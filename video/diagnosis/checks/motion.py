"""freeze: the decoded pictures do not change over the sampling window while frames still arrive.

Two measurements per consecutive pair of frames: the mean absolute luma change of the whole
picture, and that of its most changed 40-pixel block. A frozen picture keeps both near zero; a
still scene with sensor noise changes everywhere a little (whole-picture change), a scene with
one small moving car changes one block a lot (block change). Over the pairs, the whole-picture
change is the median and the block change the lower quartile: an encoder refines a still
picture in bursts for a few frames after the stream starts, while a moving car moves in every
pair.
A scene that is both still and noise-free (or smoothed flat by a low bit rate) still looks
frozen; a per-camera `freeze_max_diff` allows for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.thresholds import Thresholds

BLOCK = 40


def _changes(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    diff = np.abs(a.astype(np.int16) - b).astype(np.float32)
    h, w = diff.shape
    bh, bw = max(1, h // BLOCK), max(1, w // BLOCK)
    bs_h, bs_w = h // bh, w // bw
    blocks = diff[: bh * bs_h, : bw * bs_w].reshape(bh, bs_h, bw, bs_w).mean(axis=(1, 3))
    return float(diff.mean()), float(blocks.max())


def freeze(lumas: Sequence[np.ndarray], t: Thresholds,
           window_s: float | None = None) -> Measurement:
    pairs = [(a, b) for a, b in itertools.pairwise(lumas) if a.shape == b.shape]
    if not pairs:
        return Measurement({"freeze": 0.0}, {"freeze_diff": None, "freeze_frames": len(lumas)})
    changes = np.array([_changes(a, b) for a, b in pairs])
    diff = float(np.median(changes[:, 0]))
    block = float(np.percentile(changes[:, 1], 25))

    def low(value: float, fault: float) -> float:
        if fault <= 0:
            return 1.0 if value == 0 else 0.0
        return ramp(value, clean=fault * 6, fault=fault, severe=0.0)

    score = min(low(diff, t.freeze_max_diff), low(block, t.freeze_max_block_diff))
    metrics = {"freeze_diff": r(diff, 4), "freeze_block_diff": r(block, 3),
               "freeze_frames": len(lumas)}
    if window_s is not None:
        metrics["freeze_window_s"] = r(window_s, 3)
    return Measurement({"freeze": score}, metrics)
