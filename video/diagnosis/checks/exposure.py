"""signal_loss (flat screens), too_dark and too_bright: brightness and uniformity of the picture."""

from __future__ import annotations

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, grey_mean, r, ramp, share
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds

# A "no video" caption or a clock overlay puts edges in a few grid cells; a scene, even a very
# dark one, has them spread over many.
STRUCTURE_GRID = 8
CAPTION_CELLS = 0.1


def _structured_cells(frame: AnalysedFrame) -> float:
    edges = (frame.gradient > 16).astype(np.float32)
    cells = cv2.resize(edges, (STRUCTURE_GRID, STRUCTURE_GRID), interpolation=cv2.INTER_AREA)
    return float((cells > 0.02).mean())


def flat_screen(frame: AnalysedFrame, t: Thresholds) -> Measurement:
    """Black, blue or any uniform screen (with an OSD caption at most): almost every pixel has
    the median colour, and edges, if any, sit in a few places. A dark or foggy picture of a
    scene still varies more than that, or has its edges all over."""
    lab = frame.lab[::2, ::2]  # a quarter of the analysis size is plenty for a share
    median = [np.median(lab[..., c]) for c in range(3)]  # per plane: no reduction over interleaved pixels
    # L is 0-255 in OpenCV's 8-bit Lab; a* and b* are centred. One tolerance for the three,
    # narrower on a dark picture, whose content lives in a few grey levels: a night scene is
    # dark, not flat.
    tolerance = float(np.clip(0.5 * median[0], 3.0, t.flat_tolerance))
    deviation = np.abs(lab[..., 0] - median[0])
    for c in (1, 2):
        np.maximum(deviation, np.abs(lab[..., c] - median[c]), out=deviation)
    flat = share(deviation <= tolerance)
    score = (
        ramp(flat, clean=t.flat_fraction - 0.35, fault=t.flat_fraction, severe=1.0)
        if t.flat_fraction < 1
        else (1.0 if flat >= 1 else 0.0)
    )
    structure = _structured_cells(frame) if score >= 0.5 else None
    if structure is not None and structure > CAPTION_CELLS:
        score = min(score, 0.45)  # flat-looking, but a scene is there
    return Measurement(
        {"signal_loss": score},
        {"flat_fraction": r(flat), "structured_cells": None if structure is None else r(structure)},
    )


def brightness_mean(frame: AnalysedFrame) -> float:
    return grey_mean(frame.gray)


def brightness(frame: AnalysedFrame, t: Thresholds, baseline: float | None = None, hourly: bool = False) -> Measurement:
    """Absolute limits; a camera whose normal picture is dim (or bright) has them moved towards
    its own brightness, never past it: a night street is dark on purpose, a dead lamp is not.
    When `baseline` is the camera's normal brightness at this hour of the day (`hourly`), a
    picture far dimmer than that is too dark even above the absolute limit."""
    gray = frame.gray
    mean = grey_mean(gray)
    clipped = share(gray >= 250)
    dark_mean, bright_mean = t.dark_mean, t.bright_mean
    if baseline is not None:
        dark_mean = min(t.dark_mean, baseline * t.dark_ratio)
        if hourly:
            dark_mean = max(dark_mean, baseline * t.hour_dark_ratio)
        bright_mean = min(250.0, max(t.bright_mean, baseline + t.bright_rise))
    dark = ramp(mean, clean=dark_mean * 1.8, fault=dark_mean, severe=dark_mean * 0.4)
    bright_by_mean = ramp(mean, clean=bright_mean - 60, fault=bright_mean, severe=min(254.0, bright_mean + 35))
    bright_by_clip = ramp(
        clipped, clean=0.0, fault=t.bright_clipped_fraction, severe=min(1.0, t.bright_clipped_fraction * 1.8)
    )
    return Measurement(
        {"too_dark": dark, "too_bright": max(bright_by_mean, bright_by_clip)},
        {"brightness_mean": r(mean, 1), "dark_fraction": r(share(gray < 30)), "clipped_fraction": r(clipped)},
    )
