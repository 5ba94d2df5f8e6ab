"""noise (snow): new in every picture, where the scene's texture is not.

With a window of consecutive pictures, snow is measured over time (`temporal_sigma`): two
pictures are aligned (the scene's own motion, a slow pan or a camera shake, is taken out) and
what still differs where the scene is flat is noise. A scene's fine texture (a lawn, a brick
wall, leaves) is the same in both pictures and cancels; snow does not. The compressed stream
helps: an encoder keeps a still scene's few grey levels of sensor noise out of its predicted
pictures (it copies the reference), while snow of ten grey levels and more is coded anew each
picture. The single-picture estimate below is kept for a still picture (a snapshot, a
reference) and for the camera's baseline.

The single-picture estimate of Immerkær (1996), taken where the scene is flat.

The 3×3 kernel is the product of horizontal and vertical second differences, so edges and
stripes along either axis cancel and mostly noise remains. Its mean absolute response, times
√(π/2)/6, is the noise sigma. Real edges are masked out first: they are found on a smoothed
copy of the picture, where snow has faded but the scene's edges remain. The mean (not the
median) matters after compression: a capped bit rate leaves snow as scattered specks on a
smoothed picture, which a median would not see.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, r, ramp, share
from video.diagnosis.frame import AnalysedFrame, per_window
from video.diagnosis.thresholds import Thresholds

KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
MEAN_SCALE = float(np.sqrt(np.pi / 2) / 6)  # |kernel * noise| has sigma 6σ, mean 6σ·√(2/π)
MEDIAN_SCALE = 1.0 / (6.0 * 0.6745)  # the median of a half-normal is 0.6745 of its sigma
SCENE_EDGE = 20.0  # Sobel magnitude on the smoothed picture: an edge of the scene
NEAR = np.ones((5, 5), np.uint8)


def noise_sigma(gray: np.ndarray) -> tuple[float, float]:
    """(noise sigma, share of the picture it was measured on)."""
    response = np.abs(cv2.filter2D(gray, cv2.CV_32F, KERNEL))[1:-1, 1:-1]
    smooth = cv2.GaussianBlur(gray, (0, 0), 2.0)
    edges = cv2.magnitude(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    flat = cv2.dilate((edges > SCENE_EDGE).astype(np.uint8), NEAR)[1:-1, 1:-1] == 0
    measured = share(flat)
    if measured < 0.05:  # edges everywhere (bands, a busy texture): fall back to the median
        return float(np.median(response[::2, ::2])) * MEDIAN_SCALE, measured
    return float(response[flat].mean()) * MEAN_SCALE, measured


# Temporal estimate. The last pairs of the window are judged (consecutive, so each picture is
# prepared once; an encoder refines the picture after the keyframe at the window's start): the
# median over them ignores a pair with a knock or a refresh.
PAIRS = 4
LEVELS = 1  # the shift and the scene's edges are found at half the size
FLAT = 0.25  # share of the pixels measured: the flattest
CONTRAST_STEPS = 4  # histogram bins per grey level of local contrast (up to 64 per pixel)
STEPS = 4  # histogram bins per grey level of difference (up to 64 grey levels)
BORDER = 4  # pixels left out at the picture's border (warped in from outside)
# |a - b| of two independent noises of sigma s has median 0.6745·√2·s
DIFF_SCALE = 1.0 / (0.6745 * float(np.sqrt(2.0)))


def _small(luma: np.ndarray) -> np.ndarray:
    """A smaller copy to align on (pyrDown: smoothed, snow averaged away), float, without what
    is common to a whole row or column: bands rolling through the picture would pull the
    alignment along with them, and a change of exposure would bias it."""
    for _ in range(LEVELS):
        luma = cv2.pyrDown(luma)
    small = luma.astype(np.float32)
    small = small - np.asarray(cv2.reduce(small, 1, cv2.REDUCE_AVG), np.float32)
    return small - np.asarray(cv2.reduce(small, 0, cv2.REDUCE_AVG), np.float32)


def _shift(a: np.ndarray, b: np.ndarray, steps: int = 1) -> tuple[float, float]:
    """The translation from `a` to `b` (pixels of these pictures), by Lucas–Kanade over the
    whole picture: the scene's own motion (a pan, a shake) is one shift, a small mover barely
    weighs. Both pictures move half-way, so each is interpolated alike. One step is enough
    for the shifts between two consecutive pictures of a pan (under a pixel here)."""
    dx = dy = 0.0
    for _ in range(steps):
        aw, bw = _moved(a, dx / 2, dy / 2), _moved(b, -dx / 2, -dy / 2)
        mid = (aw + bw) * 0.5
        gx = cv2.Sobel(mid, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)[2:-2, 2:-2].ravel()
        gy = cv2.Sobel(mid, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)[2:-2, 2:-2].ravel()
        e = (bw - aw)[2:-2, 2:-2].ravel()
        xx, xy, yy = float(gx @ gx), float(gx @ gy), float(gy @ gy)
        det = xx * yy - xy * xy
        if det <= 1e-6 * max(1.0, xx * yy):
            break  # no texture to align on (a plain picture): it is left where it is
        bx, by = -float(gx @ e), -float(gy @ e)
        ux, uy = (yy * bx - xy * by) / det, (xx * by - xy * bx) / det
        if not (abs(ux) < 2 and abs(uy) < 2):
            break  # more than a pan or a shake: not one shift
        dx, dy = dx + ux, dy + uy
    return dx, dy


def _moved(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    if dx == 0 and dy == 0:
        return img
    m = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _sampled(luma: np.ndarray, dx: float, dy: float, size: tuple[int, int]) -> np.ndarray:
    """Every other pixel of `luma` moved by (dx, dy) (bilinear), from BORDER on: `size` (w, h)."""
    m = np.array([[2, 0, BORDER - dx], [0, 2, BORDER - dy]], np.float32)
    return cv2.warpAffine(luma, m, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)


def _smoothing(shift: float) -> float:
    """How much moving a picture by `shift` pixels (bilinear) lowers its noise's sigma."""
    f = abs(shift) % 1.0
    return float(np.sqrt((1 - f) ** 2 + f**2))


