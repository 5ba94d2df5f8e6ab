"""Provisioning runs and quota requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govops.db import Base

# pending -> (preview) -> applying -> applied; a failed run puts the request back to pending.
REQUEST_STATES = ("pending", "applying", "applied", "rejected")


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
    # Resource by resource: the preview diff, or the drift a refresh preview found.
    changes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)


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
    # The preview the approver read, and a digest of the departments it previewed: approval applies
    # exactly that change, or asks for a new preview.
    preview_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    preview_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)

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
            "preview_run_id": self.preview_run_id,
        }
