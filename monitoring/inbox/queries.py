"""The inbox: list and read alerts as the caller may see them.

Visibility follows the data, as in the catalogue: an ops engineer sees every alert; a department
admin the alerts of the department's cameras and services (the `department` column); security
staff the alerts of cameras shared to their platform (the catalogue's own grant rules, phrased
for a newest-first page by monitoring.scope) and of the platform itself. Everything else
(Keycloak, the CA, the cloud) is for ops engineers only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, literal_column, select, true
from sqlalchemy.orm import Session

from govops.alerts import SEVERITIES, STATES, Alert, AlertEvent
from govops.errors import NotFound, ValidationFailed
from govops.principal import DEPT_ADMIN, SECURITY_STAFF, Principal
from monitoring.scope import any_of, newest_first, shared_camera_parts

MAX_LIMIT = 500


@dataclass(frozen=True)
class AlertFilter:
    severity: str | None = None
    source: str | None = None
    area: str | None = None
    department: str | None = None
    platform: str | None = None
    camera: str | None = None
    state: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def check(self) -> None:
        if self.severity and self.severity not in SEVERITIES:
            raise ValidationFailed(f"severity must be one of {', '.join(SEVERITIES)}")
        if self.state and self.state not in STATES:
            raise ValidationFailed(f"state must be one of {', '.join(STATES)}")


def scopes(session: Session, principal: Principal) -> list[ColumnElement[bool]]:
    """What the caller may see, as separate conditions whose union is the scope. Each one has an
    index of its own; `list_alerts` pages each and merges, because one OR of them is where the
    planner goes wrong (the `platform` column is NULL on most alerts, so SQLite's statistics
    call its index useless and it reads every alert instead of a few hundred)."""
    if principal.sees_all_cameras:
        return [true()]
    parts: list[ColumnElement[bool]] = []
    if principal.has(DEPT_ADMIN) and principal.department:
        parts.append(Alert.department == principal.department)
    if principal.has(SECURITY_STAFF) and principal.platform:
        parts.extend(shared_camera_parts(session, principal, Alert.camera_id))
        parts.append(Alert.platform == principal.platform)
    return parts


def visible(session: Session, principal: Principal) -> ColumnElement[bool]:
    return any_of(scopes(session, principal))


def _filtered(f: AlertFilter, sqlite: bool = False) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    for column, value in (
        (Alert.severity, f.severity),
        (Alert.source, f.source),
        (Alert.area, f.area),
        (Alert.department, f.department),
        (Alert.platform, f.platform),
        (Alert.camera_id, f.camera),
    ):
        if value:
            conds.append(column == value)
    if f.state:
        # A state matches a large share of the alerts; without statistics SQLite would take the
        # (status, id) index for it and read every firing alert, even when a caller's scope
        # (a platform's cameras) has an index of its own that reads a few hundred. The unary
        # plus keeps SQLite off that index (its documented way to disqualify a term).
        status = literal_column("+alerts.status", String) if sqlite else Alert.status
        conds.append(status == f.state)
    if f.since:
        conds.append(Alert.starts_at >= f.since)
    if f.until:
        conds.append(Alert.starts_at < f.until)
    return conds


def encode_cursor(alert_id: int) -> str:
    return base64.urlsafe_b64encode(f"a{alert_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("a"):
            raise ValueError
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("the cursor is not valid", hint="use next_cursor from the previous page") from None


def list_alerts(
    session: Session, principal: Principal, f: AlertFilter, *, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """Newest first, keyset-paginated by id (stable while new alerts arrive)."""
    f.check()
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}")
    sqlite = session.get_bind().dialect.name == "sqlite"
    conds = _filtered(f, sqlite)
    if cursor:
        conds.append(Alert.id < decode_cursor(cursor))
    rows = newest_first(session, select(Alert).where(*conds), Alert.id, scopes(session, principal), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [a.as_dict() for a in rows],
        "next_cursor": encode_cursor(rows[-1].id) if more and rows else None,
    }


def get_alert(session: Session, principal: Principal, alert_id: int) -> Alert:
    """An alert the caller may see; one they may not see is 'not found', as if it did not exist."""
    alert = session.scalar(select(Alert).where(Alert.id == alert_id, visible(session, principal)))
    if alert is None:
        raise NotFound(f"alert {alert_id} not found", hint="govops alerts list")
    return alert


def history(session: Session, alert: Alert) -> list[dict[str, Any]]:
    events = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id))
    return [e.as_dict() for e in events]


def detail(session: Session, principal: Principal, alert_id: int) -> dict[str, Any]:
    alert = get_alert(session, principal, alert_id)
    return {**alert.as_dict(), "history": history(session, alert)}
