"""E-government cloud API: tenants, provisioning runs, quota requests."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from gateway.auth import Allow
from gateway.deps import RuntimeDep
from gateway.http.params import IntId
from gateway.pagination import PageDep, fetched, page_of
from govops.errors import Conflict
from govops.principal import DEPT_ADMIN, OPS_ENGINEER, Principal
from infra.service.models import CloudRun
from infra.service.provisioning import Provisioning
from infra.service.quota import QuotaDesk

router = APIRouter(prefix="/api/cloud", tags=["cloud"])
Ops = Annotated[Principal, Depends(Allow(OPS_ENGINEER))]
OpsOrDept = Annotated[Principal, Depends(Allow(OPS_ENGINEER, DEPT_ADMIN))]


class QuotaIn(BaseModel):
    department: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    quota: dict[str, Any]
    reason: str = Field(min_length=1, max_length=1000)


class RejectIn(BaseModel):
    note: str = Field(min_length=1, max_length=1000)


def _svc(runtime: RuntimeDep) -> Provisioning:
    return Provisioning(runtime.settings, runtime.sessions)


Svc = Annotated[Provisioning, Depends(_svc)]


@router.get("/tenants")
def tenants(svc: Svc, principal: OpsOrDept, page: PageDep) -> dict[str, Any]:
    rows = svc.tenants()
    rows = rows if principal.has(OPS_ENGINEER) else [r for r in rows if r["code"] == principal.department]
    return page_of(rows, page, key="code", sort=True)


@router.get("/runs")
def runs(svc: Svc, _: Ops, page: PageDep) -> dict[str, Any]:
    return fetched(svc.runs(page.limit + 1, before=page.after_id), page)


@router.get("/runs/{run_id}")
def run(run_id: IntId, svc: Svc, _: Ops) -> dict[str, Any]:
    return svc.get_run(run_id)


def _start(svc: Provisioning, kind: str, principal: Principal) -> dict[str, Any]:
    with svc.sessions() as s:
        busy = s.scalar(select(CloudRun).where(CloudRun.stack == svc.stack, CloudRun.status == "running").limit(1))
    if busy is not None:
        raise Conflict(
            f"stack {svc.stack} is busy with run #{busy.id} ({busy.kind} by {busy.actor})",
            hint="wait for it; follow it at /api/v1/cloud/runs/{id}",
        )
    threading.Thread(target=getattr(svc, kind), args=(principal.subject,), daemon=True, name=f"cloud-{kind}").start()
    return {"accepted": kind, "follow": "/api/v1/cloud/runs"}


@router.post("/preview", status_code=202)
def preview(svc: Svc, principal: Ops) -> dict[str, Any]:
    return _start(svc, "preview", principal)


@router.post("/up", status_code=202)
def up(svc: Svc, principal: Ops) -> dict[str, Any]:
    return _start(svc, "up", principal)


@router.post("/refresh", status_code=202)
def refresh(svc: Svc, principal: Ops) -> dict[str, Any]:
    return _start(svc, "refresh", principal)


@router.get("/quota-requests")
def quota_requests(svc: Svc, principal: OpsOrDept, page: PageDep) -> dict[str, Any]:
    return fetched(QuotaDesk(svc).list(principal, before=page.after_id, limit=page.limit + 1), page)


@router.post("/quota-requests", status_code=201)
def request_quota(body: QuotaIn, svc: Svc, principal: OpsOrDept) -> dict[str, Any]:
    return QuotaDesk(svc).request(principal, body.department, body.quota, body.reason)


@router.post("/quota-requests/{request_id}/approve")
def approve_quota(request_id: IntId, svc: Svc, principal: Ops) -> dict[str, Any]:
    return QuotaDesk(svc).approve(principal, request_id)


@router.post("/quota-requests/{request_id}/reject")
def reject_quota(request_id: IntId, body: RejectIn, svc: Svc, principal: Ops) -> dict[str, Any]:
    return QuotaDesk(svc).reject(principal, request_id, body.note)
