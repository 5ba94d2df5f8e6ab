"""freeze on a still camera's quiet view: a window that looks frozen is confirmed over more of
the stream (checks/motion.py), on H.264 clips of the held-out scenes three seconds long."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.natural import Clip, write_clip
from video.diagnosis import CameraSettings, Thresholds, diagnose_source
from video.diagnosis.checks import motion
from video.diagnosis.checks.motion import CONFIRM

T = Thresholds()
UNCONFIRMED = Thresholds(freeze_confirm_s=0)
SECONDS_3 = 36  # pictures at the clips' 12 per second


@pytest.mark.parametrize(
    "clip",
    [
        # A street at dusk and a lawn against the light: the mover is too dim to change a pixel
        # by 24 grey levels from one picture to the next, and its block changes as little as an
        # encoder refines a frozen picture.
        Clip("dusk", "china-wide", 0.0, seed=5, frames=SECONDS_3),
        Clip("backlight", "lawn-b", 1.0, seed=2, frames=SECONDS_3),
    ],
    ids=lambda c: c.name,
)
@pytest.mark.usefixtures("still_cameras")
def test_a_quiet_view_whose_mover_moves_slowly_is_not_frozen(clip: Clip, tmp_path: Path) -> None:
    path = str(write_clip(tmp_path / "quiet.mp4", clip))
    window_only = diagnose_source(path, CameraSettings(UNCONFIRMED))
    assert "freeze" in window_only.codes, window_only.metrics  # what the short window alone says
    result = diagnose_source(path, CameraSettings(T))
    m = result.metrics
    assert m["freeze_later_frames"] >= 3, m  # half a second apart over two seconds
    assert "freeze" not in result.codes, m
    assert m["freeze_later_block_diff"] >= CONFIRM * T.freeze_max_block_diff, m


@pytest.mark.parametrize(
    "clip",
    [
        # The frozen pictures whose encoder refinement changed the most on the held-out scenes.
        Clip("freeze", "parking", 0.0, seed=7, frames=SECONDS_3),
        Clip("freeze", "park", 1.0, seed=6, frames=SECONDS_3),
    ],
    ids=lambda c: c.name,
)
@pytest.mark.usefixtures("still_cameras")
def test_a_frozen_picture_stays_frozen_over_the_confirmation(clip: Clip, tmp_path: Path) -> None:
    result = diagnose_source(str(write_clip(tmp_path / "frozen.mp4", clip)), CameraSettings(T))
    m = result.metrics
    assert m["freeze_later_frames"] >= 3, m
    assert result.codes == ["freeze"], m


def test_a_lively_window_decodes_no_more_than_it_needs(tmp_path: Path) -> None:
    clip = Clip("clean", "china-wide", 0.0, seed=1, frames=SECONDS_3)
    result = diagnose_source(str(write_clip(tmp_path / "clean.mp4", clip)), CameraSettings(T))
    assert result.codes == [], result.metrics
    assert "freeze_later_frames" not in result.metrics
    assert result.metrics["frames_decoded"] == T.window_frames


def test_the_window_is_compared_once_for_the_sampler_and_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = Clip("clean", "china-wide", 0.0, seed=1)
    path = str(write_clip(tmp_path / "clean.mp4", clip))
    pairs: list[int] = []
    measure = motion._changes

    def counted(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
        pairs.append(1)
        return measure(a, b)

    monkeypatch.setattr(motion, "_changes", counted)
    result = diagnose_source(path, CameraSettings(T))
    assert result.metrics["freeze_frames"] == T.window_frames, result.metrics
    assert len(pairs) == T.window_frames - 1  # looks_frozen measured them; freeze reused it
