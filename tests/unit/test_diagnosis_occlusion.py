"""occlusion: a cover on the lens (textureless, colourless, soft boundary) is found with and
without the camera's baseline; a vehicle filling the view (sharp boundary, saturated paint) is
not; an old stored baseline without the block looks still loads. Pictures of natural scenes come
from the held-out scenes, except the translucent cover's and its healthy counterparts' (fit
scenes)."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support.natural import Clip, condition_frames, normal_clip, write_clip
from tests.support.synthetic import ClipSpec, write_condition_clip
from video.diagnosis import Baseline, CameraSettings, Thresholds, diagnose_frames, diagnose_source
from video.diagnosis.checks.occlusion import boundary_width, fixed_share, occlusion, scene_motion
from video.diagnosis.frame import AnalysedFrame

T = Thresholds()
W, H = 640, 360


def analysed(picture: np.ndarray) -> AnalysedFrame:
    return AnalysedFrame.from_bgr(picture, T.analysis_width)


def baseline_of(clip: Clip) -> Baseline:
    return Baseline.measure(analysed(condition_frames(normal_clip(clip))[0]), T)


def wall_scene(seed: int = 0) -> np.ndarray:
    """A plain, slightly warm wall over the upper-left part, a textured scene elsewhere."""
    # The same view at every moment (the scene's texture is fixed); only the sensor noise differs.
    texture = cv2.GaussianBlur(np.random.default_rng(0).normal(120, 40, (H, W)).astype(np.float32), (0, 0), 1.2)
    picture = np.repeat(texture[..., None], 3, axis=2)
    picture[: H * 2 // 3, : W // 2] = (150, 160, 172)  # the wall (BGR), in focus: a sharp edge
    return np.clip(picture + np.random.default_rng(seed).normal(0, 1.5, picture.shape), 0, 255).astype(np.uint8)


def covered(picture: np.ndarray, luma: float) -> np.ndarray:
    """A mid-grey sheet near the lens over the top-left corner: out of focus, a wide soft edge."""
    mask = np.zeros((H, W), np.float32)
    cv2.ellipse(mask, (0, 0), (int(W * 0.55), int(H * 0.8)), 0, 0, 360, 1.0, -1)
    soft = cv2.GaussianBlur(mask, (0, 0), W * 0.012)[..., None]
    out = picture.astype(np.float32) * (1 - soft) + luma * soft
    return np.clip(out, 0, 255).astype(np.uint8)


def test_a_grey_cover_over_a_plain_wall_is_found_against_the_baseline() -> None:
    normal = wall_scene()
    base = Baseline.measure(analysed(normal), T)
    assert base.blocks is not None
    settings = CameraSettings(T, None, {base.mode: base})
    assert diagnose_frames([wall_scene(1), wall_scene(2)], settings).codes == []
    cover = covered(wall_scene(1), 118.0)
    m = occlusion(analysed(cover), T, 1.5, base.texture, base.brightness, base.blocks)
    assert m.metrics["look_moved"] > 0.2, m.metrics
    result = diagnose_frames([cover, covered(wall_scene(2), 118.0)], settings)
    assert result.codes == ["occlusion"], result.metrics


def test_a_view_covered_whole_against_the_baseline_is_judged_without_a_warning() -> None:
    """One plain region over the whole view leaves nothing outside it to compare with the
    baseline: that is no cover of a part of the view (the flat picture is signal_loss)."""
    base = Baseline.measure(analysed(wall_scene()), T)
    noise = np.random.default_rng(3).normal(0, 1.5, (H, W, 3))
    grey = np.clip(118.0 + noise, 0, 255).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = occlusion(analysed(grey), T, 1.5, base.texture, base.brightness, base.blocks)
        result = diagnose_frames([grey, grey], CameraSettings(T, None, {base.mode: base}))
    assert m.metrics["occlusion_region"] == 1.0 and m.scores["occlusion"] == 0.0, m.metrics
    assert result.codes == ["signal_loss"], result.metrics


def test_a_cover_over_most_of_the_view_is_what_moved_not_the_rest_of_it() -> None:
    """Against the baseline the common change of brightness is read where the view kept its
    texture: a dark sheet over the lower two thirds is not taken for a dimmer exposure (which
    would leave the rest of the view looking moved, and the sheet unchanged)."""
    texture = cv2.GaussianBlur(np.random.default_rng(0).normal(120, 40, (H, W)).astype(np.float32), (0, 0), 1.2)

    def view(seed: int, cover: bool) -> np.ndarray:
        picture = np.repeat(texture[..., None], 3, axis=2) + np.random.default_rng(seed).normal(0, 1.5, (H, W, 3))
        if cover:
            mask = np.zeros((H, W), np.float32)
            mask[int(H * 0.35) :] = 1.0
            soft = cv2.GaussianBlur(mask, (0, 0), W * 0.012)[..., None]
            picture = picture * (1 - soft) + 90.0 * soft
        return np.clip(picture, 0, 255).astype(np.uint8)

    base = Baseline.measure(analysed(view(0, False)), T)
    result = diagnose_frames([view(1, True), view(2, True)], CameraSettings(T, None, {base.mode: base}))
    assert result.codes == ["occlusion"], result.metrics
    assert result.metrics["look_moved"] >= 0.55 and result.metrics["occlusion_fraction"] >= 0.55, result.metrics


def test_the_boundary_of_a_cover_is_wide_and_of_a_wall_sharp() -> None:
    rng = np.random.default_rng(4)
    texture = cv2.GaussianBlur(rng.normal(120, 40, (H, W)).astype(np.float32), (0, 0), 1.2)
    inside = np.zeros((H, W), np.float32)
    inside[: H * 2 // 3, : W // 2] = 1.0
    widths = []
    for blur in (0.0, W * 0.012):  # a wall in focus, a sheet on the lens
        mask = cv2.GaussianBlur(inside, (0, 0), blur) if blur else inside
        picture = np.clip(160.0 * mask + texture * (1 - mask), 0, 255).astype(np.uint8)
        half = (W // 2, H // 2)  # boundaries are measured on the half-size picture
        small = cv2.resize(picture, half, interpolation=cv2.INTER_AREA)
        widths.append(boundary_width(small, cv2.resize(mask, half, interpolation=cv2.INTER_AREA) > 0.97))
    sharp, soft = widths
    assert 0 < sharp <= 6.0 and soft >= 2 * sharp, widths


@pytest.mark.parametrize("seed", [0, 1, 2, 3])  # orange, red, yellow and blue paint
def test_a_vehicle_filling_the_view_is_not_a_cover(seed: int) -> None:
    clip = Clip("vehicle", "crossroad", 1.0, seed=seed)
    frames = condition_frames(clip)
    plain = diagnose_frames(frames, CameraSettings(T))
    assert "occlusion" not in plain.codes, plain.metrics
    judged = diagnose_frames(frames, CameraSettings(T, None, {"day": baseline_of(clip)}))
    assert "occlusion" not in judged.codes, judged.metrics


@pytest.mark.parametrize(
    "clip",
    [Clip("grey_occluder", "china-wide", 1.0, seed=3), Clip("dirt", "china-wide", 1.0, seed=5)],
    ids=lambda c: c.name,
)
def test_a_cover_is_found_without_a_baseline(clip: Clip) -> None:
    result = diagnose_frames(condition_frames(clip), CameraSettings(T))
    assert result.codes == ["occlusion"], result.metrics
    assert result.metrics["basis"] == "absolute"


def test_an_old_stored_baseline_without_block_looks_still_loads_and_judges() -> None:
    clip = Clip("grey_occluder", "china-trees", 1.0, seed=2)
    base = baseline_of(clip)
    stored = base.as_dict()
    again = Baseline.from_dict(stored).blocks
    assert again is not None and base.blocks is not None
    assert np.allclose(again, base.blocks, atol=0.06)
    old = {k: v for k, v in stored.items() if k != "blocks"}
    loaded = Baseline.from_dict(old, base.reference)
    assert loaded.blocks is None
    assert loaded.refined(base, T.baseline_rounds).blocks is None
    result = diagnose_frames(condition_frames(clip), CameraSettings(T, None, {loaded.mode: loaded}))
    assert result.error is None and "look_moved" in result.metrics


def panning(picture: np.ndarray, n: int = 8, step: float = 0.6) -> list[np.ndarray]:
    """A slow pan over a wider picture: `step` pixels a frame, with fresh sensor noise."""
    rng = np.random.default_rng(9)
    out = []
    for i in range(n):
        m = np.array([[1, 0, -8 - step * i], [0, 1, 0]], np.float32)
        moved = cv2.warpAffine(picture.astype(np.float32), m, (W, H), borderMode=cv2.BORDER_REFLECT)
        out.append(np.clip(moved + rng.normal(0, 1.5, moved.shape), 0, 255).astype(np.uint8))
    return out


def test_a_plain_region_that_pans_with_the_scene_is_not_fixed_and_a_cover_is() -> None:
    texture = cv2.GaussianBlur(np.random.default_rng(1).normal(120, 40, (H, W + 32)).astype(np.float32), (0, 0), 1.2)
    sky = np.zeros((H, W + 32), np.float32)
    sky[:, : W // 2] = 1.0  # a plain part of the scene down its whole height, in focus
    scene = 170.0 * sky + texture * (1 - sky)
    frames = panning(scene)
    motion = scene_motion(frames, (W // 2, H // 2))
    assert motion is not None and abs(motion[2] + 0.3 * 7) < 0.5 and abs(motion[3]) < 0.5, motion[2:]
    plain = np.zeros((H // 2, W // 2), bool)
    plain[:, : W // 4 - 6] = True
    scene_part = fixed_share(motion, plain)
    mask = np.zeros((H, W), np.float32)
    cv2.ellipse(mask, (0, H), (int(W * 0.45), int(H * 0.7)), 0, 0, 360, 1.0, -1)
    soft = cv2.GaussianBlur(mask, (0, 0), W * 0.012)
    covered_frames = [np.clip(f * (1 - soft) + 110.0 * soft, 0, 255).astype(np.uint8) for f in panning(texture)]
    cover_motion = scene_motion(covered_frames, (W // 2, H // 2))
    assert cover_motion is not None
    cover = fixed_share(cover_motion, cv2.resize(soft, (W // 2, H // 2)) > 0.97)
    assert scene_part is not None and cover is not None
    assert scene_part < T.occlusion_fixed <= cover, (scene_part, cover)
    # A still camera gives no evidence either way: the region is judged by its look alone.
    still = scene_motion([frames[0]] * 4, (W // 2, H // 2))
    assert still is not None and fixed_share(still, plain) is None


@pytest.mark.parametrize(
    "clip",
    # Held-out scene at its weakest: the hazy sky down the tower's side is plain and softer than
    # the scene's edges, but pans with the view. (In rain it is also as bright as the textured
    # scene, a sky: test_a_hazy_sky_seen_by_a_still_camera_is_no_cover.)
    [Clip("dusk", "china-tower", 0.0, seed=7)],
    ids=lambda c: c.name,
)
def test_a_soft_sky_that_pans_with_the_view_is_not_a_cover(clip: Clip) -> None:
    result = diagnose_frames(condition_frames(clip), CameraSettings(T))
    assert "occlusion" not in result.codes, result.metrics
    moving = [m for m in result.metrics["occlusion_motion"] if m[2] is not None and m[2] < T.occlusion_fixed]
    assert moving, result.metrics


def test_a_cover_over_a_still_view_is_still_found_without_a_baseline() -> None:
    frames = condition_frames(Clip("dirt", "china-wide", 0.0, seed=7))
    rng = np.random.default_rng(3)
    still = [np.clip(frames[0] + rng.normal(0, 1.5, frames[0].shape), 0, 255).astype(np.uint8) for _ in frames]
    result = diagnose_frames(still, CameraSettings(T))
    assert "occlusion" in result.codes, result.metrics
    assert all(m[2] is None for m in result.metrics["occlusion_motion"]), result.metrics


@pytest.mark.parametrize(
    "clip",
    # Held-out scenes at their weakest: covers from the top of the view, bright against the rest
    # as a sky would be, but new since commissioning.
    [
        Clip("thin_occluder", "crossroad", 0.0, seed=1),
        Clip("grey_occluder", "brick-b", 0.0, seed=5),
        Clip("grey_occluder", "riverside", 0.0, seed=5),
        Clip("thin_occluder", "terrain-east", 0.0, seed=5),
    ],
    ids=lambda c: c.name,
)
def test_a_cover_from_the_top_new_since_commissioning_is_no_sky(clip: Clip) -> None:
    result = diagnose_frames(condition_frames(clip), CameraSettings(T, None, {"day": baseline_of(clip)}))
    assert result.codes == ["occlusion"], result.metrics


@pytest.mark.parametrize(
    "clip",
    # Held-out still street cameras at their weakest: the plain road and sky leave no scene edge
    # clear of every plain part, and a cover hanging from the top is darker than the sky beside it.
    [
        Clip("dirt", "crossroad", 0.0, seed=1),
        Clip("grey_occluder", "parking", 0.0, seed=1),
        Clip("grey_occluder", "riverside", 0.0, seed=5),
        Clip("thin_occluder", "crossroad", 0.0, seed=5),
    ],
    ids=lambda c: c.name,
)
def test_a_cover_on_a_still_street_camera_is_found_without_a_baseline(clip: Clip) -> None:
    result = diagnose_frames(condition_frames(clip), CameraSettings(T))
    assert result.codes == ["occlusion"], result.metrics


@pytest.mark.parametrize(
    ("clip", "codes"),
    [
        # Held-out street at its weakest darkening: most plain blocks move away from the
        # baseline's look, but so does the rest of the view; a change of exposure is not a cover.
        # (Encoded, the riverside clip of seed 5 showed it; unencoded, the park's.)
        (Clip("dark", "park", 0.0, seed=5), ["too_dark"]),
        # Held-out: a large grey cover of the road's shade joins the plain road into one region
        # that is mostly the normal view; its part new since commissioning is the cover. (At
        # strength 0 the cover is smaller, stays a region of its own and was found before.)
        (Clip("grey_occluder", "crossroad", 1.0, seed=4), ["occlusion"]),
    ],
    ids=lambda c: c.name if isinstance(c, Clip) else "",
)
def test_what_changed_since_commissioning_over_plain_parts(clip: Clip, codes: list[str]) -> None:
    result = diagnose_frames(condition_frames(clip), CameraSettings(T, None, {"day": baseline_of(clip)}))
    assert result.codes == codes, result.metrics


@pytest.mark.parametrize(
    "clip",
    # Held-out: large covers hide so much of the reference's edges that the view reads as new
    # (at strength 0 the view kept enough of them); their boundary stands still while the scene
    # pans behind them.
    [Clip("dirt", "park", 1.0, seed=6), Clip("grey_occluder", "riverside", 1.0, seed=6)],
    ids=lambda c: c.name,
)
def test_a_cover_that_stands_still_while_the_view_pans_is_no_new_view(clip: Clip) -> None:
    result = diagnose_frames(condition_frames(clip), CameraSettings(T, None, {"day": baseline_of(clip)}))
    assert result.codes == ["occlusion"], result.metrics
    assert "scene_change" in result.metrics["hidden"], result.metrics


def test_a_blurred_still_street_is_blur_not_a_cover_without_a_baseline(tmp_path: Path) -> None:
    """The patrol bench's defocused gate camera (1280×720, H.264): its plain road reads as a soft
    region, but the structure around it is blurred too: out of focus, not covered."""
    clip = write_condition_clip(
        tmp_path / "blur.mp4",
        ClipSpec("blur", "gate", 0.6, width=1280, height=720, fps=25, seconds=2, seed=4, max_kbps=2048),
    )
    result = diagnose_source(str(clip), CameraSettings(T))
    assert result.codes == ["blur"], result.metrics
    assert "occlusion" in result.metrics["hidden"]  # the soft region was seen, and judged


# Fit scenes of high contrast: a translucent cover at its weakest (28 % of the view, opacity
# 0.8) lets a fifth of the blurred scene through, enough contrast to fail the texture floor in
# places; its region counts about 0.19 … 0.22 (unencoded) of the picture, found either way.
TRANSLUCENT = [Clip("thin_occluder", "store-corner", 0.0, seed=5), Clip("thin_occluder", "store-corner", 0.0, seed=1)]


@pytest.mark.parametrize("clip", TRANSLUCENT, ids=lambda c: c.name)
@pytest.mark.parametrize("reference", [False, True], ids=["no_reference", "reference"])
def test_a_translucent_cover_is_found(clip: Clip, reference: bool) -> None:
    settings = CameraSettings(T, None, {"day": baseline_of(clip)}) if reference else CameraSettings(T)
    result = diagnose_frames(condition_frames(clip), settings)
    assert result.codes == ["occlusion"], result.metrics


@pytest.mark.parametrize("condition", ["fog", "dusk", "clean"])
@pytest.mark.parametrize("reference", [False, True], ids=["no_reference", "reference"])
def test_a_dimmed_healthy_view_of_high_contrast_stays_healthy(condition: str, reference: bool) -> None:
    clip = Clip(condition, "store-corner", 0.0, seed=5)
    settings = CameraSettings(T, None, {"day": baseline_of(clip)}) if reference else CameraSettings(T)
    result = diagnose_frames(condition_frames(clip), settings)
    assert result.codes == [], result.metrics


def test_a_plain_wall_in_a_contrasted_scene_is_no_cover() -> None:
    # The wall is plain and in focus beside a scene of strong texture: no cover either way.
    frames = [wall_scene(1), wall_scene(2)]
    assert diagnose_frames(frames, CameraSettings(T)).codes == []
    base = Baseline.measure(analysed(wall_scene()), T)
    assert diagnose_frames(frames, CameraSettings(T, None, {base.mode: base})).codes == []


def test_a_soft_ground_out_of_focus_that_pans_with_the_view_is_not_fixed() -> None:
    """Depth of field: a subject in focus before a ground far out of focus, whose boundary is a
    gentle ramp. Panning moves the ramp so little that the sensor noise left once the motion is
    taken out made a share of what changed along it (a fresh photograph of an animal before a
    soft ground, dim, foggy or backlit, read occlusion without and against a baseline); that
    noise is no more than what is left inside the region, so the boundary moved with the scene."""
    rng = np.random.default_rng(4)
    texture = cv2.GaussianBlur(rng.normal(120, 40, (H, W + 32)).astype(np.float32), (0, 0), 1.2)
    ground = np.zeros((H, W + 32), np.float32)
    cv2.ellipse(ground, (W + 32, H), (int(W * 0.6), int(H * 0.8)), 0, 0, 360, 1.0, -1)
    ramp = cv2.GaussianBlur(ground, (0, 0), 30)
    scene = texture * (1 - ramp) + 128.0 * ramp
    frames = panning(scene)
    motion = scene_motion(frames, (W // 2, H // 2))
    assert motion is not None
    region = cv2.resize(ramp, (W // 2, H // 2)) > 0.9
    a, b, dx, dy = motion
    moved = cv2.warpAffine(a, np.array([[1, 0, dx], [0, 1, dy]], np.float32), a.shape[::-1])
    ring = cv2.dilate(region.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & ~region
    left, changed = float(np.square(b - moved)[ring].sum()), float(np.square(b - a)[ring].sum())
    assert left / (left + changed) >= T.occlusion_fixed, (left, changed)  # the share alone counted it
    assert fixed_share(motion, region) == 0.0


@pytest.mark.parametrize(
    "clip",
    # Held-out: the hazy sky down the tower's side reaches below the middle of the view, and the
    # bluer sky beside it, plain too, is brighter; it is as bright as the textured scene's
    # brightest quarter. From a still camera no pan shows it moving with the view.
    [
        Clip("clean", "china-tower", 0.0, seed=3),
        Clip("soft", "china-tower", 0.0, seed=7),
        Clip("rain", "china-tower", 0.0, seed=3),
        # Against the light: the flare clips the top of the view beside the sky, which is then
        # no darker than the top row's blocks that are not clipped.
        Clip("backlight", "china-wide", 1.0, seed=4),
    ],
    ids=lambda c: c.name,
)
@pytest.mark.usefixtures("still_cameras")
def test_a_hazy_sky_seen_by_a_still_camera_is_no_cover(clip: Clip) -> None:
    result = diagnose_frames(condition_frames(clip), CameraSettings(T))
    assert "occlusion" not in result.codes, result.metrics


@pytest.mark.parametrize(
    ("clip", "codes"),
    [
        # Held-out, still cameras: a cover over the tower's hazy sky is found against the
        # baseline, the sky's haziness in the baseline notwithstanding.
        (Clip("grey_occluder", "china-tower", 0.0, seed=3), ["occlusion"]),
        (Clip("thin_occluder", "china-tower", 1.0, seed=6), ["occlusion"]),
        # Fog and warm light move the sky's look far from the baseline's, and the hazy sky
        # beside it as far (a cover's rest keeps its look): the light changed, not the view.
        (Clip("fog", "china-tower", 0.0, seed=1), []),
        (Clip("warm_light", "china-tower", 1.0, seed=6), []),
        # Against the light the sky dims away from the flare, and the flare clips the rest of
        # the top row, which was not clipped at commissioning: no darker than the sky beside it.
        (Clip("backlight", "china-tower", 1.0, seed=6), []),
        (Clip("backlight", "china-wide", 1.0, seed=4), []),
    ],
    ids=lambda c: c.name if isinstance(c, Clip) else "",
)
@pytest.mark.usefixtures("still_cameras")
def test_against_the_baseline_a_still_cameras_sky_is_judged_by_what_changed(clip: Clip, codes: list[str]) -> None:
    result = diagnose_frames(condition_frames(clip), CameraSettings(T, None, {"day": baseline_of(clip)}))
    assert result.codes == codes, result.metrics


@pytest.mark.parametrize(
    "clip",
    # Held-out, still cameras, through H.264 (the raw pictures read clean on either rule): the
    # tower's sky moved 14 and 12 from the baseline's look, the plain rest of the view 9.4 and
    # 11.3, short of occlusion_shift (12) but more than half of it; a cover's rest moved 3 at most.
    [Clip("dusk", "china-tower", 0.0, seed=7), Clip("warm_light", "china-tower", 0.0, seed=5)],
    ids=lambda c: c.name,
)
@pytest.mark.usefixtures("still_cameras")
def test_against_the_baseline_a_dusk_or_a_warm_light_over_the_whole_view_is_no_cover(
    clip: Clip, tmp_path: Path
) -> None:
    normal = diagnose_source(str(write_clip(tmp_path / "normal.mp4", normal_clip(clip))), CameraSettings(T))
    assert normal.frame is not None and normal.codes == [], normal.metrics
    base = Baseline.measure(AnalysedFrame(normal.frame), T)
    result = diagnose_source(str(write_clip(tmp_path / "clip.mp4", clip)), CameraSettings(T, None, {"day": base}))
    assert result.metrics["basis"] == "baseline" and "occlusion" not in result.codes, result.metrics
