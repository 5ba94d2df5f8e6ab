"""Provisioning runs and quota requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govops.db import Base

RUN_KINDS = ("preview", "up", "refresh", "destroy-tenant")
RUN_STATES = ("running", "succeeded", "failed")
REQUEST_STATES = ("pending", "approved", "rejected", "applied", "failed")


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


class CloudRun(Base):
    __tablename__ = "cloud_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stack: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    def as_dict(self, with_log: bool = False) -> dict[str, Any]:
        d = {
            "id": self.id,
            "stack": self.stack,
            "kind": self.kind,
            "target": self.target,
            "status": self.status,
            "actor": self.actor,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "summary": self.summary,
            "error": self.error,
        }
        if with_log:
            d["log"] = self.log
        return d


class QuotaRequest(Base):
    __tablename__ = "quota_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(50), index=True)
    quota: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), index=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "department": self.department,
            "quota": self.quota,
            "reason": self.reason,
            "status": self.status,
            "requested_by": self.requested_by,
            "requested_at": _iso(self.requested_at),
            "decided_by": self.decided_by,
            "decided_at": _iso(self.decided_at),
            "decision_note": self.decision_note,
            "run_id": self.run_id,
        }
