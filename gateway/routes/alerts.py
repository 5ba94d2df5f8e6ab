"""The alert inbox API (/api/v1/alerts) and the Alertmanager webhook receiver.

Thin: each route calls one function of monitoring.inbox and translates. The receiver is PUBLIC at
the role layer because Alertmanager is not a user: it proves itself with its own bearer token.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from pydantic import Field

from gateway.auth import PUBLIC
from gateway.deps import LOCAL_TIME, Ops, SessionDep, ZoneDep
from gateway.deps import CameraOperator as SilenceViewer
from gateway.deps import CameraViewer as Viewer
from gateway.http.params import RequestBody
from gateway.runtime import Runtime
from govops.errors import GovopsError
from govops.localtime import assumed_local, zone_named
from govops.logs import log
from monitoring.inbox import actions, queries, silences
from monitoring.inbox.service import AlertLoop, EscalationLoop
from monitoring.settings import AlertSettings, load_alert_settings

logger = logging.getLogger("govops.gateway.alerts")

_LOCK = threading.Lock()


def alert_loop(request: Request) -> AlertLoop:
    state = request.app.state
    with _LOCK:
        if getattr(state, "alert_loop", None) is None:
            runtime = state.runtime
            state.alert_loop = AlertLoop.build(runtime.settings.data_dir, runtime.transaction, console_url=None)
    loop: AlertLoop = state.alert_loop
    return loop


def _without_channels() -> AlertSettings:
    return load_alert_settings().model_copy(update={"channels_file": None})


def _scheduled(runtime: Runtime, loop: AlertLoop) -> list[Any]:
    """The background loop's jobs: the daily report, when GOVOPS_ALERTS_DAILY_REPORT_AT is set."""
    at = loop.settings.daily_report_at
    if not at:
        return []
    from monitoring.reports.scheduled import DailySend

    return [
        DailySend(
            runtime.sessions,
            runtime.settings,
            runtime.video,
            loop.notifier,
            time.fromisoformat(at),
            zone_named(runtime.settings.timezone),
            loop.settings.backup_max_age_h,
            runtime.settings.public_url,
        )
    ]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime = app.state.runtime
    try:
        loop = AlertLoop.build(runtime.settings.data_dir, runtime.transaction)
    except GovopsError as exc:  # a broken channels file: say so loudly, keep the inbox working
        log(logger, "notification channels not loaded", logging.ERROR, error=exc.message, hint=exc.hint or "")
        loop = AlertLoop.build(runtime.settings.data_dir, runtime.transaction, settings=_without_channels())
    app.state.alert_loop = loop
    checker = EscalationLoop(loop, runtime.transaction, jobs=_scheduled(runtime, loop))
    checker.start()
    try:
        yield
    finally:
        checker.stop()
        loop.notifier.close()


api = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
LoopDep = Annotated[AlertLoop, Depends(alert_loop)]
# Role aliases (unified with gateway/deps.py at merge).


class AckBody(RequestBody):
    comment: str = Field(min_length=1, max_length=1000)


class ResolveBody(RequestBody):
    comment: str | None = Field(default=None, max_length=1000)


class SilenceBody(RequestBody):
    matchers: dict[str, str] = Field(default_factory=dict)
    alert_id: int | None = None
    hours: float = Field(default=2.0, gt=0, le=24 * 30)
    comment: str = Field(min_length=1, max_length=1000)


# A batch of 1,000 alerts with their labels and annotations runs to a few MiB.
@api.post(
    "/alertmanager",
    dependencies=[Depends(PUBLIC)],
    openapi_extra={"x-body-limit": 16 * 1024 * 1024, "x-own-auth": "bearer token of the webhook"},
)
def alertmanager_webhook(
    request: Request, session: SessionDep, loop: LoopDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, int]:
    loop.check_bearer(request.headers.get("authorization", ""))
    return loop.receive(session, body)


@api.get("")
def list_alerts(
    session: SessionDep,
    principal: Viewer,
    zone: ZoneDep,
    severity: str | None = None,
    source: Annotated[str | None, Query(max_length=50)] = None,
    area: Annotated[str | None, Query(max_length=50)] = None,
    department: Annotated[str | None, Query(max_length=50)] = None,
    platform: Annotated[str | None, Query(max_length=50)] = None,
    camera: Annotated[str | None, Query(max_length=50)] = None,
    state: str | None = None,
    since: Annotated[datetime | None, Query(description=LOCAL_TIME)] = None,
    until: Annotated[datetime | None, Query(description=LOCAL_TIME)] = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    since, until = assumed_local(since, zone), assumed_local(until, zone)
    f = queries.AlertFilter(severity, source, area, department, platform, camera, state, since, until)
    return queries.list_alerts(session, principal, f, cursor=cursor, limit=limit)


@api.get("/silences")
def list_silences(loop: LoopDep, _: SilenceViewer, include_expired: bool = False) -> dict[str, Any]:
    return {"items": loop.alertmanager().silences(include_expired=include_expired)}


@api.post("/silences", status_code=201)
def create_silence(session: SessionDep, loop: LoopDep, principal: Ops, body: SilenceBody) -> dict[str, Any]:
    return silences.create(
        session,
        loop.alertmanager(),
        principal,
        matchers=body.matchers,
        alert_id=body.alert_id,
        hours=body.hours,
        comment=body.comment,
    )


@api.delete("/silences/{silence_id}")
def expire_silence(session: SessionDep, loop: LoopDep, principal: Ops, silence_id: str) -> dict[str, str]:
    silences.expire(session, loop.alertmanager(), principal, silence_id)
    return {"id": silence_id, "state": "expired"}


@api.post("/escalate")
def escalate(session: SessionDep, loop: LoopDep, _: Ops) -> dict[str, Any]:
    return {"escalated": loop.escalate(session)}


@api.get("/{alert_id}")
def show_alert(session: SessionDep, principal: Viewer, alert_id: int) -> dict[str, Any]:
    return queries.detail(session, principal, alert_id)


@api.post("/{alert_id}/claim")
def claim_alert(session: SessionDep, principal: Viewer, alert_id: int, force: bool = False) -> dict[str, Any]:
    return actions.claim(session, principal, alert_id, force=force).as_dict()


@api.post("/{alert_id}/ack")
def ack_alert(session: SessionDep, principal: Viewer, alert_id: int, body: AckBody) -> dict[str, Any]:
    return actions.acknowledge(session, principal, alert_id, body.comment).as_dict()


@api.post("/{alert_id}/resolve")
def resolve_alert(
    session: SessionDep, principal: Viewer, alert_id: int, body: ResolveBody | None = None
) -> dict[str, Any]:
    return actions.resolve(session, principal, alert_id, body.comment if body else None).as_dict()


# One router for app.py: the API, the console pages, and the background escalation check.
# The console module uses this module's dependencies, hence the import down here.
from gateway.routes import alerts_console  # noqa: E402

router = APIRouter(lifespan=lifespan)
router.include_router(api)
router.include_router(alerts_console.router)
