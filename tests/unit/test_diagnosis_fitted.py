"""The decision thresholds are fitted, not hand-set: they come from bench/vqd_fit.py, which read
the fit scenes only, and the record says so."""

from __future__ import annotations

from tests.support.natural import FIT_SCENES, HELD_OUT_SCENES
from video.diagnosis import Thresholds
from video.diagnosis.thresholds import FITTED, FITTED_ON


def test_the_splits_share_no_scene() -> None:
    assert FIT_SCENES and HELD_OUT_SCENES
    assert not set(FIT_SCENES) & set(HELD_OUT_SCENES)


def test_the_thresholds_were_fitted_on_the_fit_scenes_only() -> None:
    assert FITTED_ON["split"] == "fit" and FITTED_ON["script"] == "bench/vqd_fit.py"
    assert FITTED_ON["scenes"] and set(FITTED_ON["scenes"]) <= set(FIT_SCENES)
    assert not set(FITTED_ON["scenes"]) & set(HELD_OUT_SCENES)


def test_the_default_thresholds_are_the_fitted_values() -> None:
    t = Thresholds()
    assert FITTED
    for name, value in FITTED.items():
        assert getattr(t, name) == value, name


def test_each_partial_refit_is_recorded_with_what_it_read() -> None:
    """A refit of some rules (`bench/vqd_fit.py --rules`) keeps the full fit's record and lists
    itself: which fitted values it changed, on how many fit clips, at which strengths and sizes."""
    refits = FITTED_ON.get("refitted", [])
    assert isinstance(refits, list)
    # The shipped record has one: blur_edge_kept and cast_tint_magenta on both sizes (a full fit
    # written later starts a new record without any, and this line goes with it).
    assert refits, FITTED_ON
    for refit in refits:
        assert refit["rules"] and set(refit["rules"]) <= set(FITTED), refit
        assert refit["clips"] > 0 and refit["strengths"] and refit["sizes"], refit
    assert FITTED_ON["strengths"] and FITTED_ON["sizes"]
