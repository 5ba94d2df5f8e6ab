"""Rolling bands: a periodic pattern that moves through the picture from frame to frame.

Interference bars (a ground loop, mains hum beating against the frame rate: 滚动条纹) are not
locked to the frame rate, so they roll up or down the picture, while the scene stands still or
moves as a whole (a camera pans slowly, if at all). A single picture's spectrum of row means
does not always show them: a scene with strong horizontal edges (kerbs, roofs, a road's
markings) spreads its power over every frequency, and faint bars do not stand out of it.

The change from one picture to the next does show them. For each consecutive pair of the
window, the row (and column) mean profiles are compared once the picture's overall brightness
is divided out (a flicker of the light) and the scene's own motion along the profile is
taken out (the best shift of one profile onto the next): what is left of a still or panning
scene is grain, a moving object and the edges a pan brings in, none of them periodic. Rolling
bars leave a periodic difference of one frequency, in every tile across the picture (the tiles
are quarters of the width for row profiles, of the height for column profiles), in every pair.
Their difference turns by the same angle from pair to pair: how far they move through the
picture per frame. Relative to the scene, which moved by s pixels, they move by that angle plus
2π·k·s/n (`step`, radians per frame): bars fixed in the picture while the view pans or tilts
move relative to the scene too, texture anchored to the scene does not. The bars' amplitude is
the difference's amplitude over 2·sin(step / 2).

A candidate is checked again against the motion of each tile (a vehicle moves otherwise than
the panning scene behind it: the one shift of the whole profile does not take out a periodic
texture seen past it), with the candidate's own frequencies left out of the motion and the
brightness estimates: whichever of the view's motion and the tile's own explains the tile's
change better is taken out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from video.diagnosis.checks.spectrum import MIN_PROMINENCE, SPREAD, TILES, around, prominences
from video.diagnosis.frame import per_window

CANDIDATES = 3  # the strongest peaks of the differences checked per axis
OWN_BINS = 4  # a pattern's own bins: the Hann main lobe and its leakage
HARMONICS = 3
GAIN = (0.5, 2.0)  # a tile's contrast change between two pictures, at most
# A tile moved on its own (an object, not the view) when its own shift leaves at most this share
# of the change the view's shift leaves: a plain tile's own shift is noise.
OWN_BETTER = 0.5


@dataclass(frozen=True)
class Roll:
    axis: str  # "horizontal" bands (row profiles) or "vertical" (column profiles)
    cycles: int  # across the picture's height (horizontal) or width
    length: int  # the profile length at the analysis size
    prominence: float  # of the frame-to-frame differences, in every tile and pair (median, weakest tile)
    amplitude: float  # grey levels of the bars
    step: float  # radians per frame the pattern moves through the picture, relative to the scene

    @property
    def period(self) -> float:
        return self.length / self.cycles


def _profiles(lumas: Sequence[np.ndarray], axis: str) -> np.ndarray:
    """(frames, tiles, length): row means of each quarter of the width (horizontal), or column
    means of each quarter of the height (vertical)."""
    out: list[np.ndarray] = []
    for luma in lumas:
        h, w = luma.shape
        if axis == "horizontal":  # each row cut in quarters: one reduction over the rows of quarters
            q = w // TILES
            quarters = np.ascontiguousarray(luma[:, : TILES * q]).reshape(h * TILES, q)
            out.append(cv2.reduce(quarters, 1, cv2.REDUCE_AVG, dtype=cv2.CV_32F).reshape(h, TILES).T)
        else:
            q = h // TILES
            out.append(
                np.vstack(
                    [cv2.reduce(luma[j * q : (j + 1) * q], 0, cv2.REDUCE_AVG, dtype=cv2.CV_32F) for j in range(TILES)]
                )
            )
    return np.asarray(out, np.float64)


def _shifts(fa: np.ndarray, fb: np.ndarray, n: int, leave: np.ndarray | None = None) -> np.ndarray:
    """How far each profile moved to the next (spectra fa, fb: (..., bins) of profiles n long;
    pixels, b(x) = a(x - s)), bins where `leave` is true left out. Phase correlation (every
    frequency one vote) gives the whole pixels, the weighted median of what each frequency's
    phase change says the fraction. No frequency weighs more than the median one: a strong
    band does not carry the scene's motion with it."""
    cross = fb * np.conj(fa)
    cross[..., :2] = 0
    if leave is not None:
        cross[..., leave] = 0
    whole = np.fft.irfft(cross / np.maximum(np.abs(cross), 1e-12), n, axis=-1)
    s = np.argmax(whole, axis=-1)
    s = np.where(s > n // 2, s - n, s)
    f = np.arange(2, n // 4 + 1)
    rest = cross[..., f] * np.exp(2j * np.pi * f * s[..., None] / n)
    said = -np.angle(rest) * n / (2 * np.pi * f)
    weight = np.sqrt(np.abs(rest))
    weight = np.minimum(weight, np.median(weight, axis=-1, keepdims=True))
    order = np.argsort(said, axis=-1)
    said = np.take_along_axis(said, order, axis=-1)
    cumulative = np.cumsum(np.take_along_axis(weight, order, axis=-1), axis=-1)
    total = cumulative[..., -1]
    middle = np.minimum(np.count_nonzero(cumulative < (total / 2)[..., None], axis=-1), f.size - 1)
    fraction = np.take_along_axis(said, middle[..., None], axis=-1)[..., 0]
    return np.where(total > 0, s + fraction, s.astype(np.float64))


def _turn(shift: np.ndarray, bins: int, n: int) -> np.ndarray:
    """exp(-2πi·k·s/n) for every bin k: a profile's spectrum moved by s pixels."""
    return np.exp(-2j * np.pi * np.arange(bins) * shift[..., None] / n)


def _common(diff: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(bins, prominence of the differences' peaks in every tile): the median power over the
    pairs (one odd pair does not make a peak), the weakest tile."""
    ks, _, prominence = prominences(np.median(np.abs(diff) ** 2, axis=0), n)
    if ks.size == 0:
        return ks, np.zeros(0)
    return ks, around(prominence).min(axis=0)


def _motion(diff: np.ndarray, k: int, n: int, shift: np.ndarray, level: float, wsum: float) -> tuple[float, float]:
    """(step, amplitude in grey levels) of the pattern at bin k of the differences, made with the
    scene moved by `shift` (pairs, tiles). A pattern moving by φ per frame through the picture
    turns its difference by φ from pair to pair; relative to the scene, which moved by s, it
    moves by φ + 2π·k·s/n (the step), and its difference is 2·sin(step/2) times its amplitude."""
    turns = diff[1:, :, k] * np.conj(diff[:-1, :, k])
    in_frame = float(np.angle(turns.sum()))
    step = abs(float(np.angle(np.exp(1j * (in_frame + 2 * np.pi * k * shift / n)).sum())))
    lobe = (np.abs(diff[:, :, k - 1 : k + 2]) ** 2).sum(axis=2)
    changed = float(np.median(2 * np.sqrt(lobe / 1.5) / wsum)) * level  # the Hann lobe of a sinusoid: 1.5 × its peak²
    return step, changed / (2 * float(np.sin(max(step, 1e-3) / 2)))


def _axis(lumas: Sequence[np.ndarray], axis: str, min_amplitude: float, min_step: float) -> Roll | None:
    profiles = _profiles(lumas, axis)
    frames, tiles, n = profiles.shape
    levels = profiles.mean(axis=(1, 2))
    relative = profiles / np.maximum(levels, 1.0)[:, None, None]  # a flicker of the light divided out
    relative -= relative.mean(axis=2, keepdims=True)
    window = np.hanning(n)
    spectra = np.fft.rfft(relative * window, axis=2)
    whole = np.fft.rfft(relative.mean(axis=1) * window, axis=1)
    bins, level, wsum = spectra.shape[2], float(levels.mean()), float(window.sum())
    a, b = spectra[:-1], spectra[1:]
    view = _shifts(whole[:-1], whole[1:], n)
    moves = np.broadcast_to(view[:, None], (frames - 1, tiles))
    diff = b - a * _turn(view, bins, n)[:, None, :]
    ks, common = _common(diff, n)
    total = (np.abs(diff) ** 2).sum(axis=(0, 1))
    left, best = common.copy(), None
    for _ in range(CANDIDATES):
        if not left.size or float(left.max()) < MIN_PROMINENCE:
            break
        i = int(np.argmax(left))
        k = int(ks[i] - 1 + np.argmax(total[ks[i] - 1 : ks[i] + 2]))  # the peak's own bin
        left[np.abs(ks - k) <= SPREAD] = 0.0
        step, amplitude = _motion(diff, k, n, moves, level, wsum)
        if amplitude < min_amplitude or step < min_step:
            continue
        # Again against each tile's own motion, the candidate's bins left out.
        # The pattern's own bins, and those of its harmonics (bars clipped at black or white).
        leave = np.asarray((np.abs(np.arange(bins)[:, None] - k * np.arange(1, HARMONICS + 1)) <= OWN_BINS).any(axis=1))
        keep = ~leave
        options = []
        for shift in (
            np.broadcast_to(_shifts(whole[:-1], whole[1:], n, leave)[:, None], (frames - 1, tiles)),
            _shifts(a, b, n, leave),
        ):
            moved = a * _turn(shift, bins, n)
            gain = (b[..., keep] * np.conj(moved[..., keep])).real.sum(axis=2) / np.maximum(
                (np.abs(moved[..., keep]) ** 2).sum(axis=2), 1e-12
            )
            d = b - np.clip(gain, *GAIN)[..., None] * moved
            options.append((shift, d, (np.abs(d[..., keep]) ** 2).sum(axis=2)))
        (s1, d1, e1), (s2, d2, e2) = options
        own = e2 < OWN_BETTER * e1
        checked = np.where(own[..., None], d2, d1)
        ks2, common2 = _common(checked, n)
        step, amplitude = _motion(checked, k, n, np.where(own, s2, s1), level, wsum)
        j = int(np.searchsorted(ks2, k))
        if amplitude < min_amplitude or step < min_step or j >= ks2.size or ks2[j] != k:
            continue
        roll = Roll(axis, k, n, float(common2[j]), amplitude, step)
        if best is None or roll.prominence > best.prominence:
            best = roll
    return best


def _measure(lumas: Sequence[np.ndarray], min_amplitude: float, min_step: float) -> Roll | None:
    if len(lumas) < 3 or len({luma.shape for luma in lumas}) != 1:
        return None
    found = [_axis(lumas, axis, min_amplitude, min_step) for axis in ("horizontal", "vertical")]
    return max((r for r in found if r is not None), key=lambda r: r.prominence, default=None)


def rolling(lumas: Sequence[np.ndarray], min_amplitude: float, min_step: float) -> Roll | None:
    """The most prominent pattern of the window's pictures that rolls through the picture by at
    least `min_step` radians per frame relative to the scene, with bars of at least
    `min_amplitude` grey levels (None: none does, or no window of three pictures)."""
    return per_window(lumas, _measure, min_amplitude, min_step)
