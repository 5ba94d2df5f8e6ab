"""stripes: periodic bands, found in the spectrum of row means (horizontal bands) and column
means (vertical bands), and told from periodic scene texture by how they behave.

The picture is cut into tiles and each tile's profile (its mean, row by row) gives a power
spectrum. A band pattern is a narrow peak standing high above the spectrum around it
(prominence); a scene's edges and textures give a smooth spectrum. Interference crosses the
whole picture, so a peak counts only when the same frequency stands out in every tile: the
windows of one building or the dashes of one road line do not.

A brick wall, a fence, a flag or rows of windows are periodic too, in every tile. What sets
interference apart is physical:
- it rolls: electrical interference and hum bars are not locked to the frame rate, so their
  phase drifts from frame to frame. A pattern anchored to the scene keeps its phase once the
  scene's own motion (camera shake, a pan) is taken out (`drift`, measured on the profiles of the
  window's luma thumbnails);
- it is new: the camera's commissioned picture (its baseline) did not have it. A static pattern
  the baseline already had is the scene's texture.
Without a baseline, a static pattern is ambiguous (a brick wall, or fixed-pattern interference)
and needs two kinds of stronger evidence. It must stand far above the spectrum's floor
(`stripe_static_prominence`); but that floor is the grain of the picture (sensor noise,
compression), which a camera of higher resolution, downscaled to the analysis size, averages
away: the same wall is up to twice as prominent at 1280 as at 640 px. So it must also carry a
large share of the picture's variation from row to row (`stripe_static_share`, the peak's part
of the profile's power, the same at any resolution): interference is laid over the whole
picture, a crisp wall's courses share it with their harmonics and the rest of the scene (a
soft wall, reduced to its fundamental, has the share but not the prominence). And it must
span the picture evenly (`evenness`): interference is laid over all of it alike, while the
lines of a page or the floors of a facade, which a defocus turns into smooth bands with all the
share, end where the page or the building does. The metrics say which rule decided
(`stripe_rule`: drift, new_since_baseline, static; known_texture when the only pattern is the
baseline's; rolling, below).

Faint bars under a scene's strong horizontal edges (kerbs, roofs, road markings) do not stand
out of the picture's spectrum at all: those edges spread their power over every frequency.
Rolling bars are then found in the change from one picture of the window to the next, where
the still or panning scene is taken out (checks/rolling.py; `stripe_roll`, rule `rolling`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.checks.rolling import rolling
from video.diagnosis.checks.spectrum import (
    MIN_PROMINENCE,
    SPREAD,
    TILES,
    around,
    prominences,
)
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds

PEAKS = 6  # candidates per axis
STRIPS = 16  # narrow strips across a band pattern, for how evenly it spans the picture
# A static pattern without a baseline is interference only as even as this (`evenness`): rolling
# bands on the fit scenes read 0.8 to 1 at their frequency, a page of text that ends inside the
# view reads 0 (a design value, not fitted: the labelled sets' bands all roll).
EVEN = 0.4
# A candidate is the baseline's texture when the baseline had a peak on the same axis at its
# frequency, or at a harmonic or subharmonic of it (a wall's courses give a fundamental and its
# multiples, whose relative strengths change with the light, blur and compression), within
# KNOWN_CYCLES, at least KNOWN_SHARE as prominent: a pattern's prominence varies by an order of
# magnitude with the light and the view's small moves, its presence does not.
KNOWN_CYCLES = 2.0
KNOWN_HARMONICS = (1, 2, 3)
KNOWN_SHARE = 0.05
BASELINE_PEAKS = 24  # periodic patterns kept in a camera's baseline (both axes)
AXES = ("horizontal", "vertical")

Peak = tuple[str, float, float]  # (axis, cycles across the picture, prominence)


@dataclass(frozen=True)
class Candidate:
    axis: str
    cycles: int  # frequency: cycles across the picture's height (horizontal) or width
    length: int  # the profile length at the analysis size
    prominence: float
    amplitude: float  # grey levels
    drift: float | None = None  # radians per frame once the scene's motion is taken out
    known: bool = False
    share: float = 0.0  # of the profile's power (above its slope), in every tile

    @property
    def period(self) -> float:
        return self.length / self.cycles


def _spectrum(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bins, prominence common to every tile, per-tile amplitude spectrum, window sum, share
    common to every tile) of the row profiles of `gray`; each tile is a quarter of the width,
    full height. The share is the Hann lobe's part of the tile's power above bin 1 (0 … 1): it
    does not depend on the picture's grain, which sets the prominence's floor."""
    h, w = gray.shape
    quarter = w // TILES
    profiles = np.stack([gray[:, j * quarter : (j + 1) * quarter].mean(axis=1) for j in range(TILES)])
    window = np.hanning(h)
    spectrum = np.fft.rfft((profiles - profiles.mean(axis=1, keepdims=True)) * window, axis=1)
    power = np.abs(spectrum) ** 2
    ks, lobe, prominence = prominences(power, h)
    if ks.size == 0:
        return ks, np.zeros(0), np.abs(spectrum), np.asarray(window.sum()), np.zeros(0)
    share = lobe / np.maximum(power[:, 2:].sum(axis=1, keepdims=True), 1e-9)
    return ks, around(prominence).min(axis=0), np.abs(spectrum), np.asarray(window.sum()), around(share).min(axis=0)


