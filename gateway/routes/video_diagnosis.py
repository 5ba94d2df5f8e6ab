"""Video quality diagnosis and the patrol (巡检) over the API: history with the judged pictures,
"faults now", re-diagnose on demand, the scene reference, per-camera thresholds, rounds.

Scoped like the catalogue: a camera the caller may not see is "not found" here too, so security
staff get the faults, history and pictures of the cameras shared to their platform only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.deps import CameraOperator as Operator
from gateway.deps import CameraViewer as Viewer
from gateway.deps import Ops, RuntimeDep, SessionDep
from gateway.http.params import IntId, RequestBody
from gateway.pagination import PageDep, encode_cursor, page_of
from gateway.runtime import Runtime
from govops.db import MAX_ID
from govops.principal import Principal
from video.catalogue.queries import get_camera
from video.patrol import Policy, ondemand, queries

router = APIRouter(prefix="/api", tags=["video diagnosis"])
JPEG_HEADERS = {"Cache-Control": "private, max-age=3600"}


@router.get("/video/faults")
def faults_now(session: SessionDep, principal: Viewer, page: PageDep) -> dict[str, Any]:
    """Cameras faulty or offline now (stable verdict), longest-standing first."""
    return page_of(queries.faults_now(session, principal, limit=5000), page, key="id", by_position=True)


@router.get("/video/patrol/rounds")
def patrol_rounds(session: SessionDep, _: Ops, page: PageDep) -> dict[str, Any]:
    return page_of(queries.rounds(session, limit=1000), page, key="id", descending=True, sort=True)


@router.get("/cameras/{camera_id}/diagnoses")
def history(
    camera_id: str,
    session: SessionDep,
    principal: Viewer,
    page: PageDep,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, deprecated=True)] = None,
) -> dict[str, Any]:
    """Newest first. `before` is the older way to page; `cursor` is the same for every list."""
    found = queries.history(session, principal, camera_id, before=page.after_id or before, limit=page.limit)
    return {**found, "next_cursor": encode_cursor(found["next"]) if found["next"] is not None else None}


@router.get("/cameras/{camera_id}/diagnoses/{record_id}/picture.jpg", response_class=Response)
def picture(camera_id: str, record_id: IntId, session: SessionDep, principal: Viewer) -> Response:
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
        base=runtime.thresholds,
        policy=Policy.from_settings(runtime.video),
    )


@router.post("/cameras/{camera_id}/diagnose")
async def diagnose_now(camera_id: str, session: SessionDep, runtime: RuntimeDep, principal: Operator) -> dict[str, Any]:
    """Re-diagnose one camera now; believed at once (a repaired camera clears its alert)."""
    return await on_camera(ondemand.diagnose_now, camera_id, session, runtime, principal)


@router.post("/cameras/{camera_id}/diagnosis/reference")
async def refresh_reference(
    camera_id: str, session: SessionDep, runtime: RuntimeDep, principal: Ops, plain_is_view: bool = False
) -> dict[str, Any]:
    """Re-take the camera's baseline (建档) and scene reference from its current picture (after a
    deliberate change: the camera moved or replaced). `plain_is_view`: a plain region the new
    view reads as a cover is the view itself (a dim sky, a wall), vouched for. Audited."""
    action = partial(ondemand.refresh_reference, plain_is_view=plain_is_view)
    return await on_camera(action, camera_id, session, runtime, principal)


@router.post("/cameras/{camera_id}/diagnosis/accept")
async def accept_normal(camera_id: str, session: SessionDep, runtime: RuntimeDep, principal: Ops) -> dict[str, Any]:
    """误报确认: the camera's current picture is its normal; the fault it shows is a false alarm
    that the camera learns (the hour's brightness, or its statistics). Audited."""
    return await on_camera(ondemand.accept_normal, camera_id, session, runtime, principal)


class ThresholdsIn(RequestBody):
    # Required: a body without it is a mistake, not a request to clear ({"thresholds": {}} clears).
    thresholds: dict[str, float] = Field(max_length=40)


@router.put("/cameras/{camera_id}/diagnosis/thresholds")
def set_thresholds(
    camera_id: str, body: ThresholdsIn, session: SessionDep, runtime: RuntimeDep, principal: Ops
) -> dict[str, Any]:
    """Replace the camera's own thresholds, e.g. {"dark_mean": 15} for a night camera."""
    get_camera(session, principal, camera_id)
    return ondemand.set_thresholds(
        session, camera_id, body.thresholds, actor=principal.subject, base=runtime.thresholds
    )
