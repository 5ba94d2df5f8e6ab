"""Healthy held-out pictures that used to raise a fault, each fixed for its physical reason.
Clips come from held-out natural scenes (tests.support.natural), encoded and decoded as the
accuracy bench does (bench/vqd_accuracy.py), never from the fit scenes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support.natural import FIT_SCENES, HELD_OUT_SCENES, Clip, condition_frames, normal_clip, write_clip
from video.diagnosis import Baseline, CameraSettings, DiagnosisResult, Thresholds, diagnose_frames, diagnose_source
from video.diagnosis.checks.colour import color_cast
from video.diagnosis.checks.sharpness import EDGES_IN_FOCUS
from video.diagnosis.checks.stripes import candidates
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.sources import read_source

T = Thresholds()


def encoded(tmp_path: Path, clip: Clip) -> str:
    assert clip.scene in HELD_OUT_SCENES
    return str(write_clip(tmp_path / f"{clip.name}-{clip.t0}.mp4", clip))


def judged(tmp_path: Path, clip: Clip, with_baseline: bool) -> DiagnosisResult:
    """The clip judged as the accuracy bench does: with the camera's day baseline taken from
    its normal view at another moment (encoded too), or on the absolute thresholds."""
    settings = CameraSettings(T)
    if with_baseline:
        normal = read_source(encoded(tmp_path, normal_clip(clip)), T).frames[0]
        base = Baseline.measure(normal, T)
        settings = CameraSettings(T, None, {base.mode: base})
    return diagnose_source(encoded(tmp_path, clip), settings)


@pytest.mark.parametrize(
    "clip",
    [
        Clip("dusk", "brick-b", 1.0, seed=2, width=1280, height=720),
        Clip("backlight", "brick-b", 1.0, seed=0, width=1280, height=720),
        Clip("freeze", "brick-b", 1.0, seed=4, width=1280, height=720),  # frozen: freeze only
    ],
    ids=lambda c: c.name,
)
def test_a_brick_wall_at_1280_is_no_static_stripes_without_a_baseline(tmp_path: Path, clip: Clip) -> None:
    """A static wall is judged on its share of the picture's variation, which a camera of higher
    resolution (less grain once downscaled) does not raise; its prominence over the grain does."""
    result = judged(tmp_path, clip, with_baseline=False)
    assert "stripes" not in result.codes, result.metrics
    assert result.metrics["stripe_static_share"] < T.stripe_static_share, result.metrics


def test_a_wall_has_the_same_share_at_640_and_1280_not_the_same_prominence(tmp_path: Path) -> None:
    """The same wall seen by a 640 and a 1280 px camera, both judged at 640: the downscale
    averages the grain away, so the courses stand higher above the floor; their share of the
    picture's variation does not change."""
    found = {}
    for width, height in ((640, 360), (1280, 720)):
        clip = Clip("clean", "brick-b", 1.0, seed=2, width=width, height=height)
        frame = read_source(encoded(tmp_path, clip), T).frames[0]
        found[width] = {c.cycles: c for c in candidates(frame) if c.axis == "horizontal"}
    top = max(found[1280].values(), key=lambda c: c.prominence)
    small, large = found[640][top.cycles], top
    assert large.prominence > 1.3 * small.prominence, (small, large)
    assert abs(large.share - small.share) < 0.15 * small.share, (small, large)


@pytest.mark.parametrize(
    "clip",
    [
        Clip("single_colour", "terrain-east", 0.0, seed=7),
        Clip("single_colour", "terrain-east", 1.0, seed=0, width=1280, height=720),
    ],
    ids=lambda c: c.name,
)
def test_a_soft_view_whose_crisp_edge_walked_off_is_not_blurred(tmp_path: Path, clip: Clip) -> None:
    """A soft terrain under a one-coloured field: its only crisp edges are the field's border and
    a passer-by. Commissioned with the passer-by in view, the picture's upper percentile of edge
    sharpness falls when it has gone; where the baseline's sharpest edges were, they are kept."""
    result = judged(tmp_path, clip, with_baseline=True)
    assert "blur" not in result.codes, result.metrics
    assert result.metrics["edge_kept"] > T.blur_edge_kept, result.metrics


