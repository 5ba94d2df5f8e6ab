"""The life of a work order: open → dispatched → repaired → verified → closed.

A repair that the next patrol does not confirm sends the order back to `dispatched` (reopened).
Every move writes one history row and one audit record in the caller's transaction; a move the
state machine does not allow is a 409 that says what state the order is in and what to do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from govops.principal import CONTRACTOR, OPS_ENGINEER, Principal
from monitoring.scope import any_of, camera_row_parts, newest_first
from monitoring.workorders.models import STATES, Contractor, WorkOrder, WorkOrderEvent

MAX_PAGE = 200
NEXT_STEP = {
    "open": "dispatch it to its contractor (`govops workorders dispatch ID`)",
    "dispatched": "the contractor reports the repair (`govops workorders repair ID --note …`)",
    "repaired": "wait for the next patrol to re-diagnose the camera, or `govops workorders verify ID`",
    "verified": "close it (`govops workorders close ID`)",
    "closed": "nothing: the order is closed",
}
# What each action needs the order to be in.
ALLOWED = {"dispatch": ("open",), "repair": ("dispatched",), "verify": ("repaired",), "close": ("verified",)}
IMAGE_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}


def scope_parts(session: Session, principal: Principal) -> list[ColumnElement[bool]]:
    """The orders `principal` may see, as parts to OR: ops all; a contractor its own (none
    without its code: deny, not all); dept-admin and security staff those of the cameras they
    may see in the catalogue."""
    if principal.has(OPS_ENGINEER):
        return [true()]
    parts: list[ColumnElement[bool]] = []
    if principal.has(CONTRACTOR) and principal.contractor:
        parts.append(WorkOrder.contractor_code == principal.contractor)
    parts.extend(camera_row_parts(session, principal, WorkOrder.camera_id))
    return parts


def scope(session: Session, principal: Principal) -> ColumnElement[bool]:
    return any_of(scope_parts(session, principal))


def list_orders(
    session: Session,
    principal: Principal,
    *,
    state: str | None = None,
    contractor: str | None = None,
    camera: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> tuple[list[WorkOrder], int | None]:
    """One page, newest first; the cursor is the last order's id."""
    if state and state not in STATES:
        raise ValidationFailed(f"unknown state {state!r}", hint=f"one of {', '.join(STATES)}")
    limit = max(1, min(limit, MAX_PAGE))
    stmt = select(WorkOrder)
    if state:
        stmt = stmt.where(WorkOrder.state == state)
    if contractor:
        stmt = stmt.where(WorkOrder.contractor_code == contractor)
    if camera:
        stmt = stmt.where(WorkOrder.camera_id == camera)
    if after is not None:
        stmt = stmt.where(WorkOrder.id < after)
    rows = newest_first(session, stmt, WorkOrder.id, scope_parts(session, principal), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def get_order(session: Session, principal: Principal, order_id: int) -> WorkOrder:
    """An order the principal may see; any other is reported as not found."""
    order = session.scalar(select(WorkOrder).where(WorkOrder.id == order_id, scope(session, principal)))
    if order is None:
        raise NotFound(f"work order {order_id} not found", hint="check the ID with `govops workorders list`")
    return order


def history(session: Session, order: WorkOrder) -> list[WorkOrderEvent]:
    return list(
        session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.order_id == order.id).order_by(WorkOrderEvent.id))
    )


