"""The notifier: delivers messages to the channels off the request path, with retry, backoff,
the per-channel rate limit, and an alert of its own when a channel keeps failing.

A message the rate limit holds back is not lost silently: it is counted, and the next message
that goes out on that channel says how many were held back (and the inbox has them all).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from govops.alerts import raise_alert, resolve_alert
from govops.logs import log
from monitoring.notify.channels import Channel, DeliveryFailed
from monitoring.notify.templates import Message

logger = logging.getLogger("govops.monitoring.notify")
SOURCE = "monitoring.notify"


def channel_fingerprint(name: str) -> str:
    return f"notify:{name}"


class Notifier:
    def __init__(
        self,
        channels: list[Channel],
        sessions: Callable[[], Any] | None = None,
        *,
        attempts: int = 4,
        backoff_s: float = 1.0,
        fail_after: int = 3,
        console_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.channels = channels
        self.sessions = sessions  # a transaction factory: `with sessions() as session`
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.fail_after = fail_after
        self.console_url = console_url
        self.sleep = sleep
        self.stats = {"sent": 0, "failed": 0, "rate_limited": 0, "retries": 0}
        self._queue: queue.Queue[Message | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- front: called by the receiver, the escalation check ----------------------------------
    def submit(self, event: str, alerts: list[dict[str, Any]]) -> None:
        if self.channels and alerts:
            self._ensure_worker()
            self._queue.put(Message(event=event, alerts=alerts, console_url=self.console_url))

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until every submitted message was handled (tests, CLI)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self._queue.unfinished_tasks

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(30)
            self._thread = None

    # --- worker ---------------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="govops-notifier", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            m = self._queue.get()
            try:
                if m is None:
                    return
                self.send_now(m)
            except Exception as exc:  # the worker must survive a bug in one message
                log(logger, "notification failed", logging.ERROR, error=type(exc).__name__)
            finally:
                self._queue.task_done()

    def send_now(self, m: Message) -> dict[str, str]:
        """Deliver `m` to every channel that wants it; returns channel -> outcome."""
        outcomes = {}
        for channel in self.channels:
            if channel.wants(m):
                outcomes[channel.name] = self._send(channel, m)
        return outcomes

    def _send(self, channel: Channel, m: Message) -> str:
        if not channel.limiter.take():
            channel.suppressed += 1
            self.stats["rate_limited"] += 1
            log(logger, "notification held back by the rate limit", channel=channel.name, event=m.event)
            return "rate_limited"
        m = Message(m.event, m.alerts, suppressed=channel.suppressed, console_url=m.console_url, extra=m.extra)
        error = ""
        for attempt in range(self.attempts):
            if attempt:
                self.stats["retries"] += 1
                self.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                channel.deliver(m)
            except DeliveryFailed as exc:
                error = str(exc)
                log(logger, "notification attempt failed", channel=channel.name, attempt=attempt + 1, error=error)
                continue
            channel.suppressed = 0
            self.stats["sent"] += 1
            if channel.consecutive_failures >= self.fail_after:
                self._channel_alert(channel, None)
            channel.consecutive_failures = 0
            return "sent"
        self.stats["failed"] += 1
        channel.consecutive_failures += 1
        if channel.consecutive_failures >= self.fail_after:
            self._channel_alert(channel, error)
        return "failed"

    def _channel_alert(self, channel: Channel, error: str | None) -> None:
        """Raise (error) or resolve (None) the channel's own alert in the inbox."""
        if self.sessions is None:
            return
        with self.sessions() as session:
            if error is None:
                resolve_alert(session, channel_fingerprint(channel.name), actor=SOURCE)
                return
            raise_alert_for_channel(session, channel, error)


def raise_alert_for_channel(session: Session, channel: Channel, error: str) -> None:
    raise_alert(
        session,
        fingerprint=channel_fingerprint(channel.name),
        source=SOURCE,
        severity="warning",
        summary=(
            f"通知渠道 {channel.name} 连续 {channel.consecutive_failures} 次投递失败 "
            f"(channel {channel.name} failed {channel.consecutive_failures} times in a row: {error})"
        ),
        labels={"alertname": "NotificationChannelFailing", "channel": channel.name, "kind": channel.config.kind},
        runbook="检查渠道配置与网络 (check the channel's URL and network): GOVOPS_ALERTS_CHANNELS_FILE; /alerts",
    )
