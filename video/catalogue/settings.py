"""Settings of the video network, read from GOVOPS_VIDEO_* variables.

The KPI targets default to the seeds: 发改高技〔2015〕996号 asks an intact rate (完好率) of at least
98% for key public areas and 95% for key-industry cameras and a networking rate (联网率) of 100%;
Jinshan's task 26 asks 100% coverage of key public areas and 15 cameras per km².
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class VideoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVOPS_VIDEO_", env_file=".env", extra="ignore", allow_inf_nan=False)

    # GB/T 2260 division of the district; new camera codes start with it.
    division: str = Field(default="310116", pattern=r"^[0-9]{6}$")
    # GB/T 28181 network digit for onboarded cameras (6 = 政务网).
    network: str = Field(default="6", pattern=r"^[0-9]$")
    industry: str = Field(default="00", pattern=r"^[0-9]{2}$")

    onboard_concurrency: int = Field(default=32, ge=1, le=512)
    onboard_timeout_s: float = Field(default=20.0, gt=0, le=600)
    request_timeout_s: float = Field(default=8.0, gt=0, le=120)
    snapshot_max_age_s: float = Field(default=60.0, ge=0)

    # The camera patrol (巡检): a round every interval, this many streams in flight per worker.
    patrol_interval_s: float = Field(default=900.0, ge=10, le=86400)
    patrol_concurrency: int = Field(default=200, ge=1, le=2000)
    patrol_camera_timeout_s: float = Field(default=30.0, gt=0, le=600)
    # Hysteresis: rounds in a row before a camera counts as faulty / as recovered.
    patrol_raise_after: int = Field(default=2, ge=1, le=20)
    patrol_clear_after: int = Field(default=2, ge=1, le=20)
    patrol_history_keep: int = Field(default=500, ge=10, le=100000)

    target_online: float = Field(default=0.95, ge=0, le=1)  # 在线率 (no national figure; ops default)
    target_intact_key_place: float = Field(default=0.98, ge=0, le=1)  # 完好率, key public areas
    target_intact_other: float = Field(default=0.95, ge=0, le=1)  # 完好率, key-industry cameras
    target_networking: float = Field(default=1.0, ge=0, le=1)  # 联网率
    target_key_place_coverage: float = Field(default=1.0, ge=0, le=1)  # 重点区域覆盖率
    target_density_per_km2: float = Field(default=15.0, ge=0)  # 每平方公里摄像机数
    # The admin level whose areas become the `area` label of the KPI metrics. Streets keep the
    # series count small (a district has tens of them); grids could be thousands.
    kpi_area_level: Literal["district", "street", "community"] = "street"
