"""stripes: interference rolls or is new since commissioning; periodic scene texture (a brick
wall) is anchored to the scene and was in the camera's baseline."""

from __future__ import annotations

import cv2
import numpy as np

from video.diagnosis import Baseline, Thresholds
from video.diagnosis.checks.stripes import drift, periodic_peaks, stripes
from video.diagnosis.frame import AnalysedFrame

T = Thresholds()
W, H = 640, 360


def scene(seed: int = 0) -> np.ndarray:
    """A smooth, textured grey scene without any periodic pattern (float, 0-255)."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(
        rng.uniform(60, 190, (H // 24, W // 24)).astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC
    )
    fine = cv2.GaussianBlur(rng.normal(0, 12, (H, W)).astype(np.float32), (0, 0), 2.0)
    return coarse + fine


def bricks(x0: float = 0.0) -> np.ndarray:
    """A brick wall seen by a camera that moved right by `x0` pixels: courses 18 px high, bricks
    40 px long, dark mortar joints, every other course offset by half a brick."""
    yy, xx = np.mgrid[:H, : W + 64].astype(np.float32)
    course = (yy // 18).astype(int)
    joint_y = (yy % 18) < 2
    joint_x = ((xx + (course % 2) * 20) % 40) < 2
    wall = cv2.GaussianBlur(np.where(joint_y | joint_x, 90.0, 150.0).astype(np.float32), (0, 0), 1.2)
    m = np.array([[1, 0, -32 - x0], [0, 1, 0]], np.float32)
    return cv2.warpAffine(wall, m, (W, H), flags=cv2.INTER_LINEAR)


def courses(contrast: float = 16.0) -> np.ndarray:
    """A weathered wall: darker courses about 18 px apart (not exactly), over the scene."""
    rng = np.random.default_rng(3)
    rows = np.zeros(H, np.float32)
    y = 0.0
    while y < H:
        rows[int(y) : int(y) + 6] = -contrast
        y += 18 + rng.uniform(-1.5, 1.5)
    return scene() + cv2.GaussianBlur(rows[:, None], (0, 0), 1.5)


def frames(pictures: list[np.ndarray], seed: int = 1) -> tuple[AnalysedFrame, list[np.ndarray]]:
    """The judged picture and the window's luma pictures, with sensor noise, as the sampler gives them."""
    rng = np.random.default_rng(seed)
    lumas = [np.clip(p + rng.normal(0, 2.5, p.shape), 0, 255).astype(np.uint8) for p in pictures]
    return AnalysedFrame.from_bgr(lumas[0], W), lumas


def bands(amplitude: float, period: float, phase: float) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * np.arange(H, dtype=np.float32) / period + phase))[:, None]


def test_a_rolling_band_is_found_without_a_baseline() -> None:
    base = scene()
    frame, lumas = frames([base + bands(12, 21.0, 0.9 * i) for i in range(8)])
    m = stripes(frame, T, lumas)
    assert m.scores["stripes"] >= 0.5, m.metrics
    assert m.metrics["stripe_rule"] == "drift" and m.metrics["stripe_axis"] == "horizontal", m.metrics
    assert m.metrics["stripe_drift"] >= T.stripe_drift


def test_a_panned_brick_wall_does_not_drift() -> None:
    # The scene's own motion is taken out: the joints move with the wall, they do not roll.
    _, lumas = frames([bricks(0.6 * i) for i in range(8)])
    moved = drift(lumas, "vertical", W // 20)  # the vertical joints, every 20 px across courses
    still = drift(lumas, "horizontal", H // 18)  # the courses
    assert moved is not None and still is not None
    assert moved < T.stripe_drift and still < T.stripe_drift, (moved, still)


def test_a_brick_wall_is_texture_with_its_baseline() -> None:
    commissioned, _ = frames([bricks(3.0)], seed=5)
    known = periodic_peaks(commissioned)
    assert known, "the baseline keeps the wall's periodic patterns"
    frame, lumas = frames([bricks(0.6 * i) for i in range(8)])
    m = stripes(frame, T, lumas, known)
    assert m.scores["stripes"] < 0.5, m.metrics
    assert m.metrics["stripe_rule"] == "known_texture", m.metrics


def test_a_static_pattern_without_a_baseline_needs_the_static_threshold() -> None:
    frame, lumas = frames([courses() for _ in range(8)])
    m = stripes(frame, T, lumas)
    assert m.metrics["stripe_rule"] == "static", m.metrics
    # Prominent enough for a rolling band, not for the ambiguous static case.
    assert T.stripe_prominence <= m.metrics["stripe_prominence"] < T.stripe_static_prominence, m.metrics
    assert m.scores["stripes"] < 0.5, m.metrics


def test_a_static_pattern_new_since_the_baseline_is_a_fault() -> None:
    commissioned, _ = frames([scene()], seed=5)
    known = periodic_peaks(commissioned)
    frame, lumas = frames([scene() + bands(12, 21.0, 0.0) for _ in range(8)])
    m = stripes(frame, T, lumas, known)
    assert m.metrics["stripe_rule"] == "new_since_baseline", m.metrics
    assert m.scores["stripes"] >= 0.5, m.metrics


def test_the_baseline_keeps_its_periodic_patterns_and_an_old_one_loads_without_them() -> None:
    picture = cv2.cvtColor(bricks().astype(np.uint8), cv2.COLOR_GRAY2BGR)
    base = Baseline.measure(AnalysedFrame.from_bgr(picture, W), T)
    assert base.periodic
    again = Baseline.from_dict(base.as_dict())
    assert again.periodic == base.periodic
    old = base.as_dict()
    del old["periodic"]
    loaded = Baseline.from_dict(old)
    assert loaded.periodic is None  # absent: judged as a camera without recorded patterns
    # Refining keeps every pattern either picture had; a stored old one learns them.
    assert loaded.refined(base, T.baseline_rounds).periodic == base.periodic
    assert base.refined(base, T.baseline_rounds).periodic == base.periodic
