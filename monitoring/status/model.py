"""One subsystem's state as the status board reports it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

State = Literal["ok", "warning", "failing", "not_configured", "unknown"]
# Worst first: the board's overall state is the worst of its checks (not_configured is not a fault).
SEVERITY: dict[str, int] = {"failing": 4, "unknown": 3, "warning": 2, "ok": 1, "not_configured": 0}
# What people read for a state, Chinese first (the page and the CLI).
LABELS: dict[str, str] = {
    "ok": "正常 ok",
    "warning": "注意 warning",
    "failing": "故障 failing",
    "not_configured": "未配置 not configured",
    "unknown": "未知 unknown",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:  # SQLite hands timestamps back naive; they were stored as UTC
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Check:
    subsystem: str
    title: str  # Chinese first, English gloss
    state: State
    summary: str
    hint: str | None = None  # the command or setting that fixes or configures it
    facts: dict[str, Any] = field(default_factory=dict)
    checked_at: datetime = field(default_factory=utcnow)
    since: datetime | None = None  # when the subsystem entered this state
    elapsed_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "subsystem": self.subsystem,
            "title": self.title,
            "state": self.state,
            "summary": self.summary,
            "hint": self.hint,
            "facts": self.facts,
            "checked_at": iso(self.checked_at),
            "since": iso(self.since or self.checked_at),
            "elapsed_ms": self.elapsed_ms,
        }


def worst(states: list[str]) -> str:
    return max(states, key=lambda s: SEVERITY.get(s, 0)) if states else "unknown"