@pytest.mark.parametrize(
    "clip",
    [
        Clip("defocus", "china-wide", 0.0, seed=1),
        Clip("defocus", "china-wide", 0.0, seed=1, width=1280, height=720),
        Clip("gauss_blur", "grace-portrait", 0.0, seed=2),
    ],
    ids=lambda c: c.name,
)
def test_a_defocus_still_widens_the_baselines_sharpest_edges(tmp_path: Path, clip: Clip) -> None:
    result = judged(tmp_path, clip, with_baseline=True)
    assert result.codes == ["blur"], result.metrics
    assert result.metrics["edge_kept"] < EDGES_IN_FOCUS, result.metrics


def test_a_picture_darker_than_its_baseline_loses_texture_not_its_sharpest_edges(tmp_path: Path) -> None:
    """A lawn at dusk at 720p against its daylight baseline: the encoder takes the dark grass's
    fine texture, and the blur effect rises as much as under a weak defocus, but the sharpest
    edges stay as sharp as the baseline's, which a lens out of focus would have widened."""
    result = judged(tmp_path, Clip("dusk", "lawn-b", 1.0, seed=4, width=1280, height=720), with_baseline=True)
    m = result.metrics
    assert "blur" not in result.codes, m
    assert m["blur_effect"] - m["baseline_blur_effect"] > T.blur_rise, m
    assert m["edge_kept"] >= EDGES_IN_FOCUS and m["blur_texture_only"] is True, m


def test_a_soft_terrain_at_dusk_at_720p_is_not_blurred_without_a_baseline(tmp_path: Path) -> None:
    """The crispest edges of a shaded terrain at dusk are wide (few edges keep enough contrast),
    but not as wide as a lens out of focus makes every edge."""
    result = judged(tmp_path, Clip("dusk", "terrain-east", 1.0, seed=0, width=1280, height=720), with_baseline=False)
    assert "blur" not in result.codes, result.metrics
    assert result.metrics["edge_spread"] < T.blur_edge_spread, result.metrics


def test_a_dim_small_mover_at_dusk_keeps_a_720p_street_live(tmp_path: Path) -> None:
    """The fit scene that set freeze_max_block_diff: a plaza at dusk at 720p, the encoder has
    flattened its noise, and its mover is dim (no pixel changes by 24 grey levels) and small
    once downscaled to the analysis width. Only the most changed block shows it is live."""
    clip = Clip("dusk", "plaza", 1.0, seed=0, width=1280, height=720)
    assert clip.scene in FIT_SCENES
    result = diagnose_source(str(write_clip(tmp_path / "dusk.mp4", clip)), CameraSettings(T))
    m = result.metrics
    assert "freeze" not in result.codes, m
    assert m["freeze_diff"] < T.freeze_max_diff and m["freeze_moving_px"] < T.freeze_max_moving_px, m
    assert T.freeze_max_block_diff < m["freeze_block_diff"] < 0.6, m


def test_warm_street_light_on_a_blue_river_is_no_cast(tmp_path: Path) -> None:
    """The strongest warm light over a river and sky: in a*b* the light's change reads larger on
    the blue, dark scene than on the fit scenes; as channel gains (log chromaticity) it is the
    same warm light as anywhere."""
    result = judged(tmp_path, Clip("warm_light", "riverside", 1.0, seed=0), with_baseline=True)
    assert "color_cast" not in result.codes, result.metrics
    assert result.metrics["cast_light_shift"] < T.cast_light_shift, result.metrics


@pytest.mark.parametrize(
    "clip",
    [
        Clip("wb_cast", "china-wide", 1.0, seed=0),  # yellow-red, along the daylight locus
        Clip("wb_cast", "riverside", 1.0, seed=4),
        Clip("wb_cast", "parking", 1.0, seed=2),  # blue, along the locus
    ],
    ids=lambda c: c.name,
)
def test_a_white_balance_pushed_along_the_locus_is_still_a_cast(tmp_path: Path, clip: Clip) -> None:
    result = judged(tmp_path, clip, with_baseline=True)
    assert result.codes == ["color_cast"], result.metrics


