"""Console pages of the e-government cloud: tenants (quota used against quota), Pulumi runs with
their diff text, and quota requests — a form for department admins, and for ops engineers the
preview shown before the approve button appears."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gateway.deps import Ops, RuntimeDep
from gateway.deps import OpsOrDeptAdmin as OpsOrDept
from gateway.templating import templates
from govops.errors import GovopsError
from govops.principal import OPS_ENGINEER, Principal
from infra.provisioning.quota import QuotaDesk
from infra.provisioning.service import Provisioning
from monitoring.status.quota_use import tenant_use

router = APIRouter(include_in_schema=False)
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


def _previews(svc: Provisioning, principal: Principal, requests: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per pending request, its current preview (the diff the approver reads), with the run's log."""
    desk, out = QuotaDesk(svc), {}
    for r in requests:
        if r["status"] == "pending":
            shown = desk.show(principal, r["id"])
            if shown["preview"] and shown["preview_current"]:
                out[r["id"]] = svc.get_run(shown["preview"]["id"]).as_dict()
    return out


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
            "previews": _previews(svc, principal, rows) if principal.has(OPS_ENGINEER) else {},
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


@router.post("/cloud/quota/{request_id}/preview")
def quota_preview(request_id: int, svc: Svc, principal: Ops) -> RedirectResponse:
    try:
        QuotaDesk(svc).preview(principal, request_id, wait=False)
    except GovopsError as exc:
        return _back("/cloud/quota", "err", exc.message)
    return _back("/cloud/quota", "msg", f"预览已开始 preview of request #{request_id} started; reload to see it")


@router.post("/cloud/quota/{request_id}/approve")
def quota_approve(request_id: int, svc: Svc, principal: Ops) -> RedirectResponse:
    try:
        QuotaDesk(svc).approve(principal, request_id, wait=False)
    except GovopsError as exc:
        return _back("/cloud/quota", "err", exc.message)
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
