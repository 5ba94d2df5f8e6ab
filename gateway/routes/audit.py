"""The audit log, readable by auditors (and only them: three-role separation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from gateway.auth import Allow
from gateway.deps import SessionDep
from govops import audit
from govops.principal import AUDITOR, Principal

router = APIRouter(prefix="/api/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(Allow(AUDITOR))]


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
