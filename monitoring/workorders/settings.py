"""Settings of the work orders, read from GOVOPS_WORKORDERS_* variables.

The SLA defaults follow the common Sharp Eyes O&M contract: 24 h to repair a camera in a key
area (重点区域), 48 h elsewhere. Self-healing (an ONVIF SystemReboot) is off unless asked for.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkOrderSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GOVOPS_WORKORDERS_", env_file=".env", extra="ignore", allow_inf_nan=False
    )

    sla_key_hours: int = Field(default=24, ge=1, le=24 * 30)
    sla_other_hours: int = Field(default=48, ge=1, le=24 * 30)
    # The gateway runs `sync` this often (0: never; run `govops workorders sync` from cron instead).
    sync_interval_s: float = Field(default=60.0, ge=0, le=86400)
    auto_dispatch: bool = False  # send a new order to its contractor without an ops engineer
    auto_close: bool = True  # close an order once the re-diagnosis confirms the repair
    photo_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    selfheal: bool = False  # try an ONVIF SystemReboot on a camera that stops answering
    selfheal_every_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    selfheal_timeout_s: float = Field(default=10.0, gt=0, le=120)
