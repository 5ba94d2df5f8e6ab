"""A provisioning run as the domain hands it out: a typed, read-only view of a `cloud_runs` row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from infra.provisioning.changes import ResourceChange
from infra.provisioning.models import CloudRun


class RunKind(StrEnum):
    PREVIEW = "preview"
    UP = "up"
    REFRESH = "refresh"
    DRIFT = "drift"  # a refresh preview: reports, writes nothing
    DESTROY_TENANT = "destroy-tenant"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


@dataclass(frozen=True)
class Run:
    id: int
    stack: str
    kind: RunKind
    target: str | None
    status: RunStatus
    actor: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]
    error: str | None
    changes: tuple[ResourceChange, ...] = field(default_factory=tuple)
    log: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.SUCCEEDED

    @property
    def finished(self) -> bool:
        return self.status is not RunStatus.RUNNING

    @classmethod
    def of(cls, row: CloudRun, *, with_log: bool = False) -> Run:
        return cls(
            id=row.id,
            stack=row.stack,
            kind=RunKind(row.kind),
            target=row.target,
            status=RunStatus(row.status),
            actor=row.actor,
            started_at=row.started_at,
            finished_at=row.finished_at,
            counts=dict(row.summary or {}),
            error=row.error,
            changes=tuple(ResourceChange.from_dict(c) for c in row.changes or []),
            log=row.log if with_log else None,
        )

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "stack": self.stack,
            "kind": self.kind.value,
            "target": self.target,
            "status": self.status.value,
            "actor": self.actor,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "summary": self.counts,
            "changes": [c.as_dict() for c in self.changes],
            "error": self.error,
        }
        if self.log is not None:
            d["log"] = self.log
        return d
