"""E-government cloud API: tenants, provisioning runs, drift, quota requests.

Front door only: each route calls one method of the provisioning service and translates. Runs
start in the background; the answer is 202 with the run, followed at /api/v1/cloud/runs/{id}.
Lists page with the one cursor (gateway.pagination)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from gateway.deps import Ops, RuntimeDep
from gateway.deps import OpsOrDeptAdmin as OpsOrDept
from gateway.http.params import IntId, RequestBody
from gateway.pagination import PageDep, page_of
from govops.principal import OPS_ENGINEER
from infra.provisioning.quota import QuotaDesk
from infra.provisioning.runs import Run
from infra.provisioning.service import Provisioning

router = APIRouter(prefix="/api/cloud", tags=["cloud"])


class QuotaIn(RequestBody):
    department: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    quota: dict[str, Any]
    reason: str = Field(min_length=1, max_length=1000)


class RejectIn(RequestBody):
    note: str = Field(min_length=1, max_length=1000)


def _svc(runtime: RuntimeDep) -> Provisioning:
    return Provisioning(runtime.settings, runtime.sessions)


Svc = Annotated[Provisioning, Depends(_svc)]


def _accepted(run: Run) -> dict[str, Any]:
    return {"run": run.as_dict(), "follow": f"/api/v1/cloud/runs/{run.id}"}


@router.get("/tenants")
def tenants(svc: Svc, principal: OpsOrDept, page: PageDep) -> dict[str, Any]:
    rows = svc.tenants()
    rows = rows if principal.has(OPS_ENGINEER) else [r for r in rows if r["code"] == principal.department]
    return page_of(rows, page, key="code", sort=True)


@router.get("/usage")
def usage(svc: Svc, principal: OpsOrDept, page: PageDep) -> dict[str, Any]:
    """Each tenant's quota against its use now (from the apiserver), the nearest a limit first."""
    rows = svc.usage()
    rows = rows if principal.has(OPS_ENGINEER) else [r for r in rows if r["code"] == principal.department]
    return page_of(rows, page, key="code", by_position=True)


@router.get("/runs")
def runs(svc: Svc, _: Ops, page: PageDep) -> dict[str, Any]:
    """The newest runs first."""
    return page_of([r.as_dict() for r in svc.runs(1000)], page, key="id", descending=True, sort=True)


@router.get("/runs/{run_id}")
def run(run_id: IntId, svc: Svc, _: Ops) -> dict[str, Any]:
    return svc.get_run(run_id).as_dict()


@router.post("/preview", status_code=202)
def preview(svc: Svc, principal: Ops) -> dict[str, Any]:
    return _accepted(svc.preview(principal.subject, wait=False))


@router.post("/up", status_code=202)
def up(svc: Svc, principal: Ops, revert_drift: bool = False) -> dict[str, Any]:
    """Apply the declared cloud; with revert_drift=true, also put back what changed outside Pulumi."""
    return _accepted(svc.up(principal.subject, wait=False, revert_drift=revert_drift))


@router.post("/refresh", status_code=202)
def refresh(svc: Svc, principal: Ops) -> dict[str, Any]:
    return _accepted(svc.refresh(principal.subject, wait=False))


@router.post("/drift", status_code=202)
def drift(svc: Svc, principal: Ops) -> dict[str, Any]:
    return _accepted(svc.drift(principal.subject, wait=False))


@router.get("/quota-requests")
def quota_requests(svc: Svc, principal: OpsOrDept, page: PageDep) -> dict[str, Any]:
    """The newest requests first."""
    return page_of(QuotaDesk(svc).list(principal), page, key="id", descending=True, sort=True)


@router.post("/quota-requests", status_code=201)
def request_quota(body: QuotaIn, svc: Svc, principal: OpsOrDept) -> dict[str, Any]:
    return QuotaDesk(svc).request(principal, body.department, body.quota, body.reason)


@router.get("/quota-requests/{request_id}")
def quota_request(request_id: IntId, svc: Svc, principal: OpsOrDept) -> dict[str, Any]:
    return QuotaDesk(svc).show(principal, request_id)


@router.post("/quota-requests/{request_id}/preview", status_code=202)
def preview_quota(request_id: IntId, svc: Svc, principal: Ops) -> dict[str, Any]:
    return _accepted(QuotaDesk(svc).preview(principal, request_id, wait=False))


@router.post("/quota-requests/{request_id}/approve", status_code=202)
def approve_quota(request_id: IntId, svc: Svc, principal: Ops) -> dict[str, Any]:
    request, started = QuotaDesk(svc).approve(principal, request_id, wait=False)
    return {"request": request, **_accepted(started)}


@router.post("/quota-requests/{request_id}/reject")
def reject_quota(request_id: IntId, body: RejectIn, svc: Svc, principal: Ops) -> dict[str, Any]:
    return QuotaDesk(svc).reject(principal, request_id, body.note)
