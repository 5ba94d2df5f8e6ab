"""Alerts, raised by any domain and by the Alertmanager receiver; the alert inbox reads them.

Cross-cutting like the audit log: a domain calls `raise_alert` here and never imports monitoring.
One open alert per fingerprint: raising it again only bumps `last_seen`, so a flapping source
cannot make a storm.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from govops.db import Base

SEVERITIES = ("critical", "warning", "info")


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200), index=True)
    source: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(String(500))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="firing", index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "source": self.source,
            "severity": self.severity,
            "summary": self.summary,
            "labels": self.labels,
            "status": self.status,
            "starts_at": self.starts_at.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "acknowledged_by": self.acknowledged_by,
        }


def open_alert(session: Session, fingerprint: str) -> Alert | None:
    return session.scalar(select(Alert).where(Alert.fingerprint == fingerprint, Alert.status == "firing").limit(1))


def raise_alert(
    session: Session,
    *,
    fingerprint: str,
    source: str,
    summary: str,
    severity: str = "warning",
    labels: dict[str, Any] | None = None,
) -> Alert:
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}")
    now = datetime.now(UTC)
    alert = open_alert(session, fingerprint)
    if alert is None:
        alert = Alert(
            fingerprint=fingerprint,
            source=source,
            severity=severity,
            summary=summary,
            labels=labels or {},
            status="firing",
            starts_at=now,
            last_seen=now,
        )
        session.add(alert)
    else:
        alert.last_seen = now
        alert.summary = summary
    session.flush()
    return alert


def resolve_alert(session: Session, fingerprint: str) -> Alert | None:
    alert = open_alert(session, fingerprint)
    if alert is not None:
        alert.status = "resolved"
        alert.ends_at = datetime.now(UTC)
        session.flush()
    return alert
