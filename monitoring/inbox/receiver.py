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
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from govops import audit
from govops.alerts import SCOPE_LABELS, SEVERITIES, Alert, AlertEvent
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


# What a notification and the inbox's summary need of an alert (see monitoring/notify/templates.py).
NOTICE_COLUMNS = (
    Alert.id,
    Alert.fingerprint,
    Alert.status,
    Alert.starts_at,
    Alert.severity,
    Alert.summary,
    Alert.alertname,
    Alert.runbook,
    Alert.camera_id,
    Alert.area,
    Alert.department,
    Alert.platform,
)


def _notice(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row.get(k) for k in ("id", "fingerprint", "severity", "summary", "alertname", "runbook")}
    out.update(camera=row.get("camera_id"), area=row.get("area"), department=row.get("department"))
    out["platform"] = row.get("platform")
    return out


@dataclass
class IngestResult:
    created: list[dict[str, Any]] = field(default_factory=list)  # notices (see _notice)
    refreshed: int = 0
    resolved: list[dict[str, Any]] = field(default_factory=list)
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


def _new_row(a: WebhookAlert, fp: str, now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {
        "fingerprint": fp,
        "source": SOURCE,
        "severity": _severity(a.labels),
        "summary": _summary(a),
        "labels": dict(a.labels),
        "annotations": dict(a.annotations),
        "alertname": a.labels.get("alertname"),
        "runbook": (a.annotations.get("runbook") or "")[:1000] or None,
        "status": "firing",
        "starts_at": _utc(a.startsAt),
        "last_seen": now,
    }
    for label, column in SCOPE_LABELS.items():
        value = a.labels.get(label)
        row[column] = str(value)[:50] if value else None
    return row


def ingest(session: Session, payload: WebhookPayload, *, actor: str = "alertmanager") -> IngestResult:
    """Store one webhook batch. Core statements, not ORM objects: a batch of 1,000 alerts is a
    handful of multi-row statements (the bench holds it against a bare endpoint)."""
    result = IngestResult()
    write_lock(session)
    fps = {FINGERPRINT_PREFIX + a.fingerprint for a in payload.alerts}
    latest: dict[str, dict[str, Any]] = {}
    if fps:
        # The newest stored occurrence of each fingerprint, in one query for the whole batch.
        stmt = select(*NOTICE_COLUMNS).where(Alert.fingerprint.in_(fps)).order_by(Alert.id)
        for found in session.execute(stmt).mappings():
            latest[found["fingerprint"]] = dict(found)
    now = datetime.now(UTC)
    new_rows: list[dict[str, Any]] = []
    refresh: list[dict[str, Any]] = []
    resolve: list[dict[str, Any]] = []
    for a in payload.alerts:
        fp = FINGERPRINT_PREFIX + a.fingerprint
        stored = latest.get(fp)
        if a.status == "firing":
            if stored is not None and stored["status"] == "firing":
                if stored.get("id") is not None:
                    refresh.append({"id": stored["id"], "last_seen": now, "summary": _summary(a)})
                result.refreshed += 1
            elif stored is not None and _same_instant(stored["starts_at"], a.startsAt):
                result.ignored += 1  # a late replay of an occurrence already resolved
            else:
                row = _new_row(a, fp, now)
                new_rows.append(row)
                latest[fp] = row  # the same alert twice in one batch stays one alert
        elif stored is not None and stored["status"] == "firing" and stored.get("id") is not None:
            ends = _utc(a.endsAt) if a.endsAt is not None and a.endsAt.year > 1 else now
            resolve.append({"id": stored["id"], "status": "resolved", "ends_at": ends, "resolved_by": actor})
            stored["status"] = "resolved"
            result.resolved.append(_notice(stored))
        else:
            result.ignored += 1
    if new_rows:
        # Fingerprints are unique within new_rows, so the returned pairs map back without asking
        # for parameter order (which makes SQLAlchemy insert row by row on SQLite).
        returned = session.execute(insert(Alert).returning(Alert.fingerprint, Alert.id), new_rows)
        ids: dict[str, int] = {fp: alert_id for fp, alert_id in returned}
        for row in new_rows:
            row["id"] = ids[row["fingerprint"]]
            result.created.append(_notice(row))
    if refresh:
        session.execute(update(Alert), refresh)
    if resolve:
        session.execute(update(Alert), resolve)
    events = [{"alert_id": n["id"], "at": now, "actor": actor, "action": "raised"} for n in result.created]
    events += [{"alert_id": n["id"], "at": now, "actor": actor, "action": "resolved"} for n in result.resolved]
    if events:
        session.execute(insert(AlertEvent), events)
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
