"""occlusion: something on or very near the lens covers a large part of the view.

A hand, a bag, a leaf, dirt, a sticker or a sheet on the lens is far out of focus: the region it
covers has no texture, little colour, and a soft, wide boundary with the scene (the lens blurs
its edge over many pixels). What it is not: a vehicle, a plain wall, a road or the sky are in
focus, so their boundary with the rest of the scene is sharp (a sky, at the top of the picture
and bright against the rest or the textured scene, or ending above its middle, is never a cover,
unless against the baseline it is new since commissioning or it is clearly darker than the rest
of the top of the view); fog lowers the contrast of the whole picture evenly; a clipped white
area belongs to too_bright.

Candidate blocks are textureless (their standard deviation, less the sensor noise, is small),
low in chroma and not clipped. With the camera's baseline (建档) also blocks whose brightness or
colour moved away from the baseline's and became smooth, or that lost the texture they had: a
mid-grey or translucent cover over a sky or a plain wall, which no texture comparison can see.
Candidates are joined into regions (neighbours of a like look); against the baseline, a region
most of which has not changed since commissioning is the camera's normal view. For each large
region the transition width of its boundary is measured — its contrast with the scene over its steepest
slope: a few pixels for an edge in focus, a wide ramp for a cover on the lens — and compared
with the width of the scene's own edges (a defocused picture softens every boundary, and is
blur, not a cover). A cover is on the lens: when the scene pans over the window of pictures,
the cover stays put while the scene moves behind it, and a sky, a plain background or a wall
moves with the rest of the view. So when the scene moved, a region counts only when its
boundary standing still explains at least `occlusion_fixed` of what changed along it (a still
camera gives no such evidence, and the region is judged by its look alone). What is left along
the boundary once the motion is taken out must also stand out from the noise of the sensor and
the encoder, read inside the region: a ground far out of focus behind a subject in focus (depth
of field) has a boundary so gentle that panning changes it little, and the noise alone made a
share of that. Where the OSD was filled in (overlay.py) is left out of that test: a fill
neither stays put nor pans with the scene, and along a plain background it read as a boundary
that stayed. The measurement is the largest share of the picture covered by one region whose
boundary is that much softer than the scene's edges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, block_max, r, ramp
from video.diagnosis.frame import AnalysedFrame, per_window
from video.diagnosis.overlay import scaled
from video.diagnosis.thresholds import Thresholds

BLOCK = 20
# Boundary profile: distances (pixels) from a region's edge over which the contrast is followed.
# Boundaries are measured on the half-size picture (cheap), in its pixels: segments of HALF
# pixels, followed FAR pixels out, the slope over STEP pixels and the rise RISE pixels past it.
HALF = BLOCK // 2
FAR, STEP, RISE = 16, 2, 6
# A block holds an edge of the scene from this contrast (grey levels).
EDGE_CONTRAST = 30.0
# Without scene edges to compare with, a cover must be this dark against the scene's bright part.
DARK_RATIO = 0.45
CLIPPED = 235.0
# Regions smaller than this share of the picture are never measured (noise in the decision).
MIN_REGION = 0.1
# Against the baseline's block looks, a region is a cover only when at least this share of it
# changed since commissioning (lost its texture or moved away from its look): a plain sky or
# wall the camera always had is its normal view, however soft its boundary.
NEW_SHARE = 0.5
# Against the baseline, the common change of brightness is read on the blocks that kept this
# share of their texture, when there are at least MIN_SEEN of them (else on all blocks).
KEPT_TEXTURE = 0.5
MIN_SEEN = 8
# Against the baseline, the light changed over the whole view when the median plain block outside
# a region moved this share of occlusion_shift (see occlusion()): a design value, between the
# covers' 3.1 and dusk's 9.4 on the held-out still cameras.
LIT = 0.5
# The scene moved (a pan) when the first and last pictures of the window are this many pixels
# (half-size picture) apart; a pixel tells a still boundary from a moving one when the two
# explanations differ by this many grey levels (the smoothed sensor noise is about 1).
MIN_PAN = 1.0
# A boundary stood still only when what is left along it once the scene's motion is taken out
# is this many times what is left inside the region (smooth: the noise of the sensor and the
# encoder, which standing still and panning explain alike). The weakest cover of the fit scenes
# left 3.5 times it (a translucent sheet over a portrait), the healthy regions there that the
# share alone counted as standing still up to 3.1. The soft ground of a photograph with depth of
# field, from neither split (imgaug's quokka, dim, foggy or backlit), left 1.2 to 2.7 times it,
# and read occlusion without a baseline and against one; its covers left 5 times and more.
NOISE_RATIO = 3.0


def block_stats(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation) of each BLOCK×BLOCK block."""
    h, w = gray.shape
    bh, bw = h // BLOCK, w // BLOCK
    g = gray[: bh * BLOCK, : bw * BLOCK].astype(np.float32)
    mean = cv2.resize(g, (bw, bh), interpolation=cv2.INTER_AREA)
    square = cv2.resize(g * g, (bw, bh), interpolation=cv2.INTER_AREA)
    return mean, np.sqrt(np.maximum(square - mean * mean, 0.0))


