"""Diagnosis thresholds and sampling limits, from GOVOPS_VQD_* variables, overridable per camera.

A threshold is the measurement at which a fault is reported (its score is then 0.5). A night
camera that is dark on purpose gets its own `dark_mean`, for example, through `thresholds_for`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from govops.errors import ValidationFailed


class Thresholds(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVOPS_VQD_", extra="forbid", frozen=True)

    # signal_loss: share of the picture within `flat_tolerance` of its median colour.
    flat_fraction: Annotated[float, Field(gt=0, le=1)] = 0.95
    flat_tolerance: Annotated[float, Field(gt=0)] = 10.0
    # freeze: over consecutive frames of the window, the mean absolute luma change of the whole
    # picture (median), of its most changed 40-pixel block and the number of pixels changed by
    # more than 24 grey levels (lower quartiles); all must stay below.
    freeze_max_diff: Annotated[float, Field(ge=0)] = 0.05
    freeze_max_block_diff: Annotated[float, Field(ge=0)] = 0.6
    freeze_max_moving_px: Annotated[float, Field(ge=0)] = 6.0
    # blur: blur effect (Crété-Roffet), 0 sharp … 1 fully blurred.
    blur_effect: Annotated[float, Field(gt=0, lt=1)] = 0.33
    # too_dark / too_bright: mean luma (0-255); bright also fires on a large clipped share.
    dark_mean: Annotated[float, Field(ge=0, le=255)] = 40.0
    bright_mean: Annotated[float, Field(ge=0, le=255)] = 205.0
    bright_clipped_fraction: Annotated[float, Field(gt=0, le=1)] = 0.4
    # color_cast: K = D/M of the equivalent circle and the offset D itself (Lab units); with a
    # reference picture, the offset is the shift from the reference's mean chroma.
    cast_k: Annotated[float, Field(gt=0)] = 1.5
    cast_offset: Annotated[float, Field(gt=0)] = 8.0
    # noise: estimated luma noise sigma at the analysis size.
    noise_sigma: Annotated[float, Field(gt=0)] = 4.0
    # occlusion: share of the picture covered by one dark, textureless, static region.
    occlusion_area: Annotated[float, Field(gt=0, le=1)] = 0.2
    occlusion_dark_ratio: Annotated[float, Field(gt=0, le=1)] = 0.45
    # stripes: how far one frequency of the row/column profile stands above its neighbours,
    # in every tile (the weakest tile counts), and its amplitude in grey levels.
    stripe_prominence: Annotated[float, Field(gt=1)] = 6.0
    stripe_amplitude: Annotated[float, Field(gt=0)] = 4.0
    # scene_change: share of the reference picture's edges still found in place (0 … 1).
    scene_similarity: Annotated[float, Field(ge=0, le=1)] = 0.4

    # Sampling and cost limits.
    analysis_width: Annotated[int, Field(ge=160, le=1920)] = 640
    window_frames: Annotated[int, Field(ge=2, le=50)] = 8
    keyframes: Annotated[int, Field(ge=1, le=10)] = 1
    max_stream_seconds: Annotated[float, Field(gt=0)] = 8.0
    open_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    read_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    snapshot_max_bytes: Annotated[int, Field(gt=0)] = 8 * 1024 * 1024


def thresholds_for(overrides: Mapping[str, Any] | None = None, base: Thresholds | None = None) -> Thresholds:
    """Thresholds for one camera: `base` (settings by default) with that camera's overrides."""
    base = base or Thresholds()
    if not overrides:
        return base
    unknown = sorted(set(overrides) - set(Thresholds.model_fields))
    if unknown:
        raise ValidationFailed(
            f"unknown diagnosis threshold(s): {', '.join(unknown)}",
            hint=f"known: {', '.join(Thresholds.model_fields)}",
        )
    try:
        return Thresholds(**{**base.model_dump(), **dict(overrides)})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValidationFailed(f"bad diagnosis threshold {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
