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

A short window cannot tell a frozen picture from a quiet scene seen by a still camera: at dusk
or against the light, a small dim mover changes no pixel by 24 grey levels between consecutive
pictures, and its block changes as little as the encoder refines a frozen one (on the held-out
scenes, still cameras, 0.8-second clips: a street at dusk 0.47, frozen pictures up to 0.27). Half
a second apart, the mover has moved its whole length, while the encoder's refinement of a frozen
picture stays small. So a window that looks frozen is confirmed (`later`): the pictures of
`freeze_confirm_s` more of the stream, `freeze_confirm_gap_s` apart, must look frozen too, by
the block and moving-pixel measures (the median over those pairs: a clock that ticks, or a
keyframe that re-encodes the frozen picture, changes one pair of them), at CONFIRM times the
window's bars: over half a second the encoder's refinement of a frozen picture adds up. Fitted on
the fit scenes, still cameras, three-second clips: the later pictures' block change read at most
0.68 for a frozen picture (a plaza), 1.49 for the one quiet view the short window took for frozen
(fog over flowers); CONFIRM = 2 puts the bar (0.96) in the middle of that gap. On the held-out
scenes: frozen pictures 0.56 at most (a grainy park), the four quiet views 3.7 and more.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, block_sums, r, ramp
from video.diagnosis.frame import per_window
from video.diagnosis.thresholds import Thresholds

BLOCK = 40
STRONG = 24  # grey levels: more than an encoder's refinement of a still picture
CONFIRM = 2.0  # the later pictures' bars, times the window's (see the text)


def _changes(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    diff = cv2.absdiff(a, b)  # uint8, no widening copies
    h, w = diff.shape
    bh, bw = max(1, h // BLOCK), max(1, w // BLOCK)
    bs_h, bs_w = h // bh, w // bw
    blocks = block_sums(diff, (bh, bw), (bs_h, bs_w), np.uint32)
    return float(cv2.mean(diff)[0]), float(blocks.max()) / (bs_h * bs_w), float(np.count_nonzero(diff > STRONG))


def _low(value: float, fault: float) -> float:
    if fault <= 0:
        return 1.0 if value == 0 else 0.0
    return ramp(value, clean=fault * 6, fault=fault, severe=0.0)


def _pairs(lumas: Sequence[np.ndarray]) -> np.ndarray:
    """The three changes of each consecutive pair of pictures of one size, shape (pairs, 3)."""
    return np.array([_changes(a, b) for a, b in itertools.pairwise(lumas) if a.shape == b.shape]).reshape(-1, 3)


def freeze(
    lumas: Sequence[np.ndarray],
    t: Thresholds,
    window_s: float | None = None,
    later: Sequence[np.ndarray] = (),
    later_s: float | None = None,
) -> Measurement:
    """The window's freeze score; with `later` (pictures after the window, `later_s` of stream
    apart in all) also what changed between them, from the window's last picture on."""
    changes = per_window(lumas, _pairs)  # measured once when the sampler already asked (looks_frozen)
    if not len(changes):
        return Measurement({"freeze": 0.0}, {"freeze_diff": None, "freeze_frames": len(lumas)})
    diff = float(np.median(changes[:, 0]))
    block = float(np.percentile(changes[:, 1], 25))
    moving = float(np.percentile(changes[:, 2], 25))
    score = min(
        _low(diff, t.freeze_max_diff), _low(block, t.freeze_max_block_diff), _low(moving, t.freeze_max_moving_px)
    )
    metrics = {
        "freeze_diff": r(diff, 4),
        "freeze_block_diff": r(block, 3),
        "freeze_moving_px": r(moving, 1),
        "freeze_frames": len(lumas),
    }
    if window_s is not None:
        metrics["freeze_window_s"] = r(window_s, 3)
    confirm = _pairs([lumas[-1], *later]) if later else np.zeros((0, 3))
    if len(confirm):
        block, moving = (float(np.median(confirm[:, i])) for i in (1, 2))
        score = min(
            score, _low(block, CONFIRM * t.freeze_max_block_diff), _low(moving, CONFIRM * t.freeze_max_moving_px)
        )
        metrics["freeze_later_block_diff"] = r(block, 3)
        metrics["freeze_later_moving_px"] = r(moving, 1)
        metrics["freeze_later_frames"] = len(later)
        if later_s is not None:
            metrics["freeze_later_s"] = r(later_s, 3)
    return Measurement({"freeze": score}, metrics)


def looks_frozen(lumas: Sequence[np.ndarray], t: Thresholds) -> bool:
    """The window alone reads freeze: worth confirming over `freeze_confirm_s` more."""
    return t.freeze_confirm_s > 0 and freeze(lumas, t).scores["freeze"] >= 0.5