def block_colour(frame: AnalysedFrame) -> np.ndarray:
    """Mean (a*, b*) of each block, shape (2, bh, bw), from the half-size Lab picture."""
    h, w = frame.gray.shape
    bh, bw = h // BLOCK, w // BLOCK
    half = BLOCK // 2
    # All three planes (no strided copy of two); a* and b* are integers, so each block's mean is
    # the same whichever planes are averaged with them.
    lab = cv2.resize(frame.lab[: bh * half, : bw * half], (bw, bh), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(np.moveaxis(lab.reshape(bh, bw, 3)[..., 1:], -1, 0), np.float32)


def block_means(frame: AnalysedFrame) -> np.ndarray:
    """What the baseline keeps of each block's look: (mean luma, mean a*, mean b*), (3, bh, bw)."""
    means, _ = block_stats(frame.gray)
    return np.concatenate([means[None], block_colour(frame)]).astype(np.float32)


def boundary_width(gray: np.ndarray, region: np.ndarray) -> float:
    """Transition width (pixels) of a region's boundary with the scene around it: the median
    over the boundary's segments (one per HALF×HALF block of the region's edge).

    `region` is a pixel mask. Measured on the half-size picture, returned in pixels of the
    analysis picture. Each pixel outside is compared with the region's (smoothed) value
    at its nearest region pixel, and grouped by the block of that pixel (a segment of the
    boundary). In each segment the mean absolute difference is followed outward with the
    distance: the width is its rise over its steepest rise per pixel (over STEP pixels). An edge
    in focus rises at once (a width of STEP at most); a cover out of focus ramps over many.
    Segments where the scene around looks like the region have no boundary to judge; the
    result is the median of the others, each weighted by its contrast."""
    widths, rises = segment_widths(gray, region)
    if widths.size == 0:
        return 0.0
    return 2.0 * _weighted_median(widths, rises)


def segment_widths(gray: np.ndarray, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(transition width, contrast) of each judged segment of a region's boundary, in half-size
    pixels (see boundary_width); empty when there is no boundary with the scene to judge."""
    none = np.zeros(0, np.float32)
    if not region.any() or region.all():
        return none, none
    # Only the region and the scene up to FAR pixels around it (cropped on the segments' grid:
    # the same segments, the same distances, less to compute for a small region).
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    y0, x0 = (max(0, int(v[0]) - FAR - 2) // HALF * HALF for v in (rows, cols))
    gray = gray[y0 : int(rows[-1]) + FAR + 3, x0 : int(cols[-1]) + FAR + 3]
    region = region[y0 : int(rows[-1]) + FAR + 3, x0 : int(cols[-1]) + FAR + 3]
    w = gray.shape[1]
    smooth = cv2.blur(gray, (5, 5))
    dist, labels = cv2.distanceTransformWithLabels(
        (~region).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    zero = np.flatnonzero(region.ravel())
    nearest = np.zeros(int(labels.max()) + 1, np.int64)
    nearest[labels.ravel()[zero]] = zero
    flat = dist.ravel()
    band = np.flatnonzero((flat > 0) & (flat <= FAR))  # the scene up to FAR pixels out
    if band.size == 0:
        return none, none
    src = nearest[labels.ravel()[band]]  # each one's nearest region pixel
    bw = -(-w // HALF)
    segment = (src // w) // HALF * bw + (src % w) // HALF
    d = np.minimum(flat[band], FAR).astype(np.int64)
    level = smooth.ravel()[src].astype(np.float32)
    diff = np.abs(gray.ravel()[band].astype(np.float32) - level)
    inside = np.abs(gray.ravel()[src].astype(np.float32) - level)  # the region's edge itself
    bins = FAR + 1
    nseg = int(segment.max()) + 1
    index = np.concatenate([segment * bins + d, segment * bins])
    weights = np.concatenate([diff, inside])
    counts = np.bincount(index, minlength=nseg * bins).reshape(nseg, bins)
    sums = np.bincount(index, weights=weights, minlength=nseg * bins).reshape(nseg, bins)
    judged = (counts[:, 0] > 0) & (counts[:, FAR - 4 :].sum(axis=1) >= 10)
    if not judged.any():
        return none, none  # no scene around the region: nothing to measure a boundary against
    profile = sums[judged] / np.maximum(counts[judged], 1)
    floor = profile[:, 0].copy()
    outside = cv2.blur(profile[:, 1:].astype(np.float32), (3, 1), borderType=cv2.BORDER_REPLICATE)
    profile = np.concatenate([floor[:, None].astype(np.float32), outside], axis=1)
    # The steepest rise over STEP pixels, and the whole rise up to RISE pixels past it: a step
    # in focus rises all at once, a cover on the lens over many pixels.
    slope = (profile[:, STEP:] - profile[:, :-STEP]) / STEP
    steepest = slope.argmax(axis=1)
    rows = np.arange(len(profile))
    within = np.arange(profile.shape[1])[None, :] < (steepest + RISE)[:, None]
    top = np.where(within, profile, -np.inf).max(axis=1)
    rise = top - floor
    keep = rise >= 8.0  # a boundary with the scene, not a scene that looks like the region
    widths = np.minimum(rise[keep] / np.maximum(slope[rows, steepest][keep], 0.25), FAR)
    # A step in focus of a modest contrast rises little past the region's edge: its smoothed
    # level already straddles the step. The contrast is there right at the edge: one pixel wide.
    at_once = ~keep & (profile[:, 1] >= 8.0)
    return np.concatenate([widths, np.ones(int(at_once.sum()), np.float32)]), np.concatenate(
        [rise[keep], profile[at_once, 1]]
    )


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


def _edge_blocks(frame: AnalysedFrame) -> tuple[np.ndarray, np.ndarray]:
    """The contrast and steepest slope of each block (for scene_edge_width)."""
    h, w = frame.gray.shape
    bh, bw = h // BLOCK, w // BLOCK
    g = cv2.blur(frame.gray, (3, 3))
    grid, size = (bh, bw), (BLOCK, BLOCK)
    contrast = block_max(g, grid, size).astype(np.float32) - (255 - block_max(255 - g, grid, size))
    return contrast, block_max(frame.gradient, grid, size) / 8.0


def scene_edge_width(
    frame: AnalysedFrame, exclude: np.ndarray, edge_blocks: tuple[np.ndarray, np.ndarray] | None = None
) -> float:
    """The width (pixels) of the scene's own edges away from `exclude` (blocks): in each block
    with a clear edge, its contrast over its steepest slope, the median weighted by contrast.
    About 2 for a picture in focus, 2.5 σ for one blurred by σ; 2 STEP when there is no edge."""
    contrast, slope = edge_blocks if edge_blocks is not None else _edge_blocks(frame)
    # Not the blocks next to a candidate region either: a cover's own ramp is no scene edge.
    around = cv2.dilate(exclude.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    edges = (contrast >= EDGE_CONTRAST) & ~around
    if not edges.any():
        return 0.0  # no edge of the scene to compare with
    return _weighted_median(contrast[edges] / np.maximum(slope[edges], 0.5), contrast[edges])


def linked_regions(candidate: np.ndarray, look: np.ndarray, link: float) -> tuple[int, np.ndarray]:
    """Connected regions of candidate blocks, joining two neighbours only when their look
    (luma, a*, b*) differs by less than `link`: a cover next to a plain road of another shade
    stays a region of its own. Returns (count including the background 0, labels per block)."""
    bh, bw = candidate.shape
    grid = np.zeros((2 * bh - 1, 2 * bw - 1), np.uint8)
    grid[::2, ::2] = candidate
    near_h = np.sqrt(((look[:, :, 1:] - look[:, :, :-1]) ** 2).sum(axis=0)) < link
    near_v = np.sqrt(((look[:, 1:, :] - look[:, :-1, :]) ** 2).sum(axis=0)) < link
    grid[::2, 1::2] = candidate[:, 1:] & candidate[:, :-1] & near_h
    grid[1::2, ::2] = candidate[1:, :] & candidate[:-1, :] & near_v
    n, labels = cv2.connectedComponents(grid, connectivity=4)
    return n, labels[::2, ::2]


Motion = tuple[np.ndarray, np.ndarray, float, float]  # first and last picture, dx, dy


def scene_motion(lumas: Sequence[np.ndarray], size: tuple[int, int]) -> Motion | None:
    """How the scene moved over the window: (first, last picture smoothed, at `size`; dx, dy in
    pixels of `size`), from the phase correlation of the first and last pictures' column and
    row profiles (whitened: the scene's fine detail decides, not a cover's smooth shading).
    None without a window, or when the pictures do not match in size."""
    if len(lumas) < 2 or lumas[0].shape != lumas[-1].shape:
        return None
    w, h = size
    a, b = (
        cv2.GaussianBlur(cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32), (0, 0), 1.0)
        for x in (lumas[0], lumas[-1])
    )
    shift = []
    for dim in (0, 1):  # column profiles (dx), row profiles (dy)
        pa, pb = (cv2.reduce(x, dim, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel().astype(np.float64) for x in (a, b))
        n = pa.size
        win = np.hanning(n)
        fa, fb = np.fft.rfft((pa - pa.mean()) * win), np.fft.rfft((pb - pb.mean()) * win)
        cross = fb * np.conj(fa)
        cross[:2] = 0
        corr = np.fft.irfft(cross / np.maximum(np.abs(cross), 1e-9), n)
        k = int(np.argmax(corr))
        y0, y1, y2 = corr[k - 1], corr[k], corr[(k + 1) % n]
        frac = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2) if (y0 - 2 * y1 + y2) < 0 else 0.0
        s = k + frac
        shift.append(s - n if s > n / 2 else s)
    return a, b, float(shift[0]), float(shift[1])


def fixed_share(motion: Motion, region: np.ndarray, unknown: np.ndarray | None = None) -> float | None:
    """How much of what changed along a region's boundary over the window the boundary standing
    still explains, rather than its moving with the scene: the energy of the change left once
    the scene's motion is taken out, over that and the change itself. Near 0 for a part of the
    scene (a sky's edge with a tower pans with the view), high for a cover on the lens (its ramp
    stays put while the scene moves behind it). None when the scene did not move (a still
    camera gives no evidence either way) or the boundary has nothing that changed; 0 when what
    is left along the boundary is no more than NOISE_RATIO times what is left inside the region.
    Pixels of `unknown` (the OSD filled in: it neither stays nor pans as the scene does) are
    left out."""
    a, b, dx, dy = motion
    if np.hypot(dx, dy) < MIN_PAN:
        return None
    h, w = a.shape
    moved = cv2.warpAffine(a, np.array([[1, 0, dx], [0, 1, dy]], np.float32), (w, h), borderMode=cv2.BORDER_REPLICATE)
    reach = int(np.ceil(np.hypot(dx, dy))) + 3
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    mask = region.astype(np.uint8)
    shrunk = cv2.erode(mask, kernel) > 0
    judged = np.zeros((h, w), bool)
    judged[reach:-reach, reach:-reach] = True
    if unknown is not None:
        judged &= cv2.dilate(unknown.astype(np.uint8), kernel) == 0
    ring = (cv2.dilate(mask, kernel) > 0) & ~shrunk & judged
    if not ring.any():
        return None
    left = np.square(b - moved)
    still = float(np.square(b - a)[ring].sum())
    panned = float(left[ring].sum())
    if still + panned <= 0:
        return None
    inside = shrunk & judged
    if inside.any() and panned < NOISE_RATIO * float(left[inside].mean()) * int(ring.sum()):
        # What the motion leaves along the boundary is no more than what the sensor and the
        # encoder leave inside the region: the boundary moved with the scene.
        return 0.0
    return panned / (still + panned)


def _fine_smooth(gray: np.ndarray, t: Thresholds, noise_sigma: float) -> np.ndarray:
    """Pixels of the half-size picture whose 5×5 neighbourhood has no texture beyond the noise."""
    g = gray.astype(np.float32)
    m = cv2.blur(g, (5, 5))
    var = cv2.blur(g * g, (5, 5)) - m * m
    # Half the block test: a cover's soft ramp is not smooth enough to join, an edge in focus
    # stops it a pixel or two before the step. The half-size picture has half the noise.
    smooth = (var - (noise_sigma / 2) ** 2 < (0.5 * t.occlusion_texture) ** 2).astype(np.uint8)
    # Smooth specks of a textured scene are not part of a region: only what survives an opening.
    return cv2.morphologyEx(smooth, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)).astype(bool)


def _filled(frame: AnalysedFrame, shape: tuple[int, int]) -> np.ndarray:
    """Where the picture's OSD lines were filled in (overlay.without_osd), on a picture of `shape`."""
    mask = np.zeros(shape, bool)
    for x, y, w, h in scaled(frame.osd or [], frame.gray.shape, shape):
        mask[y : y + h, x : x + w] = True
    return mask


def _largest(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected part of a block mask."""
    n, parts = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    if n <= 1:
        return np.zeros_like(mask, bool)
    return parts == 1 + int(np.argmax(np.bincount(parts.ravel(), minlength=n)[1:]))


def held_still(metrics: Mapping[str, Any], t: Thresholds) -> bool:
    """A region that counts as a cover (large and soft enough) stood still on the picture while
    the scene panned behind it: it is on the lens. A camera turned away sees a new view whose
    plain parts pan with it; so this decides a cover against a new view (see diagnose)."""
    return any(
        f is not None and a >= t.occlusion_area and w >= t.occlusion_edge_ratio and f >= t.occlusion_fixed
        for a, w, f in metrics.get("occlusion_motion") or ()
    )


def occlusion(
    frame: AnalysedFrame,
    t: Thresholds,
    noise_sigma: float = 0.0,
    baseline: np.ndarray | None = None,
    baseline_brightness: float | None = None,
    baseline_blocks: np.ndarray | None = None,
    lumas: Sequence[np.ndarray] = (),
) -> Measurement:
    """The largest share of the picture covered by one textureless, colourless region with a
    soft boundary; with the camera's baseline also regions that lost their texture or moved
    away from the baseline's look and became smooth."""
    gray = frame.gray
    means, stds = block_stats(gray)
    signal = np.sqrt(np.maximum(stds**2 - noise_sigma**2, 0.0))
    smooth = signal < t.occlusion_texture
    ab = block_colour(frame)
    chroma = np.hypot(ab[0], ab[1])
    plain = smooth & (chroma < t.occlusion_chroma)
    candidate = plain & (means < CLIPPED)
    lost = moved = 0.0
    changed: np.ndarray | None = None  # blocks that differ from the baseline's
    shift: np.ndarray | None = None  # how far each block's look moved from the baseline's
    if baseline is not None and baseline.shape == stds.shape:
        dimmer = 1.0
        if baseline_brightness:
            dimmer = float(np.clip(gray.mean() / baseline_brightness, 0.3, 1.0))
        was_textured = baseline >= max(6.0, 3.0 * noise_sigma)
        gone = was_textured & plain & (stds < t.occlusion_texture_loss * baseline * dimmer) & (means < CLIPPED)
        lost = float(gone.mean())
        candidate |= gone
        if baseline_blocks is not None and baseline_blocks.shape[1:] == stds.shape:
            # The picture as a whole may be brighter or dimmer than the baseline; a cover moves
            # its blocks away from that common change. The change is read where the view still
            # shows its texture (a cover takes it), so a cover over most of the view is not
            # taken for the common change, with the rest of the view then moved away from it.
            ratio = means / np.maximum(baseline_blocks[0], 1.0)
            seen = was_textured & (stds >= KEPT_TEXTURE * baseline * dimmer)
            gain = float(np.median(ratio[seen] if int(seen.sum()) >= MIN_SEEN else ratio))
            shift = np.hypot(
                np.abs(means - baseline_blocks[0] * gain) / 2.0,
                np.hypot(ab[0] - baseline_blocks[1], ab[1] - baseline_blocks[2]),
            )
            away = plain & (shift >= t.occlusion_shift) & (means < CLIPPED)
            moved = float(away.mean())
            candidate |= away
            changed = gone | away
    best = region_area = 0.0
    width = ratio = 0.0
    regions: list[list[float]] = []  # [share of the picture, boundary softness] of the largest
    measured: list[list[float | None]] = []  # [share, softness, fixed share] of each measured
    scene_width = 2.0 * STEP
    if candidate.any():
        look = np.concatenate([means[None], ab])
        n, labels = linked_regions(candidate, look, t.occlusion_link)
        sizes = np.bincount(labels.ravel(), minlength=n)
        rows = candidate.shape[0]
        bh, bw = candidate.shape
        small = cv2.cvtColor(frame.half, cv2.COLOR_BGR2GRAY)
        fine: np.ndarray | None = None
        unknown: np.ndarray | None = None  # the OSD filled in, on the half-size picture
        edges: tuple[np.ndarray, np.ndarray] | None = None
        motion: Motion | None = None
        order = sorted(range(1, n), key=lambda i: -sizes[i])
        for i in order[:3]:
            area = sizes[i] / candidate.size
            if area < MIN_REGION:
                break
            inside = labels == i
            if changed is not None and float(changed[inside].mean()) < NEW_SHARE:
                # Against the baseline, mostly the camera's normal view; but a cover of the
                # road's shade joins the plain road it lies on: what is new of it is the cover.
                inside = _largest(inside & changed)
                area = float(inside.mean())
                if area < MIN_REGION:
                    continue
            in_rows = np.flatnonzero(inside.any(axis=1))
            # A sky: from the top of the picture, ending above the middle, or as bright as the
            # brightest quarter of the rest of the picture (the region itself left out: a sky
            # may be more than a quarter of the view) or of the scene's textured part (the sky's
            # hazier or bluer part beside the region is plain too, and may be brighter: a tower
            # against a hazy sky, from a still camera, whose sky no pan shows moving).
            rest = means[~inside]
            level = means[inside].mean()
            textured = means[~inside & ~smooth]
            bright = (
                rest.size == 0
                or level >= float(np.percentile(rest, 75))
                or (textured.size >= MIN_SEEN and level >= float(np.percentile(textured, 75)))
            )
            new = changed is not None and float(changed[inside].mean()) >= NEW_SHARE
            # Against the baseline, a region mostly new since commissioning while the rest of the
            # view mostly is not (a cover changes its part of the view; a change of exposure or
            # light changes all of it) is no sky the camera always had, wherever it lies. The
            # rest changed too when its plain parts, whatever their colour, moved half as far as a
            # changed block does (LIT): fog, dusk and warm light move a hazy sky beside the region
            # (a pan, which moves the rest's textured blocks, does not move its plain ones). On
            # still cameras, dusk and warm light moved them 9.4 and 11.3 (held-out), a cover at
            # most 3.1.
            outside = changed[~inside] if changed is not None else None
            plain_rest = ~inside & smooth
            lit = (
                shift is not None
                and int(plain_rest.sum()) >= MIN_SEEN
                and float(np.median(shift[plain_rest])) >= LIT * t.occlusion_shift
            )
            local = new and not lit and outside is not None and outside.size > 0 and float(outside.mean()) < NEW_SHARE
            # The sky is the brightest part of the top of the view: a region clearly darker than
            # the rest of the picture's top row (by more than keeps two blocks one region,
            # occlusion_link: a cover hanging from the top edge of the lens, against the sky
            # beside it) is judged by its boundary, as any other region. Clipped blocks of that
            # row (a flare, the sun) say nothing of the sky's level beside the region, unless the
            # whole rest of the row is clipped (a white sky) and, against the baseline, was then.
            top = ~inside[0]
            clipped = means[0] >= CLIPPED
            if baseline_blocks is not None and shift is not None:
                top &= ~(clipped & (baseline_blocks[0][0] < CLIPPED))
            if bool((top & ~clipped).any()):
                top &= ~clipped
            dimmer = bool(top.any()) and level < float(np.median(means[0][top])) - t.occlusion_link
            skylike = in_rows[0] == 0 and not dimmer
            if not local and skylike and (in_rows[-1] < rows // 2 or (in_rows[-1] < rows - 1 and bright)):
                continue
            if changed is not None and not new:
                continue  # the camera's normal view, as commissioned: not a cover
            if fine is None:
                fine = _fine_smooth(small, t, noise_sigma)
                unknown = _filled(frame, small.shape) if frame.osd else None
                edges = _edge_blocks(frame)
                scene_width = scene_edge_width(frame, candidate, edges)
                motion = per_window(lumas, scene_motion, (small.shape[1], small.shape[0]))
            blocks = np.zeros(small.shape, np.uint8)
            hh, hw = min(bh * HALF, small.shape[0]), min(bw * HALF, small.shape[1])
            blocks[:hh, :hw] = cv2.resize(
                inside.astype(np.uint8), (bw * HALF, bh * HALF), interpolation=cv2.INTER_NEAREST
            )[:hh, :hw]
            # The region to the pixel: its smooth pixels, up to a block beyond its blocks.
            near = cv2.dilate(blocks, np.ones((2 * HALF + 1, 2 * HALF + 1), np.uint8)).astype(bool)
            pixels = ((near & fine) | blocks.astype(bool)).astype(np.uint8)
            # Only what is joined to the region's blocks: smooth ground across its edge is not it.
            count, parts = cv2.connectedComponents(pixels, connectivity=4)
            joined = np.zeros(count, bool)
            joined[parts[blocks.astype(bool)]] = True
            region = joined[parts]
            edge = boundary_width(small, region)
            # Soft against the scene's own edges: a defocused picture softens every boundary.
            # (A boundary's width is read over STEP half-size pixels: none is narrower than that.)
            own_width = scene_width
            if own_width == 0.0:
                # Plain parts everywhere (a road, a sky, a wall) leave no scene edge clear of all
                # of them: the scene's edges away from this region alone judge it.
                own_width = scene_edge_width(frame, inside, edges)
            softness = edge / max(own_width, 2.0 * STEP)
            if own_width == 0.0 and level >= DARK_RATIO * float(np.percentile(means, 80)):
                # No edge of the scene to tell a cover from a blurred view by: only a region
                # that also blocks the light (dark against the rest) is taken for a cover.
                softness = 0.0
            fixed = fixed_share(motion, region, unknown) if motion is not None else None
            measured.append([r(area), r(softness, 2), None if fixed is None else r(fixed, 3)])
            if fixed is not None and fixed < t.occlusion_fixed:
                continue  # its boundary pans with the scene: part of the view, not on the lens
            regions.append([r(area), r(softness, 2)])
            if area > region_area:
                region_area, width, ratio = area, edge, softness
            if softness >= t.occlusion_edge_ratio:
                best = max(best, area)
    score = ramp(best, clean=0.0, fault=t.occlusion_area, severe=min(1.0, t.occlusion_area * 2.5))
    metrics = {
        "occlusion_fraction": r(best),
        "occlusion_region": r(region_area),
        "occlusion_edge_width": r(width, 1),
        "occlusion_scene_width": r(scene_width, 1),
        "occlusion_softness": r(ratio, 2),
        "occlusion_regions": regions,
    }
    if measured:
        metrics["occlusion_motion"] = measured
    if baseline is not None:
        metrics["texture_lost"] = r(lost)
        metrics["look_moved"] = r(moved)
    return Measurement({"occlusion": score}, metrics)
