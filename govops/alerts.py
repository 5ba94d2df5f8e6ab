"""Alerts, raised by any domain and by the Alertmanager receiver; the alert inbox reads them.

Cross-cutting like the audit log: a domain calls `raise_alert` here and never imports monitoring.
One open alert per fingerprint: raising it again only bumps `last_seen`, so a flapping source
cannot make a storm.

The inbox columns (who claimed it, the acknowledgement, escalation) come from
migrations/versions/0003_alert_inbox.py. `camera_id`, `area`, `department` and `platform` are
copied out of the labels when the alert is stored, so that the inbox filters and the visibility
rules (a department admin sees the department's alerts, security staff their platform's cameras)
run on indexed columns, not on JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from govops.db import Base

SEVERITIES = ("critical", "warning", "info")
STATES = ("firing", "resolved")
# Labels copied into their own indexed columns (label name -> column name).
SCOPE_LABELS = {"camera": "camera_id", "area": "area", "department": "department", "platform": "platform"}


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at).isoformat()


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_status_id", "status", "id"),
        Index("ix_alerts_department_id", "department", "id"),
        Index("ix_alerts_camera_id", "camera_id", "id"),
        Index("ix_alerts_area_id", "area", "id"),
        # partial: most alerts name no platform (monitoring_0002_alert_scope_idx)
        Index(
            "ix_alerts_platform_id",
            "platform",
            "id",
            sqlite_where=text("platform IS NOT NULL"),
            postgresql_where=text("platform IS NOT NULL"),
        ),
        # the scrape's count of firing alerts reads this index alone (monitoring_0002)
        Index("ix_alerts_status_counts", "status", "source", "severity", "claimed_by"),
    )

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
    # --- kernel_0003_alert_inbox ---
    alertname: Mapped[str | None] = mapped_column(String(200), nullable=True)
    runbook: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    annotations: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    camera_id: Mapped[str | None] = mapped_column(String(50), nullable=True)
    area: Mapped[str | None] = mapped_column(String(50), nullable=True)
    department: Mapped[str | None] = mapped_column(String(50), nullable=True)
    platform: Mapped[str | None] = mapped_column(String(50), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)  # 认领
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ack_comment: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "source": self.source,
            "severity": self.severity,
            "summary": self.summary,
            "alertname": self.alertname,
            "labels": self.labels,
            "annotations": self.annotations or {},
            "runbook": self.runbook,
            "status": self.status,
            "camera": self.camera_id,
            "area": self.area,
            "department": self.department,
            "platform": self.platform,
            "starts_at": _iso(self.starts_at),
            "last_seen": _iso(self.last_seen),
            "ends_at": _iso(self.ends_at),
            "claimed_by": self.claimed_by,
            "claimed_at": _iso(self.claimed_at),
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": _iso(self.acknowledged_at),
            "ack_comment": self.ack_comment,
            "resolved_by": self.resolved_by,
            "escalated_at": _iso(self.escalated_at),
        }

    def scope_from_labels(self) -> None:
        for label, column in SCOPE_LABELS.items():
            value = (self.labels or {}).get(label)
            setattr(self, column, str(value)[:50] if value not in (None, "") else None)


class AlertEvent(Base):
    """The life of an alert (raised, claimed, acknowledged, escalated, resolved): its history."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    comment: Mapped[str | None] = mapped_column(String(1000), nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {"at": _iso(self.at), "actor": self.actor, "action": self.action, "comment": self.comment}


def add_event(session: Session, alert: Alert, action: str, actor: str, comment: str | None = None) -> None:
    session.add(AlertEvent(alert_id=alert.id, at=datetime.now(UTC), actor=actor, action=action, comment=comment))


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
    runbook: str | None = None,
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
            summary=summary[:500],
            labels=labels or {},
            status="firing",
            starts_at=now,
            last_seen=now,
            runbook=runbook,
            alertname=(labels or {}).get("alertname"),
        )
        alert.scope_from_labels()
        session.add(alert)
        session.flush()
        add_event(session, alert, "raised", source)
    else:
        alert.last_seen = now
        alert.summary = summary[:500]
        if labels is not None and labels != alert.labels:
            alert.labels = labels
            alert.scope_from_labels()
    session.flush()
    return alert


def resolve_alert(session: Session, fingerprint: str, actor: str = "system") -> Alert | None:
    alert = open_alert(session, fingerprint)
    if alert is not None:
        alert.status = "resolved"
        alert.ends_at = datetime.now(UTC)
        alert.resolved_by = actor
        add_event(session, alert, "resolved", actor)
        session.flush()
    return alert
