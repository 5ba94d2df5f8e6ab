"""scene_change: how much of the reference picture's structure is still where it was.

Both pictures are reduced to 320 pixels wide and turned into edge maps: the strongest 12 % of
gradients, each with its orientation (8 bins). The share of the reference's edge pixels that
find an edge of about the same orientation within one pixel in the current picture measures
how much of the view is kept. Passing cars and people add edges but remove few of the
reference's, so a busy street keeps its score; a camera turned, zoomed or re-aimed loses most of
them. The overall level of light does not matter (edges are ranked, not thresholded).

The share is taken in each of 4 × 3 tiles, each tile first re-aligned on its own (within 8 % of
the width): a camera knocked slightly is shifted and rotated by a degree or two, which moves
each part of the picture by a few pixels in its own direction, so one shift for the whole
picture loses the edges far from its centre while each tile still finds its own. The similarity
is the mean of the best quarter of the tiles that have edges in the reference: a vehicle
filling most of the view, or a cover over part of the lens, takes away the tiles it hides, and
what is still visible is the same view; a camera turned away keeps no part of it (its best
tiles keep a third of their edges by chance, on the texture of the new view).

A tile whose edges all run one way (a horizon, a kerb, a river bank) is found anywhere along
them: another view with the same horizon keeps it too. Such a tile says the view may be kept,
not that it is, so the best quarter is taken over the tiles whose edges run in more than one
direction (all of them when none does). Tiles that lost their edges and show next to none of
their own are hidden (`reference_hidden`: a cover, or something plain close to the lens). The
share of the reference's edges found in place among those where the picture still shows
structure of its own (`reference_outside`, over all tiles) tells a cover, which leaves the
rest of the view in place, from a camera turned towards a view with a plain region, which
does not: on the fit scenes covers keep 0.75 or more, turned views 0.61 at most.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds

WIDTH = 320
EDGE_SHARE = 0.12
BINS = 8
MARGIN = 0.08  # share of the width/height the view may sway and still be re-aligned
COARSE = 48


def edge_maps(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(orientation bin per pixel, or -1 where there is no strong edge; blurred magnitude)."""
    h, w = gray.shape
    size = (WIDTH, max(2, round(h * WIDTH / w)))
    g = cv2.GaussianBlur(cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    magnitude, angle = cv2.cartToPolar(gx, gy)  # angle 0 … 2π; an edge's orientation is modulo π
    flat = magnitude.ravel()
    k = min(flat.size - 1, int(flat.size * (1 - EDGE_SHARE)))
    strong = magnitude >= max(float(np.partition(flat, k)[k]), 8.0)
    bins = (angle * np.float32(BINS / np.pi)).astype(np.int8) & (BINS - 1)
    bins[~strong] = -1
    return bins, cv2.GaussianBlur(magnitude, (0, 0), 2.0)


@dataclass(frozen=True)
class Reference:
    """The camera's stored view, reduced to what the comparisons need."""

    orientation: np.ndarray  # edge orientation bin per pixel at 320 wide, -1 = no edge
    magnitude: np.ndarray  # blurred gradient magnitude, for re-alignment
    coarse: np.ndarray  # the layout of light and dark, which survives a defocus

    @classmethod
    def from_frame(cls, frame: AnalysedFrame) -> Reference:
        orientation, magnitude = edge_maps(frame.gray)
        return cls(orientation, magnitude, coarse_layout(frame.gray))


def coarse_layout(gray: np.ndarray) -> np.ndarray:
    """The picture at 48 pixels wide, smoothed, zero mean and unit variance."""
    h, w = gray.shape
    size = (COARSE, max(2, round(h * COARSE / w)))
    small = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), np.float32)
    smooth = np.asarray(cv2.GaussianBlur(small, (0, 0), 1.0), np.float32)
    return (smooth - smooth.mean()) / max(float(smooth.std()), 1e-3)


