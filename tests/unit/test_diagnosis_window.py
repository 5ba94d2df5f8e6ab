"""The window after the judged picture is measured once, however many keyframes are judged."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np
import pytest

from tests.unit.test_diagnosis_noise import panned, texture
from video.diagnosis.baseline import CameraSettings
from video.diagnosis.checks import edges, noise
from video.diagnosis.diagnose import judge
from video.diagnosis.frame import AnalysedFrame, Window
from video.diagnosis.sampling import Sample
from video.diagnosis.thresholds import Thresholds

T = Thresholds()


def sample(lumas: Sequence[np.ndarray], keyframes: int) -> Sample:
    frames = [
        AnalysedFrame.from_bgr(cv2.cvtColor(lumas[i], cv2.COLOR_GRAY2BGR), T.analysis_width) for i in range(keyframes)
    ]
    return Sample(frames, lumas)  # type: ignore[arg-type]


def test_three_keyframes_measure_the_window_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lumas = panned(texture(), 8, sensor=1.0, snow=6.0)
    calls = {"snow": 0, "steps": 0}

    def counted(name: str, measure: Callable[..., Any]) -> Callable[..., Any]:
        def inner(*args: Any) -> Any:
            calls[name] += 1
            return measure(*args)

        return inner

    monkeypatch.setattr(noise, "temporal_sigma", counted("snow", noise.temporal_sigma))
    monkeypatch.setattr(
        "video.diagnosis.checks.sharpness.window_edge_sharpness", counted("steps", edges.window_edge_sharpness)
    )
    faults, metrics = judge(sample(Window(lumas), 3), CameraSettings(T))
    assert calls == {"snow": 1, "steps": 1}
    assert metrics["keyframes"] == 3 and "noise" in {f.code for f in faults}

    # A plain list of pictures (no Window) is measured for each keyframe, to the same verdict.
    again, plain = judge(sample(list(lumas), 3), CameraSettings(T))
    assert calls == {"snow": 4, "steps": 4}
    assert plain["noise_temporal"] == metrics["noise_temporal"]
    assert plain.get("step_edge_sharpness") == metrics.get("step_edge_sharpness")
    assert [f.code for f in again] == [f.code for f in faults]
