"""Without a reference, casts along the daylight locus (blue, yellow-red) against warm light and
scenes whose colour is their own. Pictures of the fit scenes only (tests.support.natural.FIT_SCENES).
What no estimate of the light separates without a baseline is marked xfail with what was measured
(video/diagnosis/checks/colour.py's module text has the whole record)."""

from __future__ import annotations

import pytest

from tests.support.natural import FIT_SCENES, Clip, condition_frames, normal_clip
from video.diagnosis import Baseline, CameraSettings, Thresholds, diagnose_frames
from video.diagnosis.checks import Measurement
from video.diagnosis.checks.colour import color_cast
from video.diagnosis.frame import AnalysedFrame

T = Thresholds()
BLUE, YELLOW_RED = 2, 0  # wb_cast's colour is its seed modulo 4


def _judged(clip: Clip) -> Measurement:
    assert clip.scene in FIT_SCENES
    return color_cast(AnalysedFrame.from_bgr(condition_frames(clip)[0], 640), T)


@pytest.mark.parametrize("scene", ["plaza", "market"])
def test_a_strong_yellow_red_white_balance_is_found_without_a_reference(scene: str) -> None:
    found = _judged(Clip("wb_cast", scene, 1.0, seed=YELLOW_RED))
    assert found.scores["color_cast"] >= 0.5, found.metrics


@pytest.mark.parametrize("scene", ["autumn-a", "road", "brick-a", "lawn-a"])
def test_warm_light_stays_healthy(scene: str) -> None:
    judged = _judged(Clip("warm_light", scene, 1.0, seed=0))
    assert judged.scores["color_cast"] < 0.5, judged.metrics


def test_a_blue_river_filling_most_of_the_view_is_no_cast() -> None:
    judged = _judged(Clip("single_colour", "flower-corner", 1.0, seed=6))  # seed 2 (mod 4): a river
    assert judged.scores["color_cast"] < 0.5, judged.metrics


@pytest.mark.xfail(
    strict=True,
    reason="along the locus no estimate tells a blue light from a blue scene without a baseline: "
    "cast_cool (grey-edge size, grey world and grey pixels on the same side) read 0.24-0.44 on these "
    "and at most 0.087 on healthy fit clips, but 0.17-0.31 on held-out terrain and riverside clips of "
    "every condition (28 false color_cast), and was removed; found against the camera's baseline",
)
@pytest.mark.parametrize("scene,seed", [("road", 2), ("terrain-west", 2), ("gate", 6)])
def test_a_strong_blue_white_balance_is_found_without_a_reference(scene: str, seed: int) -> None:
    assert seed % 4 == BLUE
    found = _judged(Clip("wb_cast", scene, 1.0, seed=seed))
    assert found.scores["color_cast"] >= 0.5, found.metrics


@pytest.mark.parametrize("scene,seed", [("road", 2), ("terrain-west", 2), ("gate", 6)])
def test_the_same_blue_white_balance_is_found_against_the_cameras_baseline(scene: str, seed: int) -> None:
    cast = Clip("wb_cast", scene, 1.0, seed=seed)
    normal = AnalysedFrame.from_bgr(condition_frames(normal_clip(cast))[0], T.analysis_width)
    base = Baseline.measure(normal, T)
    result = diagnose_frames(condition_frames(cast), CameraSettings(T, None, {base.mode: base}))
    assert result.codes == ["color_cast"] and result.metrics["basis"] == "baseline", result.metrics
