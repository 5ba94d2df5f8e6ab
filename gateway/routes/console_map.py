"""The video map (Leaflet + supercluster from npm, served by the gateway) and the command-centre
screen (大屏). The base layer is the district's own GeoJSON (a 视频专网 has no internet tiles);
an operator may add a tile URL of their own (GOVOPS_MAP_TILE_URL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import case, func, select

from gateway.auth import Allow
from gateway.deps import RuntimeDep, SessionDep
from gateway.templating import templates
from govops.alerts import Alert
from govops.principal import DEPT_ADMIN, OPS_ENGINEER, SECURITY_STAFF, Principal
from govops.settings import load_or_explain
from video.catalogue.models import Camera
from video.catalogue.queries import visibility
from video.catalogue.tree import AreaTree
from video.coverage import Coverage
from video.patrol import queries as patrol_queries

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(Allow(OPS_ENGINEER, DEPT_ADMIN, SECURITY_STAFF))]
Watcher = Annotated[Principal, Depends(Allow(OPS_ENGINEER, SECURITY_STAFF))]
STATUSES = ("online", "offline", "faulty", "unknown")
VENDOR = Path(__file__).parent.parent / "static" / "vendor"
Colour = Annotated[str, Query(pattern="^(density|intact)$")]


class MapSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVOPS_", env_file=".env", extra="ignore")

    map_tile_url: str | None = None  # e.g. the 视频专网's own tile server; never a public CDN
    map_tile_attribution: str = ""


def colour(fraction: float | None) -> str:
    """Red (0) → amber → green (1 or more); grey when there is nothing to measure."""
    if fraction is None:
        return "#d5d9de"
    hue = int(120 * max(0.0, min(1.0, fraction)))
    return f"hsl({hue},70%,50%)"


def _assets_missing() -> bool:
    return not (VENDOR / "leaflet" / "leaflet.js").is_file()


@router.get("/video/map", response_class=HTMLResponse)
def video_map(request: Request, runtime: RuntimeDep, principal: Viewer, colour: Colour = "density") -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "video_map.html",
        {
            "principal": principal,
            "colour": colour,
            "tiles": load_or_explain(MapSettings),
            "missing": _assets_missing(),
            "target_density": runtime.video.target_density_per_km2,
            "target_intact": runtime.video.target_intact_other,
        },
    )


@router.get("/video/map/areas.geojson")
def map_areas(session: SessionDep, runtime: RuntimeDep, principal: Viewer, colour: Colour = "density") -> JSONResponse:
    """District, streets, communities and grids; grids carry their colour (density or 完好率 against
    target) and a label, computed over the cameras this user may see."""
    tree = AreaTree.load(session, geometry=True)
    grid_kpis = Coverage(session, runtime.video, tree).by_grid(visibility(session, principal))
    density_target = runtime.video.target_density_per_km2
    intact_target = runtime.video.target_intact_other
    features: list[dict[str, Any]] = []
    for level in ("district", "street", "community", "grid"):
        for a in tree.at_level(level):
            if not a.geometry:
                continue
            props: dict[str, Any] = {"code": a.code, "name": a.name, "level": level, "key_place": a.key_place}
            k = grid_kpis.get(a.code)
            if k is not None:
                if colour == "density":
                    d = k.density_per_km2
                    value = d / density_target if d is not None and density_target else None
                    props["label"] = f"{k.cameras} 路 · {d or 0:.1f} 路/km² (目标 {density_target:g})"
                else:
                    value = k.intact_rate / intact_target if k.intact_rate is not None and intact_target else None
                    rate = f"{k.intact_rate:.0%}" if k.intact_rate is not None else "—"
                    props["label"] = f"{k.cameras} 路 · 完好率 {rate} (目标 {intact_target:.0%})"
                props["fill"] = colour_of(value)
                props["cameras"] = k.cameras
            features.append({"type": "Feature", "properties": props, "geometry": a.geometry})
    return JSONResponse({"type": "FeatureCollection", "features": features})


def colour_of(value: float | None) -> str:
    return colour(value)


@router.get("/video/map/cameras.json")
def map_cameras(session: SessionDep, principal: Viewer, problems: Annotated[bool, Query()] = False) -> Response:
    """Every visible camera with a position, as compact rows (100,000 cameras ≈ 7 MB):
    [id, lat, lon, status index, azimuth°|null, field of view°|null, key place 0/1].
    Direction and field of view are read by the database from the capabilities JSON, and the
    rows are serialised as they come: no ORM objects, no JSON decoding per camera."""
    caps = Camera.capabilities
    stmt = select(
        Camera.id,
        Camera.lat,  # not rounded in SQL: PostgreSQL has no round(double, n), and a Decimal is no float
        Camera.lon,
        case(*((Camera.status == s, i) for i, s in enumerate(STATUSES[:-1])), else_=len(STATUSES) - 1),
        func.coalesce(caps["azimuth_deg"].as_float(), caps["azimuth"].as_float()),
        func.coalesce(caps["fov_deg"].as_float(), caps["fov"].as_float()),
        case((Camera.key_place.is_(True), 1), else_=0),
    ).where(visibility(session, principal), Camera.lat.is_not(None), Camera.lon.is_not(None))
    if problems:  # the command-centre screen: only what needs attention, cheap to reload each minute
        stmt = stmt.where(Camera.status != "online")
    result = session.connection().execute(stmt)
    try:  # the driver's own tuples: only plain numbers and strings here, nothing to convert
        rows = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    body = json.dumps({"statuses": list(STATUSES), "rows": rows}, separators=(",", ":"))
    return Response(body, media_type="application/json")


SCREEN_FACTS = ("online_rate", "intact_rate", "target_online", "target_intact", "cameras", "faults_now")


@router.get("/screen", response_class=HTMLResponse)
def command_screen(request: Request, session: SessionDep, runtime: RuntimeDep, principal: Watcher) -> HTMLResponse:
    """The command centre's wall display: the same numbers as /api/v1/status, readable at 3 m."""
    from gateway.routes.status import status_board

    board = status_board(request).snapshot()
    video = next((c for c in board["subsystems"] if c["subsystem"] == "video"), None)
    # Until the video probe has answered (a loaded machine, the first request) it has no facts:
    # the wall shows a dash for each number.
    facts = dict.fromkeys(SCREEN_FACTS) | (video or {}).get("facts", {})
    alerts = _newest_alerts(session, principal)
    return templates.TemplateResponse(
        request,
        "screen.html",
        {
            "principal": principal,
            "facts": facts,
            "board": board,
            "faults": patrol_queries.faults_now(session, principal, limit=8),
            "alerts": alerts,
            "tiles": load_or_explain(MapSettings),
            "missing": _assets_missing(),
        },
    )


def _newest_alerts(session: SessionDep, principal: Principal, limit: int = 8) -> list[dict[str, Any]]:
    """Firing alerts, newest first. Security staff see only those of cameras shared to their
    platform; platform alerts (no camera) are for ops engineers."""
    rows = session.scalars(select(Alert).where(Alert.status == "firing").order_by(Alert.starts_at.desc()).limit(200))
    alerts = [a.as_dict() for a in rows]
    if principal.has(OPS_ENGINEER):
        return alerts[:limit]
    cams = {str(a["labels"].get("camera")) for a in alerts if (a["labels"] or {}).get("camera")}
    visible = set(session.scalars(select(Camera.id).where(visibility(session, principal), Camera.id.in_(sorted(cams)))))
    return [a for a in alerts if (a["labels"] or {}).get("camera") in visible][:limit]
