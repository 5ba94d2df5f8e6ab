"""Fault work orders (运维工单): the API under /api/v1/workorders and the console pages.

Every route calls one function of `monitoring.workorders`; the domain scopes what a principal
sees (a contractor its own orders, others reported as not found) and writes the audit log.
The router's lifespan runs the sync step every `GOVOPS_WORKORDERS_SYNC_INTERVAL_S` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import Field

from gateway.deps import Ops, OpsOrContractor, RuntimeDep, SessionDep, WorkOrderViewer, ZoneDep
from gateway.http.openapi import media
from gateway.http.params import RequestBody
from gateway.runtime import Runtime
from gateway.templating import templates
from govops.errors import GovopsError, ValidationFailed
from govops.logs import log
from govops.principal import OPS_ENGINEER, Principal
from govops.settings import load_or_explain
from monitoring.workorders import contractors, lifecycle, report
from monitoring.workorders.models import STATES
from monitoring.workorders.settings import WorkOrderSettings
from monitoring.workorders.sync import sync, verify_now

logger = logging.getLogger("govops.workorders")
STATE_NAMES = {
    "open": "待派单 open",
    "dispatched": "维修中 dispatched",
    "repaired": "待复核 repaired",
    "verified": "已复核 verified",
    "closed": "已关闭 closed",
}


def settings_of(app: FastAPI) -> WorkOrderSettings:
    found = getattr(app.state, "workorder_settings", None)
    if found is None:
        found = app.state.workorder_settings = load_or_explain(WorkOrderSettings)
    return found


def sync_once(runtime: Runtime, settings: WorkOrderSettings, now: datetime | None = None) -> dict[str, Any]:
    with runtime.transaction() as session:
        return sync(session, now, settings, box=runtime.box).as_dict()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = settings_of(app)
    task = None
    if settings.sync_interval_s > 0:

        async def loop() -> None:
            while True:
                await asyncio.sleep(settings.sync_interval_s)
                try:
                    await asyncio.to_thread(sync_once, app.state.runtime, settings)
                except Exception as exc:  # logged, and tried again next time
                    log(logger, "work-order sync failed", logging.ERROR, error=f"{exc.__class__.__name__}: {exc}")

        task = asyncio.create_task(loop())
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


router = APIRouter(tags=["workorders"], lifespan=lifespan)
API = "/api/v1/workorders"
Cursor = Annotated[int | None, Query(ge=1, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=lifecycle.MAX_PAGE)]


class ContractorIn(RequestBody):
    code: str = Field(min_length=2, max_length=50)
    name: str = Field(min_length=1, max_length=200)
    contact: str | None = Field(default=None, max_length=200)


class AreaIn(RequestBody):
    area: str = Field(min_length=6, max_length=20)
    key_area: bool = False


class DispatchIn(RequestBody):
    contractor: str | None = Field(default=None, max_length=50)


# --- API: static paths first ------------------------------------------------------------------

# A repair report carries a photo (capped by GOVOPS_WORKORDERS_PHOTO_MAX_BYTES, at most 50 MiB).
PHOTO_BODY_LIMIT = 51 * 1024 * 1024


@router.get(API)
def list_orders(
    session: SessionDep,
    principal: WorkOrderViewer,
    state: str | None = None,
    contractor: str | None = None,
    camera: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    rows, nxt = lifecycle.list_orders(
        session, principal, state=state, contractor=contractor, camera=camera, after=cursor, limit=limit
    )
    return {"items": [o.as_dict() for o in rows], "next_cursor": nxt}


@router.post(f"{API}/sync")
def run_sync(request: Request, runtime: RuntimeDep, _: Ops) -> dict[str, Any]:
    return sync_once(runtime, settings_of(request.app))


@router.get(f"{API}/contractors")
def list_contractors(session: SessionDep, _: Ops) -> dict[str, Any]:
    return {"items": contractors.list_contractors(session), "next_cursor": None}


@router.post(f"{API}/contractors", status_code=201)
def add_contractor(body: ContractorIn, session: SessionDep, principal: Ops) -> dict[str, Any]:
    return contractors.add_contractor(session, body.code, body.name, body.contact, actor=principal.subject).as_dict()


@router.delete(f"{API}/contractors/{{code}}", status_code=204)
def remove_contractor(code: str, session: SessionDep, principal: Ops) -> Response:
    contractors.remove_contractor(session, code, actor=principal.subject)
    return Response(status_code=204)


@router.post(f"{API}/contractors/{{code}}/areas")
def assign_area(code: str, body: AreaIn, session: SessionDep, principal: Ops) -> dict[str, Any]:
    return contractors.assign_area(session, code, body.area, key_area=body.key_area, actor=principal.subject).as_dict()


@router.delete(f"{API}/areas/{{area}}", status_code=204)
def unassign_area(area: str, session: SessionDep, principal: Ops) -> Response:
    contractors.unassign_area(session, area, actor=principal.subject)
    return Response(status_code=204)


def _report_rows(session: SessionDep, principal: Principal, month: str, zone: ZoneInfo) -> list[report.ReportRow]:
    own = None if principal.has(OPS_ENGINEER) else (principal.contractor or "\0")
    return report.monthly(session, month, contractor=own, zone=zone)


@router.get(f"{API}/report", responses=media("text/csv", description="JSON, or CSV with format=csv"))
def monthly_report(
    session: SessionDep,
    principal: OpsOrContractor,
    zone: ZoneDep,
    month: Annotated[str | None, Query(max_length=7)] = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    month = month or report.this_month(zone)
    rows = _report_rows(session, principal, month, zone)
    if format == "csv":
        return Response(
            report.to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="workorders-{month}.csv"'},
        )
    return {"month": month, "items": [r.as_dict() for r in rows], "next_cursor": None}


@router.get(f"{API}/{{order_id}}")
def show(order_id: int, session: SessionDep, principal: WorkOrderViewer) -> dict[str, Any]:
    return lifecycle.detail(session, lifecycle.get_order(session, principal, order_id))


@router.post(f"{API}/{{order_id}}/dispatch")
def dispatch(order_id: int, session: SessionDep, principal: Ops, body: DispatchIn | None = None) -> dict[str, Any]:
    contractor = body.contractor if body else None
    return lifecycle.dispatch(session, principal, order_id, contractor).as_dict()


@router.post(f"{API}/{{order_id}}/repair", openapi_extra={"x-body-limit": PHOTO_BODY_LIMIT})
async def repair(
    request: Request,
    order_id: int,
    session: SessionDep,
    principal: OpsOrContractor,
    note: Annotated[str, Form(max_length=1000)],
    photo: Annotated[UploadFile | None, File()] = None,
) -> dict[str, Any]:
    settings = settings_of(request.app)
    data = None
    if photo is not None and photo.filename:
        data = await photo.read(settings.photo_max_bytes + 1)  # one byte over: refused, not truncated
    order = lifecycle.repair(
        session,
        principal,
        order_id,
        note,
        photo=data,
        data_dir=request.app.state.runtime.settings.data_dir,
        max_photo_bytes=settings.photo_max_bytes,
    )
    return order.as_dict()


@router.get(f"{API}/{{order_id}}/photo")
def photo(order_id: int, session: SessionDep, principal: WorkOrderViewer, runtime: RuntimeDep) -> FileResponse:
    order = lifecycle.get_order(session, principal, order_id)
    path = lifecycle.photo_path(runtime.settings.data_dir, order)
    return FileResponse(path, media_type="image/png" if path.suffix == ".png" else "image/jpeg")


@router.post(f"{API}/{{order_id}}/verify")
def verify(request: Request, order_id: int, session: SessionDep, principal: Ops) -> dict[str, Any]:
    return verify_now(session, principal, order_id, settings_of(request.app)).as_dict()


@router.post(f"{API}/{{order_id}}/close")
def close(order_id: int, session: SessionDep, principal: Ops) -> dict[str, Any]:
    return lifecycle.close(session, principal, order_id).as_dict()


# --- console -------------------------------------------------------------------------------------


@router.get("/workorders", response_class=HTMLResponse, include_in_schema=False)
def list_page(
    request: Request,
    session: SessionDep,
    principal: WorkOrderViewer,
    state: str | None = None,
    cursor: Cursor = None,
) -> HTMLResponse:
    if state == "":
        state = None
    rows, nxt = lifecycle.list_orders(session, principal, state=state, after=cursor, limit=50)
    now = datetime.now(UTC)
    items = [{**o.as_dict(), "left_h": _hours_left(o.due_at, now, o.state)} for o in rows]
    return templates.TemplateResponse(
        request,
        "workorders_list.html",
        {
            "principal": principal,
            "items": items,
            "next_cursor": nxt,
            "state": state,
            "states": STATES,
            "names": STATE_NAMES,
            "is_ops": principal.has(OPS_ENGINEER),
        },
    )


def _hours_left(due: datetime, now: datetime, state: str) -> float | None:
    return round((due - now).total_seconds() / 3600, 1) if state in ("open", "dispatched") else None


@router.get("/workorders/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(
    request: Request,
    session: SessionDep,
    principal: OpsOrContractor,
    zone: ZoneDep,
    month: Annotated[str | None, Query(max_length=7)] = None,
    print_view: Annotated[bool, Query(alias="print")] = False,
) -> HTMLResponse:
    month = month or report.this_month(zone)
    try:
        rows = _report_rows(session, principal, month, zone)
    except ValidationFailed as exc:
        rows, month = [], f"{month} ({exc.message})"
    return templates.TemplateResponse(
        request,
        "workorders_report.html",
        {"principal": principal, "rows": rows, "month": month, "print_view": print_view},
    )


@router.get("/workorders/{order_id}", response_class=HTMLResponse, include_in_schema=False)
def detail_page(
    request: Request,
    order_id: int,
    session: SessionDep,
    principal: WorkOrderViewer,
    msg: Annotated[str | None, Query(max_length=300)] = None,
    err: Annotated[str | None, Query(max_length=300)] = None,
) -> HTMLResponse:
    order = lifecycle.get_order(session, principal, order_id)
    now = datetime.now(UTC)
    d = lifecycle.detail(session, order, now)
    return templates.TemplateResponse(
        request,
        "workorders_detail.html",
        {
            "principal": principal,
            "o": d,
            "msg": msg,
            "err": err,
            "contractors": contractors.list_contractors(session) if principal.has(OPS_ENGINEER) else [],
            "left_h": _hours_left(order.due_at, now, order.state),
            "names": STATE_NAMES,
            "is_ops": principal.has(OPS_ENGINEER),
            "can_repair": order.state == "dispatched"
            and (principal.has(OPS_ENGINEER) or principal.contractor == order.contractor_code),
        },
    )


def _back(order_id: int, ok: str | None, error: GovopsError | None) -> RedirectResponse:
    key, text = ("err", f"{error.message} ({error.hint})" if error.hint else error.message) if error else ("msg", ok)
    return RedirectResponse(f"/workorders/{order_id}?{key}={quote((text or '')[:280])}", status_code=303)


@router.post("/workorders/{order_id}/action", include_in_schema=False)
def action_form(
    request: Request,
    order_id: int,
    session: SessionDep,
    principal: Ops,
    action: Annotated[str, Form(pattern="^(dispatch|verify|close)$")],
    contractor: Annotated[str | None, Form(max_length=50)] = None,
) -> RedirectResponse:
    """The detail page's buttons for an ops engineer: the same domain functions as the API."""
    try:
        if action == "dispatch":
            lifecycle.dispatch(session, principal, order_id, contractor or None)
        elif action == "verify":
            verify_now(session, principal, order_id, settings_of(request.app))
        else:
            lifecycle.close(session, principal, order_id)
    except GovopsError as exc:
        return _back(order_id, None, exc)
    return _back(order_id, f"{action} 完成 done", None)


@router.post("/workorders/{order_id}/repair", include_in_schema=False, openapi_extra={"x-body-limit": PHOTO_BODY_LIMIT})
async def repair_form(
    request: Request,
    order_id: int,
    session: SessionDep,
    principal: OpsOrContractor,
    note: Annotated[str, Form(max_length=1000)],
    photo: Annotated[UploadFile | None, File()] = None,
) -> RedirectResponse:
    try:
        await repair(request, order_id, session, principal, note, photo)
    except GovopsError as exc:
        return _back(order_id, None, exc)
    return _back(order_id, "已上报维修, 等待巡检复核 repair reported; the next patrol verifies it", None)