def _peaks(gray: np.ndarray, axis: str, count: int = PEAKS) -> list[Candidate]:
    """The `count` strongest distinct peaks of one axis, strongest first. A bin on the flank of
    a stronger neighbour is that neighbour's leakage, not a pattern of its own."""
    ks, common, magnitude, wsum, share = _spectrum(gray)
    total = magnitude.sum(axis=0)
    found: list[Candidate] = []
    left = common.copy()
    while len(found) < count and left.size and float(left.max()) >= MIN_PROMINENCE:
        i = int(np.argmax(left))
        # The peak's own bin: the strongest of the plateau that `_around` spreads it over.
        lo = max(1, int(ks[i]) - 2)
        k = int(lo + np.argmax(total[lo : ks[i] + 3]))
        left[np.abs(ks - k) <= SPREAD] = 0.0
        left[i] = 0.0
        if total[k] < total[max(0, k - 2) : k + 3].max():
            continue
        amplitude = 2 * magnitude[:, k - 1 : k + 2].max(axis=1) / float(wsum)
        found.append(
            Candidate(axis, k, gray.shape[0], float(common[i]), float(np.median(amplitude)), share=float(share[i]))
        )
    return found


def evenness(gray: np.ndarray, cycles: int) -> float:
    """How evenly a band pattern of `cycles` (across the picture's height) spans its width: the
    second weakest of STRIPS narrow strips' amplitudes at that frequency over their median.
    Interference is laid over the whole picture alike (about 1); a scene's periodic rows (the
    lines of a page, a facade's floors) end where the object ends (near 0 beyond it)."""
    h, w = gray.shape
    strip = w // STRIPS
    profiles = gray[:, : strip * STRIPS].reshape(h, STRIPS, strip).mean(axis=2, dtype=np.float64).T
    spectrum = np.abs(np.fft.rfft((profiles - profiles.mean(axis=1, keepdims=True)) * _hann(h), axis=1))
    amplitude = np.sort(spectrum[:, max(1, cycles - 1) : cycles + 2].max(axis=1))
    median = float(np.median(amplitude))
    return float(amplitude[1]) / median if median > 0 else 0.0


def periodicity(gray: np.ndarray) -> tuple[float, float, float]:
    """(prominence, period in pixels, amplitude in grey levels) of the strongest horizontal
    band pattern present in every tile."""
    peaks = _peaks(gray, "horizontal", 1)
    if not peaks:
        common = _spectrum(gray)[1]
        return (float(common.max()) if common.size else 0.0), 0.0, 0.0
    p = peaks[0]
    return p.prominence, p.period, p.amplitude


def periodic_peaks(frame: AnalysedFrame) -> tuple[Peak, ...]:
    """The periodic patterns of a picture (for a camera's baseline): (axis, cycles, prominence)."""
    gray = frame.gray_f
    half = BASELINE_PEAKS // 2
    peaks = _peaks(gray, "horizontal", half) + _peaks(gray.T, "vertical", half)
    return merge_peaks((), [(p.axis, float(p.cycles), round(p.prominence, 1)) for p in peaks])


def merge_peaks(old: Sequence[Peak], new: Sequence[Peak]) -> tuple[Peak, ...]:
    """The patterns of both pictures: one entry per axis and frequency, the stronger kept."""
    kept: list[Peak] = []
    for peak in sorted([*old, *new], key=lambda p: -p[2]):
        if not any(q[0] == peak[0] and abs(q[1] - peak[1]) <= KNOWN_CYCLES for q in kept):
            kept.append(peak)
    return tuple(kept[:BASELINE_PEAKS])


