"""stripes: interference rolls or is new since commissioning; periodic scene texture (a brick
wall) is anchored to the scene and was in the camera's baseline."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.support.natural import FIT_SCENES, Clip, condition_frames
from tests.support.osd import font
from tests.unit.test_diagnosis_baseline import commissioned
from video.diagnosis import Baseline, CameraSettings, Thresholds, diagnose_frames
from video.diagnosis.checks.rolling import rolling
from video.diagnosis.checks.spectrum import MIN_PROMINENCE
from video.diagnosis.checks.stripes import drift, in_the_picture, periodic_peaks, stripes
from video.diagnosis.frame import AnalysedFrame

T = Thresholds()
W, H = 640, 360


def scene(seed: int = 0) -> np.ndarray:
    """A smooth, textured grey scene without any periodic pattern (float, 0-255)."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(
        rng.uniform(60, 190, (H // 24, W // 24)).astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC
    )
    fine = cv2.GaussianBlur(rng.normal(0, 12, (H, W)).astype(np.float32), (0, 0), 3.0)
    return coarse + fine


def bricks(x0: float = 0.0) -> np.ndarray:
    """A brick wall seen by a camera that moved right by `x0` pixels: courses 18 px high, bricks
    40 px long, dark mortar joints, every other course offset by half a brick."""
    yy, xx = np.mgrid[:H, : W + 64].astype(np.float32)
    course = (yy // 18).astype(int)
    joint_y = (yy % 18) < 2
    joint_x = ((xx + (course % 2) * 20) % 40) < 2
    wall = cv2.GaussianBlur(np.where(joint_y | joint_x, 90.0, 150.0).astype(np.float32), (0, 0), 3.0)
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


def window(pictures: list[np.ndarray]) -> tuple[AnalysedFrame, list[np.ndarray]]:
    """The judged picture and the window's luma pictures of a clip's BGR pictures."""
    lumas = [cv2.cvtColor(p, cv2.COLOR_BGR2GRAY) for p in pictures[: T.window_frames]]
    return AnalysedFrame.from_bgr(pictures[0], W), lumas


def tilted(pictures: list[np.ndarray], speed: float, flicker: float = 0.0) -> list[np.ndarray]:
    """The view tilting by `speed` pixels per frame, every other picture `flicker` brighter."""
    out = []
    for i, p in enumerate(pictures):
        m = np.array([[1, 0, 0], [0, 1, -speed * i]], np.float32)
        moved = cv2.warpAffine(p, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        out.append(np.clip(moved * (1.0 + flicker * (i % 2)), 0, 255).astype(np.uint8))
    return out


def with_bars(pictures: list[np.ndarray], amplitude: float, period: float, step: float) -> list[np.ndarray]:
    """Bars laid over the picture (not the scene), moving `step` radians per frame through it."""
    return [
        np.clip(p + bands(amplitude, period, step * i)[..., None], 0, 255).astype(np.uint8)
        for i, p in enumerate(pictures)
    ]


def test_faint_rolling_bars_under_strong_horizontal_edges_are_found() -> None:
    # Like the held-out crossroad, in a fit scene: the gate's strong horizontal edges spread their
    # power over every frequency of the picture's row profile, and faint bars (8 grey levels,
    # rolling 0.9 rad per frame) do not stand out of it. The change from picture to picture does
    # not have the still scene, and the bars stand out there.
    clip = Clip("stripes", "gate", 0.0, seed=1)
    assert clip.scene in FIT_SCENES
    frame, lumas = window(condition_frames(clip))
    assert in_the_picture(frame, T, lumas).scores["stripes"] < 0.5  # what was missed
    m = stripes(frame, T, lumas)
    assert m.scores["stripes"] >= 0.5, m.metrics
    assert m.metrics["stripe_rule"] == "rolling" and m.metrics["stripe_roll_axis"] == "horizontal", m.metrics
    assert 22 < m.metrics["stripe_roll_period_px"] < 28, m.metrics  # drawn 25.2 px apart
    assert 6 < m.metrics["stripe_roll_amplitude"] < 10 and 0.7 < m.metrics["stripe_roll_step"] < 1.1, m.metrics


@pytest.mark.parametrize(
    ("condition", "scene", "strength"),
    [
        ("clean", "gate", 1.0),  # panning, strong horizontal edges, cars passing
        ("vehicle", "gate", 1.0),  # a vehicle filling the view drives through it
        ("vehicle", "brick-a", 0.0),  # … past a brick wall (its texture moves otherwise than the view)
        ("rain", "gate", 1.0),
        ("rain", "brick-a", 1.0),
        ("freeze", "store-corner", 1.0),
    ],
)
def test_a_moving_scene_does_not_roll(condition: str, scene: str, strength: float) -> None:
    frame, lumas = window(condition_frames(Clip(condition, scene, strength)))
    assert rolling(lumas, T.stripe_amplitude, T.stripe_drift) is None
    m = stripes(frame, T, lumas)
    assert m.scores["stripes"] < 0.5 and m.metrics["stripe_roll_prominence"] == 0.0, m.metrics


@pytest.mark.parametrize("scene", ["gate", "brick-a"])
def test_a_tilting_flickering_view_does_not_roll(scene: str) -> None:
    # The view tilts 3 px per frame (the brick wall's courses move through the picture with it)
    # and the light flickers by 8 %: the scene's motion and the light are taken out.
    pictures = tilted(condition_frames(Clip("clean", scene, 1.0)), 3.0, flicker=0.08)
    frame, lumas = window(pictures)
    assert rolling(lumas, T.stripe_amplitude, T.stripe_drift) is None
    assert stripes(frame, T, lumas).scores["stripes"] < 0.5


@pytest.mark.parametrize("step", [0.0, 2.0])
def test_bars_move_relative_to_a_tilting_view(step: float) -> None:
    # Bars fixed in the picture (step 0) or rolling, while the view tilts under them: both move
    # relative to the scene, by 0.84 and 2.84 rad per frame (period 22.5 px, tilt 3 px).
    pictures = with_bars(tilted(condition_frames(Clip("clean", "store-corner", 1.0)), 3.0), 8.0, 22.5, step)
    frame, lumas = window(pictures)
    roll = rolling(lumas, T.stripe_amplitude, T.stripe_drift)
    assert roll is not None and abs(roll.period - 22.5) < 1.5 and 6 < roll.amplitude < 10, roll
    assert stripes(frame, T, lumas).scores["stripes"] >= 0.5


def test_rolling_needs_a_window() -> None:
    _, lumas = window(condition_frames(Clip("stripes", "gate", 1.0, seed=2)))
    assert rolling(lumas, T.stripe_amplitude, T.stripe_drift) is not None
    assert rolling(lumas[:2], T.stripe_amplitude, T.stripe_drift) is None
    assert rolling([], T.stripe_amplitude, T.stripe_drift) is None


def test_a_pattern_a_defocus_raises_just_above_the_floor_is_no_stripes() -> None:
    """A defocused road of the fit scenes: the defocus takes the road's broadband edges and a
    pattern the baseline had below the floor at which a peak is kept (3.0) now stands just
    above it. New since the baseline, but not as prominent as any stripes of the fit scenes
    (stripe_prominence, the middle of that gap): blur, not stripes that would hide it."""
    clip = Clip("defocus", "road", 1.0, seed=6)
    assert clip.scene in FIT_SCENES
    judged = diagnose_frames(condition_frames(clip), commissioned(clip))
    m = judged.metrics
    assert m["stripe_rule"] == "new_since_baseline" and m["stripe_amplitude"] >= T.stripe_amplitude, m
    assert MIN_PROMINENCE <= m["stripe_prominence"] < T.stripe_prominence, m
    assert judged.codes == ["blur"], m


def test_rolling_bands_over_a_flat_shop_front_are_stripes_not_noise() -> None:
    """Bands that roll are new in every picture, as snow is: over the flat parts of a shop front
    of the fit scenes, the noise read over the window counts them. Stripes hides noise."""
    clip = Clip("stripes", "store-wide", 1.0, seed=0)
    assert clip.scene in FIT_SCENES
    judged = diagnose_frames(condition_frames(clip), CameraSettings(T))
    assert judged.metrics["noise_temporal"] >= T.noise_temporal, judged.metrics
    assert judged.codes == ["stripes"], judged.metrics


def page() -> np.ndarray:
    """A notice filling the view, out of focus: lines of Chinese text on pale paper, with the
    paper's margin on the right (float, 0-255)."""
    paper = Image.new("L", (W, H), 225)
    pen = ImageDraw.Draw(paper)
    for i in range(18):
        pen.text(
            (28, 8 + i * 20),
            f"关于进一步加强政务云平台运维管理工作的通知第{i:02d}条各部门应当",
            font=font(17),
            fill=10,
            stroke_width=1,
            stroke_fill=10,
        )
    return cv2.GaussianBlur(np.asarray(paper, np.float32), (0, 0), 3.0)


def test_static_interference_over_the_whole_picture_is_found_without_a_baseline() -> None:
    frame, lumas = frames([scene() + bands(30, 21.0, 0.0) for _ in range(8)])
    m = stripes(frame, T, lumas)
    assert m.metrics["stripe_rule"] == "static", m.metrics
    assert m.scores["stripes"] >= 0.5, m.metrics


def test_the_lines_of_a_defocused_page_are_no_stripes() -> None:
    """Defocused, a page's lines of text are smooth bands as prominent as interference and with
    all of its share; but they end at the paper's edge, and interference does not."""
    frame, lumas = frames([page() for _ in range(8)])
    m = stripes(frame, T, lumas)
    assert m.metrics["stripe_rule"] == "static", m.metrics
    assert m.metrics["stripe_static_prominence"] >= T.stripe_static_prominence, m.metrics
    assert m.metrics["stripe_static_share"] >= T.stripe_static_share, m.metrics
    assert m.scores["stripes"] < 0.5, m.metrics
