"""运维日报: the daily operations report as JSON and as a printable page (monitoring.reports)."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from gateway.deps import Ops, RuntimeDep, SessionDep, ZoneDep
from gateway.routes.alerts import LoopDep
from gateway.runtime import Runtime
from gateway.templating import templates
from monitoring.inbox.service import AlertLoop
from monitoring.reports.daily import daily

router = APIRouter()
DayQuery = Annotated[
    str | None,
    Query(
        pattern=r"^(\d{4}-\d{2}-\d{2}|today|yesterday)$",
        description="The district's day, YYYY-MM-DD, today or yesterday (the default)",
    ),
]


def _report(session: Session, runtime: Runtime, loop: AlertLoop, zone: ZoneInfo, day: str | None) -> dict[str, Any]:
    # the backup's schedule from the settings the app's alert loop read once, not re-read per request
    max_age = loop.settings.backup_max_age_h
    return daily(session, runtime.settings, runtime.video, day=day, zone=zone, backup_max_age_h=max_age)


@router.get("/api/v1/reports/daily", tags=["status"])
def daily_report(
    session: SessionDep, runtime: RuntimeDep, loop: LoopDep, zone: ZoneDep, _: Ops, day: DayQuery = None
) -> dict[str, Any]:
    """One district day of operations: video KPIs and faults, alerts, work orders, runs, backup."""
    return _report(session, runtime, loop, zone, day)


@router.get("/reports/daily", include_in_schema=False, response_class=HTMLResponse)
def daily_page(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    loop: LoopDep,
    zone: ZoneDep,
    principal: Ops,
    day: DayQuery = None,
    print_view: Annotated[bool, Query(alias="print")] = False,
) -> HTMLResponse:
    report = _report(session, runtime, loop, zone, day)
    return templates.TemplateResponse(
        request, "reports_daily.html", {"principal": principal, "r": report, "print_view": print_view}
    )
