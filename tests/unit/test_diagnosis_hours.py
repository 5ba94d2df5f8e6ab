"""A camera's brightness by hour of the day (China Standard Time): dusk is dim on purpose at
dusk, and a noon picture as dim as dusk is not that camera's normal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from tests.support.natural import Clip, condition_frames
from video.diagnosis import Baseline, CameraSettings, Thresholds
from video.diagnosis.baseline import local_hour
from video.diagnosis.diagnose import judge
from video.diagnosis.frame import AnalysedFrame, Window
from video.diagnosis.sampling import Sample

T = Thresholds()
NOON_CST = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
DUSK_CST = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)  # 18:00


def scene() -> np.ndarray:
    return condition_frames(Clip("clean", "riverside", 0.0, seed=2))[0]


def dimmed(picture: np.ndarray, mean: float) -> np.ndarray:
    """The picture with its exposure scaled to a mean luma (colour kept: still a day picture)."""
    gray = AnalysedFrame.from_bgr(picture, T.analysis_width).gray.mean()
    return np.clip(picture.astype(np.float32) * (mean / gray), 0, 255).astype(np.uint8)


def judged(picture: np.ndarray, base: Baseline, at: datetime) -> tuple[set[str], dict]:
    sample = Sample([AnalysedFrame.from_bgr(picture, T.analysis_width)], Window(), taken_at=at)
    faults, metrics = judge(sample, CameraSettings(T, None, {"day": base}))
    assert metrics["mode"] == "day", metrics  # a dimmed colour picture, not IR night
    return {f.code for f in faults}, metrics


def test_hours_are_china_standard_time() -> None:
    assert (local_hour(NOON_CST), local_hour(DUSK_CST)) == (12, 18)
    assert local_hour(datetime(2026, 12, 5, 20, 30)) == 4  # a naive moment is UTC


def test_brightness_by_hour_survives_storage_and_learns_each_hour_up_to_its_rounds() -> None:
    first = Baseline.measure(AnalysedFrame.from_bgr(scene(), T.analysis_width), T, hour=12)
    assert first.hours == {12: (first.brightness, 1)}
    again = Baseline.from_dict(first.as_dict())
    assert again.hours is not None and abs(again.hours[12][0] - first.brightness) < 0.01
    older = {k: v for k, v in first.as_dict().items() if k != "hours"}
    assert Baseline.from_dict(older).hours is None  # a baseline stored before the hours still loads
    assert Baseline.from_dict({**first.as_dict(), "hours": {"25": [9.0, 1]}}).hours == {}  # no such hour

    learned: Baseline | None = first
    steps = 0
    while learned is not None:
        base, steps = learned, steps + 1
        learned = base.with_hour(18, 40.0, T.baseline_rounds)
    assert steps == T.baseline_rounds + 1 and base.hours is not None
    assert base.hours[18] == (40.0, T.baseline_rounds) and base.hours[12][1] == 1  # the noon hour kept

    # A young baseline refined by a picture of another hour learns that hour too.
    later = Baseline.measure(AnalysedFrame.from_bgr(scene(), T.analysis_width), T, hour=7)
    refined = first.refined(later, T.baseline_rounds)
    assert refined.hours is not None and set(refined.hours) == {7, 12}


def test_a_noon_picture_as_dim_as_dusk_is_too_dark_against_its_hour_only() -> None:
    normal = scene()
    base = Baseline.measure(AnalysedFrame.from_bgr(normal, T.analysis_width), T)
    # Learned over the day: bright at noon, dim at dusk.
    hourly = replace(base, hours={12: (160.0, 5), 18: (50.0, 5)})
    dim = dimmed(normal, 45.0)  # above the absolute dark limit
    codes, metrics = judged(dim, base, NOON_CST)
    assert "too_dark" not in codes and metrics["brightness_basis"] == "mode"  # no hours learned yet
    codes, metrics = judged(dim, hourly, NOON_CST)
    assert "too_dark" in codes and metrics["brightness_basis"] == "hour 12"
    codes, metrics = judged(dim, hourly, DUSK_CST)
    assert "too_dark" not in codes and metrics["brightness_basis"] == "hour 18"


def test_dusk_at_its_own_hour_is_not_too_dark() -> None:
    normal = scene()
    base = Baseline.measure(AnalysedFrame.from_bgr(normal, T.analysis_width), T)
    dusk = dimmed(normal, 28.0)  # below the absolute dark limit
    assert T.dark_mean > 28.0
    codes, _ = judged(dusk, base, DUSK_CST)
    assert "too_dark" in codes  # the mode's normal is a bright day
    codes, metrics = judged(dusk, replace(base, hours={18: (30.0, 5)}), DUSK_CST)
    assert "too_dark" not in codes and metrics["brightness_basis"] == "hour 18"