def _flattest(total: np.ndarray) -> np.ndarray:
    """The FLAT share of the pixels where the sum of the two aligned pictures has the least
    local contrast: where a small error of the alignment changes least. For noise, the sum and
    the difference of two pictures are independent, so choosing pixels by the sum does not bias
    the noise measured on the difference (a choice by the difference would)."""
    gx = cv2.Sobel(total, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 16)
    gy = cv2.Sobel(total, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 16)
    contrast = cv2.blur(cv2.magnitude(gx, gy), (3, 3))
    c8 = cv2.convertScaleAbs(contrast, alpha=CONTRAST_STEPS)
    counts = np.cumsum(cv2.calcHist([c8], [0], None, [256], [0, 256]).ravel())
    cut = int(np.searchsorted(counts, FLAT * counts[-1]))
    return (c8 <= cut).astype(np.uint8)


def temporal_sigma(lumas: Sequence[np.ndarray]) -> float | None:
    """The noise sigma that is new in every picture of the window (None: fewer than two
    pictures of one size). Each judged pair is aligned, half-way each (the shift found on the
    half-size pictures, where snow has faded), and the median absolute difference where the
    scene is flattest (`_flattest`) gives the sigma; the median over the pairs is the estimate.
    A pair without any difference (a repeated picture) says nothing of noise and is skipped; a
    window of only repeated pictures is frozen and has no new noise (0.0)."""
    pairs = [(a, b) for a, b in itertools.pairwise(lumas) if a.shape == b.shape and min(a.shape) > 8 * BORDER]
    if not pairs:
        return None
    pairs = pairs[-PAIRS:]
    made: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def prepared(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the picture as float, its smaller copy), once per picture."""
        if id(x) not in made:
            made[id(x)] = (x.astype(np.float32), _small(x))
        return made[id(x)]

    h, w = pairs[0][0].shape
    size = ((w - 2 * BORDER) // 2, (h - 2 * BORDER) // 2)
    sigmas: list[float] = []
    for a, b in pairs:
        if cv2.norm(a, b, cv2.NORM_INF) == 0:
            continue
        (fa, sa), (fb, sb) = prepared(a), prepared(b)
        sx, sy = _shift(sa, sb)
        dx, dy = sx * 2**LEVELS, sy * 2**LEVELS  # at the full size of the window's pictures
        pa, pb = _sampled(fa, dx / 2, dy / 2, size), _sampled(fb, -dx / 2, -dy / 2, size)
        flat = _flattest(pa + pb)
        # What a whole row or column changed by together is not snow: a band rolling through the
        # picture (interference) or a change of exposure or flicker.
        diff = pb - pa
        diff -= cv2.reduce(diff, 1, cv2.REDUCE_AVG)
        diff -= cv2.reduce(diff, 0, cv2.REDUCE_AVG)
        # The median from a histogram of |difference| in steps of 1 / STEPS grey level (cheap).
        counts = cv2.calcHist([cv2.convertScaleAbs(diff, alpha=STEPS)], [0], flat, [256], [0, 256]).ravel()
        total = float(counts.sum())
        if total == 0:
            continue
        median = float(np.searchsorted(np.cumsum(counts), total / 2)) / STEPS
        keep = _smoothing(dx / 2) * _smoothing(dy / 2)
        sigmas.append(median * DIFF_SCALE / keep)
    if not sigmas:
        return 0.0  # every picture repeats the last one: frozen, nothing new in any
    return float(np.median(sigmas))


def excess(sigma: float, baseline: float) -> float:
    """The noise added since the baseline: independent noises add their variances, so what the
    camera's normal picture already measured (its own sensor noise, and the fine texture that
    the estimate cannot tell from noise) is taken out in quadrature. A ratio would not do: a
    compressed stream's normal picture measures almost no noise (sigma 0.2), so any ratio is
    either crossed by a healthy picture's small changes or needs a large one, while a textured
    scene's normal picture measures 6 and snow of sigma 12 adds up to only 14."""
    return float(np.sqrt(max(0.0, sigma * sigma - baseline * baseline)))


