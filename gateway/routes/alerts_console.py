"""Console pages of the alert inbox (告警收件箱): the inbox, an alert's detail, silences.

Server-rendered over the same domain functions as /api/v1/alerts; the forms post back here and
answer with a redirect that carries a one-line message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gateway.deps import SessionDep, ZoneDep
from gateway.routes.alerts import LoopDep, Ops, SilenceViewer, Viewer
from gateway.templating import templates
from govops.errors import GovopsError, NotFound
from govops.localtime import shown
from govops.principal import OPS_ENGINEER
from monitoring.inbox import actions, queries, silences

router: APIRouter = APIRouter(include_in_schema=False)
FILTERS = ("severity", "source", "area", "department", "platform", "camera", "state")


def _back(path: str, ok: bool, text: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{'msg' if ok else 'err'}={quote(text[:280])}", status_code=303)


@router.get("/alerts", response_class=HTMLResponse)
def inbox_page(request: Request, session: SessionDep, principal: Viewer, cursor: str | None = None) -> HTMLResponse:
    params = {k: (request.query_params.get(k) or None) for k in FILTERS}
    if params["state"] is None and "state" not in request.query_params:
        params["state"] = "firing"
    error = None
    try:
        f = queries.AlertFilter(
            severity=params["severity"],
            source=params["source"],
            area=params["area"],
            department=params["department"],
            platform=params["platform"],
            camera=params["camera"],
            state=params["state"],
        )
        page = queries.list_alerts(session, principal, f, cursor=cursor, limit=50)
    except GovopsError as exc:
        page, error = {"items": [], "next_cursor": None}, exc.message
    shown = {k: v for k, v in params.items() if v}
    next_url = f"/alerts?{urlencode({**shown, 'cursor': page['next_cursor']})}" if page["next_cursor"] else None
    return templates.TemplateResponse(
        request,
        "alerts_inbox.html",
        {
            "principal": principal,
            "items": page["items"],
            "filters": params,
            "next_url": next_url,
            "error": error or request.query_params.get("err"),
            "msg": request.query_params.get("msg"),
        },
    )


@router.get("/alerts/silences", response_class=HTMLResponse)
def silences_page(request: Request, loop: LoopDep, principal: SilenceViewer) -> HTMLResponse:
    items, error = [], None
    try:
        items = loop.alertmanager().silences(include_expired=True)
    except GovopsError as exc:
        error = f"{exc.message}" + (f" → {exc.hint}" if exc.hint else "")
    return templates.TemplateResponse(
        request,
        "alerts_silences.html",
        {
            "principal": principal,
            "items": items,
            "can_expire": principal.has(OPS_ENGINEER),
            "error": error or request.query_params.get("err"),
            "msg": request.query_params.get("msg"),
        },
    )


@router.post("/alerts/silences/{silence_id}/expire")
def expire_silence_form(session: SessionDep, loop: LoopDep, principal: Ops, silence_id: str) -> RedirectResponse:
    try:
        silences.expire(session, loop.alertmanager(), principal, silence_id)
    except GovopsError as exc:
        return _back("/alerts/silences", False, f"失效失败 could not expire: {exc.message}")
    return _back("/alerts/silences", True, f"静默已失效 silence expired: {silence_id}")


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, session: SessionDep, principal: Viewer, alert_id: int) -> HTMLResponse:
    alert = queries.detail(session, principal, alert_id)
    return templates.TemplateResponse(
        request,
        "alerts_detail.html",
        {
            "principal": principal,
            "a": alert,
            "can_silence": principal.has(OPS_ENGINEER),
            "error": request.query_params.get("err"),
            "msg": request.query_params.get("msg"),
        },
    )


def _act(path: str, done: str, fn: Callable[..., Any], *args: Any) -> RedirectResponse:
    try:
        fn(*args)
    except NotFound:
        raise
    except GovopsError as exc:
        return _back(path, False, exc.message)
    return _back(path, True, done)


@router.post("/alerts/{alert_id}/claim")
def claim_form(session: SessionDep, principal: Viewer, alert_id: int) -> RedirectResponse:
    return _act(f"/alerts/{alert_id}", "已认领 claimed", actions.claim, session, principal, alert_id)


@router.post("/alerts/{alert_id}/ack")
def ack_form(
    session: SessionDep, principal: Viewer, alert_id: int, comment: Annotated[str, Form(max_length=1000)] = ""
) -> RedirectResponse:
    return _act(
        f"/alerts/{alert_id}", "已确认 acknowledged", actions.acknowledge, session, principal, alert_id, comment
    )


@router.post("/alerts/{alert_id}/resolve")
def resolve_form(
    session: SessionDep, principal: Viewer, alert_id: int, comment: Annotated[str, Form(max_length=1000)] = ""
) -> RedirectResponse:
    return _act(
        f"/alerts/{alert_id}", "已解决 resolved", actions.resolve, session, principal, alert_id, comment or None
    )


@router.post("/alerts/{alert_id}/silence")
def silence_form(
    session: SessionDep,
    zone: ZoneDep,
    loop: LoopDep,
    principal: Ops,
    alert_id: int,
    hours: Annotated[float, Form(gt=0, le=720)] = 2.0,
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    try:
        out = silences.create(session, loop.alertmanager(), principal, alert_id=alert_id, hours=hours, comment=comment)
    except NotFound:
        raise
    except GovopsError as exc:
        return _back(f"/alerts/{alert_id}", False, f"静默失败 could not silence: {exc.message}")
    until = shown(datetime.now(UTC) + timedelta(hours=hours), zone)
    return _back(f"/alerts/{alert_id}", True, f"已静默 silenced {hours:g} h, until {until} (id {out['id']})")
