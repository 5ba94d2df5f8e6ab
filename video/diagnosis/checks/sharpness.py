"""blur: the blur effect of Crété-Roffet et al. (2007), judged on the most structured regions.

The picture is re-blurred with a 9-tap box filter; a sharp picture loses much of its
neighbour-to-neighbour variation, a blurred one hardly any. Measured per block and taken from
the sharper structured blocks, so a smooth occluder, sky or soft stripes do not read as blur,
and a defocused lens still does (it blurs every block).

Without a baseline, the blur effect cannot tell a defocused lens from a scene that is soft by
nature (a plain wall, a distant view, an upscaled picture). A camera in focus still draws
*some* edge crisply (a passing car, a kerb, a window frame), while a defocused lens widens every
edge of the picture to at least the diameter of its blur disc. So the sharpest edges are read
(Marziliano et al.'s edge width, the just-noticeable-blur idea): at each pixel of a strong edge,
the one-pixel step over the contrast within ±4 pixels across it, about 1 / edge width (1 for a
crisp edge, 1/w for a w-pixel ramp). The picture is first averaged over 5 pixels *along* each
edge direction, which calms sensor noise without widening the edge being measured. Per block
the sharpest such edge counts, and the picture's edge sharpness is an upper percentile over the
blocks that have a strong edge.

A one-pixel step reads the noise: on a blurred picture the crispest of some 200 blocks is the
one whose noise made it look crisp (a Gaussian blur of sigma 4 read 0.17 to 0.24, as sharp as a
healthy soft view). So a window with no crisp isolated step is read again through gradients at
two scales (checks/spread.py, the blur sigma of its crispest edges), which average the noise
out: that is what finds a strong blur without a baseline. A window soft all over but not that
soft is looked at once more for what only a lens out of focus does: the dark ring a disc leaves
in the spectrum (checks/ring.py).

Without a baseline the weakest blurs stay out of reach (measured on the fit scenes, 640x360,
strengths 0 and 1): their window's sharpest isolated step reads 0.35-0.51 (a disc of radius
2.2) and 0.27-0.44 (Gaussian sigma 1.8), while healthy views read down to 0.30 (a naturally soft
view), 0.24 (dusk), 0.27 (IR night), 0.35 (a strong single-colour scene), 0.38 (knocked) and
0.40 (clean): a scene's own softness is as wide as the blur. Telling an upscaled picture (soft
by design) from a lens out of focus by the periodic trace interpolation leaves in its second
differences (Gallagher's resampling detector) was tried: strong on photographs (a prominence of
24 to 870), but 4 to 19 on smooth street and terrain views, where blurred views read 3 to 13,
and a brick wall's own period reads up to 290. Not used.

Against the camera's baseline, the sharpest edges are also compared where they are: a view
that is soft by nature has few crisp edges (a kerb, the border of a lawn, a passing car), and
whether a passer-by is in the picture decides whether its upper percentile is a crisp edge or
the soft rest. So the baseline keeps each block's sharpest edge, and the picture's edges are
read in the blocks that held the baseline's sharpest edges (its top tenth; a block's
neighbours count too, for a pan or a knock): defocus widens every one of them, a passer-by
leaving widens one. Blur needs both readings to have widened (see `blur`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, block_max, block_sums, grey_range, r, ramp
from video.diagnosis.checks.edges import window_edge_sharpness
from video.diagnosis.checks.ring import defocus_ring
from video.diagnosis.checks.spread import median_sigma, spread_added, spread_blocks, window_edge_spread
from video.diagnosis.frame import AnalysedFrame, per_window
from video.diagnosis.thresholds import Thresholds

BLOCK = 32
# An edge counts when its contrast spans a fifth of the picture's own grey range (1st to 99th
# percentile: dusk and fog shrink the range, and keep the same edges), and never less than 20
# grey levels (far above sensor noise).
EDGE_CONTRAST_SHARE = 0.2
EDGE_CONTRAST_FLOOR = 20.0
EDGE_WINDOW = 9  # the contrast is read over ±4 pixels across the edge
EDGE_PERCENTILE = 90.0


def _block_sums(img: np.ndarray) -> np.ndarray:
    h, w = img.shape
    bh, bw = h // BLOCK, w // BLOCK
    # The differences of a grey picture (integers) and of its 9-pixel box average (multiples of
    # 2**-27 below 256) add up exactly in float64, in any order.
    return block_sums(img, (bh, bw), (BLOCK, BLOCK), np.float64)


def blur_effect_map(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(blur per block 0 sharp … 1 blurred, structure per block: variation surviving re-blur).

    Only the whole blocks are read, so the differences are taken on that crop (with the row or
    column past its edge when there is one): float32 throughout, no padded copies."""
    h, w = gray.shape
    bh, bw = (h // BLOCK) * BLOCK, (w // BLOCK) * BLOCK
    s_f = np.zeros((h // BLOCK, w // BLOCK), np.float64)
    s_v = np.zeros_like(s_f)
    s_b = np.zeros_like(s_f)
    for axis, ksize in ((0, (1, 9)), (1, (9, 1))):
        blurred = cv2.blur(gray, ksize)
        d_f = np.zeros((bh, bw), np.float32)
        d_b = np.zeros((bh, bw), np.float32)
        if axis == 0:
            n = min(bh, h - 1)
            cv2.absdiff(gray[1 : n + 1, :bw], gray[:n, :bw], dst=d_f[:n])
            cv2.absdiff(blurred[1 : n + 1, :bw], blurred[:n, :bw], dst=d_b[:n])
        else:
            n = min(bw, w - 1)
            cv2.absdiff(gray[:bh, 1 : n + 1], gray[:bh, :n], dst=d_f[:, :n])
            cv2.absdiff(blurred[:bh, 1 : n + 1], blurred[:bh, :n], dst=d_b[:, :n])
        s_f += _block_sums(d_f)
        s_v += _block_sums(np.maximum(d_f - d_b, 0.0))
        s_b += _block_sums(d_b)
    blur = 1.0 - s_v / np.maximum(s_f, 1e-6)
    return blur, s_b / (2 * BLOCK * BLOCK)


def edge_sharpness(gray: np.ndarray) -> float | None:
    """About 1 / width in pixels of the picture's sharpest edges (None when it has too few)."""
    return sharpness_of(edge_blocks(gray))


def sharpness_of(blocks: np.ndarray) -> float | None:
    """The upper percentile of the blocks' sharpest edges (None when fewer than 3 have one)."""
    found = blocks[blocks > 0]
    return float(np.percentile(found, EDGE_PERCENTILE)) if found.size >= 3 else None


def edge_blocks(gray: np.ndarray) -> np.ndarray:
    """Each 32-pixel block's sharpest strong edge, about 1 / its width in pixels (0: none).

    On the 8-bit grey picture throughout (the ratio in 1/255 steps): about 3 ms at 640 px."""
    h, w = gray.shape
    least = max(EDGE_CONTRAST_FLOOR, EDGE_CONTRAST_SHARE * grey_range(gray))
    best = np.zeros((h - 1, w - 1), np.uint8)
    for along, across in (((1, 5), (1, EDGE_WINDOW)), ((5, 1), (EDGE_WINDOW, 1))):
        # Averaged along the edge, then the one-pixel step and the contrast across it.
        g = cv2.blur(gray, along)
        vertical = across[1] > 1  # steps between columns: vertical edges
        step = cv2.absdiff(g[:-1, 1:], g[:-1, :-1]) if vertical else cv2.absdiff(g[1:, :-1], g[:-1, :-1])
        k = np.ones((across[0], across[1]), np.uint8)
        contrast = cv2.subtract(cv2.dilate(g, k), cv2.erode(g, k))[:-1, :-1]
        # Weak edges get no contrast, and OpenCV's division by 0 gives 0.
        _, contrast = cv2.threshold(contrast, least - 1, 255, cv2.THRESH_TOZERO)
        cv2.max(best, cv2.divide(step, contrast, scale=255), dst=best)
    bh, bw = (h - 1) // BLOCK, (w - 1) // BLOCK
    return block_max(best, (bh, bw), (BLOCK, BLOCK)).astype(np.float32) / 255


def edges_kept(blocks: np.ndarray, baseline: np.ndarray) -> float | None:
    """The median share of the baseline's sharpest edges kept where they were (None when the
    maps differ in size or fewer than 3 of those places still have a strong edge)."""
    if blocks.shape != baseline.shape:
        return None
    top = sharpness_of(baseline)
    if top is None:
        return None
    near = cv2.dilate(blocks, np.ones((3, 3), np.uint8))  # the edge may have moved a block
    where = (baseline >= top) & (near > 0)
    if int(where.sum()) < 3:
        return None
    return float(np.median(near[where] / baseline[where]))


def _structured(frame: AnalysedFrame) -> np.ndarray:
    blur_map, structure = blur_effect_map(frame.gray_f)
    # Blocks with real structure (edges survive the box filter; sensor noise does not).
    floor = max(0.6, float(np.percentile(structure, 60)))
    return blur_map[structure >= floor]


def _effect(structured: np.ndarray) -> float:
    return float(np.percentile(structured, 30)) if structured.size >= 4 else 0.0


def blur_effect(frame: AnalysedFrame) -> float:
    """The picture's blur effect, 0 sharp … 1 fully blurred (0 when it has no structure)."""
    return _effect(_structured(frame))


# Without a baseline, the window's measurements (its sharpest isolated steps, checks/edges.py,
# about 2 ms per 640-pixel picture; its spread and ring when those are needed) are read on every
# third picture of it.
WINDOW_STEP = 3


def _every_third(window: Sequence[np.ndarray], measure: Callable[[list[np.ndarray]], float | None]) -> float | None:
    return measure(list(window[::WINDOW_STEP]))


def _read(
    window: Sequence[np.ndarray], frame: AnalysedFrame, measure: Callable[[list[np.ndarray]], float | None]
) -> float | None:
    """A window measurement on every third picture of it (once per window), else on the frame."""
    return per_window(window, _every_third, measure) if window else measure([frame.gray])


# A window whose sharpest isolated step is at least this sharp (under 2 pixels wide) has an edge
# in focus: its blur sigma is not read (checks/spread.py costs about 3 ms a picture).
SPREAD_GATE = 0.5
# A window whose crispest edges are at least this wide (blur sigma in pixels) is soft all over:
# below the spread's threshold, a defocus disc's ring in its spectrum is looked for
# (checks/ring.py, about 1.3 ms a picture). On the fit scenes no healthy window this soft showed
# one; the softest with any (0.05) read 0.99 and 1.07.
RING_SPREAD = 1.2
# A baseline whose edges are typically this wide (the median blur sigma of its blocks) is a view
# soft by nature: its one-pixel steps read the noise, so the blur added to its edges is read on
# the judged picture (checks/spread.py, about 6 ms at 640 px), and only there. On the fit scenes
# the shaded terrain's baseline reads 2.6, a portrait 2.2, the street scenes 0 to 0.9.
SOFT_VIEW = 1.2
# The blur effect rises for more than a lens: a picture much darker than the baseline (dusk, an
# IR night darker than the night baseline) loses its fine texture to the encoder, and reads up
# to 0.15 above its baseline (the fit scenes at 720p), as much as a weak defocus. A defocus also
# widens the sharpest edges, which darkness does not: so on a view not soft by nature, a rise
# with the sharpest edges still this sharp (this share of the baseline's) is not blur. On the
# fit scenes at strengths 0 and 1, at 640x360 and at 720p, every blurred clip kept at most 0.92
# of them, every healthy clip over the rise threshold 1.02 or more.
EDGES_IN_FOCUS = 0.96
# On a view soft by nature the blur added to its edges is read to within a share of the edges'
# own blur (sigma² grows with it, and so does the error of each block's reading; blur is also
# told apart in proportion, as Weber's law has it). So a blur must also add this share of the
# baseline's own sigma²: on the fit scenes at strengths 0 and 1 every healthy window read at most
# 0.093 of it, every blurred one read against a view soft by nature 0.128 and more (a disc of
# radius 2.2 on the shaded terrain). A soft ground behind an animal, from neither split (sigma
# 3.3: bench/vqd_probe.py), read 0.07 to 0.08 healthy, above blur_spread_added; the weakest
# defocus of it at 640x360 (that disc) 0.10, and is missed: on a view that soft, that disc is
# within the reading's own error.
ADDED_SHARE = 0.11


def added_threshold(t: Thresholds, soft: float) -> float:
    """The blur added to the edges of a view soft by nature (sigma², square pixels) that is a
    fault, for a baseline whose edges are typically `soft` wide (their blur sigma)."""
    return max(t.blur_spread_added, ADDED_SHARE * soft**2)


def blur(
    frame: AnalysedFrame,
    t: Thresholds,
    baseline: float | None = None,
    baseline_edges: float | None = None,
    baseline_blocks: np.ndarray | None = None,
    window: Sequence[np.ndarray] = (),
    baseline_spread: np.ndarray | None = None,
) -> Measurement:
    """Absolute without a baseline (the blur effect, or the sharpest edges being too wide, in the
    picture or in any picture of the `window`, its luma pictures); with one, the rise above the
    camera's own normal sharpness (a naturally soft view is not a fault, a softer one than usual
    is, and so are sharpest edges much wider than the camera's own, or, on a view soft by nature,
    edges more blurred than the camera's own: `baseline_spread`, its blocks' blur sigma)."""
    structured = _structured(frame)
    effect = _effect(structured)
    lap_var = float(frame.laplacian.var())
    edge = float(frame.gradient.mean())
    blocks = edge_blocks(frame.gray) if baseline is None or baseline_edges or baseline_blocks is not None else None
    sharpest = sharpness_of(blocks) if blocks is not None else None
    decided_by = "blur_rise" if baseline is not None else "blur_effect"
    # The share of the baseline's edge sharpness the picture kept (not judged when the picture
    # has no strong edge left to read: fog or dusk can take the contrast, the blur effect judges):
    # where the baseline's sharpest edges were when it kept them, else over the whole picture.
    # A defocus widens every edge: the sharpest of the picture and those where the baseline's
    # sharpest were. Either alone is not enough: a passer-by who walked off takes the first
    # with him; backlight or fog, which leave only the highest-contrast edges above the floor,
    # change which edges the second reads. So the larger share counts.
    kept = None
    if baseline is not None and baseline_edges and sharpest is not None:
        kept = sharpest / baseline_edges
    if baseline is not None and blocks is not None and baseline_blocks is not None:
        where = edges_kept(blocks, baseline_blocks)
        if where is not None:
            kept = where if kept is None else max(kept, where)
    # A view soft by nature: the blur added to its own edges (checks/spread.py).
    added = soft = None
    soft_view = texture_only = False
    if baseline is not None and baseline_spread is not None and structured.size >= 4:
        soft = median_sigma(baseline_spread)
        soft_view = soft is not None and soft >= SOFT_VIEW
        if soft_view:
            added = spread_added(spread_blocks(frame.gray), baseline_spread)
    if structured.size < 4:
        score = 0.0
    elif baseline is not None:
        fault = min(0.9, baseline + t.blur_rise)
        score = ramp(effect, clean=baseline, fault=fault, severe=min(0.97, fault + 0.2))
        texture_only = kept is not None and kept >= EDGES_IN_FOCUS and not soft_view
        if texture_only:
            score = min(score, 0.25)  # the texture went, the edges stayed: not the lens
        if added is not None and soft is not None:  # only a view soft by nature has `added`
            a_t = added_threshold(t, soft)
            by_added = ramp(added, clean=0.0, fault=a_t, severe=3 * a_t)
            if by_added > score:
                score, decided_by = by_added, "blur_spread_added"
        if kept is not None and not soft_view:
            # The camera's sharpest edges widened; not judged on a view soft by nature, where
            # the one-pixel steps read the noise: on the fit scenes the shaded terrain's
            # sharpest edges kept 0.83 of the baseline's under backlight, healthy, and 0.83
            # under a defocus disc of radius 5. (Every blur of a soft view there had its added
            # blur read; where it is not, fog, backlight or a cover took the edges.)
            k_t = t.blur_edge_kept
            by_edges = ramp(kept, clean=1.0, fault=k_t, severe=k_t / 2)
            if by_edges > score:
                score, decided_by = by_edges, "blur_edge_kept"
    else:
        score = ramp(effect, clean=t.blur_effect - 0.25, fault=t.blur_effect, severe=min(0.95, t.blur_effect + 0.25))
        if sharpest is not None:  # every edge as wide as a blur disc: nothing in the view is in focus
            edge_t = t.blur_edge_sharpness
            by_edges = ramp(sharpest, clean=min(1.0, edge_t * 2), fault=edge_t, severe=edge_t / 2)
            if by_edges > score:
                score, decided_by = by_edges, "blur_edge_sharpness"
    steps = spread = ring = None
    if baseline is None and structured.size >= 4:
        # No isolated step edge anywhere in the window narrower than a blur disc: out of focus.
        steps = _read(window, frame, window_edge_sharpness)
        if steps is not None:
            s_t = t.blur_step_edges
            by_steps = ramp(steps, clean=min(1.0, s_t * 2), fault=s_t, severe=s_t / 2)
            if by_steps > score:
                score, decided_by = by_steps, "blur_step_edges"
        if steps is None or steps < SPREAD_GATE:
            # The blur sigma of the window's crispest edges, read from gradients at two scales:
            # noise does not make a blurred edge read crisp there as it does a one-pixel step.
            spread = _read(window, frame, window_edge_spread)
            if spread is not None:
                sp_t = t.blur_edge_spread
                by_spread = ramp(spread, clean=sp_t / 2, fault=sp_t, severe=sp_t * 1.5)
                if by_spread > score:
                    score, decided_by = by_spread, "blur_edge_spread"
                if RING_SPREAD <= spread < sp_t:
                    # Soft all over, but not that soft: is it a disc (a lens out of focus)?
                    ring = _read(window, frame, defocus_ring)
                    if ring is not None:
                        r_t = t.blur_defocus_ring
                        by_ring = ramp(ring, clean=0.0, fault=r_t, severe=2 * r_t)
                        if by_ring > score:
                            score, decided_by = by_ring, "blur_defocus_ring"
    return Measurement(
        {"blur": score},
        {
            "blur_effect": r(effect),
            "laplacian_var": r(lap_var, 1),
            "edge_strength": r(edge, 2),
            "structured_blocks": int(structured.size),
            **({"edge_sharpness": r(sharpest)} if sharpest is not None else {}),
            **({"edge_kept": r(kept)} if kept is not None else {}),
            **({"blur_texture_only": True} if texture_only else {}),  # the rise did not count
            **({"step_edge_sharpness": r(steps)} if steps is not None else {}),
            **({"edge_spread": r(spread, 2)} if spread is not None else {}),
            **({"defocus_ring": r(ring)} if ring is not None else {}),
            **({"baseline_edge_spread": r(soft, 2)} if soft is not None else {}),
            **({"edge_spread_added": r(added, 2)} if added is not None else {}),
            "blur_rule": decided_by,  # the threshold that gave the blur score
        },
    )
