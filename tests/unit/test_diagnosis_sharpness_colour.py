"""The no-reference measurements of blur and colour cast read what the faults physically are:
a defocused lens widens every edge of the picture; a wrong white balance moves the light's
colour off the daylight locus, where warm street light and dusk never go."""

from __future__ import annotations

import cv2
import numpy as np

from tests.support.natural import _disc_psf
from video.diagnosis import Thresholds
from video.diagnosis.checks.colour import LOCUS_NORMAL, _ab, color_cast, side_tint, tint
from video.diagnosis.checks.sharpness import edge_sharpness
from video.diagnosis.frame import AnalysedFrame

T = Thresholds()


def _steps(width: float) -> np.ndarray:
    """Grey bars with edges ramped over `width` pixels, plus mild sensor noise."""
    x = np.arange(640, dtype=np.float32)
    profile = 60 + 120 * np.clip((15.5 - np.abs(x % 64 - 32)) / max(width, 1e-3) + 0.5, 0, 1)
    img = np.repeat(profile[None, :], 360, axis=0)
    rng = np.random.default_rng(0)
    return np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)


def test_edge_sharpness_reads_the_width_of_the_sharpest_edges() -> None:
    crisp = edge_sharpness(_steps(0.01))
    wide = edge_sharpness(_steps(5.0))
    assert crisp is not None and wide is not None
    assert crisp > 0.8, crisp
    assert 0.15 < wide < 0.3, wide  # about 1 / 5


def test_a_disc_defocus_widens_every_edge_but_crisp_objects_keep_a_soft_scene_sharp() -> None:
    soft = cv2.GaussianBlur(_steps(0.01), (0, 0), 3.0)
    assert (edge_sharpness(soft) or 0) < 0.3
    with_crisp = soft.copy()
    rng = np.random.default_rng(2)
    for _ in range(30):  # in-focus objects over part of the view (a tenth of its blocks or more)
        x, y = int(rng.integers(0, 600)), int(rng.integers(0, 330))
        cv2.rectangle(with_crisp, (x, y), (x + 30, y + 20), int(rng.choice([10, 250])), -1)
    defocused = cv2.filter2D(with_crisp, -1, _disc_psf(3.0))
    sharp, blurred = edge_sharpness(with_crisp), edge_sharpness(defocused)
    assert sharp is not None and blurred is not None
    assert blurred < 0.3 < sharp, (sharp, blurred)


def test_a_flat_picture_has_no_edges_to_judge() -> None:
    assert edge_sharpness(np.full((360, 640), 120, np.uint8)) is None


def _gains(bgr: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    return np.clip(bgr.astype(np.float32) * np.array(gains, np.float32), 0, 255).astype(np.uint8)


def _grey_scene() -> np.ndarray:
    rng = np.random.default_rng(1)
    tiles = rng.integers(40, 220, (9, 16, 1)).astype(np.uint8)
    img = cv2.resize(np.repeat(tiles, 3, axis=2), (640, 360), interpolation=cv2.INTER_NEAREST)
    return np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)


def test_the_locus_normal_is_across_the_orange_blue_axis() -> None:
    warm = np.asarray(_ab(np.array([107, 180, 255], np.float32)))  # 3000 K, as BGR
    cool = np.asarray(_ab(np.array([255, 219, 204], np.float32)))  # 10000 K
    assert abs(float((warm - cool) @ LOCUS_NORMAL)) < 0.15 * float(np.hypot(*(warm - cool)))
    assert tint([(0.0, -20.0), (0.0, -25.0)]) > 0 and tint([(5.0, 1.0), (-5.0, -1.0)]) == 0.0


def test_magenta_and_green_casts_are_off_the_locus_warm_light_is_not() -> None:
    scene = _grey_scene()

    def measured(gains: tuple[float, float, float]) -> dict:
        return color_cast(AnalysedFrame.from_bgr(_gains(scene, gains), 640), T).metrics

    warm = measured((0.84, 0.98, 1.1))  # street light: red up, blue down (BGR gains)
    magenta = measured((1.3, 0.85, 1.25))  # a stuck IR-cut filter
    green = measured((0.8, 1.2, 0.8))
    assert warm["cast_tint"] < 3.0, warm
    assert magenta["cast_tint"] > 3 * max(warm["cast_tint"], 1.0), magenta
    assert green["cast_tint"] > 3 * max(warm["cast_tint"], 1.0), green
    assert magenta["cast_rule"] in ("cast_tint", "cast_tint_magenta")  # the verdict says which threshold decided