def _profile(luma: np.ndarray, axis: str) -> np.ndarray:
    """Row means (horizontal bands) or column means (vertical bands) of a luma picture."""
    dim = 1 if axis == "horizontal" else 0
    return cv2.reduce(luma, dim, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel().astype(np.float64)


@lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    return np.hanning(n)


def _shifts(fa: np.ndarray, fb: np.ndarray, n: int, cycles: Sequence[int]) -> np.ndarray:
    """How far the scene moved from one profile to the next (spectra `fa`, `fb` of profiles of
    length n; pixels, b(n) = a(n - s)), once for each band of `cycles`, leaving that band's own
    bins out: a rolling band is not the scene. Phase correlation gives the whole pixels; the
    median of what each frequency's phase change says (weighted by the square root of its
    magnitude) gives the fraction. The scene's frequencies agree with each other, one band's do not."""
    cross = fb * np.conj(fa)
    cross[:2] = 0
    whole = np.fft.irfft(cross / np.sqrt(np.maximum(np.abs(cross), 1e-9)), n)  # half whitened
    s = int(np.argmax(whole))
    s = s - n if s > n // 2 else s
    f = np.arange(2, n // 4 + 1)
    rest = cross[2 : n // 4 + 1] * np.exp(2j * np.pi * f * s / n)  # what is left: under a pixel
    said = -np.angle(rest) * n / (2 * np.pi * f)
    order = np.argsort(said)
    said, weight, freq = said[order], np.sqrt(np.abs(rest))[order], f[order]
    # For every band at once: its own bins (the Hann main lobe) weigh nothing, and the weighted
    # median is the first reading whose running weight reaches half the total (the running
    # weights never fall, so that is how many stay below half).
    ks = np.asarray(cycles, np.int64)[:, None]
    cumulative = np.cumsum(np.where(np.abs(freq[None, :] - ks) <= 2, 0.0, weight[None, :]), axis=1)
    total = cumulative[:, -1]
    median = np.minimum(np.count_nonzero(cumulative < (total / 2)[:, None], axis=1), len(said) - 1)
    return np.where(total > 0, s + said[median], float(s))


def drifts(lumas: Sequence[np.ndarray], axis: str, cycles: Sequence[int]) -> list[float | None]:
    """For each frequency of `cycles`, the median phase change per frame (radians, 0 … π) of the
    pattern there, over the window's consecutive frames, once the scene's own motion along the
    axis is taken out. None without a window."""
    if len(lumas) < 2 or not cycles:
        return [None] * len(cycles)
    profiles = [_profile(luma, axis) for luma in lumas]
    n = profiles[0].size
    if any(p.size != n for p in profiles):
        return [None] * len(cycles)
    window = _hann(n)
    spectra = [np.fft.rfft((p - p.mean()) * window) for p in profiles]
    ks = np.asarray(cycles, np.int64)
    moves = []
    for fa, fb in itertools.pairwise(spectra):
        s = _shifts(fa, fb, n, cycles)
        # A pattern anchored to the scene moves with it: its phase turns by -2π·k·s/n.
        turn = fb[ks] * np.conj(fa[ks]) * np.exp(2j * np.pi * ks * s / n)
        moves.append(np.abs(np.angle(turn)))
    median = np.median(np.stack(moves), axis=0)
    return [float(m) if k < n // 2 else None for m, k in zip(median, cycles, strict=True)]


def drift(lumas: Sequence[np.ndarray], axis: str, cycles: int) -> float | None:
    """The drift of one frequency (see `drifts`)."""
    return drifts(lumas, axis, [cycles])[0]


def _known(c: Candidate, peaks: Sequence[Peak]) -> bool:
    return any(
        axis == c.axis
        and prominence >= KNOWN_SHARE * c.prominence
        and any(
            abs(c.cycles - m * cycles) <= KNOWN_CYCLES or abs(cycles - m * c.cycles) <= KNOWN_CYCLES
            for m in KNOWN_HARMONICS
        )
        for axis, cycles, prominence in peaks
    )


def candidates(
    frame: AnalysedFrame,
    lumas: Sequence[np.ndarray] = (),
    known: Sequence[Peak] | None = None,
    min_amplitude: float = 0.0,
) -> list[Candidate]:
    """The picture's periodic patterns, with whether the baseline had them and, for those of
    at least `min_amplitude` (fainter ones never raise stripes), how they move."""
    gray = frame.gray_f
    out = []
    for axis, picture in zip(AXES, (gray, gray.T), strict=True):
        found = _peaks(picture, axis)
        seen = [c for c in found if c.amplitude >= min_amplitude]
        moved = dict(zip([c.cycles for c in seen], drifts(lumas, axis, [c.cycles for c in seen]), strict=True))
        for c in found:
            d = moved.get(c.cycles)
            out.append(replace(c, drift=d, known=_known(c, known or ())))
    return out


def stripes(
    frame: AnalysedFrame,
    t: Thresholds,
    lumas: Sequence[np.ndarray] = (),
    known: Sequence[Peak] | None = None,
) -> Measurement:
    """Score the strongest band pattern that behaves like interference: in the picture's
    spectrum (`in_the_picture`), or rolling through the window's pictures (`rolling`: found in
    the change from one picture to the next, where a scene's strong edges do not hide it).
    `lumas` is the window, `known` the baseline's periodic patterns (None: no baseline, or one
    stored before the baseline kept them)."""
    found = in_the_picture(frame, t, lumas, known)
    roll = rolling(lumas, t.stripe_amplitude, t.stripe_drift)
    found.metrics["stripe_roll_prominence"] = 0.0 if roll is None else r(roll.prominence, 1)
    if roll is None:
        return found
    found.metrics |= {
        "stripe_roll_axis": roll.axis,
        "stripe_roll_period_px": r(roll.period, 1),
        "stripe_roll_amplitude": r(roll.amplitude, 2),
        "stripe_roll_step": r(roll.step, 3),
    }
    s_t = t.stripe_roll
    score = ramp(roll.prominence, clean=s_t * 0.3, fault=s_t, severe=s_t * 3)
    if score > found.scores["stripes"]:
        found.scores["stripes"] = score
        found.metrics["stripe_rule"] = "rolling"
    return found


def in_the_picture(
    frame: AnalysedFrame,
    t: Thresholds,
    lumas: Sequence[np.ndarray] = (),
    known: Sequence[Peak] | None = None,
) -> Measurement:
    """Score the strongest band pattern of the picture's spectrum that behaves like
    interference: it drifts over the window `lumas`, or it is new since the baseline (`known`),
    or it is static and dominant."""
    scored: list[tuple[float, str, Candidate]] = []
    for c in candidates(frame, lumas, known, t.stripe_amplitude):
        if c.drift is not None and c.drift >= t.stripe_drift:
            rule, threshold = "drift", t.stripe_prominence
        elif known is not None:
            rule, threshold = ("known_texture", 0.0) if c.known else ("new_since_baseline", t.stripe_prominence)
        else:
            rule, threshold = "static", t.stripe_static_prominence
        score = ramp(c.prominence, clean=threshold * 0.3, fault=threshold, severe=threshold * 3) if threshold else 0.0
        if rule == "static":  # far above the grain, and much of the picture's variation across it
            s_t = t.stripe_static_share
            score = min(score, ramp(c.share, clean=s_t * 0.3, fault=s_t, severe=(1.0 + s_t) / 2))
            if score > 0:  # and over the whole picture alike
                even = evenness(frame.gray_f if c.axis == "horizontal" else frame.gray_f.T, c.cycles)
                score = min(score, ramp(even, clean=EVEN * 0.25, fault=EVEN, severe=(1.0 + EVEN) / 2))
        if c.amplitude < t.stripe_amplitude:  # periodic but too faint to see
            score = min(score, 0.5 * c.amplitude / t.stripe_amplitude)
        scored.append((score, rule, c))
    metrics: dict[str, object] = {"stripe_rule": None, "stripe_candidates": len(scored)}
    if not scored:
        return Measurement(
            {"stripes": 0.0},
            {**metrics, "stripe_prominence": 0.0, "stripe_period_px": 0.0, "stripe_amplitude": 0.0},
        )
    visible = [(rule, c) for _, rule, c in scored if c.amplitude >= t.stripe_amplitude]
    drifts = [c.drift for _, c in visible if c.drift is not None and c.prominence >= t.stripe_prominence]
    # The decisive pattern: the best scored of those bright enough to see, if any.
    score, rule, best = max(scored, key=lambda x: (x[2].amplitude >= t.stripe_amplitude, x[0], x[2].prominence))
    metrics |= {
        "stripe_rule": rule,
        "stripe_prominence": r(best.prominence, 2),
        "stripe_period_px": r(best.period, 1),
        "stripe_amplitude": r(best.amplitude, 2),
        "stripe_axis": best.axis,
        "stripe_drift": None if best.drift is None else r(best.drift, 3),
        # For the fit (bench/vqd_fit.py): the largest drift of a visible pattern prominent
        # enough to be stripes, the strongest visible pattern, and the strongest each rule judges.
        "stripe_max_drift": r(max(drifts), 3) if drifts else None,
        "stripe_visible_prominence": r(max((c.prominence for _, c in visible), default=0.0), 2),
        "stripe_moving_prominence": r(
            max((c.prominence for rule, c in visible if rule in ("drift", "new_since_baseline")), default=0.0), 2
        ),
        "stripe_static_prominence": r(max((c.prominence for rule, c in visible if rule == "static"), default=0.0), 2),
        # The largest share of a visible static pattern prominent enough to be stripes.
        "stripe_static_share": r(
            max(
                (c.share for rule, c in visible if rule == "static" and c.prominence >= t.stripe_prominence),
                default=0.0,
            ),
            3,
        ),
    }
    return Measurement({"stripes": score}, metrics)
