"""The alert loop's composition: settings, the notifier and the Alertmanager adapter, built once
per gateway (or CLI run) from settings, and the two operations that notify: receiving a webhook
batch and the escalation check."""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govops.alerts import Alert
from govops.errors import Unauthenticated
from govops.logs import log
from monitoring.alertmanager import Alertmanager
from monitoring.inbox import actions, receiver
from monitoring.notify.channels import load_channels
from monitoring.notify.dispatcher import Notifier
from monitoring.settings import AlertSettings, load_alert_settings, webhook_token

logger = logging.getLogger("govops.monitoring.inbox")


@dataclass
class AlertLoop:
    settings: AlertSettings
    data_dir: Path
    notifier: Notifier
    _token: str | None = field(default=None, repr=False)
    _seen_id: int | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        data_dir: Path,
        transaction: Callable[[], Any] | None = None,
        settings: AlertSettings | None = None,
        console_url: str | None = None,
    ) -> AlertLoop:
        settings = settings or load_alert_settings()
        channels = load_channels(settings.channels_file)
        notifier = Notifier(channels, transaction, console_url=console_url)
        return cls(settings=settings, data_dir=data_dir, notifier=notifier)

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = webhook_token(self.settings, self.data_dir)
        return self._token

    def check_bearer(self, authorization: str) -> None:
        offered = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        if not offered or not hmac.compare_digest(offered.encode(), self.token.encode()):
            raise Unauthenticated(
                "the Alertmanager receiver needs its bearer token",
                hint="set http_config.authorization.credentials_file in alertmanager.yml to the webhook token file",
            )

    def alertmanager(self) -> Alertmanager:
        return Alertmanager(self.settings.alertmanager_url)

    def receive(self, session: Session, body: dict[str, Any]) -> dict[str, int]:
        result = receiver.ingest(session, receiver.parse(body))
        self.notifier.submit("firing", result.created)
        self.notifier.submit("resolved", result.resolved)
        return result.as_dict()

    def escalate(self, session: Session) -> list[dict[str, Any]]:
        due = [a.as_dict() for a in actions.escalate_unclaimed(session, after_min=self.settings.escalate_after_min)]
        self.notifier.submit("escalated", due)
        return due

    def sweep_raised(self, session: Session) -> list[dict[str, Any]]:
        """Notify alerts the platform raised itself (patrol, onboarding, channels) since the last
        sweep: they reach the store through the kernel, which cannot call the notifier. The first
        sweep only sets the mark, so a restart does not re-send the backlog."""
        newest = session.scalar(select(func.max(Alert.id))) or 0
        if self._seen_id is None:
            self._seen_id = newest
            return []
        rows = session.scalars(
            select(Alert)
            .where(Alert.id > self._seen_id, Alert.source != receiver.SOURCE, Alert.status == "firing")
            .order_by(Alert.id)
            .limit(1000)
        ).all()
        self._seen_id = max([newest if len(rows) < 1000 else rows[-1].id, self._seen_id])
        raised = [a.as_dict() for a in rows]
        self.notifier.submit("firing", raised)
        return raised


class EscalationLoop:
    """The gateway's background loop, every `check_interval_s` seconds: notify what the platform
    raised itself, escalate critical alerts nobody claimed, then run the scheduled `jobs` (the
    daily report)."""

    def __init__(
        self, loop: AlertLoop, transaction: Callable[[], Any], jobs: list[Callable[[], Any]] | None = None
    ) -> None:
        self.loop = loop
        self.transaction = transaction
        self.jobs = list(jobs or [])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            with self.transaction() as session:
                self.loop.sweep_raised(session)  # the mark: what exists at start-up is not re-sent
        except Exception as exc:  # e.g. not migrated yet: /readyz says so; the loop retries
            log(logger, "alert loop start-up sweep failed", logging.WARNING, error=type(exc).__name__)
        self._thread = threading.Thread(target=self._run, name="govops-escalation", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.loop.settings.check_interval_s):
            try:
                with self.transaction() as session:
                    self.loop.sweep_raised(session)
                    due = self.loop.escalate(session)
                if due:
                    log(logger, "alerts escalated", alerts=len(due))
            except Exception as exc:  # keep checking; the next round may succeed
                log(logger, "escalation check failed", logging.ERROR, error=type(exc).__name__)
            for job in self.jobs:
                try:
                    job()
                except Exception as exc:  # one job's failure is logged, the loop goes on
                    log(logger, "scheduled job failed", logging.ERROR, job=type(job).__name__, error=type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
