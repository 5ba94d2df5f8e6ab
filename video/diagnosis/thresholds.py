"""Diagnosis thresholds and sampling limits, from GOVOPS_VQD_* variables, overridable per camera.

A threshold is the measurement at which a fault is reported (its score is then 0.5). A night
camera that is dark on purpose gets its own `dark_mean`, for example, through `thresholds_for`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from govops.errors import ValidationFailed


class Thresholds(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVOPS_VQD_", extra="forbid", frozen=True)

    # signal_loss: share of the picture within `flat_tolerance` of its median colour.
    flat_fraction: float = Field(0.95, gt=0, le=1)
    flat_tolerance: float = Field(10.0, gt=0)
    # freeze: median, over consecutive frames of the window, of the mean absolute luma change
    # of the whole picture and of its most changed 40-pixel block; both must stay below.
    freeze_max_diff: float = Field(0.05, ge=0)
    freeze_max_block_diff: float = Field(0.75, ge=0)
    # blur: blur effect (Crété-Roffet), 0 sharp … 1 fully blurred.
    blur_effect: float = Field(0.33, gt=0, lt=1)
    # too_dark / too_bright: mean luma (0-255); bright also fires on a large clipped share.
    dark_mean: float = Field(40.0, ge=0, le=255)
    bright_mean: float = Field(205.0, ge=0, le=255)
    bright_clipped_fraction: float = Field(0.4, gt=0, le=1)
    # color_cast: K = D/M of the equivalent circle and the offset D itself (Lab units); with a
    # reference picture, the offset is the shift from the reference's mean chroma.
    cast_k: float = Field(1.5, gt=0)
    cast_offset: float = Field(8.0, gt=0)
    # noise: estimated luma noise sigma at the analysis size.
    noise_sigma: float = Field(7.0, gt=0)
    # occlusion: share of the picture covered by one dark, textureless, static region.
    occlusion_area: float = Field(0.2, gt=0, le=1)
    occlusion_dark_ratio: float = Field(0.45, gt=0, le=1)
    # stripes: how far one frequency of the row/column profile stands above its neighbours,
    # in every tile (the weakest tile counts), and its amplitude in grey levels.
    stripe_prominence: float = Field(6.0, gt=1)
    stripe_amplitude: float = Field(4.0, gt=0)
    # scene_change: share of the reference picture's edges still found in place (0 … 1).
    scene_similarity: float = Field(0.4, ge=0, le=1)

    # Sampling and cost limits.
    analysis_width: int = Field(640, ge=160, le=1920)
    window_frames: int = Field(6, ge=2, le=50)
    keyframes: int = Field(1, ge=1, le=10)
    max_stream_seconds: float = Field(8.0, gt=0)
    open_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(5.0, gt=0)
    snapshot_max_bytes: int = Field(8 * 1024 * 1024, gt=0)


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
        raise ValidationFailed(
            f"bad diagnosis threshold {'.'.join(map(str, first['loc']))}: {first['msg']}"
        ) from None