def noise(
    frame: AnalysedFrame, t: Thresholds, baseline: float | None = None, lumas: Sequence[np.ndarray] = ()
) -> Measurement:
    """With a window of pictures (`lumas`), the noise new in every picture (`temporal_sigma`),
    on `noise_temporal`: a scene's texture is not new, so no baseline is needed. With a
    baseline, the single picture's noise added to the camera's own normal level counts too (a
    night picture is noisier than a day one, and its night baseline knows it). A still picture
    without a baseline is judged on the absolute single-picture estimate. A frozen window has no
    new noise: it never raises noise from the window (freeze says what is wrong)."""
    sigma, area = noise_sigma(frame.gray_f)
    metrics: dict[str, float | None] = {"noise_sigma": r(sigma, 2), "noise_area": r(area)}
    temporal = per_window(lumas, temporal_sigma) if len(lumas) >= 2 else None
    scores: list[float] = []
    if temporal is not None:
        metrics["noise_temporal"] = r(temporal, 2)
        scores.append(_score(temporal, t.noise_temporal))
    if baseline is not None:
        value = excess(sigma, baseline)
        metrics["noise_excess"] = r(value, 2)
        scores.append(_score(value, t.noise_excess))
    if not scores:
        scores.append(_score(sigma, t.noise_sigma))
    return Measurement({"noise": max(scores)}, metrics)


def _score(value: float, fault: float) -> float:
    return ramp(value, clean=fault * 0.3, fault=fault, severe=fault * 2.5)
