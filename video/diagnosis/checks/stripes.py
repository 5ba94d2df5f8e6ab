"""stripes: periodic bands, found in the spectrum of row means (horizontal bands) and column
means (vertical bands).

The picture is cut into tiles; each tile's detrended profile gives a power spectrum. Interference
crosses the whole picture, so a band counts only when the same frequency dominates in every
tile; the regular windows of one building or the dashes of one road line do not. Rolling bands
move between frames but are periodic in each, so one frame is enough.
"""

from __future__ import annotations

import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds

MIN_PERIOD = 3.0
MIN_CYCLES = 3


def _near(x: np.ndarray) -> np.ndarray:
    """Maximum over each bin and its neighbours: a peak may wander one bin between tiles."""
    padded = np.pad(x, ((0, 0), (1, 1)))
    return np.maximum(np.maximum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])


def periodicity(gray: np.ndarray) -> tuple[float, float, float]:
    """(strength, period in pixels, amplitude in grey levels) of the strongest horizontal band.

    Two tiles down the picture and four across; each tile's profile is its mean row by row.
    """
    h, w = gray.shape
    half, quarter = h // 2, w // 4
    profiles = np.stack([gray[i * half:(i + 1) * half, j * quarter:(j + 1) * quarter].mean(axis=1)
                         for i in range(2) for j in range(4)])
    window = np.hanning(half)
    spectrum = np.fft.rfft((profiles - profiles.mean(axis=1, keepdims=True)) * window, axis=1)
    lo, hi = MIN_CYCLES, int(half / MIN_PERIOD)
    band = spectrum[:, lo: hi + 1]
    power = np.abs(band) ** 2
    share = power / np.maximum(power.sum(axis=1, keepdims=True), 1e-9)
    common = _near(share).min(axis=0)
    k = int(np.argmax(common))
    amplitude = np.median(_near(2 * np.abs(band) / window.sum())[:, k])
    return float(common[k]), float(half / (k + lo)), float(amplitude)


def stripes(frame: AnalysedFrame, t: Thresholds) -> Measurement:
    gray = frame.gray_f
    axis, (strength, period, amplitude) = max(
        (("horizontal", periodicity(gray)), ("vertical", periodicity(gray.T))),
        key=lambda x: x[1][0])
    score = ramp(strength, clean=t.stripe_strength * 0.3, fault=t.stripe_strength,
                 severe=min(1.0, t.stripe_strength * 2))
    if amplitude < t.stripe_amplitude:  # periodic but too faint to see
        score = min(score, 0.5 * amplitude / t.stripe_amplitude)
    return Measurement({"stripes": score}, {
        "stripe_strength": r(strength), "stripe_period_px": r(period, 1),
        "stripe_amplitude": r(amplitude, 2), "stripe_axis": axis,
    })
