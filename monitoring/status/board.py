"""The status board: every probe concurrently, each with its own timeout, answers kept fresh for
a short while, and a request that never waits longer than its budget."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from govops.errors import GovopsError
from govops.logs import log
from govops.secretbox import SecretBox
from govops.settings import Settings
from monitoring.kpi_history.models import StatusState
from monitoring.status.model import Check, iso, utcnow, worst
from monitoring.status.probes import PROBES, Probe
from monitoring.status.settings import StatusSettings
from video.catalogue.settings import VideoSettings

logger = logging.getLogger("govops.status")


@dataclass
class StatusContext:
    settings: Settings
    sessions: sessionmaker[Session]
    video: VideoSettings
    box: SecretBox
    status: StatusSettings = field(default_factory=StatusSettings)

    @property
    def timeout(self) -> float:
        return self.status.status_probe_timeout_s


def _failure(probe: Probe, exc: BaseException) -> Check:
    if isinstance(exc, GovopsError):
        return Check(probe.key, probe.title, "failing", exc.message, hint=exc.hint)
    text = str(exc).splitlines()[0][:300] if str(exc) else exc.__class__.__name__
    return Check(probe.key, probe.title, "failing", f"unreachable or broken: {text}")


class StatusBoard:
    def __init__(self, ctx: StatusContext, probes: tuple[Probe, ...] = PROBES) -> None:
        self.ctx = ctx
        self.probes = probes
        # One worker per probe: a hung probe holds only its own thread, never another's turn.
        self._pool = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="status-probe")
        self._lock = threading.Lock()
        self._results: dict[str, tuple[float, Check]] = {}
        self._running: dict[str, Future[None]] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, probe: Probe) -> None:
        started = time.perf_counter()
        try:
            check = probe.run(self.ctx)
        except Exception as exc:  # a probe's failure is the subsystem's state, not ours
            check = _failure(probe, exc)
        check.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        try:
            check.since = self._remember(check)
        except Exception as exc:  # the database itself may be what is down
            log(logger, "status state not stored", logging.WARNING, subsystem=probe.key, error=str(exc)[:200])
        with self._lock:
            self._results[probe.key] = (time.monotonic(), check)

    def _remember(self, check: Check) -> Any:
        with self.ctx.sessions.begin() as s:
            row = s.get(StatusState, check.subsystem)
            if row is None:
                row = StatusState(subsystem=check.subsystem, state=check.state, since=check.checked_at)
                s.add(row)
            elif row.state != check.state:
                row.state, row.since = check.state, check.checked_at
            row.checked_at = check.checked_at
            since = row.since
        return since.replace(tzinfo=UTC) if since.tzinfo is None else since

    def refresh(self, *, max_age: float | None = None) -> list[Future[None]]:
        """Start the probes whose answer is older than max_age (unless one is already running)."""
        max_age = self.ctx.status.status_cache_s if max_age is None else max_age
        now = time.monotonic()
        started = []
        with self._lock:
            for p in self.probes:
                got = self._results.get(p.key)
                if got is not None and now - got[0] < max_age:
                    continue
                fut = self._running.get(p.key)
                if fut is None or fut.done():
                    fut = self._pool.submit(self._run, p)
                    self._running[p.key] = fut
                started.append(fut)
        return started

    def snapshot(self, *, budget: float | None = None, max_age: float | None = None) -> dict[str, Any]:
        """Every subsystem's latest state. Waits at most `budget` seconds for fresh answers."""
        budget = self.ctx.status.status_budget_s if budget is None else budget
        pending = self.refresh(max_age=max_age)
        if pending:
            wait(pending, timeout=budget)
        checks = []
        with self._lock:
            for p in self.probes:
                got = self._results.get(p.key)
                if got is None:
                    checks.append(
                        Check(
                            p.key,
                            p.title,
                            "unknown",
                            f"检查中 still checking: no answer within {budget:g} s; the probe goes on "
                            f"(timeout {self.ctx.timeout:g} s)",
                        )
                    )
                else:
                    checks.append(got[1])
        return {
            "state": worst([c.state for c in checks]),
            "generated_at": iso(utcnow()),
            "subsystems": [c.as_dict() for c in checks],
        }
