"""Maintenance contractors (运维单位) and the areas each answers for.

An area is given as an admin-division code (12 digits, or the shorter form the catalogue uses)
and matched as a prefix: the trailing all-zero groups of a 12-digit code are dropped, so the
street 310116001000 covers its communities 310116001001… and their grids 310116001001G01….
The longest matching prefix wins, so a community can have its own contractor inside a street.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import Conflict, NotFound, ValidationFailed
from monitoring.workorders.models import Contractor, ContractorArea, WorkOrder

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,49}$")
AREA = re.compile(r"^\d{6,12}(G\d{2,4})?$")


def area_prefix(code: str) -> str:
    code = code.strip()
    if not AREA.match(code):
        raise ValidationFailed(
            f"area {code!r} is not an admin-division code", hint="give 6 to 12 digits, e.g. 310116001 or 310116001000"
        )
    if len(code) == 12 and code.isdigit():
        while len(code) > 6 and code.endswith("000"):
            code = code[:-3]
    return code


def add_contractor(session: Session, code: str, name: str, contact: str | None, *, actor: str) -> Contractor:
    if not CODE.match(code):
        raise ValidationFailed(f"contractor code {code!r} is not valid", hint="lower-case letters, digits, - and _")
    if not name.strip():
        raise ValidationFailed("a contractor needs a name")
    if session.get(Contractor, code) is not None:
        raise Conflict(f"contractor {code} exists", hint="pick another code or edit its areas")
    row = Contractor(code=code, name=name.strip()[:200], contact=(contact or None), created_at=datetime.now(UTC))
    session.add(row)
    audit.append(session, actor=actor, action="workorders.contractor.add", target=code, detail={"name": row.name})
    session.flush()
    return row


def get_contractor(session: Session, code: str) -> Contractor:
    row = session.get(Contractor, code)
    if row is None:
        raise NotFound(f"contractor {code} not found", hint="see `govops workorders contractors list`")
    return row


def remove_contractor(session: Session, code: str, *, actor: str) -> None:
    row = get_contractor(session, code)
    active = session.scalar(
        select(WorkOrder.id).where(WorkOrder.contractor_code == code, WorkOrder.state != "closed").limit(1)
    )
    if active is not None:
        raise Conflict(f"contractor {code} still holds open order {active}", hint="close or reassign its orders first")
    session.delete(row)
    audit.append(session, actor=actor, action="workorders.contractor.remove", target=code)
    session.flush()


def assign_area(session: Session, contractor: str, area: str, *, key_area: bool, actor: str) -> ContractorArea:
    get_contractor(session, contractor)
    prefix = area_prefix(area)
    row = session.get(ContractorArea, prefix)
    if row is None:
        row = ContractorArea(prefix=prefix, contractor_code=contractor, key_area=key_area)
        session.add(row)
    else:
        row.contractor_code, row.key_area = contractor, key_area
    audit.append(
        session,
        actor=actor,
        action="workorders.contractor.area",
        target=contractor,
        detail={"area": prefix, "key_area": key_area},
    )
    session.flush()
    return row


def unassign_area(session: Session, area: str, *, actor: str) -> None:
    prefix = area_prefix(area)
    row = session.get(ContractorArea, prefix)
    if row is None:
        raise NotFound(f"no contractor answers for area {prefix}")
    audit.append(
        session,
        actor=actor,
        action="workorders.contractor.unassign",
        target=row.contractor_code,
        detail={"area": prefix},
    )
    session.delete(row)
    session.flush()


def list_contractors(session: Session) -> list[dict[str, object]]:
    areas: dict[str, list[dict[str, object]]] = {}
    for a in session.scalars(select(ContractorArea).order_by(ContractorArea.prefix)):
        areas.setdefault(a.contractor_code, []).append({"area": a.prefix, "key_area": a.key_area})
    return [
        {**c.as_dict(), "areas": areas.get(c.code, [])}
        for c in session.scalars(select(Contractor).order_by(Contractor.code))
    ]


def responsible(session: Session, area_code: str | None) -> ContractorArea | None:
    """The contractor area row with the longest prefix of `area_code`, or None."""
    if not area_code:
        return None
    best: ContractorArea | None = None
    for row in session.scalars(select(ContractorArea)):
        if area_code.startswith(row.prefix) and (best is None or len(row.prefix) > len(best.prefix)):
            best = row
    return best
