"""The camera's OSD (date and time, channel name) is filled in before any check reads the
picture: it tells nothing about the lens, the sensor or the stream. Clips come from held-out
natural scenes with the OSD of tests.support.osd, encoded and decoded as the accuracy bench does
(`bench/vqd_accuracy.py --osd`)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from tests.support.natural import HELD_OUT_SCENES, Clip, night_clip, normal_clip, write_clip
from tests.support.osd import osd_frames, write_osd_clip
from video.diagnosis import Baseline, CameraSettings, DiagnosisResult, Thresholds, diagnose_source
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.overlay import fill, find_lines, where, without_osd
from video.diagnosis.sources import read_source

T = Thresholds()


def encoded(tmp_path: Path, clip: Clip, osd: str | None = "zh") -> str:
    """The clip with the OSD of style `osd` (tests.support.osd.STYLES; None: without one)."""
    assert clip.scene in HELD_OUT_SCENES
    path = tmp_path / f"{clip.name}-{clip.t0}-osd-{osd}.mp4"
    return str(write_osd_clip(path, clip, osd) if osd else write_clip(path, clip))


def judged(tmp_path: Path, clip: Clip, with_baseline: bool, osd: str = "zh") -> DiagnosisResult:
    """The clip, OSD and all, judged on the absolute thresholds or against the day baseline
    that its camera's normal view (with the OSD, at another time) gave at commissioning."""
    settings = CameraSettings(T)
    if with_baseline:
        base = Baseline.measure(read_source(encoded(tmp_path, normal_clip(clip), osd), T).frames[0], T)
        settings = CameraSettings(T, None, {base.mode: base})
    return diagnose_source(encoded(tmp_path, clip, osd), settings)


def covers(boxes: list[list[float]], x: float, y: float) -> bool:
    return any(bx <= x <= bx + bw and by <= y <= by + bh for bx, by, bw, bh in boxes)