def coarse_similarity(frame: AnalysedFrame, ref: Reference) -> float:
    """Correlation of the coarse layouts (best over small shifts), -1 … 1."""
    cur = coarse_layout(frame.gray)
    if cur.shape != ref.coarse.shape:
        cur = cv2.resize(cur, (ref.coarse.shape[1], ref.coarse.shape[0]), interpolation=cv2.INTER_AREA)
    h, w = ref.coarse.shape
    m = max(1, round(w * MARGIN))
    template = ref.coarse[m : h - m, m : w - m]
    if template.size == 0 or float(template.std()) < 1e-3:
        return 0.0
    return float(cv2.matchTemplate(cur, template, cv2.TM_CCOEFF_NORMED).max())


TILES = (4, 3)
SPREAD = 0.02  # share of the width the tiles' shifts may differ by (a knock's rotation)
# A tile that kept less than this share of its edges is covered: a part of an unrelated view
# keeps 0.2 … 0.4 of them by chance (the tiles of a camera turned away, on the fit scenes).
LOST_TILE = 0.1
BEST = 0.25  # the share of the tiles the similarity is the mean of (the best ones)
MIN_TILE_EDGES = 20
# A tile's edges run one way when the mean of their doubled orientation angles is this long (1:
# all parallel, 0: every direction alike). Chosen on the fit scenes: a horizon or a row of
# parallel lines measures 0.85 … 0.97; textures, foliage, windows and corners stay below 0.85.
ONE_WAY = 0.85
# A lost tile is hidden when it shows fewer edges of its own than this share of the reference's.
HIDDEN_EDGES = 0.25
SHOWS = 3  # pixels around the picture's own edges that count as showing structure


# Orientation bin (-1 … BINS-1, offset by one) → its bit; → the bits of the bins it matches.
ONE_HOT = np.array([0] + [1 << b for b in range(BINS)], np.uint8)
# Each bin's orientation as a doubled angle (an edge's orientation is modulo π).
DOUBLED = np.exp(2j * (np.arange(BINS) + 0.5) * np.pi / BINS)
ACCEPT = np.array([0] + [(1 << b) | (1 << (b + 1) % BINS) | (1 << (b - 1) % BINS) for b in range(BINS)], np.uint8)


def _near_bits(orientation: np.ndarray) -> np.ndarray:
    """For each pixel, the orientation bins (one bit each) of the edges within one pixel."""
    onehot = ONE_HOT[orientation + 1]
    padded = np.pad(onehot, 1)
    h, w = onehot.shape
    near = np.zeros_like(onehot)
    for dy in range(3):
        for dx in range(3):
            np.bitwise_or(near, padded[dy : dy + h, dx : dx + w], out=near)
    return near


def _flat(image: np.ndarray) -> bool:
    return float(cv2.meanStdDev(image)[1][0, 0]) < 1e-3


def _half(image: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA))


def _match(
    cur: np.ndarray, ref: np.ndarray, box: tuple[int, int, int, int], reach: int, around: tuple[int, int]
) -> tuple[int, int] | None:
    """(dx, dy) within `reach` of `around` that best moves the reference's `box` onto the current
    picture, kept inside it; None when the current picture is flat there."""
    x0, x1, y0, y1 = box
    h, w = cur.shape
    ax0 = min(max(0, x0 + around[0] - reach), w - (x1 - x0))
    ay0 = min(max(0, y0 + around[1] - reach), h - (y1 - y0))
    area = cur[ay0 : min(h, y1 + around[1] + reach), ax0 : min(w, x1 + around[0] + reach)]
    if area.shape[0] < y1 - y0 or area.shape[1] < x1 - x0 or _flat(area):
        return None
    _, _, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(area, ref[y0:y1, x0:x1], cv2.TM_CCOEFF_NORMED))
    return ax0 + x - x0, ay0 + y - y0


@dataclass(frozen=True)
class Tile:
    share: float  # share of the reference's edges found in place (0 … 1)
    one_way: bool  # its edges all run one way: found anywhere along them
    hidden: bool  # lost, with next to none of its own edges (a cover, something plain)
    seen: int = 0  # reference edges where the picture still shows structure of its own
    seen_kept: int = 0  # of those, found in place


def similarity(frame: AnalysedFrame, ref: Reference) -> tuple[float, tuple[int, int]]:
    """(share of the reference's edges kept in its best re-aligned tiles, median tile shift)."""
    tiles, shift = tile_similarities(frame, ref)
    return kept(tiles), shift


