"""blur: the blur effect of Crété-Roffet et al. (2007), judged on the most structured regions.

The picture is re-blurred with a 9-tap box filter; a sharp picture loses much of its
neighbour-to-neighbour variation, a blurred one hardly any. Measured per block and taken from
the sharper structured blocks, so a smooth occluder, sky or soft stripes do not read as blur,
and a defocused lens still does (it blurs every block).
"""

from __future__ import annotations

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds

BLOCK = 32


def _block_sums(img: np.ndarray) -> np.ndarray:
    h, w = img.shape
    bh, bw = h // BLOCK, w // BLOCK
    return img[: bh * BLOCK, : bw * BLOCK].reshape(bh, BLOCK, bw, BLOCK).sum(axis=(1, 3), dtype=np.float64)


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


def _structured(frame: AnalysedFrame) -> np.ndarray:
    blur_map, structure = blur_effect_map(frame.gray_f)
    # Blocks with real structure (edges survive the box filter; sensor noise does not).
    floor = max(0.6, float(np.percentile(structure, 60)))
    return blur_map[structure >= floor]


def blur_effect(frame: AnalysedFrame) -> float:
    """The picture's blur effect, 0 sharp … 1 fully blurred (0 when it has no structure)."""
    structured = _structured(frame)
    return float(np.percentile(structured, 30)) if structured.size >= 4 else 0.0


def blur(frame: AnalysedFrame, t: Thresholds, baseline: float | None = None) -> Measurement:
    """Absolute without a baseline; with one, the rise above the camera's own normal sharpness
    (a naturally soft view is not a fault, a softer one than usual is)."""
    structured = _structured(frame)
    effect = float(np.percentile(structured, 30)) if structured.size >= 4 else 0.0
    lap_var = float(frame.laplacian.var())
    edge = float(frame.gradient.mean())
    if structured.size < 4:
        score = 0.0
    elif baseline is not None:
        fault = min(0.9, baseline + t.blur_rise)
        score = ramp(effect, clean=baseline, fault=fault, severe=min(0.97, fault + 0.2))
    else:
        score = ramp(effect, clean=t.blur_effect - 0.25, fault=t.blur_effect, severe=min(0.95, t.blur_effect + 0.25))
    return Measurement(
        {"blur": score},
        {
            "blur_effect": r(effect),
            "laplacian_var": r(lap_var, 1),
            "edge_strength": r(edge, 2),
            "structured_blocks": int(structured.size),
        },
    )
