"""The status board: every probe concurrently, each with its own timeout, answers kept fresh for
a short while, and a request that never waits longer than its budget."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from govops.errors import GovopsError
from govops.logs import log
from govops.secretbox import SecretBox
from govops.settings import Settings, load_or_explain
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
    status: StatusSettings = field(default_factory=lambda: load_or_explain(StatusSettings))

    _http: httpx.Client | None = field(default=None, init=False, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _client_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def timeout(self) -> float:
        return self.status.status_probe_timeout_s

    @property
    def http(self) -> httpx.Client:
        """One client for every probe: building one per call costs a TLS context each time."""
        with self._client_lock:
            if self._http is None:
                self._http = httpx.Client(timeout=self.timeout)
            return self._http

    def cached(self, key: str, build: Any) -> Any:
        """A client built once per key (e.g. a Kubernetes API client per kubeconfig version)."""
        with self._client_lock:
            if key not in self._clients:
                self._clients[key] = build()
            return self._clients[key]


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
        self._since: dict[str, tuple[str, Any]] = {}  # subsystem -> (state, since) as stored
        self._store = threading.Lock()  # one writer: SQLite would answer "database is locked"

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.ctx._http is not None:
            self.ctx._http.close()

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
        known = self._since.get(check.subsystem)
        if known is not None and known[0] == check.state:
            return known[1]  # unchanged: nothing to write
        with self._store, self.ctx.sessions.begin() as s:
            row = s.get(StatusState, check.subsystem)
            if row is None:
                row = StatusState(subsystem=check.subsystem, state=check.state, since=check.checked_at)
                s.add(row)
            elif row.state != check.state:
                row.state, row.since = check.state, check.checked_at
            row.checked_at = check.checked_at
            since = row.since
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since
        self._since[check.subsystem] = (check.state, since)
        return since

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

    def snapshot(
        self, *, budget: float | None = None, max_age: float | None = None, answered: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        """Every subsystem's latest state. Waits at most `budget` seconds for fresh answers,
        calling `answered` as each comes in (the CLI's progress bar)."""
        budget = self.ctx.status.status_budget_s if budget is None else budget
        pending = self.refresh(max_age=max_age)
        if pending and answered is None:
            wait(pending, timeout=budget)
        elif pending and answered is not None:
            with contextlib.suppress(TimeoutError):
                for _ in as_completed(pending, timeout=budget):
                    answered()
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
