"""occlusion: one large, dark, textureless region over the lens.

Something held over or stuck on the lens is out of focus (no texture) and blocks light (darker
than the scene around it). Blocks that are both are joined into regions; the largest region's
share of the picture is the measurement. A dark, smooth region that touches only the top edge
and ends above the middle is taken for a night sky, not an occluder.
"""

from __future__ import annotations

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds

BLOCK = 20


def block_stats(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation) of each BLOCK×BLOCK block."""
    h, w = gray.shape
    bh, bw = h // BLOCK, w // BLOCK
    blocks = gray[: bh * BLOCK, : bw * BLOCK].reshape(bh, BLOCK, bw, BLOCK).astype(np.float32)
    return blocks.mean(axis=(1, 3)), blocks.std(axis=(1, 3))


def occlusion(
    frame: AnalysedFrame,
    t: Thresholds,
    noise_sigma: float = 0.0,
    baseline: np.ndarray | None = None,
    baseline_brightness: float | None = None,
) -> Measurement:
    """Without a baseline: dark, textureless blocks. With the camera's baseline also blocks of
    any brightness that were textured in its normal picture and have lost their texture (a
    mid-grey or translucent cover), allowing for the picture being dimmer than its normal."""
    means, stds = block_stats(frame.gray)
    smooth = stds < max(4.0, 2.5 * noise_sigma)
    textured = means[~smooth]
    # The scene's own brightness: its textured part, or, in a scene of plain surfaces, its
    # brighter part (an occluder is the darker part).
    scene = float(np.median(textured)) if textured.size >= 0.1 * means.size else float(np.percentile(means, 80))
    candidate = smooth & (means < t.occlusion_dark_ratio * scene) & (means < 100)
    lost = 0.0
    if baseline is not None and baseline.shape == stds.shape:
        dimmer = 1.0
        if baseline_brightness:
            dimmer = float(np.clip(frame.gray.mean() / baseline_brightness, 0.3, 1.0))
        was_textured = baseline >= max(6.0, 3.0 * noise_sigma)
        gone = was_textured & smooth & (stds < t.occlusion_texture_loss * baseline * dimmer)
        lost = float(gone.mean())
        candidate = candidate | gone
    best = 0.0
    # When the visible scene is itself dark, darkness is the fault (too_dark), not a cover.
    if candidate.any() and scene >= t.dark_mean:
        n, _, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=8)
        rows = candidate.shape[0]
        for i in range(1, n):
            top, height = stats[i, cv2.CC_STAT_TOP], stats[i, cv2.CC_STAT_HEIGHT]
            area = stats[i, cv2.CC_STAT_AREA]
            if top == 0 and top + height <= rows // 2:
                continue  # night sky
            best = max(best, area / candidate.size)
    score = ramp(best, clean=0.0, fault=t.occlusion_area, severe=min(1.0, t.occlusion_area * 2.5))
    metrics = {"occlusion_fraction": r(best), "scene_luma": r(scene, 1)}
    if baseline is not None:
        metrics["texture_lost"] = r(lost)
    return Measurement({"occlusion": score}, metrics)
