"""The audit log, readable by auditors (and only them: three-role separation)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway.deps import Auditor, SessionDep
from gateway.pagination import PageDep, fetched
from govops import audit

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("")
def records(
    session: SessionDep,
    _: Auditor,
    page: PageDep,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=100, description="a prefix, e.g. auth.")] = None,
    result: Annotated[str | None, Query(pattern="^(success|failure|denied)$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1, deprecated=True)] = None,
) -> dict[str, Any]:
    """Newest first. `before` is the older way to page; `cursor` is the same for every list."""
    rows = audit.query(
        session,
        actor=actor,
        action=action,
        result=result,
        since=since,
        until=until,
        before=page.after_id or before,
        limit=page.limit + 1,
    )
    return fetched([r.as_dict() for r in rows], page)


@router.get("/verify")
def verify(session: SessionDep, _: Auditor) -> dict[str, Any]:
    return audit.verify(session).as_dict()
