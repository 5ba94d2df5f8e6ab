"""Console pages of the e-government cloud: tenants (quota used against quota), Pulumi runs with
their diff text, and quota requests — a form for department admins, and for ops engineers the
preview shown before the approve button appears."""

from __future__ import annotations

import logging
import threading
from datetime import UTC
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from infra.service.models import CloudRun
from infra.service.provisioning import Provisioning
from infra.service.quota import QuotaDesk
from sqlalchemy import select

from gateway.auth import Allow
from gateway.deps import RuntimeDep
from govops.errors import Conflict, GovopsError
from govops.logs import log
from govops.principal import DEPT_ADMIN, OPS_ENGINEER, Principal
from monitoring.status.quota_use import tenant_use

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
Ops = Annotated[Principal, Depends(Allow(OPS_ENGINEER))]
OpsOrDept = Annotated[Principal, Depends(Allow(OPS_ENGINEER, DEPT_ADMIN))]
logger = logging.getLogger("govops.console")
Msg = Annotated[str | None, Query(max_length=300)]


def _svc(runtime: RuntimeDep) -> Provisioning:
    return Provisioning(runtime.settings, runtime.sessions)


Svc = Annotated[Provisioning, Depends(_svc)]


def _back(url: str, key: str, text: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?{key}={quote(text[:280])}", status_code=303)


@router.get("/cloud/tenants", response_class=HTMLResponse)
def tenants_page(request: Request, svc: Svc, principal: Ops) -> HTMLResponse:
    rows = svc.tenants()
    use: dict[str, dict[str, Any]] | None = None
    use_error = None
    try:
        use = tenant_use(svc.settings, [r["namespace"] for r in rows])
    except Exception as exc:  # the cluster may be down; the declared quotas still show
        use_error = str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__
    return templates.TemplateResponse(
        request,
        "cloud_tenants.html",
        {"principal": principal, "tenants": rows, "use": use, "use_error": use_error, "runs": svc.runs(5)},
    )


@router.get("/cloud/runs", response_class=HTMLResponse)
def runs_page(request: Request, svc: Svc, principal: Ops) -> HTMLResponse:
    return templates.TemplateResponse(request, "cloud_runs.html", {"principal": principal, "runs": svc.runs(100)})


@router.get("/cloud/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: int, request: Request, svc: Svc, principal: Ops) -> HTMLResponse:
    run = svc.get_run(run_id)
    return templates.TemplateResponse(request, "cloud_run.html", {"principal": principal, "run": run})


def _previews(svc: Provisioning, requests: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per pending request, the newest preview of its department started after it was asked for."""
    out: dict[int, dict[str, Any]] = {}
    with svc.sessions() as s:
        for r in requests:
            if r["status"] != "pending":
                continue
            run = s.scalars(
                select(CloudRun)
                .where(CloudRun.kind == "preview", CloudRun.target == r["department"])
                .order_by(CloudRun.id.desc())
                .limit(1)
            ).first()
            if run is not None and _after(run, r):
                out[r["id"]] = run.as_dict(with_log=True)
    return out


def _after(run: CloudRun, request: dict[str, Any]) -> bool:
    from datetime import datetime

    started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
    return started >= datetime.fromisoformat(request["requested_at"]).astimezone(UTC).replace(microsecond=0)


@router.get("/cloud/quota", response_class=HTMLResponse)
def quota_page(request: Request, svc: Svc, principal: OpsOrDept, msg: Msg = None, err: Msg = None) -> HTMLResponse:
    rows = QuotaDesk(svc).list(principal)
    tenants = svc.tenants()
    if not principal.has(OPS_ENGINEER):
        tenants = [t for t in tenants if t["code"] == principal.department]
    return templates.TemplateResponse(
        request,
        "cloud_quota.html",
        {
            "principal": principal,
            "requests": rows,
            "previews": _previews(svc, rows) if principal.has(OPS_ENGINEER) else {},
            "tenants": tenants,
            "can_decide": principal.has(OPS_ENGINEER),
            "msg": msg,
            "err": err,
        },
    )


@router.post("/cloud/quota")
def quota_request(
    svc: Svc,
    principal: OpsOrDept,
    department: Annotated[str, Form(pattern=r"^[a-z][a-z0-9-]{1,30}$")],
    reason: Annotated[str, Form(min_length=1, max_length=1000)],
    cpu: Annotated[str, Form(max_length=20)] = "",
    memory: Annotated[str, Form(max_length=20)] = "",
    storage: Annotated[str, Form(max_length=20)] = "",
    pods: Annotated[str, Form(max_length=6)] = "",
) -> RedirectResponse:
    quota: dict[str, Any] = {k: v.strip() for k, v in {"cpu": cpu, "memory": memory, "storage": storage}.items() if v}
    if pods.strip():
        quota["pods"] = pods.strip()
    try:
        req = QuotaDesk(svc).request(principal, department, quota, reason)
    except GovopsError as exc:
        return _back("/cloud/quota", "err", exc.message + (f" — {exc.hint}" if exc.hint else ""))
    return _back("/cloud/quota", "msg", f"申请 #{req['id']} 已提交 request #{req['id']} submitted")


def _busy(svc: Provisioning) -> None:
    with svc.sessions() as s:
        busy = s.scalar(select(CloudRun).where(CloudRun.stack == svc.stack, CloudRun.status == "running").limit(1))
    if busy is not None:
        raise Conflict(f"stack {svc.stack} is busy with run #{busy.id} ({busy.kind} by {busy.actor})")


def _background(name: str, fn: Any, *args: Any, **kw: Any) -> None:
    def run() -> None:
        try:
            fn(*args, **kw)
        except GovopsError as exc:
            log(logger, "console background run failed", logging.WARNING, run=name, error=exc.message)

    threading.Thread(target=run, daemon=True, name=f"console-{name}").start()


def _pending(svc: Provisioning, principal: Principal, request_id: int) -> dict[str, Any]:
    for r in QuotaDesk(svc).list(principal):
        if r["id"] == request_id:
            if r["status"] != "pending":
                raise Conflict(f"quota request {request_id} is already {r['status']}")
            return r
    from govops.errors import NotFound

    raise NotFound(f"quota request {request_id} not found", hint="see the list at /cloud/quota")


@router.post("/cloud/quota/{request_id}/preview")
def quota_preview(request_id: int, svc: Svc, principal: Ops) -> RedirectResponse:
    try:
        req = _pending(svc, principal, request_id)
        _busy(svc)
        candidate = svc.with_quota(req["department"], req["quota"])
    except GovopsError as exc:
        return _back("/cloud/quota", "err", exc.message)
    _background("preview", svc.preview, principal.subject, candidate=candidate, target=req["department"])
    return _back("/cloud/quota", "msg", f"预览已开始 preview of request #{request_id} started; reload to see it")


@router.post("/cloud/quota/{request_id}/approve")
def quota_approve(request_id: int, svc: Svc, principal: Ops) -> RedirectResponse:
    try:
        req = _pending(svc, principal, request_id)
        preview = _previews(svc, [req]).get(request_id)
        if preview is None or preview["status"] != "succeeded":
            raise Conflict("preview the change first; approve once its preview has succeeded")
        _busy(svc)
    except GovopsError as exc:
        return _back("/cloud/quota", "err", exc.message)
    _background("approve", QuotaDesk(svc).approve, principal, request_id)
    return _back("/cloud/quota", "msg", f"已批准 request #{request_id} approved; applying (see Pulumi runs)")


@router.post("/cloud/quota/{request_id}/reject")
def quota_reject(
    request_id: int, svc: Svc, principal: Ops, note: Annotated[str, Form(min_length=1, max_length=1000)]
) -> RedirectResponse:
    try:
        QuotaDesk(svc).reject(principal, request_id, note)
    except GovopsError as exc:
        return _back("/cloud/quota", "err", exc.message)
    return _back("/cloud/quota", "msg", f"已驳回 request #{request_id} rejected")
