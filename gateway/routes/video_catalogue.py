"""The Sharp Eyes catalogue API: platforms and share grants ("1+2+X"), 215/216 groups, admin
areas, import/export (CSV, GeoJSON, GB/T 28181 Catalog XML) and the coverage KPIs.

Changes are for ops-engineers and audited; reads are scoped to what the caller may see.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from gateway.deps import LOCAL_TIME, Ops, RuntimeDep, SessionDep, ZoneDep
from gateway.deps import CameraOperator as Watcher
from gateway.deps import CameraViewer as Viewer
from gateway.http.openapi import media
from gateway.http.params import IntId, RequestBody
from gateway.pagination import Page, PageDep, page_of
from govops.errors import PermissionDenied, ValidationFailed
from govops.inputs import decoded
from govops.localtime import assumed_local
from govops.principal import OPS_ENGINEER
from video.catalogue import io as catalogue_io
from video.catalogue import sharing, tree
from video.catalogue.models import CatalogueGroup
from video.catalogue.queries import CameraFilter
from video.catalogue.readers import RowProblem
from video.coverage import Coverage

router = APIRouter(prefix="/api/video", tags=["video"])
MAX_UPLOAD = 200 * 1024 * 1024


# --- platforms and grants ------------------------------------------------------------------


class PlatformIn(RequestBody):
    code: str = Field(max_length=50)
    name: str = Field(max_length=200)
    kind: Literal["master", "sub", "x"] = "x"
    parent: str | None = Field(default=None, max_length=50)
    gb_id: str | None = Field(default=None, pattern=r"^[0-9]{20}$")


@router.get("/platforms")
def list_platforms(session: SessionDep, _: Viewer, page: PageDep) -> dict[str, Any]:
    return page_of([p.as_dict() for p in sharing.platforms(session)], page, key="code", sort=True)


@router.post("/platforms", status_code=201)
def save_platform(body: PlatformIn, session: SessionDep, principal: Ops) -> dict[str, Any]:
    """Add an X platform (城管, 环保, 应急 …) or change one."""
    return sharing.save_platform(
        session,
        code=body.code,
        name=body.name,
        kind=body.kind,
        parent_code=body.parent,
        gb_id=body.gb_id,
        actor=principal.subject,
    ).as_dict()


class GrantIn(RequestBody):
    platform: str = Field(max_length=50)
    subject_kind: Literal["camera", "group", "area"]
    subject_id: str = Field(max_length=20)
    reason: str = Field(min_length=4, max_length=500)
    expires_at: datetime | None = Field(default=None, description=LOCAL_TIME)


class RevokeIn(RequestBody):
    reason: str = Field(min_length=4, max_length=500)


@router.get("/shares")
def list_shares(
    session: SessionDep,
    principal: Watcher,
    platform: Annotated[str | None, Query(max_length=50)] = None,
    include_inactive: bool = False,
    page: PageDep = Page(),
) -> dict[str, Any]:
    """Security staff see the grants of their own platform only."""
    if not principal.has(OPS_ENGINEER):
        if platform and platform != principal.platform:
            raise PermissionDenied("security staff see the grants of their own platform only")
        platform = principal.platform or "\x00"
    grants = sharing.list_grants(session, platform=platform, include_inactive=include_inactive)
    return page_of([g.as_dict() for g in grants], page, key="id", sort=True)


@router.post("/shares", status_code=201)
def grant(body: GrantIn, session: SessionDep, zone: ZoneDep, principal: Ops) -> dict[str, Any]:
    """Share a camera, a group (with its subtree) or an admin area to a platform."""
    return sharing.grant(
        session,
        platform=body.platform,
        subject_kind=body.subject_kind,
        subject_id=body.subject_id,
        reason=body.reason,
        actor=principal.subject,
        expires_at=assumed_local(body.expires_at, zone),
    ).as_dict()


@router.post("/shares/{grant_id}/revoke")
def revoke(grant_id: IntId, body: RevokeIn, session: SessionDep, principal: Ops) -> dict[str, Any]:
    return sharing.revoke(session, grant_id, reason=body.reason, actor=principal.subject).as_dict()


# --- groups and areas --------------------------------------------------------------------------


class GroupIn(RequestBody):
    id: str = Field(pattern=r"^[0-9]{20}$")
    name: str = Field(min_length=1, max_length=200)
    parent: str | None = Field(default=None, pattern=r"^[0-9]{20}$")


@router.get("/groups")
def list_groups(session: SessionDep, _: Viewer, page: PageDep) -> dict[str, Any]:
    from sqlalchemy import select

    groups = session.scalars(select(CatalogueGroup).order_by(CatalogueGroup.type, CatalogueGroup.id))
    return page_of([g.as_dict() for g in groups], page, key="id", sort=True)


@router.post("/groups", status_code=201)
def save_group(body: GroupIn, session: SessionDep, principal: Ops) -> dict[str, Any]:
    """Business group (215, top level) or virtual organisation (216, under a 215 or 216)."""
    return tree.save_group(
        session, group_id=body.id, name=body.name, parent_id=body.parent, actor=principal.subject
    ).as_dict()


@router.delete("/groups/{group_id}", status_code=204)
def delete_group(group_id: str, session: SessionDep, principal: Ops) -> Response:
    tree.delete_group(session, group_id, principal.subject)
    return Response(status_code=204)


@router.get("/areas")
def areas(
    session: SessionDep,
    _: Viewer,
    level: Annotated[str | None, Query(pattern="^(district|street|community|grid)$")] = None,
) -> dict[str, Any]:
    """The admin-division tree as GeoJSON (polygons in WGS 84)."""
    return catalogue_io.export_areas(session, level)


async def _body(request: Request) -> bytes:
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_UPLOAD:
        raise ValidationFailed(f"the upload is over {MAX_UPLOAD // 2**20} MB; split it")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_UPLOAD:
            raise ValidationFailed(f"the upload is over {MAX_UPLOAD // 2**20} MB; split it")
    return bytes(data)


def _json(data: bytes) -> Any:
    return catalogue_io.load_json(decoded(data, "the body"))


@router.post("/areas/import")
async def import_areas(request: Request, principal: Ops, runtime: RuntimeDep, dry_run: bool = False) -> JSONResponse:
    """A GeoJSON FeatureCollection of admin areas (code, name, level, parent, key_place)."""
    doc = _json(await _body(request))

    def work() -> catalogue_io.ImportReport:
        with runtime.transaction() as session:
            return catalogue_io.import_areas(session, doc, actor=principal.subject, dry_run=dry_run)

    report = await run_in_threadpool(work)
    return JSONResponse(report.as_dict(), status_code=200 if report.ok else 422)


@router.post("/import")
async def import_cameras(
    request: Request,
    principal: Ops,
    runtime: RuntimeDep,
    format: Annotated[Literal["csv", "geojson"], Query()] = "csv",
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> JSONResponse:
    """Cameras from CSV (columns as in the export) or a GeoJSON FeatureCollection of Points.
    Nothing is written unless every row is valid, or skip_invalid is set."""
    data = await _body(request)
    # a CSV is read row by row, never decoded as one string
    rows: Iterator[dict[str, Any] | RowProblem] = (
        catalogue_io.read_csv(data) if format == "csv" else catalogue_io.read_geojson_cameras(_json(data))
    )

    def work() -> catalogue_io.ImportReport:
        with runtime.transaction() as session:
            return catalogue_io.import_cameras(
                session,
                rows,
                actor=principal.subject,
                source=f"api:{format}",
                dry_run=dry_run,
                skip_invalid=skip_invalid,
            )

    report = await run_in_threadpool(work)
    return JSONResponse(report.as_dict(), status_code=200 if report.written or (report.ok and dry_run) else 422)


# --- export ------------------------------------------------------------------------------------


def _stream(runtime: RuntimeDep, produce: Any, media_type: str, filename: str) -> StreamingResponse:
    """Stream from a session of its own: the request's session closes before streaming ends."""

    def body() -> Any:
        with runtime.sessions() as s:
            yield from produce(s)

    return StreamingResponse(
        body(), media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/export.csv", response_class=Response, responses=media("text/csv", description="The catalogue (CSV)"))
def export_csv(
    runtime: RuntimeDep,
    principal: Viewer,
    area: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z]{1,20}$")] = None,
    platform: Annotated[str | None, Query(max_length=50)] = None,
) -> StreamingResponse:
    f = CameraFilter(area=area, platform=platform)
    return _stream(
        runtime, lambda s: catalogue_io.export_csv(s, principal, f), "text/csv; charset=utf-8", "cameras.csv"
    )


