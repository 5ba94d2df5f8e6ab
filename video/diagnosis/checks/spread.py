"""How wide the crispest edges of a window are, as a blur sigma in pixels: defocus without a baseline.

The edge width of `edges.py` (one pixel's step over the contrast) is read on single pixels, so
on a blurred picture its noise decides which block reads sharpest: a Gaussian blur of sigma 4
read 0.17 to 0.24 there, as sharp as a healthy soft view. Here each edge's blur is read the way
Elder and Zucker's local scale control and Hu and de Haan's re-blur estimator do, from
gradients at two scales: a step of contrast C blurred by sigma has its steepest gradient, read
through a Gaussian derivative of scale s, C / (sqrt(2 pi) sqrt(sigma² + s²)). The ratio R of
that gradient at s1 = 1 and s2 = 3 pixels does not depend on C, and gives

    sigma² = (s2² - R² s1²) / (R² - 1)

(R = 2.7 for a crisp step, 1.2 for sigma 4). Both gradients average the noise over their scale,
and a block's reading is the median over its edge pixels, so one noisy pixel does not make a
block sharp.

Only isolated steps are read: the gradient at scale s2 is the largest within ±3 pixels across
the edge, no gradient of the other sign reaches a fifth of it within ±10 pixels (a thin line or
a fine texture is not a step: blurred, its two sides cancel at the coarse scale, and the ratio
would read it crisp), and its contrast (from the coarse gradient and the sigma read) spans a
fifth of the picture's grey range and 30 grey levels.

The window's spread is its crispest block over the pictures read (a block needs READINGS edge
pixels): a passing car or a kerb crisp in any picture proves the lens is in focus, while a
defocused lens widens every edge of every picture. On tiles under sensor noise it reads a
Gaussian blur's sigma to within a fifth (median of the blocks: 1.22 for sigma 1, 2.05 for 2,
3.66 for 4). On the fit scenes at strengths 0 and 1, encoded at 640x360 and at 720p, a view soft
by nature with no crisp edge anywhere reads up to 2.03 (an upscaled, shaded terrain at dusk at
720p; 1.83 at 640x360, at night), a Gaussian blur of sigma 4 at least 2.13, a defocus disc of
radius 5 1.40 to 2.98 (15 of 24 above every healthy view); the weakest blurs (sigma 1.8, radius
2.2) read as sharp as healthy soft views and are not caught here. Taking the third or fifth
crispest block instead of the crispest, 8 or 12 readings a block instead of 4, or a block's upper
quartile instead of its median did not widen the gap: the soft terrain's blocks rise with the
blurred ones.

Against the camera's baseline, a view soft by nature is judged by how much blur was added to
its own edges: a defocus adds its sigma to every edge's in quadrature (sigma_now² =
sigma_base² + sigma_blur²). Each block's sigma in the judged picture is compared with the
baseline's block where both have isolated steps, and the median over those blocks of
sigma_now² - sigma_base² is the blur added, in square pixels (`spread_added`). A defocus adds
the same to the crispest edges too, so the rise of each map's crispest blocks (its tenth
percentile) must agree, and the smaller of the two counts: on a view with depth of field (a
subject in focus before a soft ground) dusk, fog, backlight or IR night take the subject's faint
edges under the contrast floor, and the blocks read are more of the soft ground. On a photograph
of an animal before a soft ground, taken from neither split of tests.support.natural (imgaug's
quokka, at 720p), the median alone read 0.9 to 2.3 square pixels added on six healthy clips of
those kinds, their crispest edges -0.9 to 0.5 (two more, backlit and naturally soft, read 0.9
and 0.76 both ways; sharpness.ADDED_SHARE judges the second). Every blur of the fit and
held-out scenes kept its verdict. Both are read on a keyframe: the pictures between keyframes
are coded more coarsely, and on a dark, noisy view (a terrain in IR night or at dusk) their
edges read up to 1.2 square pixels wider than the baseline's keyframe. The one-pixel steps of
`sharpness.edges_kept` read the noise on such a view: on the fit scenes with a baseline, every
blur missed was on the shaded terrain (its blocks a median of 2.6 px), among them a defocus disc
of radius 5 whose sharpest edges kept 0.83 of the baseline's.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from video.diagnosis.checks import grey_range

BLOCK = 32
S1, S2 = 1.0, 3.0
PEAK = 7  # the coarse gradient is the largest within ±3 pixels across the edge
ISOLATION = 21  # and no gradient of the other sign reaches a fifth of it within ±10
OTHER_SIGN = 0.2
CONTRAST_SHARE = 0.2
CONTRAST_FLOOR = 30.0
STRIDE = 2  # every other line along the edge is read
READINGS = 4  # edge pixels read per block, at least
WIDEST = 9.9  # what an edge reads when the fine gradient is no steeper than the coarse one
MARGIN = 10  # pixels at the border are not read (the filters reflect the picture there)
_ROOT_2PI = float(np.sqrt(2 * np.pi))
# The coarse gradient of the faintest step counted, at the widest blur read (sigma 5): a cheap
# first cut before the exact contrast is computed on the few pixels left.
_FAINTEST = 1.0 / (_ROOT_2PI * float(np.hypot(5.0, S2)))


def _least(gray: np.ndarray) -> float:
    return max(CONTRAST_FLOOR, CONTRAST_SHARE * grey_range(gray))


def _gather(a: np.ndarray, ys: np.ndarray, xs: np.ndarray, offsets: range) -> np.ndarray:
    """a at each (ys, xs + offset), for each offset along the rows: (len(offsets), n)."""
    return np.stack([a[ys, xs + o] for o in offsets])


def _along_rows(coarse: np.ndarray, fine: np.ndarray, least: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, sigma) of the isolated step edges across the rows of the pictures (vertical
    edges), read on every STRIDE-th row: the coarse gradient already averages over them."""
    h, w = coarse.shape
    rows = np.arange(MARGIN, h - MARGIN, STRIDE)
    c = coarse[rows]
    d2 = np.zeros_like(c)
    cv2.subtract(c[:, 2:], c[:, :-2], dst=d2[:, 1:-1])
    d2 *= 0.5
    a2 = np.abs(d2)
    peak = cv2.compare(a2, cv2.dilate(a2, np.ones((1, PEAK), np.uint8)), cv2.CMP_GE)
    peak[a2 < least * _FAINTEST] = 0
    peak[:, :MARGIN] = 0
    peak[:, w - MARGIN :] = 0
    ri, xs = np.nonzero(peak)
    c2 = d2[ri, xs]
    m2 = np.abs(c2)
    half = ISOLATION // 2
    around = _gather(d2, ri, xs, range(-half, half + 1))
    other = np.where(c2 > 0, np.maximum(-around, 0).max(axis=0), np.maximum(around, 0).max(axis=0))
    ys = rows[ri]
    f = _gather(fine, ys, xs, range(-2, 3))  # the fine gradient at the edge and its two neighbours
    m1 = np.abs(f[2:] - f[:-2]).max(axis=0) * 0.5
    ratio2 = (m1 / np.maximum(m2, 1e-6)) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.where(ratio2 > 1.0, (S2**2 - ratio2 * S1**2) / (ratio2 - 1.0), WIDEST**2)
    s2 = np.clip(s2, 0.0, WIDEST**2)
    contrast = m2 * _ROOT_2PI * np.sqrt(s2 + S2**2)
    keep = (other <= OTHER_SIGN * m2) & (contrast >= least)
    return ys[keep], xs[keep], np.sqrt(s2[keep]).astype(np.float32)


