"""The width of the sharpest isolated step edges in a window of pictures: defocus without a baseline.

A camera in focus draws *something* crisply: whatever stands at the focus distance, a passing
car, a kerb, a window frame. A defocused lens widens every edge of the picture to at least its
blur disc. So the question without a baseline is whether any edge of the window is narrow.

The edges read are isolated steps (Marziliano et al.'s edge width, kept to true steps): a flat
level on each side (3 to 8 pixels away, its range at most a quarter of the step's contrast), no
over- or undershoot in between (a thin line or a fine texture is not a step: a blurred fine
texture keeps its period, so its step-to-contrast ratio would look sharp), and the contrast at
least a fifth of the picture's grey range and 30 grey levels. At the centre of such an edge, the
one-pixel step over the contrast is about 1 / (edge width): 1 for a crisp step, 1/w for a w-pixel
ramp. The picture is first averaged over 5 pixels along each edge direction (calms sensor noise
without widening the edge), and only every other line along the edge is read (the average
already spans it). Per 32-pixel block the ratios are averaged (a long edge gives many readings,
so a single noisy pixel does not make a block sharp); a block needs 4 such readings.

The window's edge sharpness is the sharpest block over the pictures read: a moving object or a
passing vehicle crisp in any of them proves the lens is in focus. Pictures without any such
edge (dusk, fog, a plain wall) give None: they are not judged by this measure.

What it cannot do (measured on the fit scenes, strengths 0 and 1, encoded): a scene soft by
nature, with no crisp edge anywhere (an upscaled low-detail terrain whose only mover has the
terrain's luma) reads 0.24 to 0.27, as wide as a Gaussian blur of sigma 3; the weakest defocus
(a disc of radius 2.2 px, 13 pixels once sampled: its steps are 5/13 of the contrast) reads 0.27
to 0.51, sharper than that scene and than the soft view upscaled three times (0.30 to 0.35).
No edge-width cut separates them; only blur wider than every healthy scene's is caught.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from video.diagnosis.checks import block_sums, grey_range

BLOCK = 32
GAP = 3  # the flat levels start this many pixels from the step
SIDE = 5  # and are this many pixels long
ALONG = 5  # pixels averaged along the edge
STRIDE = 2  # every other line along the edge is read
CONTRAST_SHARE = 0.2
CONTRAST_FLOOR = 30.0
READINGS = 4  # per block, at least


def _cut(a: np.ndarray, lo: int, hi: int, axis: int) -> np.ndarray:
    return a[:, lo:hi] if axis == 1 else a[lo:hi]


def _steps(g: np.ndarray, least: int, axis: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(step over contrast × 255, where an isolated step edge is (255, else 0), offset) for the
    steps across `axis` (1: between columns, vertical edges) of `g` (uint8, averaged along the
    edges)."""
    n = g.shape[axis]
    half = SIDE // 2
    left, right = GAP + half, GAP + half + 1  # centres of the flat levels, from step x|x+1
    x0, x1 = left + 1, n - right - 1
    d = cv2.absdiff(_cut(g, 1, n, axis), _cut(g, 0, n - 1, axis))  # d[x] = |g[x+1] - g[x]|
    step = _cut(d, x0, x1, axis)
    side = (SIDE, 1) if axis == 1 else (1, SIDE)  # OpenCV sizes are (width, height)
    level = cv2.blur(g, side)
    k = np.ones(side[::-1], np.uint8)
    spread = cv2.subtract(cv2.dilate(g, k), cv2.erode(g, k))
    kt = np.ones((1, 2 * GAP + 2) if axis == 1 else (2 * GAP + 2, 1), np.uint8)
    anchor = (GAP, 0) if axis == 1 else (0, GAP)
    between = cv2.subtract(cv2.dilate(g, kt, anchor=anchor), cv2.erode(g, kt, anchor=anchor))
    contrast = cv2.absdiff(_cut(level, x0 + right, x1 + right, axis), _cut(level, x0 - left, x1 - left, axis))
    quarter = np.right_shift(contrast, 2)  # a quarter of it
    # The conditions as OpenCV masks (255 where true), combined in place: one pass each.
    ok = cv2.threshold(contrast, least - 1, 255, cv2.THRESH_BINARY)[1]  # contrast >= least
    for cond in (
        cv2.compare(_cut(spread, x0 - left, x1 - left, axis), quarter, cv2.CMP_LE),
        cv2.compare(_cut(spread, x0 + right, x1 + right, axis), quarter, cv2.CMP_LE),
        cv2.compare(_cut(between, x0, x1, axis), cv2.add(contrast, quarter), cv2.CMP_LE),
    ):
        cv2.bitwise_and(ok, cond, dst=ok)
    kc = np.ones((1, 2 * GAP + 1) if axis == 1 else (2 * GAP + 1, 1), np.uint8)
    # Its centre: the steepest step between the levels.
    cv2.bitwise_and(ok, cv2.compare(step, _cut(cv2.dilate(d, kc), x0, x1, axis), cv2.CMP_GE), dst=ok)
    ratio = cv2.bitwise_and(cv2.divide(step, contrast, scale=255), ok)
    return ratio, ok, x0


