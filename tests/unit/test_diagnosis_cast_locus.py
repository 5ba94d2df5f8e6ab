"""Without a reference, a white balance along the daylight locus (blue or yellow-red) is told from
warm light and from a scene whose colour is its own: the blue side by the consensus of the
estimates of the light that a channel gain moves and a large plain surface hardly does
(`cast_cool`). Pictures of the fit scenes only (tests.support.natural.FIT_SCENES)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.natural import FIT_SCENES, Clip, condition_frames
from video.diagnosis import Thresholds
from video.diagnosis.checks import Measurement
from video.diagnosis.checks.colour import BLACKBODY, LOCUS_WARM, _log_chroma, color_cast
from video.diagnosis.frame import AnalysedFrame

T = Thresholds()
BLUE, YELLOW_RED = 2, 0  # wb_cast's colour is its seed modulo 4


def _judged(clip: Clip) -> Measurement:
    assert clip.scene in FIT_SCENES
    return color_cast(AnalysedFrame.from_bgr(condition_frames(clip)[0], 640), T)


def test_the_locus_axis_runs_from_the_warm_to_the_blue_blackbody_colours() -> None:
    along = [float(np.dot(_log_chroma(np.array(rgb[::-1], np.float64)), LOCUS_WARM)) for rgb in BLACKBODY.values()]
    assert along == sorted(along, reverse=True), along  # 3000 K warmest … 10000 K bluest
    assert abs(along[list(BLACKBODY).index(6500)]) < 0.01  # daylight is neutral


def test_a_channel_gain_reads_as_itself_on_a_grey_scene() -> None:
    rng = np.random.default_rng(3)
    tiles = np.kron(rng.integers(50, 200, (9, 16, 1)), np.ones((40, 40, 1))).astype(np.float32)
    grey = np.clip(np.repeat(tiles, 3, axis=2) + rng.normal(0, 2, (360, 640, 3)), 0, 255).astype(np.uint8)
    blue = np.clip(grey * np.array([1.32, 1.0, 0.72], np.float32), 0, 255).astype(np.uint8)
    light = float(np.dot(_log_chroma(np.array([1.32, 1.0, 0.72])), LOCUS_WARM))
    neutral = color_cast(AnalysedFrame(grey), T).metrics["cast_cool"]
    cast = color_cast(AnalysedFrame(blue), T).metrics["cast_cool"]
    assert neutral < 0.02, neutral
    assert abs(cast + light) < 0.05, (cast, light)  # every estimate moved by the gain itself


@pytest.mark.parametrize("scene,seed", [("road", 2), ("terrain-west", 2), ("gate", 6)])
def test_a_strong_blue_white_balance_is_found_without_a_reference(scene: str, seed: int) -> None:
    found = _judged(Clip("wb_cast", scene, 1.0, seed=seed))
    assert seed % 4 == BLUE
    assert found.metrics["cast_cool"] >= T.cast_cool, found.metrics
    assert found.scores["color_cast"] >= 0.5, found.metrics


@pytest.mark.parametrize("scene", ["plaza", "market"])
def test_a_strong_yellow_red_white_balance_is_found_and_is_not_read_as_blue(scene: str) -> None:
    found = _judged(Clip("wb_cast", scene, 1.0, seed=YELLOW_RED))
    assert found.scores["color_cast"] >= 0.5, found.metrics
    assert found.metrics["cast_cool"] == 0.0, found.metrics


@pytest.mark.parametrize("scene", ["autumn-a", "road", "brick-a", "lawn-a"])
def test_warm_light_stays_healthy(scene: str) -> None:
    judged = _judged(Clip("warm_light", scene, 1.0, seed=0))
    assert judged.metrics["cast_cool"] == 0.0, judged.metrics
    assert judged.scores["color_cast"] < 0.5, judged.metrics


def test_a_blue_river_filling_most_of_the_view_is_no_blue_cast() -> None:
    # single_colour's seed 2 (mod 4) is a river: its grey world and grey pixels are blue, its
    # edges are not.
    judged = _judged(Clip("single_colour", "flower-corner", 1.0, seed=6))
    assert judged.metrics["cast_cool"] < T.cast_cool, judged.metrics
    assert judged.scores["color_cast"] < 0.5, judged.metrics
