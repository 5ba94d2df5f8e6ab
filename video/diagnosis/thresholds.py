"""Diagnosis thresholds and sampling limits, from GOVOPS_VQD_* variables, overridable per camera.

A threshold is the measurement at which a fault is reported (its score is then 0.5). A night
camera that is dark on purpose gets its own `dark_mean`, for example, through `thresholds_for`.
The environment is read once, by whoever composes the program (the runtime, a CLI command, a
benchmark); domain code receives the object and never builds one itself.

The decision thresholds set from FITTED are not chosen by hand: `bench/vqd_fit.py` measures the
labelled clips of the fit scenes only and writes the cut that best separates each fault from
the pictures that must not raise it into fitted.json, with the scenes it came from
(`FITTED_ON`). The held-out scenes of the accuracy bench are never read while fitting. The
other values are design constants of the measurements.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Annotated, Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from govops.errors import ValidationFailed, did_you_mean

_FITTED = json.loads((resources.files("video.diagnosis") / "fitted.json").read_text(encoding="utf-8"))
FITTED: dict[str, float] = _FITTED["values"]
FITTED_ON: dict[str, Any] = _FITTED["fitted_on"]


class Thresholds(BaseSettings):
    """Every value set from FITTED comes from bench/vqd_fit.py (fit scenes only)."""

    # allow_inf_nan: a threshold of 1e999 (JSON reads it as infinity) would switch a check off in
    # disguise, a timeout of it would hang a patrol, and no API answer can carry it.
    model_config = SettingsConfigDict(env_prefix="GOVOPS_VQD_", extra="forbid", frozen=True, allow_inf_nan=False)

    # signal_loss: share of the picture within `flat_tolerance` of its median colour.
    flat_fraction: Annotated[float, Field(gt=0, le=1)] = 0.95
    flat_tolerance: Annotated[float, Field(gt=0)] = 10.0
    # freeze: over consecutive frames of the window, the mean absolute luma change of the whole
    # picture (median), of its most changed 40-pixel block and the number of pixels changed by
    # more than 24 grey levels (lower quartiles); all must stay below. The block's: on the fit
    # scenes at strengths 0 and 1, at 640x360 and at 720p, a frozen picture's encoder refinement
    # reads at most 0.38, a small dim mover at dusk (a street at 720p, no pixel changed by 24)
    # 0.58: the middle of that gap.
    freeze_max_diff: Annotated[float, Field(ge=0)] = 0.05
    freeze_max_block_diff: Annotated[float, Field(ge=0)] = 0.48
    freeze_max_moving_px: Annotated[float, Field(ge=0)] = 6.0
    # A window that reads freeze is confirmed over this much more of the stream (seconds; 0:
    # not confirmed), by pictures this far apart (checks/motion.py): a small dim mover of a still
    # camera's quiet view moves its length in half a second, and changes too little from one
    # picture to the next. Design values (a second or two is what an operator would wait before
    # calling a picture frozen), not fitted.
    freeze_confirm_s: Annotated[float, Field(ge=0, le=10)] = 2.0
    freeze_confirm_gap_s: Annotated[float, Field(gt=0, le=5)] = 0.5
    # blur: blur effect (Crété-Roffet), 0 sharp … 1 fully blurred (the absolute fallback).
    blur_effect: Annotated[float, Field(gt=0, lt=1)] = FITTED["blur_effect"]
    # blur without a baseline: the sharpest edges' step over their contrast (about 1 / width in
    # pixels) below this, every edge of the view is wide.
    blur_edge_sharpness: Annotated[float, Field(gt=0, lt=1)] = FITTED.get("blur_edge_sharpness", 0.25)
    # blur without a baseline: the window's sharpest isolated step edges (checks/edges.py, step
    # over contrast, about 1 / width in pixels) below this, nothing in the view is in focus.
    blur_step_edges: Annotated[float, Field(gt=0, lt=1)] = FITTED.get("blur_step_edges", 0.2)
    # blur without a baseline: the blur sigma in pixels (at the analysis width) of the window's
    # crispest edges (checks/spread.py) above this, nothing in the view is in focus. Not fitted at
    # the boundary (no weakest blur is wider than every healthy view there): set from the fit
    # scenes at strengths 0 and 1, at 640x360 and at 720p, the middle of the gap between the
    # widest healthy window (2.03, a shaded terrain at dusk at 720p; 1.83 at 640x360, at night)
    # and the next blurred one (2.07, a disc of radius 5).
    blur_edge_spread: Annotated[float, Field(gt=0, le=10)] = FITTED.get("blur_edge_spread", 2.05)
    # blur without a baseline, in a window soft all over (checks/ring.py): a dark ring in the
    # spectrum, seen across the rows and down the columns at the same frequency, with the power
    # coming back beyond it by more than this (log10): a defocus disc's. Not fitted at the
    # boundary either: the middle of the gap on the fit scenes at strengths 0 and 1 between the
    # healthy windows (0.05 at most) and the defocus discs it found (0.147 and above).
    blur_defocus_ring: Annotated[float, Field(gt=0, le=3)] = FITTED.get("blur_defocus_ring", 0.1)
    # too_dark / too_bright: mean luma (0-255); bright also fires on a large clipped share.
    dark_mean: Annotated[float, Field(ge=0, le=255)] = FITTED["dark_mean"]
    bright_mean: Annotated[float, Field(ge=0, le=255)] = 205.0
    bright_clipped_fraction: Annotated[float, Field(gt=0, le=1)] = 0.4
    # color_cast: how far all four estimates of the light's colour agree on one non-neutral
    # direction (Lab units), from neutral without a baseline, from the baseline's with one.
    cast_offset: Annotated[float, Field(gt=0)] = FITTED["cast_offset"]
    cast_shift: Annotated[float, Field(gt=0)] = FITTED["cast_shift"]
    # With a baseline that kept the light's log chromaticity: how far the light moved in
    # log(R/G), log(B/G) (the ratio of the channel gains, the same on any scene), in three
    # quarters of the picture's parts and at least half as far in every whole-picture estimate
    # (the white patch left out where a channel clips): checks.colour.light_moved.
    cast_light_shift: Annotated[float, Field(gt=0)] = FITTED.get("cast_light_shift", 0.2)
    # The same, across the daylight locus only (green or magenta: no natural light is).
    cast_tint: Annotated[float, Field(gt=0)] = FITTED.get("cast_tint", 15.0)
    cast_shift_tint: Annotated[float, Field(gt=0)] = FITTED.get("cast_shift_tint", 10.0)
    # Without a baseline, the same towards magenta (a stuck IR-cut filter) for at least three of
    # the four estimates (towards green, vegetation moves three of them as far as a cast does).
    cast_tint_magenta: Annotated[float, Field(gt=0)] = FITTED.get("cast_tint_magenta", 12.0)
    # With a baseline, the same towards magenta for all but one of the three estimates' shifts.
    cast_shift_magenta: Annotated[float, Field(gt=0)] = FITTED.get("cast_shift_magenta", 12.0)
    # noise: estimated luma noise sigma at the analysis size.
    noise_sigma: Annotated[float, Field(gt=0)] = FITTED["noise_sigma"]
    # noise over the window: the sigma of what is new in every picture once consecutive pictures
    # are aligned, where the scene is flat (snow; a scene's texture is not new).
    noise_temporal: Annotated[float, Field(gt=0)] = FITTED.get("noise_temporal", 4.0)
    # occlusion: share of the picture covered by one textureless, colourless region whose
    # boundary with the scene is soft (out of focus: a cover on the lens). A block is textureless
    # below occlusion_texture (grey levels of standard deviation beyond the noise) and colourless
    # below occlusion_chroma (Lab); a boundary is soft when its transition is occlusion_edge_ratio
    # times as wide as the scene's own edges.
    occlusion_area: Annotated[float, Field(gt=0, le=1)] = FITTED["occlusion_area"]
    occlusion_texture: Annotated[float, Field(gt=0)] = 4.0
    occlusion_chroma: Annotated[float, Field(gt=0)] = 20.0
    # Neighbouring candidate blocks are one region when their look differs by less than this.
    occlusion_link: Annotated[float, Field(gt=0)] = 8.0
    occlusion_edge_ratio: Annotated[float, Field(gt=0)] = FITTED.get("occlusion_edge_ratio", 2.0)
    # When the scene pans over the window, a region is a cover only when at least this share of
    # the change along its boundary is better explained by the boundary standing still than by
    # it moving with the scene (a cover stays put on the lens; a sky or a wall pans with the view).
    occlusion_fixed: Annotated[float, Field(ge=0, le=1)] = FITTED.get("occlusion_fixed", 0.08)
    # stripes: how far one frequency of the row/column profile stands above its neighbours,
    # in every tile (the weakest tile counts), and its amplitude in grey levels.
    # Not fitted at the boundary: no healthy window there has a visible pattern that rolls or is
    # new since the baseline, so the fit put the cut at half the weakest stripes (2.41), under
    # the prominence at which a peak is a pattern at all (3.0, checks/spectrum.py): any visible
    # pattern then counted. At strengths 0 and 1 two windows of the fit scenes have one, at 3.02
    # (a soft portrait, against its own soft baseline) and 3.25 (a defocused road, where the
    # defocus raised a pattern the baseline had below 3.0, and stripes then hid the blur); the
    # weakest stripes read 4.82. The value is the middle of that gap.
    stripe_prominence: Annotated[float, Field(gt=1)] = FITTED.get("stripe_prominence", 4.03)
    stripe_amplitude: Annotated[float, Field(gt=0)] = 4.0
    # A pattern that rolls (its phase moves by at least stripe_drift radians per frame once the
    # scene's motion is taken out) or is new since the baseline is judged on stripe_prominence;
    # a static one without a baseline (a brick wall, or fixed interference) on the stronger
    # stripe_static_prominence (how far it stands above the picture's grain), and it must also
    # carry stripe_static_share of the picture's variation across it (its share of the row
    # profile's power, which does not depend on the grain: a sharper, cleaner camera of higher
    # resolution raises a wall's prominence, not its share). A static pattern the baseline had
    # is the scene's texture.
    stripe_drift: Annotated[float, Field(gt=0, le=3.1416)] = FITTED["stripe_drift"]
    stripe_static_prominence: Annotated[float, Field(gt=1)] = FITTED["stripe_static_prominence"]
    stripe_static_share: Annotated[float, Field(gt=0, lt=1)] = FITTED.get("stripe_static_share", 0.5)
    # A pattern rolling through the window's pictures (checks/rolling.py: by at least stripe_drift
    # radians per frame relative to the scene, bars of at least stripe_amplitude): how far it
    # stands above the spectrum of the change from one picture to the next, in every tile.
    stripe_roll: Annotated[float, Field(gt=1)] = FITTED.get("stripe_roll", 24.0)
    # scene_change: share of the reference picture's edges still found in place (0 … 1).
    scene_similarity: Annotated[float, Field(ge=0, le=1)] = FITTED["scene_similarity"]
    # A blurred picture whose coarse layout still matches the reference is blur, not a new view.
    scene_coarse: Annotated[float, Field(ge=0, le=1)] = 0.75
    # Below this coarse layout correlation the camera looks elsewhere: the view changed, and the
    # baseline's texture, sharpness and colour no longer apply (no occlusion, blur or cast).
    scene_turned: Annotated[float, Field(ge=-1, le=1)] = 0.5

    # Against the camera's own baseline (建档): blur effect rise; noise added to the baseline's
    # (sigma, the baseline's taken out in quadrature); dark below dark_ratio × its
    # brightness (never above dark_mean), bright above its brightness + bright_rise; occlusion
    # where a textured block kept less than occlusion_texture_loss of its texture, or a smooth
    # block moved occlusion_shift away from the baseline's look (luma / 2 and a*b*, Lab units).
    blur_rise: Annotated[float, Field(gt=0, lt=1)] = FITTED["blur_rise"]
    # blur against the baseline: the picture's edge sharpness over the baseline's below this.
    blur_edge_kept: Annotated[float, Field(gt=0, lt=1)] = FITTED.get("blur_edge_kept", 0.5)
    # blur against the baseline of a view soft by nature (checks/spread.py): the blur added to
    # its edges, sigma_now² - sigma_base² in square pixels at the analysis width, above this.
    # Not fitted at the boundary: it put the cut at 0.57 (healthy at most 0.39 there), under a
    # healthy window of the fit scenes at strengths 0 and 1 (a portrait, knocked, 0.60). Set
    # from those like blur_edge_spread: the middle of the gap between that window and the next
    # blurred one (a disc of radius 2.2, 0.75); the weakest blurs of the shaded terrain, which
    # only this rule finds, read 0.89 (that disc) and 2.64 (a Gaussian of sigma 1.8).
    blur_spread_added: Annotated[float, Field(gt=0)] = FITTED.get("blur_spread_added", 0.68)
    noise_excess: Annotated[float, Field(gt=0)] = FITTED["noise_excess"]
    dark_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.5
    # Against the camera's normal brightness at that hour of the day: a picture below this share
    # of it is too dark even above dark_mean (a noon picture as dim as dusk: a stuck iris or
    # exposure, a failed lamp). A design value: the labelled clips carry no time of day to fit
    # it on; auto-exposure keeps an overcast day well above it.
    hour_dark_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.35
    bright_rise: Annotated[float, Field(gt=0)] = 40.0
    occlusion_texture_loss: Annotated[float, Field(gt=0, lt=1)] = 0.3
    occlusion_shift: Annotated[float, Field(gt=0)] = FITTED.get("occlusion_shift", 12.0)
    # A picture less saturated than this (mean chroma) is an IR night picture (grayscale).
    night_saturation: Annotated[float, Field(gt=0)] = 3.0
    # Healthy pictures that refine a new baseline before it is settled.
    baseline_rounds: Annotated[int, Field(ge=1, le=50)] = 5

    # Sampling and cost limits.
    analysis_width: Annotated[int, Field(ge=160, le=1920)] = 640
    window_frames: Annotated[int, Field(ge=2, le=50)] = 8
    keyframes: Annotated[int, Field(ge=1, le=10)] = 1
    max_stream_seconds: Annotated[float, Field(gt=0)] = 8.0
    open_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    read_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    snapshot_max_bytes: Annotated[int, Field(gt=0)] = 8 * 1024 * 1024


def thresholds_for(overrides: Mapping[str, Any] | None, base: Thresholds) -> Thresholds:
    """Thresholds for one camera: `base` (the runtime's settings) with that camera's overrides."""
    if not overrides:
        return base
    unknown = sorted(set(overrides) - set(Thresholds.model_fields))
    if unknown:
        raise ValidationFailed(
            f"unknown diagnosis threshold(s): {', '.join(unknown)}",
            hint=did_you_mean(unknown, Thresholds.model_fields).strip()
            or f"known: {', '.join(Thresholds.model_fields)}",
        )
    try:
        return Thresholds(**{**base.model_dump(), **dict(overrides)})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValidationFailed(f"bad diagnosis threshold {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
