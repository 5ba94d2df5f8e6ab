"""noise (snow): the noise sigma estimate of Immerkær (1996), made robust with a median.

The 3×3 kernel is the product of horizontal and vertical second differences, so edges and
stripes along either axis cancel and mostly noise remains; the median over the picture
ignores what texture is left.
"""

from __future__ import annotations

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, r, ramp
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds

KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
# |kernel * noise| has sigma 6·σ; the median of a half-normal is 0.6745 of its sigma.
SCALE = 1.0 / (6.0 * 0.6745)


def noise_sigma(gray: np.ndarray) -> float:
    response = np.abs(cv2.filter2D(gray, cv2.CV_32F, KERNEL))[1:-1, 1:-1]
    return float(np.median(response)) * SCALE


def noise(frame: AnalysedFrame, t: Thresholds) -> Measurement:
    sigma = noise_sigma(frame.gray_f)
    score = ramp(sigma, clean=t.noise_sigma * 0.3, fault=t.noise_sigma, severe=t.noise_sigma * 2.5)
    return Measurement({"noise": score}, {"noise_sigma": r(sigma, 2)})