@pytest.mark.parametrize("width", [640, 1280])
@pytest.mark.parametrize("scene", ["crossroad", "grace-portrait", "autumn-b"])
def test_both_lines_are_found_and_filled_in(tmp_path: Path, scene: str, width: int) -> None:
    clip = Clip("clean", scene, 0.0, seed=3, width=width, height=width * 9 // 16)
    result = diagnose_source(encoded(tmp_path, clip), CameraSettings(T))
    lines = result.metrics["osd_lines"]
    assert covers(lines, 0.1, 0.055), lines  # the date, top left
    assert covers(lines, 0.9, 0.945), lines  # the channel name, bottom right
    assert result.codes == []


@pytest.mark.parametrize("width", [640, 1280])
@pytest.mark.parametrize(
    ("osd", "scene"), [("zh-black", "parking"), ("zh-black", "terrain-east"), ("zh-auto", "riverside")]
)
def test_black_lines_are_found_and_filled_in(tmp_path: Path, osd: str, scene: str, width: int) -> None:
    """Black text (字体颜色 黑色, with a white outline) is found by its clock at the top; so is a
    camera's 黑白自动, here a black clock over the bright sky and a white name over the river."""
    clip = Clip("clean", scene, 0.0, seed=3, width=width, height=width * 9 // 16)
    result = diagnose_source(encoded(tmp_path, clip, osd), CameraSettings(T))
    lines = result.metrics["osd_lines"]
    assert covers(lines, 0.1, 0.055), lines
    assert covers(lines, 0.9, 0.945), lines
    assert result.codes == []


@pytest.mark.parametrize(
    "clip",
    [
        Clip("clean", "crossroad", 0.0, seed=1),  # lane markings: white dashes in a row
        Clip("clean", "china-wide", 1.0, seed=2, width=1280, height=720),
        # Rows of dark roof tiles, inside the view and at its foot: like black glyphs, but no clock.
        Clip("clean", "china-wide", 1.0, seed=2, t0=17, width=1280, height=720),
        Clip("warm_light", "china-wide", 0.0, seed=3),
        Clip("clean", "brick-b", 0.0, seed=4),  # pale mortar between bricks
        Clip("backlight", "riverside", 1.0, seed=5),
        Clip("single_colour", "lawn-b", 0.0, seed=6),
        Clip("rain", "parking", 1.0, seed=7),
    ],
    ids=lambda c: c.name,
)
def test_a_view_without_an_osd_has_none_found(tmp_path: Path, clip: Clip) -> None:
    sample = read_source(encoded(tmp_path, clip, osd=None), T)
    assert without_osd(sample.frames[0], sample.lumas[-1]).osd == []


def test_a_dead_sensors_black_picture_under_its_osd_is_signal_loss(tmp_path: Path) -> None:
    """The sensor died; the camera still draws its clock and name. That is no scene, too dark:
    it is signal loss, and the work order goes to the camera, not to its lighting."""
    clip = Clip("black", "crossroad", 1.0, seed=3)
    for with_baseline in (False, True):
        result = judged(tmp_path, clip, with_baseline)
        assert result.codes == ["signal_loss"], result.metrics


def test_a_frozen_picture_under_a_ticking_clock_is_freeze(tmp_path: Path) -> None:
    clip = Clip("freeze", "riverside", 0.0, seed=2)
    result = judged(tmp_path, clip, False)
    assert result.metrics["osd_lines"]
    assert result.codes == ["freeze"], result.metrics


@pytest.mark.parametrize("with_baseline", [False, True])
def test_a_defocus_is_not_hidden_by_the_osds_sharp_glyphs(tmp_path: Path, with_baseline: bool) -> None:
    clip = Clip("defocus", "parking", 1.0, seed=2)
    result = judged(tmp_path, clip, with_baseline)
    assert "blur" in result.codes, result.metrics


@pytest.mark.parametrize("with_baseline", [False, True])
def test_a_defocus_is_not_hidden_by_a_black_osd(tmp_path: Path, with_baseline: bool) -> None:
    clip = Clip("defocus", "parking", 1.0, seed=2)
    result = judged(tmp_path, clip, with_baseline, "zh-black")
    assert result.metrics["osd_lines"]
    assert "blur" in result.codes, result.metrics


@pytest.mark.parametrize("with_baseline", [False, True])
def test_a_cast_is_not_hidden_by_the_osds_white(tmp_path: Path, with_baseline: bool) -> None:
    clip = Clip("ir_cut", "riverside", 0.0, seed=1)
    result = judged(tmp_path, clip, with_baseline)
    assert result.codes == ["color_cast"], result.metrics


def test_a_camera_turned_away_keeps_its_osd_but_not_its_view(tmp_path: Path) -> None:
    clip = Clip("turned_away", "riverside", 0.0, seed=5)
    result = judged(tmp_path, clip, True)
    assert "scene_change" in result.codes, result.metrics


def test_a_fill_leaves_no_edge_and_the_pictures_noise() -> None:
    rng = np.random.default_rng(1)
    ramp = np.tile(np.linspace(60, 180, 200, dtype=np.float32), (120, 1))
    picture = np.clip(ramp + rng.normal(0, 3, ramp.shape), 0, 255).astype(np.uint8)
    text = picture.copy()
    text[50:62, 40:160:6] = 255  # glyph-like white strokes
    painted = fill(text, [(38, 48, 124, 16)])
    inside = painted[48:64, 38:162].astype(np.float32)
    truth = picture[48:64, 38:162].astype(np.float32)
    assert abs(float(inside.mean()) - float(truth.mean())) < 2
    assert 1.5 < float(np.std(np.diff(inside, axis=0))) < 8  # noise like the picture's, no stroke
    assert find_lines(np.dstack([painted] * 3), painted) == []


def test_the_cli_says_where_the_osd_was_and_judges_what_is_under_it(tmp_path: Path) -> None:
    """`govops video diagnose --reference --json`, as an operator runs it: the reference picture
    (a PNG with the camera's OSD, at another time) is commissioned without its OSD, and the
    defocused clip is blur, with the OSD lines in the metrics."""
    clip = Clip("defocus", "parking", 1.0, seed=2, width=1280, height=720)
    reference = tmp_path / "normal.png"
    cv2.imwrite(str(reference), osd_frames(normal_clip(clip))[0])
    out = CliRunner().invoke(
        app, ["video", "diagnose", encoded(tmp_path, clip), "--reference", str(reference), "--json"]
    )
    assert out.exit_code == 0, out.output
    line = json.loads(out.stdout.splitlines()[0])
    assert [f["code"] for f in line["faults"]] == ["blur"], line
    assert covers(line["metrics"]["osd_lines"], 0.1, 0.055)


def test_commissioning_learns_where_the_osd_is_and_keeps_it(tmp_path: Path) -> None:
    """The baseline records the OSD's lines, stores them, and adds lines that a later healthy
    picture shows; a baseline stored before it kept them still loads."""
    clip = Clip("clean", "riverside", 0.0, seed=3, width=1280, height=720)
    base = Baseline.measure(read_source(encoded(tmp_path, clip), T).frames[0], T)
    assert base.osd is not None and len(base.osd) == 2
    assert Baseline.from_dict(json.loads(json.dumps(base.as_dict()))).osd == base.osd
    older = {k: v for k, v in base.as_dict().items() if k != "osd"}
    assert Baseline.from_dict(older).osd is None
    assert base.summary()["osd_lines"] == 2
    date_only = replace(base, osd=base.osd[:1], samples=1)
    assert date_only.refined(replace(base, osd=base.osd[1:]), rounds=5).osd == base.osd


def test_a_line_commissioning_found_is_filled_in_where_the_picture_hides_it() -> None:
    """Where the camera's OSD is known from commissioning, its line is filled in even when a
    picture does not show it clearly enough to be found (fog, a bright sky)."""
    clip = Clip("clean", "riverside", 0.0, seed=3)
    frame = AnalysedFrame.from_bgr(osd_frames(clip)[0], T.analysis_width)
    found = without_osd(AnalysedFrame.from_bgr(osd_frames(clip)[0], T.analysis_width))
    known = where(found.osd or [], frame.gray.shape)
    assert len(known) == 2
    faint = frame.bgr.copy()
    faint[: frame.size[1] // 8] = cv2.addWeighted(faint[: frame.size[1] // 8], 0.3, 200, 0.7, 0)  # fog over the date
    hidden = AnalysedFrame(faint)
    assert len(without_osd(AnalysedFrame(faint)).osd or []) == 1  # the name only
    date = min(found.osd or [], key=lambda box: box[1])
    filled = without_osd(hidden, known=known).osd or []
    assert len(filled) == 2 and date in filled  # the date where commissioning found it, the name as found


@pytest.mark.parametrize(
    "clip",
    [
        Clip("ir_night", "grace-portrait", 1.0, seed=2, width=1280, height=720),
        Clip("dusk", "grace-portrait", 0.0, seed=3, width=1280, height=720),
    ],
    ids=lambda c: c.name,
)
def test_where_the_osd_was_filled_in_is_no_cover(tmp_path: Path, clip: Clip) -> None:
    """A plain dark background reaches the filled OSD lines. A fill is painted from around it
    and does not pan with the scene: judged as part of the background's boundary it made a soft
    edge that stayed put, a cover on the lens. It is left out, so the view is healthy."""
    result = judged(tmp_path, clip, False)
    assert result.metrics["osd_lines"]
    assert result.metrics.get("occlusion_motion"), result.metrics  # the background was measured
    assert result.codes == [], result.metrics


@pytest.mark.parametrize("osd", ["zh", "zh-black"])
def test_dirt_on_the_lens_under_the_osd_is_still_a_cover(tmp_path: Path, osd: str) -> None:
    clip = Clip("dirt", "crossroad", 0.0, seed=1)
    result = judged(tmp_path, clip, False, osd)
    assert result.codes == ["occlusion"], result.metrics


def test_a_night_baseline_knows_the_osd_its_ir_picture_hides(tmp_path: Path) -> None:
    """Black text on a dark IR picture escapes the detector. A night baseline taken with it left
    in keeps the glyphs' sharp edges, while every later night picture is filled in where the
    day baseline found the OSD (on the fit scenes, one such camera read blur). The OSD stays put
    from day to night, so the night baseline is taken with the day's OSD filled in too."""
    clip = Clip("ir_night", "terrain-east", 1.0, seed=6, width=1280, height=720)
    day = Baseline.measure(read_source(encoded(tmp_path, normal_clip(clip), "zh-black"), T).frames[0], T)
    night_view = encoded(tmp_path, night_clip(clip), "zh-black")
    assert day.osd and not Baseline.measure(read_source(night_view, T).frames[0], T).osd
    known = CameraSettings(T, None, {day.mode: day}).osd
    night = Baseline.measure(read_source(night_view, T).frames[0], T, known=known)
    assert night.mode == "night" and night.osd == day.osd
    result = diagnose_source(encoded(tmp_path, clip, "zh-black"), CameraSettings(T, None, {"day": day, "night": night}))
    assert result.metrics["mode"] == "night"
    assert result.codes == [], result.metrics