def kept(tiles: list[Tile]) -> float:
    """The mean of the best quarter of the tiles whose edges run more than one way (of all of
    them when none does); 0 without any tile."""
    telling = [x.share for x in tiles if not x.one_way] or [x.share for x in tiles]
    if not telling:
        return 0.0
    return float(np.mean(sorted(telling, reverse=True)[: max(1, round(len(telling) * BEST))]))


def _one_way(orientation: np.ndarray) -> bool:
    counts = np.bincount((orientation + 1).ravel(), minlength=BINS + 1)[1:]  # -1 (no edge) left out
    total = int(counts.sum())
    return total == 0 or abs(complex(counts @ DOUBLED)) >= ONE_WAY * total


def _kept_at(
    near: np.ndarray, accept: np.ndarray, box: tuple[int, int, int, int], shift: tuple[int, int]
) -> tuple[int, int, tuple[int, int, int, int]] | None:
    """(reference edges found, reference edges, the part of the box judged) with the tile moved
    by `shift`; only the part that lands inside the picture is judged (a knocked camera moves
    the border tiles partly out of view). None when too little of it does."""
    x0, x1, y0, y1 = box
    h, w = near.shape
    cx0, cx1 = max(x0, -shift[0]), min(x1, w - shift[0])
    cy0, cy1 = max(y0, -shift[1]), min(y1, h - shift[1])
    if cx1 - cx0 < (x1 - x0) // 2 or cy1 - cy0 < (y1 - y0) // 2:
        return None
    wanted = accept[cy0:cy1, cx0:cx1]
    edges = int(np.count_nonzero(wanted))
    if edges < MIN_TILE_EDGES // 2:
        return None
    moved = near[cy0 + shift[1] : cy1 + shift[1], cx0 + shift[0] : cx1 + shift[0]]
    return int(np.count_nonzero(moved & wanted)), edges, (cx0, cx1, cy0, cy1)


