"""Camera catalogue API (read side; onboarding and sharing routes come with the video issue)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from gateway.auth import Allow
from gateway.deps import RuntimeDep, SessionDep
from govops.principal import DEPT_ADMIN, OPS_ENGINEER, SECURITY_STAFF, Principal
from video.catalogue.queries import MAX_PAGE, CameraFilter, get_camera, list_cameras
from video.snapshots import snapshot_jpeg

router = APIRouter(prefix="/api/cameras", tags=["video"])
Viewer = Annotated[Principal, Depends(Allow(OPS_ENGINEER, DEPT_ADMIN, SECURITY_STAFF))]


@router.get("")
def cameras(
    session: SessionDep, principal: Viewer,
    department: str | None = None, area: Annotated[str | None, Query(pattern=r"^[0-9A-Z]{6,20}$")] = None,
    status: Annotated[str | None, Query(pattern="^(online|offline|faulty|unknown)$")] = None,
    key_place: bool | None = None, q: Annotated[str | None, Query(max_length=100)] = None,
    after: Annotated[str | None, Query(pattern=r"^\d{20}$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    rows = list_cameras(session, principal, CameraFilter(department, area, status, key_place, q), after, limit)
    return {"items": [c.as_dict() for c in rows],
            "next": rows[-1].id if len(rows) == limit else None}


@router.get("/{camera_id}")
def camera(camera_id: str, session: SessionDep, principal: Viewer) -> dict[str, Any]:
    return get_camera(session, principal, camera_id).as_dict()


@router.get("/{camera_id}/snapshot.jpg", response_class=Response)
def snapshot(camera_id: str, session: SessionDep, principal: Viewer, runtime: RuntimeDep) -> Response:
    cam = get_camera(session, principal, camera_id)
    jpeg, age = snapshot_jpeg(cam, runtime.settings.data_dir / "snapshots")
    return Response(jpeg, media_type="image/jpeg",
                    headers={"Cache-Control": "private, max-age=30", "X-Snapshot-Age": f"{age:.0f}"})
