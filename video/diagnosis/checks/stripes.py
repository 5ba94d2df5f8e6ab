"""stripes: periodic bands, found in the spectrum of row means (horizontal bands) and column
means (vertical bands).

The picture is cut into tiles and each tile's profile (its mean, row by row) gives a power
spectrum. A band pattern is a narrow peak standing high above the spectrum around it
(prominence); a scene's edges and textures give a smooth spectrum. Interference crosses the
whole picture, so a peak counts only when the same frequency stands out in every tile: the
windows of one building or the dashes of one road line do not. Rolling bands move between
frames but are periodic in each, so one frame is enough.
"""

from __future__ import annotations

import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds

MIN_PERIOD = 4.0  # pixels at the analysis size; finer patterns are noise or compression
MIN_CYCLES = 8  # a band pattern repeats at least this often across the picture
GAP, REACH = 3, 14  # the baseline is the spectrum 3 … 14 bins away on either side
TILES = 4


def _around(x: np.ndarray) -> np.ndarray:
    """Maximum over each bin and its neighbours: a peak may fall between two bins."""
    padded = np.pad(x, ((0, 0), (1, 1)), mode="edge")
    return np.maximum(np.maximum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])


def _side_median(power: np.ndarray, idx: np.ndarray, valid: np.ndarray) -> np.ndarray:
    vals = power[:, idx]
    vals[:, ~valid] = np.nan
    return np.nanmedian(vals, axis=2)


def periodicity(gray: np.ndarray) -> tuple[float, float, float]:
    """(prominence, period in pixels, amplitude in grey levels) of the strongest horizontal
    band pattern present in every tile; each tile is a quarter of the width, full height."""
    h, w = gray.shape
    quarter = w // TILES
    profiles = np.stack([gray[:, j * quarter : (j + 1) * quarter].mean(axis=1) for j in range(TILES)])
    window = np.hanning(h)
    spectrum = np.fft.rfft((profiles - profiles.mean(axis=1, keepdims=True)) * window, axis=1)
    power = np.abs(spectrum) ** 2
    n = power.shape[1]
    ks = np.arange(MIN_CYCLES, min(n - 2, int(h / MIN_PERIOD)) + 1)
    if ks.size == 0:
        return 0.0, 0.0, 0.0
    lobe = power[:, ks - 1] + power[:, ks] + power[:, ks + 1]  # Hann main lobe
    reach = np.arange(GAP, REACH + 1)
    left, right = ks[:, None] - reach[None, :], ks[:, None] + reach[None, :]
    # The spectrum of a scene falls steeply; interpolate the baseline between both sides
    # (geometric mean) instead of taking one median over a slope. Bins 0 and 1 are the
    # picture's overall slope, not texture.
    below = _side_median(power, np.clip(left, 0, n - 1), left >= 2)
    above = _side_median(power, np.clip(right, 0, n - 1), right <= n - 1)
    baseline = np.sqrt(np.maximum(below, 1e-9) * np.maximum(above, 1e-9))
    prominence = lobe / (3 * baseline)
    common = _around(prominence).min(axis=0)
    i = int(np.argmax(common))
    k = int(ks[i])
    magnitude = 2 * np.abs(spectrum[:, k - 1 : k + 2]).max(axis=1) / window.sum()
    return float(common[i]), float(h / k), float(np.median(magnitude))


def stripes(frame: AnalysedFrame, t: Thresholds) -> Measurement:
    gray = frame.gray_f
    axis, (prominence, period, amplitude) = max(
        (("horizontal", periodicity(gray)), ("vertical", periodicity(gray.T))), key=lambda x: x[1][0]
    )
    score = ramp(prominence, clean=t.stripe_prominence * 0.3, fault=t.stripe_prominence, severe=t.stripe_prominence * 3)
    if amplitude < t.stripe_amplitude:  # periodic but too faint to see
        score = min(score, 0.5 * amplitude / t.stripe_amplitude)
    return Measurement(
        {"stripes": score},
        {
            "stripe_prominence": r(prominence, 2),
            "stripe_period_px": r(period, 1),
            "stripe_amplitude": r(amplitude, 2),
            "stripe_axis": axis,
        },
    )
