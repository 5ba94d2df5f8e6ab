"""noise (snow): the noise estimate of Immerkær (1996), taken where the scene is flat.

The 3×3 kernel is the product of horizontal and vertical second differences, so edges and
stripes along either axis cancel and mostly noise remains. Its mean absolute response, times
√(π/2)/6, is the noise sigma. Real edges are masked out first: they are found on a smoothed
copy of the picture, where snow has faded but the scene's edges remain. The mean (not the
median) matters after compression: a capped bit rate leaves snow as scattered specks on a
smoothed picture, which a median would not see.
"""

from __future__ import annotations

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds

KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
MEAN_SCALE = float(np.sqrt(np.pi / 2) / 6)  # |kernel * noise| has sigma 6σ, mean 6σ·√(2/π)
MEDIAN_SCALE = 1.0 / (6.0 * 0.6745)  # the median of a half-normal is 0.6745 of its sigma
SCENE_EDGE = 20.0  # Sobel magnitude on the smoothed picture: an edge of the scene
NEAR = np.ones((5, 5), np.uint8)


def noise_sigma(gray: np.ndarray) -> tuple[float, float]:
    """(noise sigma, share of the picture it was measured on)."""
    response = np.abs(cv2.filter2D(gray, cv2.CV_32F, KERNEL))[1:-1, 1:-1]
    smooth = cv2.GaussianBlur(gray, (0, 0), 2.0)
    edges = cv2.magnitude(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    flat = cv2.dilate((edges > SCENE_EDGE).astype(np.uint8), NEAR)[1:-1, 1:-1] == 0
    share = float(flat.mean())
    if share < 0.05:  # edges everywhere (bands, a busy texture): fall back to the median
        return float(np.median(response[::2, ::2])) * MEDIAN_SCALE, share
    return float(response[flat].mean()) * MEAN_SCALE, share


def excess(sigma: float, baseline: float) -> float:
    """The noise added since the baseline: independent noises add their variances, so what the
    camera's normal picture already measured (its own sensor noise, and the fine texture that
    the estimate cannot tell from noise) is taken out in quadrature. A ratio would not do: a
    compressed stream's normal picture measures almost no noise (sigma 0.2), so any ratio is
    either crossed by a healthy picture's small changes or needs a large one, while a textured
    scene's normal picture measures 6 and snow of sigma 12 adds up to only 14."""
    return float(np.sqrt(max(0.0, sigma * sigma - baseline * baseline)))


def noise(frame: AnalysedFrame, t: Thresholds, baseline: float | None = None) -> Measurement:
    """Absolute without a baseline; with one, the noise added to the camera's own normal level
    (a night picture is noisier than a day one, and its night baseline knows it)."""
    sigma, share = noise_sigma(frame.gray_f)
    metrics = {"noise_sigma": r(sigma, 2), "noise_area": r(share)}
    value, fault = sigma, t.noise_sigma
    if baseline is not None:
        value, fault = excess(sigma, baseline), t.noise_excess
        metrics["noise_excess"] = r(value, 2)
    score = ramp(value, clean=fault * 0.3, fault=fault, severe=fault * 2.5)
    return Measurement({"noise": score}, metrics)
