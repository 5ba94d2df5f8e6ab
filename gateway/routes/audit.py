"""The audit log, readable by auditors (and only them: three-role separation): the API and the
console's viewer, which pages, filters and verifies the hash chain on display."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from gateway.deps import LOCAL_TIME, Auditor, SessionDep, ZoneDep
from gateway.pagination import PageDep, fetched
from gateway.templating import templates
from govops import audit
from govops.localtime import assumed_local, day_start

router = APIRouter(prefix="/api/audit", tags=["audit"])
PAGE = 50


@router.get("")
def records(
    session: SessionDep,
    zone: ZoneDep,
    _: Auditor,
    page: PageDep,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=100, description="a prefix, e.g. auth.")] = None,
    result: Annotated[str | None, Query(pattern="^(success|failure|denied)$")] = None,
    since: Annotated[datetime | None, Query(description=LOCAL_TIME)] = None,
    until: Annotated[datetime | None, Query(description=LOCAL_TIME)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1, deprecated=True)] = None,
) -> dict[str, Any]:
    """Newest first. `before` is the older way to page; `cursor` is the same for every list."""
    rows = audit.query(
        session,
        actor=actor,
        action=action,
        result=result,
        since=assumed_local(since, zone),
        until=assumed_local(until, zone),
        before=page.after_id or before,
        limit=page.limit + 1,
    )
    return fetched([r.as_dict() for r in rows], page)


@router.get("/verify")
def verify(session: SessionDep, _: Auditor) -> dict[str, Any]:
    return audit.verify(session).as_dict()


viewer = APIRouter(include_in_schema=False)


@viewer.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    zone: ZoneDep,
    principal: Auditor,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    target: Annotated[str | None, Query(max_length=300)] = None,
    result: Annotated[str | None, Query(pattern="^(success|failure|denied|)$")] = None,
    since: Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = None,
    until: Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    R = audit.AuditRecord
    stmt = select(R).order_by(R.id.desc()).limit(PAGE + 1)
    if actor:
        stmt = stmt.where(R.actor == actor)
    if action:
        stmt = stmt.where(R.action.startswith(action, autoescape=True))
    if target:
        stmt = stmt.where(R.target.contains(target, autoescape=True))
    if result:
        stmt = stmt.where(R.result == result)
    if since:
        stmt = stmt.where(R.at >= day_start(since, zone))  # the district's days, as a person picks them
    if until:
        stmt = stmt.where(R.at < day_start(until, zone, after=True))
    if before:
        stmt = stmt.where(R.id < before)
    rows = list(session.scalars(stmt))
    filters = {
        k: v
        for k, v in {
            "actor": actor,
            "action": action,
            "target": target,
            "result": result,
            "since": since,
            "until": until,
        }.items()
        if v
    }
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    chain = audit.verify(session)  # the whole chain, verified each time the page is shown
    return templates.TemplateResponse(
        request,
        "audit.html",
        {
            "principal": principal,
            "rows": [r.as_dict() for r in rows],
            "filters": filters,
            "chain": chain.as_dict(),
            "next_url": f"/audit?{urlencode({**filters, 'before': rows[-1].id})}" if more and rows else None,
            "first_url": f"/audit?{urlencode(filters)}" if before else None,
        },
    )
