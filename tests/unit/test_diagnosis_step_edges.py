"""Without a baseline, blur is read from the window's sharpest isolated step edges: a camera in
focus draws something crisply (a passing car in any picture of the window is enough), a
defocused lens widens every step to its blur disc; a fine texture is not a step."""

from __future__ import annotations

import cv2
import numpy as np

from tests.support.natural import _disc_psf
from video.diagnosis import Thresholds
from video.diagnosis.checks.edges import step_blocks, window_edge_sharpness
from video.diagnosis.checks.sharpness import blur
from video.diagnosis.frame import AnalysedFrame

T = Thresholds()


def _noisy(img: np.ndarray, seed: int = 0, sigma: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def _tiles() -> np.ndarray:
    """Flat grey tiles of 48 pixels: long step edges between levels."""
    rng = np.random.default_rng(3)
    levels = rng.integers(50, 210, (8, 14)).astype(np.uint8)
    return cv2.resize(levels, (14 * 48, 8 * 48), interpolation=cv2.INTER_NEAREST)[:360, :640]


def test_the_step_edge_sharpness_is_about_one_over_the_edge_width() -> None:
    crisp = window_edge_sharpness([_noisy(_tiles())])
    assert crisp is not None and crisp > 0.6, crisp
    for sigma in (1.8, 4.0):  # a Gaussian edge is about 2.5 sigma wide: 0.22 and 0.10 in theory
        blurred = window_edge_sharpness([_noisy(cv2.GaussianBlur(_tiles(), (0, 0), sigma))])
        assert blurred is not None and blurred < 0.3, (sigma, blurred)
    defocused = window_edge_sharpness([_noisy(cv2.filter2D(_tiles(), -1, _disc_psf(5.0)))])
    assert defocused is not None and defocused < T.blur_step_edges, defocused


def test_a_fine_texture_blurred_is_not_read_as_sharp_edges() -> None:
    # A blurred fine grating keeps its period, so its one-pixel steps stay large against its own
    # contrast: it has no flat level beside its edges and must not count as a step.
    x = np.arange(640, dtype=np.float32)
    grating = np.repeat((128 + 100 * np.sign(np.sin(2 * np.pi * x / 6)))[None, :], 360, axis=0)
    soft = _noisy(cv2.GaussianBlur(grating, (0, 0), 1.5))
    assert window_edge_sharpness([soft]) is None


def test_one_crisp_object_in_any_picture_of_the_window_proves_focus() -> None:
    soft = _noisy(cv2.GaussianBlur(_tiles(), (0, 0), 4.0), 1)
    with_car = soft.copy()
    cv2.rectangle(with_car, (300, 200), (380, 240), 20, -1)  # a passing car, crisp
    alone = window_edge_sharpness([soft])
    assert alone is not None and alone < T.blur_step_edges
    seen = window_edge_sharpness([soft, with_car])
    assert seen is not None and seen > 2 * T.blur_step_edges, seen


def test_a_flat_window_has_no_step_edge_to_judge() -> None:
    assert window_edge_sharpness([np.full((360, 640), 120, np.uint8)]) is None
    assert window_edge_sharpness([]) is None
    assert step_blocks(np.zeros((16, 16), np.uint8)).size == 0  # smaller than a block


def test_blur_without_a_baseline_reads_the_window() -> None:
    defocused = cv2.cvtColor(_noisy(cv2.filter2D(_tiles(), -1, _disc_psf(5.0))), cv2.COLOR_GRAY2BGR)
    frame = AnalysedFrame.from_bgr(defocused, 640)
    m = blur(frame, T)
    assert m.scores["blur"] >= 0.5 and "step_edge_sharpness" in m.metrics, m.metrics
    crisp = frame.gray.copy()
    cv2.rectangle(crisp, (300, 200), (380, 240), 20, -1)
    in_focus = blur(frame, T, window=[frame.gray, crisp, crisp, crisp])  # every third picture is read
    assert in_focus.metrics["step_edge_sharpness"] > 2 * T.blur_step_edges, in_focus.metrics
    # With a baseline the camera's own sharpness judges: this measure is not taken.
    assert "step_edge_sharpness" not in blur(frame, T, 0.3, 0.5).metrics