def tile_similarities(
    frame: AnalysedFrame, ref: Reference, tiles: tuple[int, int] = TILES
) -> tuple[list[Tile], tuple[int, int]]:
    """Each re-aligned tile that has edges in the reference (share of them kept, whether they
    run one way, whether it is hidden), and the shift most tiles agree on."""
    orientation, magnitude = edge_maps(frame.gray)
    h, w = ref.orientation.shape
    if orientation.shape != (h, w):
        orientation = cv2.resize(orientation, (w, h), interpolation=cv2.INTER_NEAREST)
        magnitude = cv2.resize(magnitude, (w, h), interpolation=cv2.INTER_AREA)
    if int((ref.orientation >= 0).sum()) < 50:
        return [], (0, 0)  # the reference has no structure to compare
    near = _near_bits(orientation)
    accept = ACCEPT[ref.orientation + 1]  # per reference edge: its own bin and both neighbours
    m = max(1, int(w * MARGIN))
    halves = (_half(magnitude), _half(ref.magnitude))
    quarters = (_half(halves[0]), _half(halves[1]))
    nx, ny = tiles
    found: list[tuple[tuple[int, int, int, int], tuple[int, int] | None]] = []
    for j in range(ny):
        for i in range(nx):
            x0, x1, y0, y1 = i * w // nx, (i + 1) * w // nx, j * h // ny, (j + 1) * h // ny
            if int(np.count_nonzero(accept[y0:y1, x0:x1])) < MIN_TILE_EDGES or _flat(ref.magnitude[y0:y1, x0:x1]):
                continue
            # Found at a quarter of the size over the whole margin, then at half the size
            # around that (then to the pixel, below).
            q = _match(*quarters, (x0 // 4, x1 // 4, y0 // 4, y1 // 4), max(1, m // 4), (0, 0))
            hf = None if q is None else _match(*halves, (x0 // 2, x1 // 2, y0 // 2, y1 // 2), 1, (2 * q[0], 2 * q[1]))
            if q is not None and hf is None:
                hf = (2 * q[0], 2 * q[1])
            found.append(((x0, x1, y0, y1), None if hf is None else (2 * hf[0], 2 * hf[1])))
    moved = [f[1] for f in found if f[1] is not None]
    if not found:
        return [], (0, 0)
    # A knocked camera moves every part of its view by about the same shift (a rotation of a
    # degree or two adds a few pixels); a tile that found its edges far from where most tiles
    # moved matched some other structure by chance (a straight line matches anywhere along
    # it), so it is judged where most of them say the view went: the middle (median) of the
    # shifts of the largest group of tiles that agree (a vehicle filling most of the view
    # leaves the visible tiles agreeing).
    spread = max(2, round(w * SPREAD))

    def agreeing(a: tuple[int, int]) -> list[tuple[int, int]]:
        return [b for b in moved if abs(a[0] - b[0]) <= spread and abs(a[1] - b[1]) <= spread]

    dx, dy = 0, 0
    if moved:
        group = agreeing(max(moved, key=lambda a: len(agreeing(a))))
        dx, dy = int(np.median([b[0] for b in group])), int(np.median([b[1] for b in group]))
    own = orientation >= 0
    # Where the picture shows structure of its own (its edges, and a few pixels around them):
    # not under a plain cover.
    shows = cv2.dilate(own.astype(np.uint8), np.ones((2 * SHOWS + 1, 2 * SHOWS + 1), np.uint8)).astype(bool)
    out: list[Tile] = []
    for box, shift in found:
        x0, x1, y0, y1 = box
        one_way = _one_way(ref.orientation[y0:y1, x0:x1])
        if shift is None:
            # Nothing at all where this part of the view was.
            out.append(Tile(0.0, one_way, True))
            continue
        if abs(shift[0] - dx) > spread or abs(shift[1] - dy) > spread:
            shift = (dx, dy)
        best: tuple[float, int, tuple[int, int], tuple[int, int, int, int]] | None = None
        for sy in range(shift[1] - 1, shift[1] + 2):
            for sx in range(shift[0] - 1, shift[0] + 2):
                at = _kept_at(near, accept, box, (sx, sy))
                if at is not None and (best is None or at[0] / at[1] > best[0]):
                    best = (at[0] / at[1], at[1], (sx, sy), at[2])
        if best is None:
            out.append(Tile(0.0, one_way, True))
            continue
        share, edges, (sx, sy), (cx0, cx1, cy0, cy1) = best
        hidden = (
            share < LOST_TILE and np.count_nonzero(own[cy0 + sy : cy1 + sy, cx0 + sx : cx1 + sx]) < HIDDEN_EDGES * edges
        )
        seen = accept[cy0:cy1, cx0:cx1] * shows[cy0 + sy : cy1 + sy, cx0 + sx : cx1 + sx]
        found_seen = near[cy0 + sy : cy1 + sy, cx0 + sx : cx1 + sx] & seen
        out.append(Tile(share, one_way, bool(hidden), int(np.count_nonzero(seen)), int(np.count_nonzero(found_seen))))
    return out, (dx, dy)


def scene_change(frame: AnalysedFrame, t: Thresholds, ref: Reference) -> Measurement:
    """The view kept (in the best tiles); also the share of tiles that kept next to none of
    their edges (`reference_lost`), of those hidden (lost, with next to no edges of their own:
    `reference_hidden`), and the share of the reference's edges kept where the picture still
    shows structure (`reference_outside`: outside a cover)."""
    tiles, (dx, dy) = tile_similarities(frame, ref)
    sim = kept(tiles)
    lost = sum(1 for x in tiles if x.share < LOST_TILE) / len(tiles) if tiles else 1.0
    hidden = sum(1 for x in tiles if x.hidden) / len(tiles) if tiles else 1.0
    seen = sum(x.seen for x in tiles)
    outside = sum(x.seen_kept for x in tiles) / seen if seen else 0.0
    coarse = coarse_similarity(frame, ref)
    score = ramp(
        sim,
        clean=min(1.0, t.scene_similarity + 0.3),
        fault=t.scene_similarity,
        severe=max(0.0, t.scene_similarity - 0.25),
    )
    return Measurement(
        {"scene_change": score},
        {
            "reference_similarity": r(sim),
            "reference_lost": r(lost),
            "reference_hidden": r(hidden),
            "reference_outside": r(outside),
            "reference_coarse": r(coarse),
            "reference_shift_px": [dx, dy],
        },
    )
