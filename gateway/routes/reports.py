"""运维日报: the daily operations report as JSON and as a printable page (monitoring.reports)."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from gateway.deps import Ops, RuntimeDep, SessionDep, ZoneDep
from gateway.runtime import Runtime
from gateway.templating import templates
from monitoring.reports.daily import daily
from monitoring.settings import load_alert_settings

router = APIRouter()
DayQuery = Annotated[
    str | None,
    Query(
        pattern=r"^(\d{4}-\d{2}-\d{2}|today|yesterday)$",
        description="The district's day, YYYY-MM-DD, today or yesterday (the default)",
    ),
]


def _report(session: Session, runtime: Runtime, zone: ZoneInfo, day: str | None) -> dict[str, Any]:
    return daily(
        session,
        runtime.settings,
        runtime.video,
        day=day,
        zone=zone,
        backup_max_age_h=load_alert_settings().backup_max_age_h,
    )


@router.get("/api/v1/reports/daily", tags=["status"])
def daily_report(
    session: SessionDep, runtime: RuntimeDep, zone: ZoneDep, _: Ops, day: DayQuery = None
) -> dict[str, Any]:
    """One district day of operations: video KPIs and faults, alerts, work orders, runs, backup."""
    return _report(session, runtime, zone, day)


@router.get("/reports/daily", include_in_schema=False, response_class=HTMLResponse)
def daily_page(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    zone: ZoneDep,
    principal: Ops,
    day: DayQuery = None,
    print_view: Annotated[bool, Query(alias="print")] = False,
) -> HTMLResponse:
    report = _report(session, runtime, zone, day)
    return templates.TemplateResponse(
        request, "reports_daily.html", {"principal": principal, "r": report, "print_view": print_view}
    )
