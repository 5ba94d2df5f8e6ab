"""Data-centre cluster API: start a playbook run (202, runs in the background), list runs, show
one run per host. Ops-engineer only. Front door only: each route calls one domain function."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from gateway.deps import Ops, RuntimeDep, SessionDep
from gateway.http.params import RequestBody
from infra.cluster import history

router = APIRouter(prefix="/api/cluster", tags=["cluster"])


class RunIn(RequestBody):
    kind: Literal["check", "apply"] = "apply"
    inventory: str = Field(default="sample", pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    playbook: str = Field(default="site.yml", pattern=r"^[a-z0-9_-]{1,60}\.yml$")
    limit: str | None = Field(default=None, max_length=200, pattern=r"^[A-Za-z0-9_.:,!&*-]+$")


@router.post("/runs", status_code=202)
def start_run(body: RunIn, runtime: RuntimeDep, principal: Ops) -> JSONResponse:
    inventory = history.resolve_inventory(body.inventory, runtime.settings.data_dir)
    run = history.launch(
        runtime.sessions, principal, inventory, kind=body.kind, playbook=body.playbook, limit=body.limit
    )
    return JSONResponse({"run": run, "follow": f"/api/cluster/runs/{run['id']}"}, status_code=202)


@router.get("/runs")
def runs(
    session: SessionDep,
    _: Ops,
    after: Annotated[int | None, Query(ge=1, description="cursor: runs older than this id")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    return history.list_runs(session, after=after, limit=limit)


@router.get("/runs/{run_id}")
def run(run_id: int, session: SessionDep, _: Ops) -> dict[str, Any]:
    return history.get_run(session, run_id)
