"""Where the monitoring components are and how long the board waits for them."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StatusSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GOVOPS_", env_file=".env", extra="ignore", populate_by_name=True, allow_inf_nan=False
    )

    prometheus_url: str | None = None
    # The inbox's setting (its silences go there); GOVOPS_ALERTMANAGER_URL, the board's older name,
    # is still read: one Alertmanager, configured once.
    alertmanager_url: str | None = Field(
        default=None, validation_alias=AliasChoices("GOVOPS_ALERTS_ALERTMANAGER_URL", "GOVOPS_ALERTMANAGER_URL")
    )
    # Each probe's own timeout (network calls inside it use this too).
    status_probe_timeout_s: float = Field(default=3.0, gt=0, le=60)
    # How long a request waits for fresh answers before it shows the last known ones.
    status_budget_s: float = Field(default=0.2, ge=0, le=60)
    # How long an answer stays fresh; a newer request reuses it instead of probing again.
    status_cache_s: float = Field(default=15.0, ge=0, le=3600)
    # Warn when the data directory's file system has less free space than this.
    status_min_free_gib: float = Field(default=2.0, ge=0)
    # Warn when a certificate expires within this many days.
    status_cert_warn_days: int = Field(default=30, ge=1, le=3650)
