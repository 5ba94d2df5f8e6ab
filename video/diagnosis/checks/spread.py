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
Gaussian blur's sigma to within a fifth (median of the blocks: 1.21 for sigma 1, 2.05 for 2,
3.65 for 4). On the fit scenes at strengths 0 and 1, encoded, a view soft by nature with no crisp
edge anywhere reads up to 1.83 (an upscaled, shaded terrain at night), a Gaussian blur of sigma 4
at least 2.29, a defocus disc of radius 5 1.40 to 2.97 (10 of 14 above every healthy view); the
weakest blurs (sigma 1.8, radius 2.2) read as sharp as healthy soft views and are not caught
here. Taking the third or fifth crispest block instead of the crispest did not widen the gap:
the soft terrain's blocks rise with the blurred ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

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
    cdf = np.cumsum(cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel())
    lo, hi = np.searchsorted(cdf, (0.01 * cdf[-1], 0.99 * cdf[-1]))
    return max(CONTRAST_FLOOR, CONTRAST_SHARE * float(hi - lo))


def _along(a: np.ndarray, ys: np.ndarray, xs: np.ndarray, offsets: range, dx: int) -> np.ndarray:
    """a at each (ys, xs) moved by each offset across the edge: (len(offsets), n)."""
    return np.stack([a[ys, xs + o] if dx else a[ys + o, xs] for o in offsets])


def _readings(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, sigma) of every isolated step edge pixel of the grey picture.

    The filters run on the whole picture; the tests across the edge only on the pixels whose
    coarse gradient is strong enough, read from the gradient pictures at their neighbours."""
    least = _least(gray)
    g = gray.astype(np.float32)
    fine = cv2.GaussianBlur(g, (0, 0), S1)
    coarse = cv2.GaussianBlur(g, (0, 0), S2)
    h, w = g.shape
    floor = least * _FAINTEST
    half = ISOLATION // 2
    rows, cols, sigmas = [], [], []
    for dx, dy in ((1, 0), (0, 1)):
        d2 = cv2.Sobel(coarse, cv2.CV_32F, dx, dy, ksize=1, scale=0.5)
        a2 = np.abs(d2)
        kernel = np.ones((1, PEAK) if dx else (PEAK, 1), np.uint8)
        peak = cv2.compare(a2, cv2.dilate(a2, kernel), cv2.CMP_GE)
        peak[a2 < floor] = 0
        # Every other line along the edge: the coarse gradient already averages over them.
        if dx:
            ys, xs = np.nonzero(peak[MARGIN : h - MARGIN : STRIDE, MARGIN : w - MARGIN])
            ys *= STRIDE
        else:
            ys, xs = np.nonzero(peak[MARGIN : h - MARGIN, MARGIN : w - MARGIN : STRIDE])
            xs *= STRIDE
        if ys.size == 0:
            continue
        ys += MARGIN
        xs += MARGIN
        c2 = d2[ys, xs]
        m2 = np.abs(c2)
        around = _along(d2, ys, xs, range(-half, half + 1), dx)
        other = np.where(c2 > 0, np.maximum(-around, 0).max(axis=0), np.maximum(around, 0).max(axis=0))
        d1 = cv2.Sobel(fine, cv2.CV_32F, dx, dy, ksize=1, scale=0.5)
        m1 = np.abs(_along(d1, ys, xs, range(-1, 2), dx)).max(axis=0)
        ratio2 = (m1 / m2) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = np.where(ratio2 > 1.0, (S2**2 - ratio2 * S1**2) / (ratio2 - 1.0), WIDEST**2)
        s2 = np.clip(s2, 0.0, WIDEST**2)
        contrast = m2 * _ROOT_2PI * np.sqrt(s2 + S2**2)
        keep = (other <= OTHER_SIGN * m2) & (contrast >= least)
        rows.append(ys[keep])
        cols.append(xs[keep])
        sigmas.append(np.sqrt(s2[keep]).astype(np.float32))
    if not rows:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(sigmas)


def spread_blocks(gray: np.ndarray) -> np.ndarray:
    """Per 32-pixel block, the median blur sigma of its isolated step edges (NaN where the block
    has fewer than READINGS of them)."""
    h, w = gray.shape
    bh, bw = h // BLOCK, w // BLOCK
    out = np.full(bh * bw, np.nan, np.float32)
    if bh < 1 or bw < 1:
        return out.reshape(max(bh, 0), max(bw, 0))
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
