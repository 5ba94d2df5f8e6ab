"""signal_loss (flat screens), too_dark and too_bright: brightness and uniformity of the picture."""

from __future__ import annotations

import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds


def flat_screen(frame: AnalysedFrame, t: Thresholds) -> Measurement:
    """Black, blue or any uniform screen (with an OSD caption at most): almost every pixel has
    the median colour. A dark or foggy picture still varies more than that."""
    lab = frame.lab[::2, ::2]
    median = np.median(lab.reshape(-1, 3), axis=0)
    # L is 0-255 in OpenCV's 8-bit Lab; a* and b* are centred. One tolerance for the three.
    deviation = np.abs(lab - median).max(axis=2)
    flat = float((deviation <= t.flat_tolerance).mean())
    score = ramp(flat, clean=t.flat_fraction - 0.35, fault=t.flat_fraction, severe=1.0) \
        if t.flat_fraction < 1 else (1.0 if flat >= 1 else 0.0)
    return Measurement({"signal_loss": score}, {"flat_fraction": r(flat)})


def brightness(frame: AnalysedFrame, t: Thresholds) -> Measurement:
    gray = frame.gray
    mean = float(gray.mean())
    clipped = float((gray >= 250).mean())
    dark = ramp(mean, clean=t.dark_mean * 1.8, fault=t.dark_mean, severe=t.dark_mean * 0.4)
    bright_by_mean = ramp(mean, clean=t.bright_mean - 60, fault=t.bright_mean,
                          severe=min(254.0, t.bright_mean + 35))
    bright_by_clip = ramp(clipped, clean=0.0, fault=t.bright_clipped_fraction,
                          severe=min(1.0, t.bright_clipped_fraction * 1.8))
    return Measurement(
        {"too_dark": dark, "too_bright": max(bright_by_mean, bright_by_clip)},
        {"brightness_mean": r(mean, 1), "dark_fraction": r(float((gray < 30).mean())),
         "clipped_fraction": r(clipped)},
    )
