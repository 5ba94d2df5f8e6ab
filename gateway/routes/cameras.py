"""Camera API: the catalogue as each viewer may see it, snapshots, PTZ, and edits by ops.

Visibility is the catalogue's (video.catalogue.queries): a camera the caller may not see is
"not found", for reading, snapshots and PTZ alike. PTZ needs ops-engineer or security-staff.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from gateway.deps import CameraOperator as Operator
from gateway.deps import CameraViewer as Viewer
from gateway.deps import Ops, RuntimeDep, SessionDep
from gateway.http.params import RequestBody
from gateway.pagination import Page, paged
from govops.errors import ValidationFailed
from govops.principal import Principal
from video.catalogue import edits
from video.catalogue.queries import MAX_PAGE, CameraFilter, get_camera, list_cameras
from video.catalogue.registry import get_credentials
from video.onvif import service as device_service

router = APIRouter(prefix="/api/cameras", tags=["video"])


@router.get("")
def cameras(
    session: SessionDep,
    principal: Viewer,
    department: Annotated[str | None, Query(max_length=50)] = None,
    area: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z]{1,20}$")] = None,
    status: Annotated[str | None, Query(pattern="^(online|offline|faulty|unknown)$")] = None,
    key_place: bool | None = None,
    networked: bool | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    platform: Annotated[str | None, Query(max_length=50)] = None,
    group: Annotated[str | None, Query(pattern=r"^[0-9]{20}$")] = None,
    after: Annotated[str | None, Query(pattern=r"^[0-9]{20}$", deprecated=True)] = None,
    cursor: Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+={0,2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    f = CameraFilter(department, area, status, key_place, q, platform, group, networked)
    if cursor:
        after = str(Page(cursor).after)
    rows = list_cameras(session, principal, f, after, limit)
    last = rows[-1].id if len(rows) == limit else None
    return {**paged([c.as_dict() for c in rows], last), "next": last}


@router.get("/{camera_id}")
def camera(camera_id: str, session: SessionDep, principal: Viewer) -> dict[str, Any]:
    return get_camera(session, principal, camera_id).detail_dict()


@router.get("/{camera_id}/snapshot.jpg", response_class=Response)
def snapshot(
    camera_id: str,
    session: SessionDep,
    principal: Viewer,
    runtime: RuntimeDep,
    max_age: Annotated[float | None, Query(ge=0, le=3600)] = None,
) -> Response:
    cam = get_camera(session, principal, camera_id)
    _, password = get_credentials(cam, runtime.box)
    jpeg, age = runtime.snapshots.jpeg(cam, password, runtime.video.snapshot_max_age_s if max_age is None else max_age)
    return Response(
        jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=30", "X-Snapshot-Age": f"{age:.0f}"}
    )


class CameraPatch(RequestBody):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    area: str | None = Field(default=None, max_length=20)
    group: str | None = Field(default=None, pattern=r"^[0-9]{20}$")
    key_place: bool | None = None
    networked: bool | None = None
    install_address: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


@router.patch("/{camera_id}")
def update_camera(camera_id: str, body: CameraPatch, session: SessionDep, principal: Ops) -> dict[str, Any]:
    """Place or describe a camera (name, area, group, position, flags); audited."""
    changes = body.model_dump(exclude_unset=True)
    return edits.update_camera(session, principal, camera_id, changes, actor=principal.subject).camera.detail_dict()


class PtzMove(RequestBody):
    pan: float = Field(default=0.0, ge=-1, le=1)
    tilt: float = Field(default=0.0, ge=-1, le=1)
    zoom: float = Field(default=0.0, ge=-1, le=1)
    timeout_s: float = Field(default=5.0, gt=0, le=60)


class PtzPreset(RequestBody):
    name: str = Field(min_length=1, max_length=64)


def _ptz(
    session: SessionDep, runtime: RuntimeDep, principal: Principal, camera_id: str, action: str, **params: Any
) -> Any:
    cam = get_camera(session, principal, camera_id)
    result = device_service.ptz(
        session, cam, action=action, actor=principal.subject, box=runtime.box, settings=runtime.video, **params
    )
    if not result["ok"]:
        # The failure is audited; answer it without raising so that record commits.
        return JSONResponse({"error": "device_error", **result["error"], "camera": cam.id}, status_code=503)
    return result


@router.post("/{camera_id}/ptz/move")
def ptz_move(camera_id: str, body: PtzMove, session: SessionDep, runtime: RuntimeDep, principal: Operator) -> Any:
    """Continuous move (velocities -1..1); the device stops by itself after timeout_s."""
    return _ptz(session, runtime, principal, camera_id, "move", **body.model_dump())


@router.post("/{camera_id}/ptz/stop")
def ptz_stop(camera_id: str, session: SessionDep, runtime: RuntimeDep, principal: Operator) -> Any:
    return _ptz(session, runtime, principal, camera_id, "stop")


@router.get("/{camera_id}/ptz/presets")
def ptz_presets(camera_id: str, session: SessionDep, runtime: RuntimeDep, principal: Operator) -> Any:
    return _ptz(session, runtime, principal, camera_id, "presets")


@router.post("/{camera_id}/ptz/presets")
def ptz_set_preset(
    camera_id: str, body: PtzPreset, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> Any:
    """Store the current position as a preset named `name`."""
    return _ptz(session, runtime, principal, camera_id, "set_preset", name=body.name)


@router.post("/{camera_id}/ptz/presets/{token}/goto")
def ptz_goto_preset(camera_id: str, token: str, session: SessionDep, runtime: RuntimeDep, principal: Operator) -> Any:
    if not 0 < len(token) <= 64:
        raise ValidationFailed("preset token must be 1-64 characters")
    return _ptz(session, runtime, principal, camera_id, "goto_preset", preset=token)
