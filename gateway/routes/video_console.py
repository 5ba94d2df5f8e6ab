"""Console pages of the video network: camera list, camera detail with PTZ, wall, KPIs.

Server-rendered over the same queries as the API, so a page shows exactly what the API would.
The map and the command-centre screen are in console_map.py.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from gateway.deps import CameraOperator as Operator
from gateway.deps import CameraViewer as Viewer
from gateway.deps import RuntimeDep, SessionDep
from gateway.templating import templates
from govops.errors import GovopsError
from govops.org import Department
from govops.principal import OPS_ENGINEER, SECURITY_STAFF
from video.catalogue import sharing
from video.catalogue.queries import CameraFilter, get_camera, list_cameras
from video.catalogue.tree import AreaTree
from video.coverage import Coverage
from video.onvif import service as device_service
from video.patrol import queries as patrol_queries
from video.patrol.ledger import FAULT_NAMES

router = APIRouter(include_in_schema=False)
MAP_WIDTH = 960
MAX_DOTS = 5000


def age_text(age: float | None) -> str:
    if age is None:
        return "尚无快照 no snapshot yet"
    if age < 90:
        return f"{age:.0f} 秒前 ({age:.0f} s ago)"
    if age < 5400:
        return f"{age / 60:.0f} 分钟前 ({age / 60:.0f} min ago)"
    return f"{age / 3600:.1f} 小时前 ({age / 3600:.1f} h ago)"


def _names(session: SessionDep) -> dict[str, dict[str, str]]:
    tree = AreaTree.load(session)
    return {
        "departments": {d.code: d.name for d in session.scalars(select(Department))},
        "areas": {c: a.name for c, a in tree.areas.items()},
    }


@router.get("/video/cameras", response_class=HTMLResponse)
def camera_list(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    area: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z]{0,20}$")] = None,
    status: Annotated[str | None, Query(pattern="^(online|offline|faulty|unknown|)$")] = None,
    department: Annotated[str | None, Query(max_length=50)] = None,
    key_place: Annotated[str | None, Query(pattern="^(true|false|)$")] = None,
    platform: Annotated[str | None, Query(max_length=50)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    after: Annotated[str | None, Query(pattern=r"^[0-9]{20}$")] = None,
) -> HTMLResponse:
    f = CameraFilter(
        department=department or None,
        area=area or None,
        status=status or None,
        key_place={"true": True, "false": False}.get(key_place or ""),
        q=q or None,
        platform=(platform or None) if principal.has(OPS_ENGINEER) else None,
    )
    rows = list_cameras(session, principal, f, after, 100)
    params = {
        k: v
        for k, v in {
            "area": area,
            "status": status,
            "department": department,
            "key_place": key_place,
            "platform": platform,
            "q": q,
        }.items()
        if v
    }
    next_url = f"/video/cameras?{urlencode({**params, 'after': rows[-1].id})}" if len(rows) == 100 else None
    tree = AreaTree.load(session)
    area_options = [a for lvl in ("district", "street", "community", "grid") for a in tree.at_level(lvl)]
    return templates.TemplateResponse(
        request,
        "camera_list.html",
        {
            "principal": principal,
            "cameras": rows,
            "filters": params,
            "next_url": next_url,
            "area_options": area_options,
            "platforms": sharing.platforms(session),
            **_names(session),
        },
    )


@router.get("/video/cameras/{camera_id}", response_class=HTMLResponse)
def camera_detail(
    camera_id: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
    msg: Annotated[str | None, Query(max_length=600)] = None,
    err: Annotated[str | None, Query(max_length=600)] = None,
) -> HTMLResponse:
    cam = get_camera(session, principal, camera_id)
    grants = sharing.list_grants(session, subject=("camera", cam.id)) if principal.has(OPS_ENGINEER) else []
    diagnosis = patrol_queries.history(session, principal, cam.id, limit=12)
    return templates.TemplateResponse(
        request,
        "camera_detail.html",
        {
            "principal": principal,
            "cam": cam,
            "detail": cam.detail_dict(),
            "watch": diagnosis["watch"],
            "history": diagnosis["items"],
            "names": FAULT_NAMES,
            "age": age_text(runtime.snapshots.age(cam.id)),
            "can_steer": principal.has(OPS_ENGINEER, SECURITY_STAFF) and bool((cam.capabilities or {}).get("ptz")),
            "can_diagnose": principal.has(OPS_ENGINEER, SECURITY_STAFF),
            "grants": grants,
            "msg": msg,
            "err": err,
            **_names(session),
        },
    )


@router.post("/video/cameras/{camera_id}/ptz")
def camera_ptz(
    camera_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
    action: Annotated[str, Form(pattern="^(move|stop|goto_preset|set_preset)$")],
    pan: Annotated[float, Form(ge=-1, le=1)] = 0.0,
    tilt: Annotated[float, Form(ge=-1, le=1)] = 0.0,
    zoom: Annotated[float, Form(ge=-1, le=1)] = 0.0,
    preset: Annotated[str | None, Form(max_length=64)] = None,
    name: Annotated[str | None, Form(max_length=64)] = None,
) -> RedirectResponse:
    cam = get_camera(session, principal, camera_id)
    try:
        result = device_service.ptz(
            session,
            cam,
            action=action,
            actor=principal.subject,
            box=runtime.box,
            settings=runtime.video,
            pan=pan,
            tilt=tilt,
            zoom=zoom,
            preset=preset,
            name=name,
        )
    except GovopsError as exc:
        result = {"ok": False, "error": {"message": exc.message}}
    key, text = ("msg", f"{action} sent") if result["ok"] else ("err", f"{action} failed: {result['error']['message']}")
    return RedirectResponse(f"/video/cameras/{cam.id}?{key}={quote(text[:280])}", status_code=303)


@router.get("/video/wall", response_class=HTMLResponse)
def wall(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
    area: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z]{0,20}$")] = None,
) -> HTMLResponse:
    cams = list_cameras(session, principal, CameraFilter(area=area or None), limit=48)
    ages = {c.id: age_text(runtime.snapshots.age(c.id)) for c in cams}
    return templates.TemplateResponse(
        request, "camera_wall.html", {"principal": principal, "cameras": cams, "ages": ages, **_names(session)}
    )


@router.get("/video/kpi", response_class=HTMLResponse)
def kpi_page(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
    level: Annotated[str, Query(pattern="^(street|community|grid)$")] = "street",
) -> HTMLResponse:
    coverage = Coverage(session, runtime.video)
    areas = coverage.for_principal(principal, level)
    by_platform = coverage.by_platform() if principal.has(OPS_ENGINEER) else []
    return templates.TemplateResponse(
        request,
        "video_kpi.html",
        {
            "principal": principal,
            "areas": areas,
            "platforms": by_platform,
            "targets": coverage.targets(),
            "level": level,
        },
    )
