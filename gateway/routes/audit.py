"""The audit log, readable by auditors (and only them: three-role separation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from gateway.deps import Auditor, SessionDep
from govops import audit

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("")
def records(
    session: SessionDep, _: Auditor, before: int | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> dict[str, Any]:
    stmt = select(audit.AuditRecord).order_by(audit.AuditRecord.id.desc()).limit(limit)
    if before:
        stmt = stmt.where(audit.AuditRecord.id < before)
    return {"items": [r.as_dict() for r in session.scalars(stmt)]}


@router.get("/verify")
def verify(session: SessionDep, _: Auditor) -> dict[str, Any]:
    return audit.verify(session).as_dict()
