"""Healthy held-out pictures that used to raise a fault, each fixed for its physical reason.
Clips come from held-out natural scenes (tests.support.natural), encoded and decoded as the
accuracy bench does (bench/vqd_accuracy.py), never from the fit scenes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.natural import HELD_OUT_SCENES, Clip, normal_clip, write_clip
from video.diagnosis import Baseline, CameraSettings, DiagnosisResult, Thresholds, diagnose_source
from video.diagnosis.checks.stripes import candidates
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