def _readings(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, sigma) of every isolated step edge pixel of the grey picture read.

    The two Gaussians run on the whole picture; the gradients and the tests across each edge on
    the rows (and, transposed, the columns) read, and the fine gradient only at the edges found."""
    least = _least(gray)
    g = gray.astype(np.float32)
    fine = cv2.GaussianBlur(g, (7, 7), S1)
    coarse = cv2.GaussianBlur(g, (19, 19), S2)
    ys, xs, sig = _along_rows(coarse, fine, least)
    xs_t, ys_t, sig_t = _along_rows(coarse.T, fine.T, least)  # horizontal edges
    return np.concatenate((ys, ys_t)), np.concatenate((xs, xs_t)), np.concatenate((sig, sig_t))


def spread_blocks(gray: np.ndarray) -> np.ndarray:
    """Per 32-pixel block, the median blur sigma of its isolated step edges (NaN where the block
    has fewer than READINGS of them)."""
    h, w = gray.shape
    bh, bw = h // BLOCK, w // BLOCK
    out = np.full(bh * bw, np.nan, np.float32)
    if bh < 1 or bw < 1:
        return out.reshape(bh, bw)
    ys, xs, sig = _readings(gray)
    inside = (ys < bh * BLOCK) & (xs < bw * BLOCK)
    block = (ys[inside] // BLOCK) * bw + xs[inside] // BLOCK
    sig = sig[inside]
    if block.size:
        order = np.lexsort((sig, block))
        block, sig = block[order], sig[order]
        counts = np.bincount(block, minlength=bh * bw)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        full = np.nonzero(counts >= READINGS)[0]
        lo = starts[full] + (counts[full] - 1) // 2
        hi = starts[full] + counts[full] // 2
        out[full] = (sig[lo] + sig[hi]) / 2
    return out.reshape(bh, bw)


def window_edge_spread(pictures: Sequence[np.ndarray]) -> float | None:
    """The crispest block's blur sigma over the pictures, in pixels (None: no picture has a
    block with enough isolated step edges to read)."""
    best = None
    for gray in pictures:
        blocks = spread_blocks(gray)
        found = blocks[~np.isnan(blocks)]
        if found.size:
            low = float(found.min())
            best = low if best is None else min(best, low)
    return best


# The comparison with a baseline needs this many blocks read in both (a cover, a vehicle or fog
# leaves too few of the baseline's edges to say the lens changed).
MIN_COMMON = 20


def median_sigma(blocks: np.ndarray) -> float | None:
    """The typical edge's blur sigma of a block map (None when fewer than MIN_COMMON blocks read)."""
    found = blocks[np.isfinite(blocks)]
    return float(np.median(found)) if found.size >= MIN_COMMON else None


# The crispest edges of a map: this percentile of its blocks' sigma.
CRISPEST = 10.0


def spread_added(now: np.ndarray, baseline: np.ndarray) -> float | None:
    """The blur added to the baseline's edges, sigma² in square pixels: the smaller of the median
    over the blocks read in both maps of sigma_now² - sigma_base², and the same rise of each
    map's crispest edges (None when the maps differ in size or fewer than MIN_COMMON blocks are
    read in both)."""
    if now.shape != baseline.shape:
        return None
    both = np.isfinite(now) & np.isfinite(baseline)
    if int(both.sum()) < MIN_COMMON:
        return None
    typical = float(np.median(now[both].astype(np.float64) ** 2 - baseline[both].astype(np.float64) ** 2))
    crisp = [float(np.percentile(m[np.isfinite(m)], CRISPEST)) for m in (now, baseline)]
    return min(typical, crisp[0] ** 2 - crisp[1] ** 2)
