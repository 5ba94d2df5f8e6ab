"""Silences made from the inbox: Alertmanager holds them, the audit log says who made them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from govops import audit
from govops.principal import Principal
from monitoring.alertmanager import Alertmanager
from monitoring.inbox.locking import write_lock
from monitoring.inbox.queries import get_alert

# Labels that identify the alert itself rather than its scope; a silence made from an alert
# matches its alertname and scope labels so that it silences that occurrence and its repeats.
SILENCE_LABELS = ("alertname", "camera", "area", "department", "platform", "shard", "instance", "job")


def matchers_for(session: Session, principal: Principal, alert_id: int) -> dict[str, str]:
    alert = get_alert(session, principal, alert_id)
    labels = {k: str(v) for k, v in (alert.labels or {}).items() if k in SILENCE_LABELS and v not in (None, "")}
    return labels or {"alertname": alert.alertname or alert.fingerprint}


def create(
    session: Session,
    am: Alertmanager,
    principal: Principal,
    *,
    matchers: dict[str, str] | None = None,
    alert_id: int | None = None,
    hours: float,
    comment: str,
) -> dict[str, Any]:
    if alert_id is not None:
        # Read in a short transaction of its own: the request's transaction must not hold a
        # read snapshot across the call to Alertmanager and then write (see locking.py).
        with Session(session.get_bind()) as reader:
            matchers = {**matchers_for(reader, principal, alert_id), **(matchers or {})}
    silence_id = am.create_silence(matchers or {}, hours=hours, created_by=principal.subject, comment=comment)
    write_lock(session)
    audit.append(
        session,
        actor=principal.subject,
        action="alerts.silence",
        target=silence_id,
        detail={"matchers": matchers, "hours": hours, "alert": alert_id, "comment": comment[:200]},
    )
    return {"id": silence_id, "matchers": matchers, "hours": hours}


def expire(session: Session, am: Alertmanager, principal: Principal, silence_id: str) -> None:
    am.expire_silence(silence_id)
    write_lock(session)
    audit.append(session, actor=principal.subject, action="alerts.silence_expire", target=silence_id)