def detail(session: Session, order: WorkOrder, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    left = (order.due_at - now).total_seconds() if order.state in ("open", "dispatched") else None
    contractor = session.get(Contractor, order.contractor_code) if order.contractor_code else None
    return {
        **order.as_dict(),
        "contractor_name": contractor.name if contractor else None,
        "sla_seconds_left": left,
        "history": [e.as_dict() for e in history(session, order)],
    }


def step(
    session: Session,
    order: WorkOrder,
    action: str,
    to: str,
    *,
    actor: str,
    at: datetime,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Move `order` to `to`, writing its history row and the audit record."""
    before = order.state
    order.state = to
    session.add(
        WorkOrderEvent(order_id=order.id, at=at, actor=actor, action=action, from_state=before, to_state=to, note=note)
    )
    audit.append(
        session,
        actor=actor,
        action=f"workorders.{action}",
        target=f"workorder:{order.id}",
        detail={"from": before, "to": to, "camera": order.camera_id, **(detail or {})},
    )
    session.flush()


def _require(order: WorkOrder, action: str) -> None:
    if order.state not in ALLOWED[action]:
        raise Conflict(
            f"work order {order.id} is {order.state}; cannot {action} it",
            hint=f"next step: {NEXT_STEP[order.state]}",
        )


def _acting_contractor(order: WorkOrder, principal: Principal) -> None:
    if principal.has(OPS_ENGINEER):
        return
    if not (principal.has(CONTRACTOR) and principal.contractor and principal.contractor == order.contractor_code):
        raise PermissionDenied(f"work order {order.id} is not assigned to you")


def dispatch(
    session: Session, principal: Principal, order_id: int, contractor: str | None = None, *, now: datetime | None = None
) -> WorkOrder:
    from monitoring.workorders.contractors import get_contractor

    order = get_order(session, principal, order_id)
    _require(order, "dispatch")
    if contractor:
        order.contractor_code = get_contractor(session, contractor).code
    if not order.contractor_code:
        raise Conflict(
            f"no contractor answers for area {order.area_code or '(none)'}",
            hint="give --contractor, or assign the area with `govops workorders contractors assign`",
        )
    at = now or datetime.now(UTC)
    order.dispatched_at = at
    step(session, order, "dispatch", "dispatched", actor=principal.subject, at=at, note=order.contractor_code)
    return order


def store_photo(data_dir: Path, order_id: int, data: bytes, max_bytes: int) -> str:
    """Keep a repair photo under the data dir; only JPEG or PNG, at most `max_bytes`."""
    if not data:
        raise ValidationFailed("the photo is empty")
    if len(data) > max_bytes:
        raise ValidationFailed(
            f"the photo is {len(data)} bytes, over the limit of {max_bytes}", hint="send a smaller JPEG or PNG"
        )
    ext = next((e for magic, e in IMAGE_TYPES.items() if data.startswith(magic)), None)
    if ext is None:
        raise ValidationFailed("the photo is not a JPEG or PNG image", hint="send a .jpg or .png file")
    folder = data_dir / "workorders"
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    name = f"{order_id}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.{ext}"
    tmp = folder / f".{name}.part"
    tmp.write_bytes(data)
    tmp.replace(folder / name)
    return name


def photo_path(data_dir: Path, order: WorkOrder) -> Path:
    if not order.photo:
        raise NotFound(f"work order {order.id} has no photo")
    return data_dir / "workorders" / order.photo


def repair(
    session: Session,
    principal: Principal,
    order_id: int,
    note: str,
    *,
    photo: bytes | None = None,
    data_dir: Path | None = None,
    max_photo_bytes: int = 5 * 1024 * 1024,
    now: datetime | None = None,
) -> WorkOrder:
    """The contractor reports the repair (with a note, and optionally a photo)."""
    order = get_order(session, principal, order_id)
    _acting_contractor(order, principal)
    _require(order, "repair")
    note = note.strip()
    if not note:
        raise ValidationFailed("a repair report needs a note", hint="say what was done, e.g. --note '更换电源适配器'")
    if photo is not None:
        if data_dir is None:
            raise ValidationFailed("no place to keep the photo")
        order.photo = store_photo(data_dir, order.id, photo, max_photo_bytes)
    at = now or datetime.now(UTC)
    order.repaired_at = at
    order.repair_note = note[:1000]
    step(session, order, "repair", "repaired", actor=principal.subject, at=at, note=order.repair_note)
    return order


def close(session: Session, principal: Principal, order_id: int, *, now: datetime | None = None) -> WorkOrder:
    order = get_order(session, principal, order_id)
    _require(order, "close")
    return finish(session, order, actor=principal.subject, at=now or datetime.now(UTC))


def finish(
    session: Session, order: WorkOrder, *, actor: str, at: datetime, action: str = "close", note: str | None = None
) -> WorkOrder:
    """Close the order (`action` "withdraw": as a false alarm, from open or dispatched)."""
    from govops.alerts import resolve_alert

    order.closed_at = at
    step(session, order, action, "closed", actor=actor, at=at, note=note)
    resolve_alert(session, breach_fingerprint(order.id))
    return order


def breach_fingerprint(order_id: int) -> str:
    return f"monitoring.workorder:{order_id}"


def sla_hours(key_area: bool, key_hours: int, other_hours: int) -> int:
    return key_hours if key_area else other_hours


def due(opened_at: datetime, hours: int) -> datetime:
    return opened_at + timedelta(hours=hours)
