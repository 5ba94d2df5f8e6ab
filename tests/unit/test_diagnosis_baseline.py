"""Per-camera baselines (建档): relative judgement, day and night, and the hard cases of natural
scenes. Pictures come from held-out natural scenes (tests.support.natural), never from the
scenes the thresholds were fitted on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.support.natural import HELD_OUT_SCENES, Clip, condition_frames, night_clip, normal_clip
from video.diagnosis import Baseline, CameraSettings, Thresholds, diagnose_frames, picture_mode
from video.diagnosis.checks.colour import PART_TINT, across_reach, light_moved
from video.diagnosis.frame import AnalysedFrame

T = Thresholds()


def pictures(clip: Clip) -> list[np.ndarray]:
    return condition_frames(clip)


def commissioned(clip: Clip) -> CameraSettings:
    """The camera after commissioning on its normal view (day) and its IR picture (night)."""
    baselines = {}
    for view in (normal_clip(clip), night_clip(clip)):
        base = Baseline.measure(AnalysedFrame.from_bgr(pictures(view)[0], T.analysis_width), T)
        baselines[base.mode] = base
    return CameraSettings(T, None, baselines)


def test_a_soft_camera_stays_healthy_after_commissioning_then_blur_when_defocused() -> None:
    soft = Clip("soft", "china-wide", 1.0, seed=1)
    settings = CameraSettings(T, None, {"day": Baseline.measure(AnalysedFrame.from_bgr(pictures(soft)[0], 640), T)})
    later = diagnose_frames(pictures(Clip("soft", "china-wide", 1.0, seed=1, t0=11)), settings)
    assert later.codes == [] and later.metrics["basis"] == "baseline", later.metrics
    # The same soft camera, defocused further: a disc point-spread function over its picture.
    import cv2

    from tests.support.natural import _disc_psf

    defocused = [cv2.filter2D(p, -1, _disc_psf(3.0)) for p in pictures(Clip("soft", "china-wide", 1.0, seed=1, t0=11))]
    result = diagnose_frames(defocused, settings)
    assert result.codes == ["blur"], result.metrics


# A view soft by nature: the shaded terrain (its edges a blur sigma of about 2.8 px). Its
# one-pixel steps read the noise, so a blur is read as the sigma added to its own edges.
SOFT_TERRAIN_HEALTHY = [
    Clip("clean", "terrain-east", 0.0, seed=1),
    Clip("dusk", "terrain-east", 1.0, seed=4),
    Clip("ir_night", "terrain-east", 0.0, seed=5),
    Clip("fog", "terrain-east", 1.0, seed=6),
    Clip("knocked", "terrain-east", 1.0, seed=1),
    # The glow takes the contrast of many edges: too few of the baseline's are read to measure
    # the added blur, and the one-pixel steps (which read the noise on such a view) do not judge.
    Clip("backlight", "terrain-east", 1.0, seed=6),
]


@pytest.mark.parametrize("clip", SOFT_TERRAIN_HEALTHY, ids=lambda c: c.name)
def test_a_view_soft_by_nature_stays_healthy_against_its_baseline(clip: Clip) -> None:
    judged = diagnose_frames(pictures(clip), commissioned(clip))
    assert judged.codes == [] and judged.metrics["baseline_edge_spread"] >= 2.0, judged.metrics
    added = judged.metrics.get("edge_spread_added")
    assert added is None or added < T.blur_spread_added, judged.metrics
    assert judged.metrics["blur_rule"] != "blur_edge_kept", judged.metrics


@pytest.mark.parametrize(
    "clip",
    [Clip("gauss_blur", "terrain-east", 0.0, seed=5), Clip("defocus", "terrain-east", 1.0, seed=2)],
    ids=lambda c: c.name,
)
def test_a_view_soft_by_nature_blurred_further_is_blur_against_its_baseline(clip: Clip) -> None:
    judged = diagnose_frames(pictures(clip), commissioned(clip))
    assert judged.codes == ["blur"] and judged.metrics["blur_rule"] == "blur_spread_added", judged.metrics
    if clip.condition == "gauss_blur":  # its sharpest edges alone kept more than blur_edge_kept
        assert judged.metrics["edge_kept"] > T.blur_edge_kept, judged.metrics


def test_a_warm_scene_stays_healthy_then_color_cast_when_white_balance_is_pushed() -> None:
    warm = Clip("warm_light", "grace-portrait", 1.0, seed=2)
    base = Baseline.measure(AnalysedFrame.from_bgr(pictures(warm)[0], 640), T)
    settings = CameraSettings(T, None, {base.mode: base})
    later = diagnose_frames(pictures(Clip("warm_light", "grace-portrait", 1.0, seed=2, t0=9)), settings)
    assert later.codes == [], later.metrics
    pushed = [
        np.clip(p.astype(np.float32) * np.array([1.35, 1.0, 0.7], np.float32), 0, 255).astype(np.uint8)
        for p in pictures(Clip("warm_light", "grace-portrait", 1.0, seed=2, t0=9))
    ]
    result = diagnose_frames(pushed, settings)
    assert result.codes == ["color_cast"], result.metrics


@pytest.mark.parametrize(
    "scene",
    [
        # The IR picture's plain sky down the tower's side reaches the bottom row and is soft
        # against the scene's edges, but it pans with the view: part of the scene, not a cover.
        "china-tower",
        "grace-flag",
        "riverside",
    ],
)
def test_ir_night_is_healthy_and_picks_the_night_baseline(scene: str) -> None:
    clip = Clip("ir_night", scene, 0.0, seed=3)
    frame = AnalysedFrame.from_bgr(pictures(clip)[0], 640)
    assert picture_mode(frame, T) == "night"
    plain = diagnose_frames(pictures(clip), CameraSettings(T))
    assert plain.codes == [] and plain.metrics["mode"] == "night", plain.metrics
    judged = diagnose_frames(pictures(clip), commissioned(clip))
    assert judged.codes == [] and judged.metrics["basis"] == "baseline", judged.metrics


def test_the_verdict_says_what_it_was_judged_against() -> None:
    clip = Clip("clean", "china-trees", 0.0, seed=4)
    assert diagnose_frames(pictures(clip), CameraSettings(T)).metrics["basis"] == "absolute"
    judged = diagnose_frames(pictures(clip), commissioned(clip)).metrics
    assert (judged["basis"], judged["mode"], judged["baseline_samples"]) == ("baseline", "day", 1)


def test_a_baseline_survives_storage_and_refines_over_healthy_rounds() -> None:
    clip = Clip("clean", "china-wide", 0.0, seed=5)
    first = Baseline.measure(AnalysedFrame.from_bgr(pictures(clip)[0], 640), T)
    again = Baseline.from_dict(first.as_dict())
    assert again.mode == first.mode and again.samples == 1
    assert again.texture.shape == first.texture.shape
    assert abs(again.blur_effect - first.blur_effect) < 1e-3
    assert first.edge_sharpness is not None and again.edge_sharpness is not None
    assert abs(again.edge_sharpness - first.edge_sharpness) < 1e-3
    stored_before = {k: v for k, v in first.as_dict().items() if k != "edge_sharpness"}
    assert Baseline.from_dict(stored_before).edge_sharpness is None  # an older stored baseline still loads
    # Blocks without an isolated step are NaN in the blur-sigma map: stored as null, read back as NaN.
    assert first.edge_spread is not None and again.edge_spread is not None
    assert np.isnan(first.edge_spread).any() and not np.isnan(first.edge_spread).all()
    assert json.loads(json.dumps(first.as_dict(), allow_nan=False))["edge_spread"] == first.as_dict()["edge_spread"]
    assert np.array_equal(np.isnan(again.edge_spread), np.isnan(first.edge_spread))
    assert np.allclose(again.edge_spread, first.edge_spread, atol=0.005, equal_nan=True)
    assert Baseline.from_dict({k: v for k, v in first.as_dict().items() if k != "edge_spread"}).edge_spread is None
    # The grey pixels' estimate of the light is kept; a baseline stored before it was still loads,
    # is not judged towards magenta, and takes the estimate from the next healthy picture.
    assert again.illuminants["grey_pixels"] == pytest.approx(first.illuminants["grey_pixels"], abs=1e-3)
    older = first.as_dict()
    older["illuminants"] = {k: v for k, v in older["illuminants"].items() if k != "grey_pixels"}
    older_base = Baseline.from_dict(older)
    judged = diagnose_frames(pictures(clip), CameraSettings(T, None, {"day": older_base})).metrics
    assert judged["basis"] == "baseline" and "cast_shift_magenta" not in judged, judged
    assert older_base.refined(first, T.baseline_rounds).illuminants["grey_pixels"] == first.illuminants["grey_pixels"]
    later = Baseline.measure(AnalysedFrame.from_bgr(pictures(Clip("clean", "china-wide", 0.0, 5, t0=13))[0], 640), T)
    refined = first
    for _ in range(T.baseline_rounds + 2):
        refined = refined.refined(later, T.baseline_rounds)
    assert refined.samples == T.baseline_rounds  # settled: later pictures no longer move it
    lo, hi = sorted((first.blur_effect, later.blur_effect))
    assert lo - 1e-6 <= refined.blur_effect <= hi + 1e-6


HEALTHY_HARD = [
    Clip("dusk", "china-wide", 0.0, seed=1),
    Clip("fog", "china-tower", 0.0, seed=2),
    Clip("rain", "grace-portrait", 0.0, seed=3),
    Clip("backlight", "china-trees", 0.0, seed=4),
    Clip("single_colour", "parking", 1.0, seed=0),  # a lawn
    Clip("vehicle", "crossroad", 1.0, seed=0),  # an orange vehicle filling the view
    # The strongest warm street light against a daytime baseline: clean with the fitted cast_light_shift.
    Clip("warm_light", "grace-flag", 1.0, seed=5),
    Clip("knocked", "china-wide", 1.0, seed=6),
    Clip("clean", "riverside", 0.0, seed=2),  # a river: blue by nature
    Clip("clean", "park", 0.0, seed=1),  # a lawn: green by nature
]


@pytest.mark.parametrize("clip", HEALTHY_HARD, ids=lambda c: getattr(c, "name", None))
def test_healthy_hard_cases_of_natural_scenes_stay_clean(clip: Clip) -> None:
    plain = diagnose_frames(pictures(clip), CameraSettings(T))
    assert plain.codes == [], plain.metrics
    judged = diagnose_frames(pictures(clip), commissioned(clip))
    assert judged.codes == [], judged.metrics


WEAKEST_FAULTS = [
    Clip("defocus", "china-wide", 0.0, seed=1),
    Clip("gauss_blur", "grace-portrait", 0.0, seed=2),
    Clip("ir_cut", "china-tower", 0.0, seed=3),
    # Measured with the thresholds fitted on the fit scenes (video/diagnosis/fitted.json):
    pytest.param(
        Clip("wb_cast", "crossroad", 0.0, seed=2),
        marks=pytest.mark.xfail(
            reason="the weakest push towards blue moves the light along the daylight locus, as a blue sky's "
            "shade does: its channel gains moved by 0.229 in log chromaticity in three quarters of the picture "
            "against the fitted cast_light_shift 0.261 (healthy dusk and warm street light on the fit scenes "
            "move them up to 0.242), and it does not move the picture off the locus",
            strict=False,
        ),
    ),
    Clip("dark", "china-trees", 0.0, seed=4),
    Clip("bright", "grace-flag", 0.0, seed=5),
    Clip("noise", "riverside", 0.0, seed=6),  # sigma 12.1 over a baseline of 2.0: 11.9 added
    Clip("dirt", "china-wide", 0.0, seed=7),
    # A mid-grey or translucent cover over parts of the view that had no texture in the baseline
    # (sky, plain walls): found by its look moving away from the baseline's and its soft edge.
    # Plain parts all over the view leave no scene edge clear of them; against the baseline the
    # region is new, and the scene's edges away from it judge its boundary.
    Clip("grey_occluder", "parking", 0.0, seed=1),
    Clip("thin_occluder", "china-tower", 0.0, seed=0),
    Clip("stripes", "park", 0.0, seed=3),
    Clip("freeze", "grace-portrait", 0.0, seed=4),
    Clip("black", "crossroad", 0.0, seed=5),
    Clip("blue", "china-trees", 0.0, seed=6),
    # The new view has a plain region with a soft boundary, but it pans with the view (no cover on
    # the lens), and the view outside it does not match the reference either: turned, not covered.
    Clip("turned_away", "china-wide", 0.0, seed=2),
]


@pytest.mark.parametrize("clip", WEAKEST_FAULTS, ids=lambda c: getattr(c, "name", None))
def test_each_fault_at_its_weakest_against_the_baseline(clip: Clip) -> None:
    assert clip.scene in HELD_OUT_SCENES and clip.strength == 0.0
    judged = diagnose_frames(pictures(clip), commissioned(clip))
    assert judged.codes == [clip.expected], judged.metrics


# Without any baseline: casts off the daylight locus (a stuck IR-cut filter's magenta, a green
# white balance) are found at their weakest from the consensus of the light's estimates.
WEAKEST_OFF_LOCUS_CASTS = [
    Clip("ir_cut", "china-tower", 0.0, seed=3),
    Clip("ir_cut", "riverside", 0.0, seed=1),
    Clip("wb_cast", "crossroad", 0.0, seed=1),  # green
]


# Without any baseline: a stuck IR-cut filter's magenta that one of the four estimates of the
# light misses (the grey edge of a tree's foliage, the grey world of a terrain), found by the
# other three agreeing towards magenta.
WEAKEST_MAGENTA_CASTS = [
    Clip("ir_cut", "china-trees", 0.0, seed=1),
    Clip("ir_cut", "china-wide", 0.0, seed=5),
    Clip("ir_cut", "terrain-east", 0.0, seed=7),
]


@pytest.mark.parametrize(
    ("clip", "rule"),
    [(c, "cast_tint") for c in WEAKEST_OFF_LOCUS_CASTS] + [(c, "cast_tint_magenta") for c in WEAKEST_MAGENTA_CASTS],
    ids=lambda v: v.name if isinstance(v, Clip) else v,
)
def test_weakest_off_locus_casts_are_found_without_a_baseline(clip: Clip, rule: str) -> None:
    assert clip.scene in HELD_OUT_SCENES and clip.strength == 0.0
    plain = diagnose_frames(pictures(clip), CameraSettings(T))
    assert plain.codes == ["color_cast"] and plain.metrics["basis"] == "absolute", plain.metrics
    assert plain.metrics[rule] >= getattr(T, rule), plain.metrics


# Green parks (three of the four estimates far towards green), warm light on autumn leaves and a
# plain road (towards magenta only a little): clean without a baseline.
HEALTHY_WITHOUT_BASELINE = [
    Clip("soft", "park", 0.0, seed=3),
    Clip("warm_light", "park", 0.0, seed=1),
    Clip("warm_light", "autumn-b", 1.0, seed=4, width=1280, height=720),
    Clip("single_colour", "crossroad", 0.0, seed=7),
]


@pytest.mark.parametrize("clip", HEALTHY_WITHOUT_BASELINE, ids=lambda c: c.name)
def test_green_and_warm_scenes_are_no_cast_without_a_baseline(clip: Clip) -> None:
    assert clip.scene in HELD_OUT_SCENES and clip.expected is None
    plain = diagnose_frames(pictures(clip), CameraSettings(T))
    assert "color_cast" not in plain.codes, plain.metrics
    assert plain.metrics["cast_tint_magenta"] < T.cast_tint_magenta, plain.metrics


def test_a_stuck_ir_cut_filter_moves_three_of_four_estimates_towards_magenta() -> None:
    """Against the baseline, a stuck IR-cut filter's magenta is found by three of the four
    estimates' shifts (grey world, grey edge, white patch, grey pixels) agreeing on it, as without
    a baseline: the filter also washes the colours out, which can pull one estimate back."""
    clip = Clip("ir_cut", "terrain-east", 0.0, seed=3)
    judged = diagnose_frames(pictures(clip), commissioned(clip))
    assert judged.codes == ["color_cast"], judged.metrics
    assert judged.metrics["cast_shift_magenta"] >= T.cast_shift_magenta, judged.metrics
    assert judged.metrics["cast_parts_magenta"] >= PART_TINT, judged.metrics  # every part of the picture


# Coloured vehicles filling the view move the grey world and the white patch: the two strongest
# towards magenta on the held-out scenes (measured), and the one a majority of three estimates
# (without the grey pixels) raised as color_cast on the encoded clip.
VEHICLES_TOWARDS_MAGENTA = [
    Clip("vehicle", "park", 1.0, seed=0),
    Clip("vehicle", "parking", 1.0, seed=0),
    Clip("vehicle", "terrain-east", 0.0, seed=3),
]


@pytest.mark.parametrize("clip", VEHICLES_TOWARDS_MAGENTA, ids=lambda c: c.name)
def test_a_vehicle_filling_the_view_is_no_magenta_cast_against_the_baseline(clip: Clip) -> None:
    judged = diagnose_frames(pictures(clip), commissioned(clip))
    assert "color_cast" not in judged.codes, judged.metrics
    assert judged.metrics["cast_shift_magenta"] < T.cast_shift_magenta, judged.metrics
    assert judged.metrics["cast_parts_magenta"] < PART_TINT, judged.metrics  # only the vehicle's parts


def test_the_light_moved_where_every_part_of_the_picture_moved() -> None:
    """`light_moved` on shifts of log chromaticity: a gain moves every part by itself, a vehicle
    filling the view moves its own parts only, and fog moves the parts but not the edges."""
    gain = (-0.22, -0.26)
    size = float(np.hypot(*gain))
    moved, reach, whole = light_moved([gain, (-0.17, -0.17), gain], [gain] * 12)
    assert reach == pytest.approx(size) and whole > size / 2 and moved == pytest.approx(size)
    # A blue vehicle over two thirds of the parts: the whole picture's estimates moved as far.
    vehicle = [gain] * 8 + [(0.0, 0.0)] * 4
    moved, reach, whole = light_moved([gain, gain, gain], vehicle)
    assert whole == pytest.approx(size) and reach == moved == 0.0
    # Fog: every part towards the grey it adds, the grey edge not at all.
    moved, reach, whole = light_moved([gain, (0.0, 0.0), gain], [gain] * 12)
    assert reach == pytest.approx(size) and whole == moved == 0.0
    # Too few parts read (a picture mostly clipped): the whole picture's consensus decides.
    moved, reach, whole = light_moved([gain, gain], [gain, gain])
    assert reach is None and moved == pytest.approx(size)


def test_a_vehicle_filling_the_view_is_no_change_of_the_light_against_the_baseline() -> None:
    """On the fit scenes a blue vehicle over autumn leaves moved all three whole-picture
    estimates of the light past the threshold (its edges against the leaves are new edges
    too); the parts of the picture it does not cover kept their colour."""
    clip = Clip("vehicle", "autumn-a", 0.0, seed=3)
    judged = diagnose_frames(pictures(clip), commissioned(clip))
    assert "color_cast" not in judged.codes, judged.metrics
    assert judged.metrics["cast_light_whole"] >= T.cast_light_shift, judged.metrics
    assert judged.metrics["cast_light_reach"] < T.cast_light_shift, judged.metrics


@pytest.mark.parametrize(
    "clip",
    [
        Clip("wb_cast", "store-wide", 0.0, seed=3),  # fit scene: the grey edge read 0.19
        Clip("wb_cast", "china-tower", 1.0, seed=2),  # held out: mostly sky, 5 parts readable
    ],
    ids=lambda c: c.name,
)
def test_a_white_balance_moves_every_part_of_the_picture(clip: Clip) -> None:
    judged = diagnose_frames(pictures(clip), commissioned(clip))
    assert judged.codes == ["color_cast"], judged.metrics
    assert judged.metrics["cast_light_shift"] >= T.cast_light_shift, judged.metrics


def test_fog_moves_every_part_but_not_the_light() -> None:
    clip = Clip("fog", "autumn-a", 1.0, seed=0)
    judged = diagnose_frames(pictures(clip), commissioned(clip))
    assert "color_cast" not in judged.codes, judged.metrics
    assert judged.metrics["cast_light_reach"] >= T.cast_light_shift > judged.metrics["cast_light_shift"]


def test_off_the_locus_a_cast_moves_every_part_and_a_vehicle_only_its_own() -> None:
    """`across_reach`: how far three quarters of the parts moved off the daylight locus, in log
    chromaticity. Infrared on the red and blue pixels moves them all towards magenta; a red
    body over a third of the view, only its parts."""
    magenta = (0.3, 0.25)  # log R/G and log B/G both up
    assert across_reach([magenta] * 12, -1.0) > PART_TINT > across_reach([magenta] * 12, 1.0) == 0.0
    assert across_reach([magenta] * 4 + [(0.0, 0.0)] * 8, -1.0) == 0.0
    green = (-0.25, -0.25)
    assert across_reach([green] * 9 + [(0.0, 0.0)] * 3, 1.0) > PART_TINT