@router.get(
    "/export.geojson", response_class=Response, responses=media("application/geo+json", description="The catalogue")
)
def export_geojson(
    runtime: RuntimeDep,
    principal: Viewer,
    area: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z]{1,20}$")] = None,
    platform: Annotated[str | None, Query(max_length=50)] = None,
) -> StreamingResponse:
    f = CameraFilter(area=area, platform=platform)
    return _stream(
        runtime, lambda s: catalogue_io.export_geojson(s, principal, f), "application/geo+json", "cameras.geojson"
    )


@router.get(
    "/catalog.xml",
    response_class=Response,
    responses=media("application/MANSCDP+xml", description="GB/T 28181 catalogue (MANSCDP)"),
)
def catalog_xml(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
    platform: Annotated[str | None, Query(max_length=50)] = None,
    sn: Annotated[int, Query(ge=1, le=2**31)] = 1,
) -> Response:
    """The GB/T 28181 Catalog answer body for an upper platform (GB2312)."""
    body = catalogue_io.export_catalog_xml(session, principal, runtime.video, platform=platform, sn=sn)
    charset = body[:60].split(b'encoding="')[1].split(b'"')[0].decode()
    return Response(body, media_type=f"application/MANSCDP+xml; charset={charset}")


# --- KPIs --------------------------------------------------------------------------------------


@router.get("/kpi")
def kpi(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
    by: Annotated[Literal["area", "platform", "grid"], Query()] = "area",
    level: Annotated[str | None, Query(pattern="^(district|street|community|grid)$")] = None,
) -> dict[str, Any]:
    """在线率, 完好率, 联网率, key-place coverage and density, with the targets they are held to.
    Ops see the whole district; others see KPIs over the cameras they may see."""
    coverage = Coverage(session, runtime.video)
    if by == "platform":
        if not principal.has(OPS_ENGINEER):
            raise PermissionDenied("KPIs per platform are for operations engineers")
        items = coverage.by_platform()
    elif by == "grid":
        from video.catalogue.queries import visibility

        items = list(coverage.by_grid(visibility(session, principal)).values())
    else:
        items = coverage.for_principal(principal, level)
    return {"targets": coverage.targets(), "items": [k.as_dict() for k in items]}