def test_the_majority_tint_sees_a_cast_one_estimate_is_pulled_away_from() -> None:
    # Three estimates 10 Lab units towards magenta, one (a lawn's grey world under a pink light)
    # 5 towards green: the consensus of all four is nothing, the majority is magenta.
    n = np.asarray(LOCUS_NORMAL)
    vectors = [tuple(-10.0 * n), tuple(-10.0 * n + np.array([-n[1], n[0]]) * 30.0), tuple(-12.0 * n), tuple(5.0 * n)]
    assert tint(vectors) == 0.0
    assert abs(side_tint(vectors, -1.0) - 10.0) < 1e-6
    assert side_tint(vectors, 1.0) == 0.0  # one estimate is no majority
    assert abs(side_tint(vectors, 1.0, agree=1) - 5.0) < 1e-6
    assert side_tint([(0.0, 0.0)] * 4, -1.0) == 0.0


def test_only_a_magenta_majority_is_judged_on_its_own() -> None:
    scene = _grey_scene()
    magenta = color_cast(AnalysedFrame.from_bgr(_gains(scene, (1.3, 0.85, 1.25)), 640), T).metrics
    green = color_cast(AnalysedFrame.from_bgr(_gains(scene, (0.8, 1.2, 0.8)), 640), T).metrics
    assert magenta["cast_tint_magenta"] >= T.cast_tint_magenta, magenta
    assert green["cast_tint_magenta"] == 0.0 and "cast_tint_green" not in green, green


def _grey_and_pink_scene(gains: tuple[float, float, float]) -> np.ndarray:
    """Grey and pink tiles (four in ten pink) under smooth shading, seen through BGR `gains`."""
    rng = np.random.default_rng(3)
    levels = rng.uniform(0.35, 0.85, (9, 16, 1))
    pink = rng.random((9, 16, 1)) < 0.4
    colour = np.where(pink, np.array([1.0, 0.7, 1.0]), np.array([1.0, 1.0, 1.0]))
    tiles = cv2.resize((levels * colour).astype(np.float32), (640, 360), interpolation=cv2.INTER_NEAREST)
    shade = cv2.resize(rng.uniform(0.75, 1.0, (90, 160)).astype(np.float32), (640, 360), interpolation=cv2.INTER_CUBIC)
    img = tiles * 230 * shade[..., None] * np.array(gains, np.float32)
    return np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)


def test_grey_pixels_see_the_green_cast_the_least_saturated_pixels_are_blind_to() -> None:
    # A strong green white balance (green x1.2, red and blue x0.8) turns the pink tiles neutral:
    # the least saturated tenth of the picture is then those tiles, the near-neutral estimate
    # reads no green and the tint of the four estimates (their consensus) is about 0. The grey
    # tiles' log contrast is the same in R, G and B whatever the gains: the grey pixels find
    # them and read the light's green, and the tint judged with them finds the cast.
    green = color_cast(AnalysedFrame.from_bgr(_grey_and_pink_scene((0.8, 1.2, 0.8)), 640), T)
    found = green.metrics["illuminants"]
    cast = np.asarray(_ab(np.array([0.8, 1.2, 0.8])))  # the colour of a grey surface under it
    size = float(np.hypot(*cast))
    assert float(np.asarray(found["near_neutral"]) @ cast) / size < 0.1 * size, found  # the bias
    old = [found[k] for k in ("grey_world", "grey_edge", "white_patch", "near_neutral")]
    assert tint(old) < 0.3 * T.cast_tint and green.metrics["cast_offset"] < 0.3 * T.cast_offset, green.metrics
    assert float(np.asarray(found["grey_pixels"]) @ cast) / size > 0.7 * size, found
    assert green.metrics["cast_tint"] >= T.cast_tint and green.scores["color_cast"] >= 0.5, green.metrics
    assert green.metrics["cast_rule"] == "cast_tint"
    plain = color_cast(AnalysedFrame.from_bgr(_grey_and_pink_scene((1.0, 1.0, 1.0)), 640), T)
    assert plain.metrics["cast_tint"] < 0.2 * T.cast_tint and plain.scores["color_cast"] < 0.5, plain.metrics
