"""The camera's view against its reference picture: turned away is scene_change, knocked slightly
is not, and a cover over the part of a still street where things move is no frozen stream.
Pictures come from held-out natural scenes (tests.support.natural), never from the fit scenes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.natural import HELD_OUT_SCENES, Clip, condition_frames, normal_clip, write_clip
from video.diagnosis import Baseline, CameraSettings, Thresholds, diagnose_frames, diagnose_source
from video.diagnosis.checks.noise import excess
from video.diagnosis.diagnose import COVERED_TILES, covered_not_turned, partly_covered, turned
from video.diagnosis.frame import AnalysedFrame

T = Thresholds()


def commissioned(clip: Clip, picture: np.ndarray | None = None) -> CameraSettings:
    """The camera commissioned (建档) on its normal view at another moment."""
    first = condition_frames(normal_clip(clip))[0] if picture is None else picture
    base = Baseline.measure(AnalysedFrame.from_bgr(first, T.analysis_width), T)
    return CameraSettings(T, None, {base.mode: base})


@pytest.mark.parametrize(
    "clip",
    [
        Clip("turned_away", "grace-portrait", 0.0, seed=3),  # a flag's stripes in the new view
        Clip("turned_away", "terrain-east", 1.0, seed=0),
        Clip("turned_away", "lawn-b", 0.0, seed=3),  # a lawn's dense texture matches anything a little
        Clip("turned_away", "crossroad", 0.0, seed=7),  # another street: the same kind of layout
        # Another street along the same horizon: the tiles that keep it hold only that one line,
        # which any view along it keeps, and do not count as the view kept.
        Clip("turned_away", "riverside", 0.0, seed=1),
    ],
    ids=lambda c: getattr(c, "name", None),
)
def test_a_camera_turned_away_is_a_scene_change(clip: Clip) -> None:
    assert clip.scene in HELD_OUT_SCENES
    judged = diagnose_frames(condition_frames(clip), commissioned(clip))
    assert judged.codes == ["scene_change"], judged.metrics
    assert judged.metrics["reference_similarity"] < T.scene_similarity


@pytest.mark.parametrize("scene", ["china-wide", "grace-flag", "brick-b", "parking"])
def test_a_camera_knocked_slightly_keeps_its_view(scene: str) -> None:
    # The strongest knock: turned by 1.8 degrees and moved by 3.5 % of the width. Each tile of
    # the view is re-aligned on its own, so the edges far from the centre are still found.
    clip = Clip("knocked", scene, 1.0, seed=6)
    judged = diagnose_frames(condition_frames(clip), commissioned(clip))
    assert judged.codes == [], judged.metrics
    assert judged.metrics["reference_similarity"] > T.scene_similarity


def test_a_still_street_partly_covered_is_not_frozen(tmp_path: Path) -> None:
    """A grey cover over the road of a still street hides every moving thing; the rest of the
    picture, smoothed by the encoder, does not change. That is no evidence of a frozen stream:
    against its reference a quarter of the view or more is lost, and freeze is not judged."""
    clip = Clip("grey_occluder", "crossroad", 1.0, seed=4, width=1280, height=720)
    view = normal_clip(clip)
    reference = diagnose_source(str(write_clip(tmp_path / "normal.mp4", view)), CameraSettings(T))
    assert reference.frame is not None
    judged = diagnose_source(str(write_clip(tmp_path / "covered.mp4", clip)), commissioned(clip, reference.frame))
    assert "freeze" not in judged.codes, judged.metrics
    assert judged.metrics["reference_lost"] >= COVERED_TILES, judged.metrics


def test_the_same_still_street_frozen_is_still_freeze(tmp_path: Path) -> None:
    clip = Clip("freeze", "crossroad", 1.0, seed=4, width=1280, height=720)
    reference = diagnose_source(str(write_clip(tmp_path / "normal.mp4", normal_clip(clip))), CameraSettings(T))
    assert reference.frame is not None
    judged = diagnose_source(str(write_clip(tmp_path / "frozen.mp4", clip)), commissioned(clip, reference.frame))
    assert judged.codes == ["freeze"], judged.metrics


def test_noise_is_judged_as_what_was_added_to_the_baseline() -> None:
    # Independent noises add their variances: a textured scene whose normal picture measures 6
    # and snow of sigma 12 measure about 13.4 together; 12 is what was added.
    assert excess(float(np.hypot(6.0, 12.0)), 6.0) == pytest.approx(12.0)
    assert excess(0.1, 0.2) == 0.0  # less than the baseline: nothing was added


def test_a_vehicle_filling_part_of_a_lawn_is_not_a_new_view() -> None:
    # The lawn above the vehicle keeps its texture in place; the tiles the vehicle fills are lost.
    clip = Clip("vehicle", "lawn-b", 1.0, seed=0)
    judged = diagnose_frames(condition_frames(clip), commissioned(clip))
    assert judged.codes == [], judged.metrics
    assert judged.metrics["reference_similarity"] > T.scene_similarity


def test_a_frozen_street_whose_reference_held_passing_cars_is_still_freeze() -> None:
    # The reference's road tiles held only cars that have since gone: a third of the tiles lost
    # their edges, but nothing in the picture changed since commissioning, so no cover hides
    # the moving part.
    clip = Clip("freeze", "riverside", 0.0, seed=3)
    judged = diagnose_frames(condition_frames(clip), commissioned(clip))
    assert judged.codes == ["freeze"], judged.metrics


def test_a_cover_or_a_turned_camera_is_decided_by_the_view_outside_the_hidden_tiles() -> None:
    cover = {"reference_similarity": 0.3, "reference_outside": T.scene_similarity + 0.1, "reference_coarse": 0.8}
    away = {"reference_similarity": 0.3, "reference_outside": 0.35, "reference_coarse": 0.8}
    assert covered_not_turned(cover, T) and not covered_not_turned(away, T)
    # Turned needs the layout gone too (a defocus or backlight keeps it); never without a reference.
    assert not turned(away, T) and turned({**away, "reference_coarse": T.scene_turned - 0.1}, T)
    assert not turned({}, T)
    # A quarter of the tiles lost is a partly covered view only if the picture changed there.
    still = {"reference_lost": COVERED_TILES, "texture_lost": 0.01, "look_moved": 0.02}
    assert not partly_covered(still) and partly_covered({**still, "look_moved": 0.3})


def test_a_large_cover_that_takes_the_best_tiles_is_occlusion_not_a_new_view() -> None:
    # Half the view covered: even the best quarter of the tiles is partly under the cover and the
    # view kept reads low, but where the picture still shows anything it is the reference's view.
    clip = Clip("grey_occluder", "china-tower", 1.0, seed=4)
    judged = diagnose_frames(condition_frames(clip), commissioned(clip))
    assert judged.codes == ["occlusion"], judged.metrics
    assert judged.metrics["reference_outside"] >= T.scene_similarity, judged.metrics