def _sum_blocks(values: np.ndarray, x0: int, axis: int, grid: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Sum of `values` (uint8, cut at x0 along `axis`, a picture of `shape`) per block of `grid`,
    as integers (down the rows first): exact, and what an area-averaging resize times the block's
    area gave before (blocks of 512 pixels, BLOCK² over STRIDE: a power of two, no rounding)."""
    full = np.zeros(shape, np.uint8)
    h, w = shape
    if axis == 1:
        ww = min(w - x0, values.shape[1])
        full[:, x0 : x0 + ww] = values[:h, :ww]
    else:
        hh = min(h - x0, values.shape[0])
        full[x0 : x0 + hh] = values[:hh, :w]
    bh, bw = grid
    sh, sw = h // bh, w // bw
    return block_sums(full, (bh, bw), (sh, sw), np.int32).astype(np.float32)


def step_blocks(gray: np.ndarray) -> np.ndarray:
    """Per 32-pixel block, the mean step-to-contrast ratio at its isolated step edges (0 … 1;
    0 where the block has fewer than READINGS of them)."""
    h, w = gray.shape
    bh, bw = h // BLOCK, w // BLOCK
    if bh < 1 or bw < 1:
        return np.zeros((0, 0), np.float32)
    least = int(np.ceil(max(CONTRAST_FLOOR, CONTRAST_SHARE * grey_range(gray))))
    gray = gray[: bh * BLOCK, : bw * BLOCK]
    total = np.zeros((bh, bw), np.float32)
    count = np.zeros((bh, bw), np.float32)
    # Vertical edges: averaged down the columns, every other row read; horizontal ones alike.
    vertical = np.ascontiguousarray(cv2.blur(gray, (1, ALONG))[::STRIDE])
    horizontal = np.ascontiguousarray(cv2.blur(gray, (ALONG, 1))[:, ::STRIDE])
    for g, axis in ((vertical, 1), (horizontal, 0)):
        ratio, ok, x0 = _steps(g, least, axis)
        shape = (g.shape[0], g.shape[1])
        total += _sum_blocks(ratio, x0, axis, (bh, bw), shape)
        count += _sum_blocks(ok & 1, x0, axis, (bh, bw), shape)  # ok is 255 where true
    return np.where(count >= READINGS, total / np.maximum(count, 1) / 255, 0.0).astype(np.float32)


def window_edge_sharpness(pictures: Sequence[np.ndarray]) -> float | None:
    """The sharpest block's step-edge sharpness over the pictures (about 1 / width in pixels of
    the window's sharpest isolated step edges); None when no picture has such an edge."""
    best = 0.0
    for gray in pictures:
        blocks = step_blocks(gray)
        if blocks.size:
            best = max(best, float(blocks.max()))
    return best if best > 0 else None
