"""scene_change: how much of the reference picture's structure is still where it was.

Both pictures are reduced to 320 pixels wide and turned into edge maps: the strongest 12 % of
gradients, each with its orientation (8 bins). The share of the reference's edge pixels that
find an edge of about the same orientation within one pixel in the current picture is the
similarity. Passing cars and people add edges but remove few of the reference's, so a busy
street keeps its score; a camera turned, zoomed or re-aimed loses most of them. The overall
level of light does not matter (edges are ranked, not thresholded), and a camera that sways by
a few pixels is first re-aligned on the coarse edge picture.
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
NEAR = np.ones((3, 3), np.uint8)
COARSE = 48


def edge_maps(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(orientation bin per pixel, or -1 where there is no strong edge; blurred magnitude)."""
    h, w = gray.shape
    size = (WIDTH, max(2, round(h * WIDTH / w)))
    g = cv2.GaussianBlur(cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.asarray(cv2.magnitude(gx, gy), np.float32)
    strong = magnitude >= max(float(np.percentile(magnitude, 100 * (1 - EDGE_SHARE))), 8.0)
    bins = (np.floor((np.arctan2(gy, gx) % np.pi) / np.pi * BINS).astype(np.int8)) % BINS
    return np.where(strong, bins, -1).astype(np.int8), cv2.GaussianBlur(magnitude, (0, 0), 2.0)


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


def _shift(ref: np.ndarray, cur: np.ndarray) -> tuple[int, int]:
    """(dx, dy) that moves the reference onto the current picture, within MARGIN."""
    h, w = ref.shape
    my, mx = max(1, int(h * MARGIN)), max(1, int(w * MARGIN))
    template = ref[my : h - my, mx : w - mx]
    if float(template.std()) < 1e-3 or float(cur.std()) < 1e-3:
        return 0, 0
    _, _, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(cur, template, cv2.TM_CCOEFF_NORMED))
    return x - mx, y - my


def similarity(frame: AnalysedFrame, ref: Reference) -> tuple[float, tuple[int, int]]:
    orientation, magnitude = edge_maps(frame.gray)
    if orientation.shape != ref.orientation.shape:
        h, w = ref.orientation.shape
        orientation = cv2.resize(orientation, (w, h), interpolation=cv2.INTER_NEAREST)
        magnitude = cv2.resize(magnitude, (w, h), interpolation=cv2.INTER_AREA)
    dx, dy = _shift(ref.magnitude, magnitude)
    if dx or dy:  # bring the current picture back onto the reference
        back = np.array([[1, 0, -dx], [0, 1, -dy]], np.float32)
        size = (orientation.shape[1], orientation.shape[0])
        orientation = np.asarray(
            cv2.warpAffine(orientation.astype(np.float32), back, size, flags=cv2.INTER_NEAREST, borderValue=-1), np.int8
        )
    ref_edges = ref.orientation >= 0
    total = int(ref_edges.sum())
    if total < 50:
        return 0.0, (dx, dy)  # the reference has no structure to compare
    found = 0
    for b in range(BINS):
        mine = ref.orientation == b
        if not mine.any():
            continue
        near_bins = (orientation == b) | (orientation == (b + 1) % BINS) | (orientation == (b - 1) % BINS)
        found += int((mine & (cv2.dilate(near_bins.astype(np.uint8), NEAR) > 0)).sum())
    return found / total, (dx, dy)


def scene_change(frame: AnalysedFrame, t: Thresholds, ref: Reference) -> Measurement:
    sim, (dx, dy) = similarity(frame, ref)
    coarse = coarse_similarity(frame, ref)
    score = ramp(
        sim,
        clean=min(1.0, t.scene_similarity + 0.3),
        fault=t.scene_similarity,
        severe=max(0.0, t.scene_similarity - 0.25),
    )
    return Measurement(
        {"scene_change": score},
        {"reference_similarity": r(sim), "reference_coarse": r(coarse), "reference_shift_px": [dx, dy]},
    )
