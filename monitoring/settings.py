"""Settings of the alert loop, read from GOVOPS_ALERTS_* (and an optional .env file)."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from govops.settings import load_or_explain


def _hh_mm(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError(f"{value!r} is not a time of day: give HH:MM on the district's clock, e.g. 08:30")
    return value


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVOPS_ALERTS_", env_file=".env", extra="ignore", allow_inf_nan=False)

    # Bearer token Alertmanager presents to POST /api/v1/alerts/alertmanager. Without it a 0600
    # token file in the data directory is used (the lab's Alertmanager reads the same file).
    webhook_token: SecretStr | None = None
    # Alertmanager's base URL, for silences (v2 API); unset means silences are unavailable.
    alertmanager_url: str | None = None
    # A critical alert nobody has claimed (认领) within this many minutes is escalated.
    escalate_after_min: float = Field(default=15.0, ge=0, le=7 * 24 * 60)
    # How often the gateway's background loop runs the escalation check.
    check_interval_s: float = Field(default=60.0, gt=0, le=86400)
    # Notification channels (YAML, see monitoring/notify/config.py); unset means none.
    channels_file: Path | None = None
    # How old the newest cluster backup may grow before BackupTooOld fires (a daily schedule
    # plus slack); exported as govops_backup_max_age_seconds next to the newest archive's time.
    backup_max_age_h: float = Field(default=26.0, gt=0, le=24 * 366)
    # 运维日报: when the gateway sends yesterday's report to the channels that take it
    # (`daily_report` among their events), HH:MM on the district's clock; unset: not sent.
    daily_report_at: Annotated[str | None, AfterValidator(_hh_mm)] = None


def load_alert_settings() -> AlertSettings:
    return load_or_explain(AlertSettings)


def webhook_token(settings: AlertSettings, data_dir: Path) -> str:
    """The receiver's token: from settings, else the data directory's token file (made once)."""
    if settings.webhook_token is not None:
        return settings.webhook_token.get_secret_value()
    path = data_dir / "alertmanager-webhook.token"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(token)
    return token
