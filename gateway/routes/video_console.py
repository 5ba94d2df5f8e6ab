"""Console pages of the video network: camera list, camera detail with PTZ, map, KPIs.

Server-rendered over the same queries as the API, so a page shows exactly what the API would.
The map is inline SVG drawn here from the grid polygons: no tiles, nothing fetched from outside.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from gateway.deps import CameraOperator as Operator
from gateway.deps import CameraViewer as Viewer
from gateway.deps import RuntimeDep, SessionDep
from govops.errors import GovopsError
from govops.org import Department
from govops.principal import OPS_ENGINEER, SECURITY_STAFF
from video.catalogue import control, sharing
from video.catalogue.models import Camera
from video.catalogue.queries import CameraFilter, get_camera, list_cameras, visibility
from video.catalogue.tree import AreaTree
from video.coverage import Coverage, Kpi
from video.patrol import queries as patrol_queries
from video.patrol.ledger import FAULT_NAMES
from video.snapshots import cached_age

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
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
    after: Annotated[str | None, Query(pattern=r"^\d{20}$")] = None,
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
    msg: Annotated[str | None, Query(max_length=300)] = None,
    err: Annotated[str | None, Query(max_length=300)] = None,
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
            "age": age_text(cached_age(runtime.snapshots_dir, cam.id)),
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
        result = control.ptz(
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
    ages = {c.id: age_text(cached_age(runtime.snapshots_dir, c.id)) for c in cams}
    return templates.TemplateResponse(
        request, "camera_wall.html", {"principal": principal, "cameras": cams, "ages": ages, **_names(session)}
    )


# --- map -----------------------------------------------------------------------------------


def _colour(fraction: float | None) -> str:
    """Red (0) → amber → green (1 or more); grey when there is nothing to measure."""
    if fraction is None:
        return "#d5d9de"
    hue = int(120 * max(0.0, min(1.0, fraction)))
    return f"hsl({hue},70%,55%)"


class Projection:
    def __init__(self, bbox: tuple[float, float, float, float], width: int = MAP_WIDTH) -> None:
        min_lon, min_lat, max_lon, max_lat = bbox
        pad_lon, pad_lat = (max_lon - min_lon) * 0.03 or 0.005, (max_lat - min_lat) * 0.03 or 0.005
        self.min_lon, self.max_lat = min_lon - pad_lon, max_lat + pad_lat
        self.kx = math.cos(math.radians((min_lat + max_lat) / 2))
        span_x = (max_lon - min_lon + 2 * pad_lon) * self.kx
        span_y = max_lat - min_lat + 2 * pad_lat
        self.scale = width / span_x
        self.width, self.height = width, max(200, int(span_y * self.scale))

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (round((lon - self.min_lon) * self.kx * self.scale, 1), round((self.max_lat - lat) * self.scale, 1))

    def path(self, geometry: dict[str, Any]) -> str:
        polys = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        parts = []
        for poly in polys:
            for ring in poly:
                pts = [self.xy(p[0], p[1]) for p in ring]
                parts.append("M" + " L".join(f"{x},{y}" for x, y in pts) + " Z")
        return " ".join(parts)


def _bbox(geoms: list[dict[str, Any]]) -> tuple[float, float, float, float] | None:
    lons, lats = [], []
    for g in geoms:
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        for poly in polys:
            for ring in poly:
                lons.extend(p[0] for p in ring)
                lats.extend(p[1] for p in ring)
    return (min(lons), min(lats), max(lons), max(lats)) if lons else None


@router.get("/video/map", response_class=HTMLResponse)
def video_map(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
    area: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z]{0,20}$")] = None,
    colour: Annotated[str, Query(pattern="^(density|intact)$")] = "density",
) -> HTMLResponse:
    tree = AreaTree.load(session, geometry=True)
    scope = visibility(session, principal)
    coverage = Coverage(session, runtime.video, tree)
    grid_kpis: dict[str, Kpi] = coverage.by_grid(scope)
    focus = area if area and area in tree.areas else None
    inside = set(tree.descendants(focus)) if focus else set(tree.areas)
    grids = [tree.areas[c] for c in grid_kpis if c in inside and tree.areas[c].geometry]
    streets = [a for a in tree.at_level("street") if a.code in inside and a.geometry]
    districts = [a for a in tree.at_level("district") if a.geometry and not focus]
    bbox = _bbox([a.geometry for a in (grids + streets) if a.geometry]) or _bbox(
        [a.geometry for a in districts if a.geometry]
    )
    target_density = runtime.video.target_density_per_km2
    target_intact = runtime.video.target_intact_other
    shapes, dots = [], []
    proj = Projection(bbox) if bbox else None
    cams = []
    if proj is not None:
        for a in districts:
            shapes.append(
                {
                    "d": proj.path(a.geometry),
                    "cls": "district",
                    "fill": "none",  # type: ignore[arg-type]
                    "title": a.name,
                    "code": a.code,
                }
            )
        for a in streets:
            shapes.append(
                {
                    "d": proj.path(a.geometry),
                    "cls": "street",
                    "fill": "none",  # type: ignore[arg-type]
                    "title": a.name,
                    "code": a.code,
                }
            )
        for a in grids:
            k = grid_kpis[a.code]
            if colour == "density":
                value = k.density_per_km2 / target_density if k.density_per_km2 is not None and target_density else None
                label = f"{k.density_per_km2 or 0:.1f} 路/km² (目标 {target_density:g})"
            else:
                value = (k.intact_rate / target_intact) if k.intact_rate is not None else None
                label = "完好率 " + (f"{k.intact_rate:.0%}" if k.intact_rate is not None else "—")
            shapes.append(
                {
                    "d": proj.path(a.geometry),
                    "cls": "grid" + (" key" if a.key_place else ""),  # type: ignore[arg-type]
                    "fill": _colour(value),
                    "code": a.code,
                    "title": f"{a.name} ({a.code}) · {k.cameras} 路 · {label}" + (" · 重点区域" if a.key_place else ""),
                }
            )
        stmt = select(Camera.id, Camera.name, Camera.lat, Camera.lon, Camera.status, Camera.key_place).where(
            scope, Camera.lat.is_not(None), Camera.lon.is_not(None)
        )
        if focus:
            stmt = stmt.where(Camera.area_code.in_(sorted(inside)))
        cams = list(session.execute(stmt.order_by(Camera.id).limit(MAX_DOTS + 1)))
        for c in cams[:MAX_DOTS]:
            x, y = proj.xy(c.lon, c.lat)
            if -5 <= x <= proj.width + 5 and -5 <= y <= proj.height + 5:
                dots.append(
                    {
                        "id": c.id,
                        "x": x,
                        "y": y,
                        "status": c.status,
                        "key": c.key_place,
                        "title": f"{c.name} · {c.status}",
                    }
                )
    return templates.TemplateResponse(
        request,
        "video_map.html",
        {
            "principal": principal,
            "proj": proj,
            "shapes": shapes,
            "dots": dots,
            "truncated": len(cams) > MAX_DOTS,
            "max_dots": MAX_DOTS,
            "colour": colour,
            "area": focus,
            "streets": tree.at_level("street"),
            "areas": {c: a.name for c, a in tree.areas.items()},
            "target_density": target_density,
            "target_intact": target_intact,
        },
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
