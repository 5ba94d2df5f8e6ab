"""Video quality diagnosis and the patrol (巡检) over the API: history with the judged pictures,
"faults now", re-diagnose on demand, the scene reference, per-camera thresholds, rounds.

Scoped like the catalogue: a camera the caller may not see is "not found" here too, so security
staff get the faults, history and pictures of the cameras shared to their platform only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.auth import Allow
from gateway.deps import RuntimeDep, SessionDep
from gateway.runtime import Runtime
from govops.principal import DEPT_ADMIN, OPS_ENGINEER, SECURITY_STAFF, Principal
from video.catalogue.queries import get_camera
from video.diagnosis import Thresholds
from video.patrol import Policy, ondemand, queries

router = APIRouter(prefix="/api", tags=["video diagnosis"])
Viewer = Annotated[Principal, Depends(Allow(OPS_ENGINEER, DEPT_ADMIN, SECURITY_STAFF))]
Operator = Annotated[Principal, Depends(Allow(OPS_ENGINEER, SECURITY_STAFF))]
Ops = Annotated[Principal, Depends(Allow(OPS_ENGINEER))]
JPEG_HEADERS = {"Cache-Control": "private, max-age=3600"}


@router.get("/video/faults")
def faults_now(
    session: SessionDep, principal: Viewer, limit: Annotated[int, Query(ge=1, le=5000)] = 500
) -> dict[str, Any]:
    """Cameras faulty or offline now (stable verdict), longest-standing first."""
    return {"items": queries.faults_now(session, principal, limit=limit)}


@router.get("/video/patrol/rounds")
def patrol_rounds(session: SessionDep, _: Ops, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    return {"items": queries.rounds(session, limit=limit)}


@router.get("/cameras/{camera_id}/diagnoses")
def history(
    camera_id: str,
    session: SessionDep,
    principal: Viewer,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    return queries.history(session, principal, camera_id, before=before, limit=limit)


@router.get("/cameras/{camera_id}/diagnoses/{record_id}/picture.jpg", response_class=Response)
def picture(camera_id: str, record_id: int, session: SessionDep, principal: Viewer) -> Response:
    """The judged picture of one diagnosis (a thumbnail at 320 px)."""
    return Response(
        queries.thumbnail(session, principal, camera_id, record_id), media_type="image/jpeg", headers=JPEG_HEADERS
    )


@router.get("/cameras/{camera_id}/diagnosis/reference.jpg", response_class=Response)
def reference_picture(camera_id: str, session: SessionDep, principal: Viewer) -> Response:
    return Response(
        queries.reference_jpeg(session, principal, camera_id),
        media_type="image/jpeg",
        headers={"Cache-Control": "private, no-cache"},
    )


@router.get("/cameras/{camera_id}/diagnosis/baselines/{mode}/reference.jpg", response_class=Response)
def baseline_picture(
    camera_id: str, mode: Annotated[str, Path(pattern="^(day|night)$")], session: SessionDep, principal: Viewer
) -> Response:
    """The reference picture of the camera's day or night baseline (建档)."""
    return Response(
        queries.baseline_jpeg(session, principal, camera_id, mode),
        media_type="image/jpeg",
        headers={"Cache-Control": "private, no-cache"},
    )


def thresholds_of(runtime: Runtime) -> Thresholds:
    """The runtime's one Thresholds object (GOVOPS_VQD_*); built here until the runtime holds it."""
    return getattr(runtime, "thresholds", None) or Thresholds()


async def on_camera(
    action: Callable[..., dict[str, Any]], camera_id: str, session: Session, runtime: Runtime, principal: Principal
) -> dict[str, Any]:
    """Run an on-demand action (`ondemand.diagnose_now`, `refresh_reference`) on a camera the
    principal may see. Reading a camera takes seconds: no database connection is held meanwhile."""
    get_camera(session, principal, camera_id)
    session.close()
    return await run_in_threadpool(
        action,
        runtime.sessions,
        runtime.box,
        camera_id,
        actor=principal.subject,
        base=thresholds_of(runtime),
        policy=Policy.from_settings(runtime.video),
    )


@router.post("/cameras/{camera_id}/diagnose")
async def diagnose_now(camera_id: str, session: SessionDep, runtime: RuntimeDep, principal: Operator) -> dict[str, Any]:
    """Re-diagnose one camera now; believed at once (a repaired camera clears its alert)."""
    return await on_camera(ondemand.diagnose_now, camera_id, session, runtime, principal)


@router.post("/cameras/{camera_id}/diagnosis/reference")
async def refresh_reference(camera_id: str, session: SessionDep, runtime: RuntimeDep, principal: Ops) -> dict[str, Any]:
    """Re-take the camera's baseline (建档) and scene reference from its current picture (after a
    deliberate change: the camera moved or replaced). Audited."""
    return await on_camera(ondemand.refresh_reference, camera_id, session, runtime, principal)


class ThresholdsIn(BaseModel):
    thresholds: dict[str, float] = Field(default_factory=dict, max_length=40)


@router.put("/cameras/{camera_id}/diagnosis/thresholds")
def set_thresholds(
    camera_id: str, body: ThresholdsIn, session: SessionDep, runtime: RuntimeDep, principal: Ops
) -> dict[str, Any]:
    """Replace the camera's own thresholds, e.g. {"dark_mean": 15} for a night camera."""
    get_camera(session, principal, camera_id)
    return ondemand.set_thresholds(
        session, camera_id, body.thresholds, actor=principal.subject, base=thresholds_of(runtime)
    )
