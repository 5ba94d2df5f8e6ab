"""scene_change: how much the view still looks like the reference picture stored for the camera.

Both pictures are reduced to about 160 pixels wide and compared by their gradient magnitude,
which ignores the overall level of light (day, dusk) but not where the edges are. The centre
of the reference is slid over the current picture (normalised cross-correlation), so a camera
that sways by a few pixels keeps its score; one that was turned, zoomed or re-aimed does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.checks.colour import chroma_stats
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds

MARGIN = 0.08  # share of the width/height the view may shift and still match


def edge_picture(small_gray: np.ndarray) -> np.ndarray:
    g = cv2.GaussianBlur(small_gray.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.GaussianBlur(cv2.magnitude(gx, gy), (0, 0), 1.5)


@dataclass(frozen=True)
class Reference:
    """The camera's stored view, reduced to what the comparison needs."""

    edges: np.ndarray
    chroma: tuple[float, float]  # mean a*, b*: the camera's own colour balance

    @classmethod
    def from_frame(cls, frame: AnalysedFrame) -> Reference:
        da, db, _, _ = chroma_stats(frame.lab)
        return cls(edge_picture(frame.small_gray), (da, db))


def similarity(frame: AnalysedFrame, ref: Reference) -> float:
    cur = edge_picture(frame.small_gray)
    h, w = cur.shape
    ref_edges = ref.edges if ref.edges.shape == cur.shape else cv2.resize(ref.edges, (w, h))
    my, mx = max(1, int(h * MARGIN)), max(1, int(w * MARGIN))
    template = ref_edges[my:h - my, mx:w - mx]
    if float(template.std()) < 1e-3 or float(cur.std()) < 1e-3:
        return 0.0  # one of the two pictures has no structure at all
    return float(cv2.matchTemplate(cur, template, cv2.TM_CCOEFF_NORMED).max())


def scene_change(frame: AnalysedFrame, t: Thresholds, ref: Reference) -> Measurement:
    sim = similarity(frame, ref)
    score = ramp(sim, clean=min(1.0, t.scene_similarity + 0.35), fault=t.scene_similarity,
                 severe=t.scene_similarity - 0.35)
    return Measurement({"scene_change": score}, {"reference_similarity": r(sim)})