def test_the_lights_log_chromaticity_shift_is_the_gain_whatever_the_scene() -> None:
    """The same channel gains on a grey and on a blue picture: the same log-chromaticity shift,
    not the same a*b* shift."""
    rng = np.random.default_rng(4)
    texture = rng.uniform(0.6, 1.0, (360, 640, 1)).astype(np.float32)
    gains = np.array([0.84, 0.98, 1.1], np.float32)  # B, G, R: a warm light
    shifts = []
    for colour in ((120, 120, 120), (150, 90, 40)):  # grey; a blue river (BGR)
        picture = (texture * np.array(colour, np.float32)).astype(np.uint8)
        warmed = np.clip(picture * gains, 0, 255).astype(np.uint8)
        base = Baseline.measure(AnalysedFrame.from_bgr(picture, 640), T)
        m = color_cast(AnalysedFrame.from_bgr(warmed, 640), T, base.illuminants, base.light).metrics
        shifts.append((m["cast_light_shift"], m["cast_shift"]))
    (log_grey, lab_grey), (log_blue, lab_blue) = shifts
    expected = float(np.hypot(np.log(1.1 / 0.98), np.log(0.84 / 0.98)))
    assert abs(log_grey - expected) < 0.02 and abs(log_blue - expected) < 0.02, shifts
    # In a*b* the same light reads about a sixth apart on the two pictures; as gains, the same
    # within a twentieth (the light's move is what three quarters of the picture's parts reach,
    # and on the dark blue picture the warm light pushes some pixels under the darkness limit).
    assert abs(lab_blue - lab_grey) > 0.1 * lab_grey, shifts
    assert abs(log_blue - log_grey) < 0.05 * log_grey, shifts


def test_the_baseline_keeps_its_edge_blocks_and_light_and_an_old_one_loads_without_them() -> None:
    rng = np.random.default_rng(2)
    picture = cv2.GaussianBlur(rng.uniform(0, 255, (360, 640, 3)).astype(np.uint8), (0, 0), 2.0)
    base = Baseline.measure(AnalysedFrame.from_bgr(picture, 640), T)
    assert base.edge_blocks is not None and base.light is not None
    again = Baseline.from_dict(base.as_dict())
    assert again.edge_blocks is not None and np.allclose(again.edge_blocks, base.edge_blocks, atol=1e-3)
    assert again.light is not None and all(np.allclose(again.light[k], base.light[k], atol=1e-3) for k in base.light)
    old = {k: v for k, v in base.as_dict().items() if k not in ("edge_blocks", "light")}
    loaded = Baseline.from_dict(old)
    assert loaded.edge_blocks is None and loaded.light is None  # judged as before they were kept
    refined = loaded.refined(base, T.baseline_rounds)
    assert refined.edge_blocks is None and refined.light is None
    mixed = base.refined(base, T.baseline_rounds)
    assert mixed.light is not None and np.allclose(mixed.light["grey_world"], base.light["grey_world"])


def test_a_blurred_autumn_scene_is_blur_and_its_colour_is_not_judged() -> None:
    """The grey edge assumes the scene's fine detail averages to grey; a blur leaves only its
    large coloured boundaries, so a blurred warm scene's estimates all lean to its colour (on
    the fit scenes, autumn leaves under a Gaussian of sigma 2 crossed cast_offset). Blur hides
    color_cast; the hidden score stays in the metrics."""
    clip = Clip("gauss_blur", "autumn-a", 1.0, seed=0)
    assert clip.scene in FIT_SCENES
    judged = diagnose_frames(condition_frames(clip), CameraSettings(T))
    assert judged.metrics["cast_offset"] >= T.cast_offset, judged.metrics
    assert judged.codes == ["blur"] and judged.metrics["hidden"] == ["color_cast"], judged.metrics
