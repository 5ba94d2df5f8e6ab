"""The Alertmanager webhook receiver: idempotent by fingerprint, safe to replay.

Alertmanager sends a group of alerts per notification and repeats it (repeat_interval, retries
after a failed delivery, a restarted cluster peer). An alert occurrence is identified by its
fingerprint and its startsAt: a firing notice for an open alert only refreshes it, a notice for
an occurrence that was already resolved is a late replay and changes nothing, and a resolved
notice resolves the open alert. One batch is one transaction and one audit record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from govops import audit
from govops.alerts import SEVERITIES, Alert, add_event
from govops.errors import ValidationFailed
from monitoring.inbox.locking import write_lock

SOURCE = "alertmanager"
FINGERPRINT_PREFIX = "am:"


class WebhookAlert(BaseModel):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: str | None = None
    fingerprint: str = Field(min_length=1, max_length=100)


class WebhookPayload(BaseModel):
    """Alertmanager's webhook body (version 4)."""

    version: str = "4"
    groupKey: str | None = None
    status: Literal["firing", "resolved"] | None = None
    receiver: str | None = None
    alerts: list[WebhookAlert] = Field(max_length=20_000)


@dataclass
class IngestResult:
    created: list[Alert] = field(default_factory=list)
    refreshed: int = 0
    resolved: list[Alert] = field(default_factory=list)
    ignored: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "refreshed": self.refreshed,
            "resolved": len(self.resolved),
            "ignored": self.ignored,
        }


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _same_instant(a: datetime, b: datetime) -> bool:
    return abs((_utc(a) - _utc(b)).total_seconds()) < 0.001


def _severity(labels: dict[str, str]) -> str:
    sev = labels.get("severity", "warning")
    return sev if sev in SEVERITIES else "warning"


def _summary(a: WebhookAlert) -> str:
    text = a.annotations.get("summary") or a.annotations.get("description") or a.labels.get("alertname") or "alert"
    return text[:500]


def ingest(session: Session, payload: WebhookPayload, *, actor: str = "alertmanager") -> IngestResult:
    result = IngestResult()
    write_lock(session)
    fps = {FINGERPRINT_PREFIX + a.fingerprint for a in payload.alerts}
    latest: dict[str, Alert] = {}
    if fps:
        # The newest stored occurrence of each fingerprint, in one query for the whole batch.
        for alert in session.scalars(select(Alert).where(Alert.fingerprint.in_(fps)).order_by(Alert.id)):
            latest[alert.fingerprint] = alert
    now = datetime.now(UTC)
    for a in payload.alerts:
        fp = FINGERPRINT_PREFIX + a.fingerprint
        stored = latest.get(fp)
        if a.status == "firing":
            if stored is not None and stored.status == "firing":
                stored.last_seen = now
                stored.summary = _summary(a)
                result.refreshed += 1
            elif stored is not None and _same_instant(stored.starts_at, a.startsAt):
                result.ignored += 1  # a late replay of an occurrence already resolved
            else:
                alert = Alert(
                    fingerprint=fp,
                    source=SOURCE,
                    severity=_severity(a.labels),
                    summary=_summary(a),
                    labels=dict(a.labels),
                    annotations=dict(a.annotations),
                    alertname=a.labels.get("alertname"),
                    runbook=(a.annotations.get("runbook") or "")[:1000] or None,
                    status="firing",
                    starts_at=_utc(a.startsAt),
                    last_seen=now,
                )
                alert.scope_from_labels()
                session.add(alert)
                latest[fp] = alert
                result.created.append(alert)
        elif stored is not None and stored.status == "firing":
            stored.status = "resolved"
            ends = _utc(a.endsAt) if a.endsAt is not None and a.endsAt.year > 1 else now
            stored.ends_at = ends
            stored.resolved_by = actor
            result.resolved.append(stored)
        else:
            result.ignored += 1
    session.flush()
    for alert in result.created:
        add_event(session, alert, "raised", actor)
    for alert in result.resolved:
        add_event(session, alert, "resolved", actor)
    if result.created or result.resolved:
        audit.append(
            session,
            actor=actor,
            action="alerts.receive",
            target=payload.groupKey[:300] if payload.groupKey else "alertmanager",
            detail=result.as_dict(),
        )
    return result


def parse(body: dict[str, Any]) -> WebhookPayload:
    try:
        return WebhookPayload.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ValidationFailed(
            f"not an Alertmanager webhook body: {where}: {first['msg']}",
            hint="configure a webhook_config (version 4) in alertmanager.yml",
        ) from None
