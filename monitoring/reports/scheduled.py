"""运维日报 sent once a day from the gateway's background loop (`GOVOPS_ALERTS_DAILY_REPORT_AT`,
e.g. 08:30 on the district's clock): yesterday's report to the channels that take it.

Once per data directory and day: a marker file made exclusively (`<data_dir>/reports/`), so a
restart, or a second gateway on the same data directory, does not send it twice. A gateway that
starts after the hour sends the day's report at its first check.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from govops.logs import log
from govops.settings import Settings
from monitoring.reports.daily import daily, send
from video.catalogue.settings import VideoSettings

logger = logging.getLogger("govops.monitoring.reports")


@dataclass
class DailySend:
    sessions: Callable[[], Session]
    settings: Settings
    video: VideoSettings
    notifier: Any  # monitoring.notify.dispatcher.Notifier
    at: time
    zone: ZoneInfo
    backup_max_age_h: float = 26.0
    console_url: str | None = None

    def _claim(self, day: str) -> bool:
        marker = Path(self.settings.data_dir) / "reports" / f"daily-{day}.sent"
        marker.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return False
        return True

    def __call__(self, now: datetime | None = None) -> dict[str, str] | None:
        """Send yesterday's report if the hour has come and nobody has; the outcomes, else None."""
        local = (now or datetime.now(UTC)).astimezone(self.zone)
        if local.time() < self.at:
            return None
        day = (local.date() - timedelta(days=1)).isoformat()
        if not self._claim(day):
            return None
        with self.sessions() as session:
            report = daily(
                session, self.settings, self.video, day=day, zone=self.zone, backup_max_age_h=self.backup_max_age_h
            )
        outcomes = send(report, self.notifier, self.console_url)
        log(logger, "daily report sent", day=day, outcomes=",".join(f"{k}:{v}" for k, v in outcomes.items()) or "none")
        return outcomes
