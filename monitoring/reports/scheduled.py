"""运维日报 sent once a day from the gateway's background loop (`GOVOPS_ALERTS_DAILY_REPORT_AT`,
e.g. 08:30 on the district's clock): yesterday's report to the channels that take it.

Once per data directory and day, and not lost: the day is marked sent (`<data_dir>/reports/
daily-<day>.sent`) only once a channel took the report (or none takes it). A send that reached no
channel (every channel failed after the notifier's own attempts, or the report could not be
made) is tried again after 10 minutes, then 20, 40 … at most 2 hours apart, up to 6 times, and
the failures are counted in `daily-<day>.failed`. One attempt at a time: an exclusively created
lock file, so a restart or a second gateway on the same data directory never sends it twice (a
lock older than 15 minutes is from a gateway that died mid-send, and is taken over). A gateway
that starts after the hour sends the day's report at its first check.
"""

from __future__ import annotations

import json
import logging
import os
import time as clock
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
RETRY_AFTER = timedelta(minutes=10)  # doubles after each failed attempt
RETRY_MOST = timedelta(hours=2)
ATTEMPTS = 6
LOCK_STALE_S = 15 * 60


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

    def _file(self, day: str, kind: str) -> Path:
        folder = Path(self.settings.data_dir) / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"daily-{day}.{kind}"

    def _lock(self, day: str) -> Path | None:
        lock = self._file(day, "lock")
        for _ in range(2):
            try:
                os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                return lock
            except FileExistsError:
                try:
                    if clock.time() - lock.stat().st_mtime < LOCK_STALE_S:
                        return None  # another attempt is under way
                    lock.unlink()  # its gateway died mid-send
                except FileNotFoundError:
                    pass  # released meanwhile: try again
        return None

    def _failures(self, day: str) -> tuple[int, datetime] | None:
        try:
            doc = json.loads(self._file(day, "failed").read_text(encoding="utf-8"))
            attempts, at = int(doc["attempts"]), datetime.fromisoformat(doc["at"])
            if at.tzinfo is None:
                raise ValueError("no offset")
            return attempts, at
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):  # unreadable: one failure, its next try due at once
            return 1, datetime.min.replace(tzinfo=UTC)

    def _due(self, day: str, now: datetime) -> bool:
        if self._file(day, "sent").exists():
            return False
        failed = self._failures(day)
        if failed is None:
            return True
        attempts, last = failed
        return attempts < ATTEMPTS and now >= last + min(RETRY_AFTER * 2 ** (attempts - 1), RETRY_MOST)

    def __call__(self, now: datetime | None = None) -> dict[str, str] | None:
        """Send yesterday's report if the hour has come and it is not sent yet (nor waiting for its
        next try); the outcomes (channel → sent, failed or rate_limited), else None."""
        now = now or datetime.now(UTC)
        local = now.astimezone(self.zone)
        if local.time() < self.at:
            return None
        day = (local.date() - timedelta(days=1)).isoformat()
        if not self._due(day, now):
            return None
        lock = self._lock(day)
        if lock is None:
            return None
        try:
            if not self._due(day, now):  # sent by another gateway between the check and the lock
                return None
            delivered = False
            try:
                with self.sessions() as session:
                    report = daily(
                        session,
                        self.settings,
                        self.video,
                        day=day,
                        zone=self.zone,
                        backup_max_age_h=self.backup_max_age_h,
                    )
                outcomes = send(report, self.notifier, self.console_url)
                delivered = not outcomes or "sent" in outcomes.values()
            finally:
                self._record(day, now, delivered)
            summary = ",".join(f"{k}:{v}" for k, v in outcomes.items()) or "none"
            if delivered:
                log(logger, "daily report sent", day=day, outcomes=summary)
            else:
                log(logger, "daily report reached no channel", logging.ERROR, day=day, outcomes=summary)
            return outcomes
        finally:
            lock.unlink(missing_ok=True)

    def _record(self, day: str, now: datetime, delivered: bool) -> None:
        if delivered:
            self._file(day, "sent").touch()
            self._file(day, "failed").unlink(missing_ok=True)
            return
        before = self._failures(day)
        attempts = (before[0] if before else 0) + 1
        self._file(day, "failed").write_text(json.dumps({"attempts": attempts, "at": now.isoformat()}))
        if attempts >= ATTEMPTS:
            log(logger, "daily report given up", logging.ERROR, day=day, attempts=attempts)
