"""The spectrum of a picture's row (or column) mean profiles, and how far each frequency stands
above the spectrum around it (prominence): what a band pattern is measured with, in one picture
(`stripes`) or in the change from one picture to the next (`rolling`)."""

from __future__ import annotations

import numpy as np

MIN_PERIOD = 4.0  # pixels at the analysis size; finer patterns are noise or compression
MIN_CYCLES = 8  # a band pattern repeats at least this often across the picture
GAP, REACH = 3, 14  # the baseline is the spectrum 3 … 14 bins away on either side
TILES = 4
MIN_PROMINENCE = 3.0  # a peak weaker than this is part of the scene's smooth spectrum
SPREAD = 3  # bins: one peak (a peak may fall between bins, and the Hann lobe is 3 wide)


def around(x: np.ndarray) -> np.ndarray:
    """Maximum over each bin and its neighbours: a peak may fall between two bins."""
    padded = np.pad(x, ((0, 0), (1, 1)), mode="edge")
    return np.maximum(np.maximum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])


def _side_median(power: np.ndarray, idx: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The median over the last axis of power[:, idx] where `valid` (numpy's nanmedian with the
    invalid ones as NaN, without its masked-array detour: the invalid values sort last as
    infinity, and the middle one, or the mean of the middle two, of the valid ones is taken)."""
    vals = power[:, idx]
    vals[:, ~valid] = np.inf
    vals.sort(axis=2)
    counts = np.count_nonzero(valid, axis=1)
    high = counts // 2
    low = np.where(counts % 2 == 1, high, high - 1)
    pick = np.broadcast_to(np.stack([low, high], axis=1)[None], (*vals.shape[:2], 2))
    ends = np.take_along_axis(vals, pick, axis=2)
    return np.where(counts > 0, (ends[..., 0] + ends[..., 1]) / 2.0, np.nan)  # none valid: NaN, as nanmedian


def prominences(power: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bins, Hann main-lobe power, prominence) of each row of `power`, the power spectra of
    profiles `length` long: how far each frequency stands above the spectrum around it."""
    n = power.shape[1]
    ks = np.arange(MIN_CYCLES, min(n - 2, int(length / MIN_PERIOD)) + 1)
    if ks.size == 0:
        return ks, np.zeros((power.shape[0], 0)), np.zeros((power.shape[0], 0))
    lobe = power[:, ks - 1] + power[:, ks] + power[:, ks + 1]  # Hann main lobe
    reach = np.arange(GAP, REACH + 1)
    left, right = ks[:, None] - reach[None, :], ks[:, None] + reach[None, :]
    # The spectrum of a scene falls steeply; interpolate the baseline between both sides
    # (geometric mean) instead of taking one median over a slope. Bins 0 and 1 are the
    # picture's overall slope, not texture.
    below = _side_median(power, np.clip(left, 0, n - 1), left >= 2)
    above = _side_median(power, np.clip(right, 0, n - 1), right <= n - 1)
    baseline = np.sqrt(np.maximum(below, 1e-9) * np.maximum(above, 1e-9))
    return ks, lobe, lobe / (3 * baseline)
