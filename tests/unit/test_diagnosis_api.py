"""The API other code uses: thresholds and per-camera overrides, pictures decoded elsewhere,
signal_loss excluding every other code, and the shape of a result."""

from __future__ import annotations

import json

import numpy as np
import pytest

from govops.errors import ValidationFailed
from tests.support.synthetic import ClipSpec, condition_frames
from video.diagnosis import (
    FAULT_CODES,
    Baseline,
    CameraSettings,
    DiagnosisResult,
    Fault,
    Thresholds,
    diagnose_frames,
    thresholds_for,
)
from video.diagnosis.checks import ramp
from video.diagnosis.frame import AnalysedFrame

T = Thresholds()
PLAIN = CameraSettings(T)


def frames(condition: str, scene: str = "road", strength: float = 0.5, n: int = 6) -> list[np.ndarray]:
    return list(condition_frames(ClipSpec(condition, scene, strength, seconds=n / 12)))


def test_ramp_reads_the_same_in_both_directions() -> None:
    assert ramp(10, clean=0, fault=10, severe=20) == 0.5
    assert ramp(20, clean=0, fault=10, severe=20) == 1.0
    assert ramp(0, clean=0, fault=10, severe=20) == 0.0
    assert ramp(40, clean=80, fault=40, severe=16) == 0.5  # a low value is the fault
    assert ramp(5, clean=80, fault=40, severe=16) == 1.0
    assert ramp(100, clean=80, fault=40, severe=16) == 0.0


def test_thresholds_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVOPS_VQD_DARK_MEAN", "25")
    assert Thresholds().dark_mean == 25


def test_per_camera_override() -> None:
    base = Thresholds()
    night = thresholds_for({"dark_mean": 10}, base)
    assert night.dark_mean == 10 and night.blur_effect == base.blur_effect
    assert thresholds_for(None, base) is base


def test_override_with_an_unknown_or_bad_value_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="unknown diagnosis threshold"):
        thresholds_for({"darkness": 3}, T)
    with pytest.raises(ValidationFailed, match="dark_mean"):
        thresholds_for({"dark_mean": -5}, T)


def test_a_night_camera_dark_on_purpose() -> None:
    pictures = frames("dark", strength=0.3)
    assert diagnose_frames(pictures, PLAIN).codes == ["too_dark"]
    assert diagnose_frames(pictures, CameraSettings(thresholds_for({"dark_mean": 12}, T))).codes == []


def test_diagnose_frames_healthy() -> None:
    result = diagnose_frames(frames("healthy", "crossroad"), PLAIN)
    assert result.codes == [] and result.error is None
    assert result.metrics["freeze_frames"] == 6


def test_diagnose_frames_frozen() -> None:
    picture = frames("healthy")[0]
    assert diagnose_frames([picture] * 5, PLAIN).codes == ["freeze"]


def test_one_picture_cannot_be_judged_frozen() -> None:
    result = diagnose_frames(frames("healthy")[:1], PLAIN)
    assert result.codes == []
    assert result.metrics["freeze_diff"] is None


def test_no_pictures_is_signal_loss() -> None:
    result = diagnose_frames([], PLAIN)
    assert result.codes == ["signal_loss"] and result.error


def test_signal_loss_excludes_every_other_code() -> None:
    """A black screen is also dark and frozen; only signal_loss is reported."""
    black = [np.zeros((360, 640, 3), np.uint8)] * 6
    result = diagnose_frames(black, PLAIN)
    assert result.codes == ["signal_loss"]
    blue = frames("blue", strength=1.0)
    assert diagnose_frames(blue, PLAIN).codes == ["signal_loss"]


def test_a_fault_hides_what_it_makes_unmeasurable() -> None:
    result = diagnose_frames(frames("dark", "market", 0.6), PLAIN)
    assert result.codes == ["too_dark"]
    assert result.metrics["scores"]["too_dark"] >= 0.5


def test_result_shape_is_the_cli_contract() -> None:
    healthy = AnalysedFrame.from_bgr(frames("healthy", "gate")[0], T.analysis_width)
    commissioned = CameraSettings(T, None, {"day": Baseline.measure(healthy, T)})
    result = diagnose_frames(frames("blur", "gate", 0.8), commissioned, source="cam-7")
    body = json.loads(json.dumps(result.as_dict()))
    assert set(body) == {"source", "faults", "metrics", "elapsed_ms"}
    assert body["source"] == "cam-7"
    assert body["faults"] == [{"code": "blur", "score": body["faults"][0]["score"]}]
    assert 0.5 <= body["faults"][0]["score"] <= 1.0
    assert isinstance(body["elapsed_ms"], float)
    lost = DiagnosisResult("x", [Fault("signal_loss", 1.0)], {}, 1.0, error="no answer")
    assert lost.as_dict()["error"] == "no answer"


def test_codes_are_reported_in_a_fixed_order() -> None:
    rng = np.random.default_rng(7)
    snowy_stripes = [
        np.clip(f + rng.normal(0, 25, f.shape), 0, 255).astype(np.uint8) for f in frames("stripes", "plaza", 1.0)
    ]
    result = diagnose_frames(snowy_stripes, PLAIN)
    assert result.codes == sorted(result.codes, key=FAULT_CODES.index)
    assert "noise" in result.codes
