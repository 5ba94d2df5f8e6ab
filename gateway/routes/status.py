"""统一运维 总览: the system status API and page, and the KPI history behind the trend charts."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from gateway.auth import Allow
from gateway.deps import RuntimeDep, SessionDep
from gateway.runtime import Runtime
from gateway.templating import templates
from govops.errors import PermissionDenied
from govops.principal import OPS_ENGINEER, SEC_ADMIN, SECURITY_STAFF, Principal
from monitoring.kpi_history.record import series
from monitoring.status import StatusBoard, StatusContext
from monitoring.status.model import LABELS

router = APIRouter()
StatusReader = Annotated[Principal, Depends(Allow(OPS_ENGINEER, SEC_ADMIN))]
# The history is recorded district-wide (not per viewer), so it is for the district's watchers:
# ops engineers and security staff; per-platform and per-tenant series for ops engineers only.
KpiReader = Annotated[Principal, Depends(Allow(OPS_ENGINEER, SECURITY_STAFF))]
_LOCK = threading.Lock()


def status_board(request: Request) -> StatusBoard:
    """One board per app: its cache and probe threads outlive a request."""
    with _LOCK:
        board: StatusBoard | None = getattr(request.app.state, "status_board", None)
        if board is None:
            rt: Runtime = request.app.state.runtime
            board = StatusBoard(StatusContext(rt.settings, rt.sessions, rt.video, rt.box))
            request.app.state.status_board = board
        return board


Board = Annotated[StatusBoard, Depends(status_board)]


@router.get("/api/v1/status", tags=["status"])
def system_status(board: Board, _: StatusReader) -> dict[str, Any]:
    """Each subsystem's state and since when; "not_configured" names the command that configures it."""
    return board.snapshot()


@router.get("/api/v1/kpi/history", tags=["status"])
def kpi_history(
    session: SessionDep,
    principal: KpiReader,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    scope: Annotated[str, Query(pattern="^(district|area|platform|fault|alerts|tenant)$")] = "district",
    metric: Annotated[list[str] | None, Query(max_length=10)] = None,
    key: Annotated[str | None, Query(max_length=50)] = None,
) -> dict[str, Any]:
    """Recorded KPI samples as series (one point per day) for the 7/30/90-day charts."""
    if scope in ("platform", "tenant") and not principal.has(OPS_ENGINEER):
        raise PermissionDenied(
            f"the {scope} history needs the role: {OPS_ENGINEER}", hint="security staff see district and area trends"
        )
    metrics = tuple(metric) if metric else _default_metrics(scope)
    return series(session, days=days, scope=scope, metrics=metrics, key=key)


def _default_metrics(scope: str) -> tuple[str, ...]:
    return {
        "fault": ("count",),
        "alerts": ("open",),
        "tenant": ("cpu_used_ratio", "memory_used_ratio", "pods_used_ratio"),
    }.get(scope, ("online_rate", "intact_rate", "networking_rate"))


@router.get("/status", include_in_schema=False, response_class=HTMLResponse)
def status_page(request: Request, board: Board, principal: StatusReader, runtime: RuntimeDep) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "status.html",
        {"principal": principal, "board": board.snapshot(), "targets": runtime.video, "labels": LABELS},
    )
