"""What a person does with an alert: claim it (认领), acknowledge it with a comment, resolve it;
and the escalation of critical alerts nobody claimed. Every action is audited and kept in the
alert's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govops import audit
from govops.alerts import Alert, add_event
from govops.errors import Conflict, ValidationFailed
from govops.principal import Principal
from monitoring.inbox.locking import write_lock
from monitoring.inbox.queries import get_alert

MAX_COMMENT = 1000


def _who(principal: Principal) -> str:
    return principal.subject


def _record(session: Session, alert: Alert, principal: Principal, action: str, comment: str | None = None) -> None:
    add_event(session, alert, action, _who(principal), comment)
    audit.append(
        session,
        actor=_who(principal),
        action=f"alerts.{action}",
        target=str(alert.id),
        detail={"fingerprint": alert.fingerprint, **({"comment": comment} if comment else {})},
    )


def claim(session: Session, principal: Principal, alert_id: int, *, force: bool = False) -> Alert:
    write_lock(session)
    alert = get_alert(session, principal, alert_id)
    if alert.status != "firing":
        raise Conflict(f"alert {alert_id} is already resolved", hint="only a firing alert can be claimed")
    if alert.claimed_by and alert.claimed_by != _who(principal) and not force:
        raise Conflict(f"alert {alert_id} is already claimed by {alert.claimed_by}", hint="pass force to take it over")
    alert.claimed_by = _who(principal)
    alert.claimed_at = datetime.now(UTC)
    _record(session, alert, principal, "claimed")
    session.flush()
    return alert


def acknowledge(session: Session, principal: Principal, alert_id: int, comment: str) -> Alert:
    comment = (comment or "").strip()
    if not comment:
        raise ValidationFailed("an acknowledgement needs a comment", hint="say what you found or are doing")
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(f"the comment is longer than {MAX_COMMENT} characters")
    write_lock(session)
    alert = get_alert(session, principal, alert_id)
    alert.acknowledged_by = _who(principal)
    alert.acknowledged_at = datetime.now(UTC)
    alert.ack_comment = comment
    if alert.claimed_by is None and alert.status == "firing":
        alert.claimed_by, alert.claimed_at = alert.acknowledged_by, alert.acknowledged_at
    _record(session, alert, principal, "acknowledged", comment)
    session.flush()
    return alert


def resolve(session: Session, principal: Principal, alert_id: int, comment: str | None = None) -> Alert:
    write_lock(session)
    alert = get_alert(session, principal, alert_id)
    if alert.status == "resolved":
        raise Conflict(f"alert {alert_id} is already resolved")
    if comment and len(comment) > MAX_COMMENT:
        raise ValidationFailed(f"the comment is longer than {MAX_COMMENT} characters")
    alert.status = "resolved"
    alert.ends_at = datetime.now(UTC)
    alert.resolved_by = _who(principal)
    _record(session, alert, principal, "resolved", comment or None)
    session.flush()
    return alert


def escalate_unclaimed(session: Session, *, after_min: float, now: datetime | None = None) -> list[Alert]:
    """Mark critical firing alerts nobody claimed for `after_min` minutes as escalated (once each)."""
    now = now or datetime.now(UTC)
    write_lock(session)
    cutoff = now - timedelta(minutes=after_min)
    due = list(
        session.scalars(
            select(Alert).where(
                Alert.status == "firing",
                Alert.severity == "critical",
                Alert.claimed_by.is_(None),
                Alert.escalated_at.is_(None),
                Alert.starts_at <= cutoff,
            )
        )
    )
    for alert in due:
        alert.escalated_at = now
        add_event(session, alert, "escalated", "system", f"not claimed within {after_min:g} min")
    if due:
        audit.append(
            session,
            actor="system",
            action="alerts.escalate",
            target=",".join(str(a.id) for a in due)[:300],
            detail={"alerts": len(due), "after_min": after_min},
        )
    session.flush()
    return due
