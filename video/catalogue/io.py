"""Import and export of the catalogue: CSV, GeoJSON, and the GB/T 28181 Catalog answer.

Imports validate every row first and report every problem with its row number and field; by
default nothing is written unless all rows are valid (`skip_invalid` writes the good ones).
Exports stream in keyset pages, so a million cameras never sit in memory at once, and only ever
contain what the caller may see. No credential is imported or exported: a stream URL with a
user:password@ in it is refused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import NotFound, ValidationFailed
from govops.inputs import load_json
from govops.org import Department
from govops.principal import Principal
from govops.spreadsheet import cell_out
from video import gbt28181
from video.catalogue.models import CAMERA_STATUSES, AdminArea, Camera, CatalogueGroup, SharePlatform
from video.catalogue.queries import CameraFilter, camera_query, platform_scope
from video.catalogue.readers import (
    CSV_COLUMNS,
    RowProblem,
    parse_bool,
    parse_float,
    parse_stream_url,
    parse_text,
    read_csv,
    read_geojson_cameras,
)
from video.catalogue.settings import VideoSettings
from video.catalogue.tree import AreaTree, upsert_area

__all__ = [
    "CSV_COLUMNS",
    "ImportReport",
    "export_areas",
    "export_catalog_xml",
    "export_csv",
    "export_geojson",
    "import_areas",
    "import_cameras",
    "load_json",
    "read_csv",
    "read_geojson_cameras",
]
MAX_ROWS = 2_000_000
# An import that will not be written (errors, no --skip-invalid) stops reading after this many
# errors: a huge broken file fails early, and nothing of it is kept but the errors.
MAX_ERRORS = 1000


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False
    stopped_early: bool = False  # a broken file: reading stopped at MAX_ERRORS errors

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, row: int, fld: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "field": fld, "message": message})

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "dry_run": self.dry_run,
            "written": self.written,
            "stopped_early": self.stopped_early,
            "ok": self.ok,
            "errors": self.errors,
        }


class _Lookups:
    def __init__(self, session: Session) -> None:
        self.departments = set(session.scalars(select(Department.code)))
        self.tree = AreaTree.load(session)
        self.groups = {g.id: g.type for g in session.scalars(select(CatalogueGroup))}

    def division_of(self, area: str) -> str | None:
        for code in self.tree.ancestors(area):
            if len(code) >= 6 and code[:6].isdigit():
                return code[:6]
        return None


def _clean_camera(row: dict[str, Any], lk: _Lookups) -> dict[str, Any]:
    """One row as column values, or ValidationFailed naming the field (message 'field: why')."""

    def fail(fld: str, why: str) -> ValidationFailed:
        return ValidationFailed(f"{fld}: {why}")

    cam_id = str(row.get("id") or "").strip()
    try:
        gbt28181.parse_camera(cam_id)
    except ValidationFailed as exc:
        raise fail("id", exc.message) from None
    try:
        name = parse_text(row.get("name"), "name", 200, required=True)
    except ValidationFailed as exc:
        raise fail("name", exc.message.removeprefix("name ")) from None
    dept = str(row.get("department") or "").strip()
    if dept not in lk.departments:
        raise fail("department", f"{dept!r} is not a known department")
    area = str(row.get("area") or "").strip() or None
    if area is not None:
        if area not in lk.tree.areas:
            raise fail("area", f"{area!r} is not a known admin area")
        division = lk.division_of(area)
        if division and cam_id[:6] != division:
            raise fail("id", f"division {cam_id[:6]} does not match area {area} (division {division})")
    group = str(row.get("group") or "").strip() or None
    if group is not None and lk.groups.get(group) != gbt28181.VIRTUAL_ORG:
        raise fail("group", f"{group!r} is not a virtual organisation (216) in the catalogue")
    out: dict[str, Any] = {"id": cam_id, "name": name, "department_code": dept, "area_code": area, "group_id": group}
    for fld, lo, hi in (("lat", -90, 90), ("lon", -180, 180)):
        try:
            out[fld] = parse_float(row.get(fld), fld, lo, hi)
        except ValidationFailed as exc:
            raise fail(fld, exc.message) from None
    for fld in ("key_place", "networked"):
        try:
            v = parse_bool(row.get(fld), fld)
        except ValidationFailed as exc:
            raise fail(fld, exc.message) from None
        if v is not None:
            out[fld] = v
    status = str(row.get("status") or "").strip()
    if status:
        if status not in CAMERA_STATUSES:
            raise fail("status", f"must be one of {', '.join(CAMERA_STATUSES)}")
        out["status"] = status
    for fld, n in (("install_address", 300), ("manufacturer", 100), ("model", 100)):
        try:
            text = parse_text(row.get(fld), fld, n)
        except ValidationFailed as exc:
            raise fail(fld, exc.message.removeprefix(f"{fld} ")) from None
        if text:
            out[fld] = text
    try:
        url = parse_stream_url(row.get("stream_url"))
    except ValidationFailed as exc:
        raise fail("stream_url", exc.message) from None
    if url:
        out["stream_url"] = url
    return out


def import_cameras(
    session: Session,
    rows: Iterable[dict[str, Any] | RowProblem],
    *,
    actor: str,
    source: str = "upload",
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> ImportReport:
    report = ImportReport(kind="cameras", dry_run=dry_run)
    lk = _Lookups(session)
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    digest = hashlib.sha256()
    for n, row in enumerate(rows, start=2):  # row 1 is the header
        if report.errors and not skip_invalid:
            clean.clear()  # the file will not be written: keep its errors, not its rows
            if len(report.errors) >= MAX_ERRORS:
                report.stopped_early = True
                break
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise ValidationFailed(f"more than {MAX_ROWS} rows; split the file")
        if isinstance(row, RowProblem):
            report.error(n, row.field, row.message)
            continue
        digest.update(json.dumps(row, sort_keys=True, default=str, ensure_ascii=False).encode())
        try:
            values = _clean_camera(row, lk)
        except ValidationFailed as exc:
            fld, _, why = exc.message.partition(": ")
            report.error(n, fld, why)
            continue
        if values["id"] in seen:
            report.error(n, "id", f"{values['id']} appears twice in the file")
            continue
        seen.add(values["id"])
        if skip_invalid or not report.errors:
            clean.append(values)
    if report.errors and not skip_invalid:
        return report
    report.skipped = report.rows - len(clean)
    if dry_run:  # what would be created and updated, read, not written
        for i in range(0, len(clean), 1000):
            ids = [v["id"] for v in clean[i : i + 1000]]
            known = len(set(session.scalars(select(Camera.id).where(Camera.id.in_(ids)))))
            report.updated += known
            report.created += len(ids) - known
        return report
    now = datetime.now(UTC)
    for i in range(0, len(clean), 1000):
        batch = clean[i : i + 1000]
        existing = {c.id: c for c in session.scalars(select(Camera).where(Camera.id.in_([v["id"] for v in batch])))}
        for values in batch:
            cam = existing.get(values["id"])
            if cam is None:
                session.add(
                    Camera(
                        created_at=now,
                        profiles=[],
                        capabilities={},
                        presets=[],
                        status=values.pop("status", "unknown"),
                        key_place=values.pop("key_place", False),
                        networked=values.pop("networked", True),
                        picture_fault=False,
                        **values,
                    )
                )
                report.created += 1
            else:
                for k, v in values.items():
                    setattr(cam, k, v)
                report.updated += 1
        session.flush()
    report.written = True
    audit.append(
        session,
        actor=actor,
        action="video.catalogue.import",
        target=source,
        detail={
            "kind": "cameras",
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "skipped": report.skipped,
            "sha256": digest.hexdigest(),
        },
    )
    return report


def import_areas(
    session: Session, doc: Any, *, actor: str, source: str = "upload", dry_run: bool = False
) -> ImportReport:
    """Admin areas from a GeoJSON FeatureCollection: properties code, name, level, parent,
    key_place; geometry Polygon/MultiPolygon. Parents must come before children."""
    report = ImportReport(kind="areas", dry_run=dry_run)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ValidationFailed("the GeoJSON must be a FeatureCollection")
    features = doc.get("features") or []
    if not isinstance(features, list):
        raise ValidationFailed('the GeoJSON "features" must be a list of Features')
    pending: dict[str, str] = {}
    levels = {a.code: a.level for a in session.scalars(select(AdminArea))}
    with session.begin_nested() as nested:
        for n, feature in enumerate(features, start=1):
            report.rows += 1
            props = feature.get("properties") if isinstance(feature, dict) else None
            if not isinstance(props, dict):
                report.error(n, "feature", "a feature is an object with an object of properties")
                continue
            try:
                key_place = parse_bool(props.get("key_place"), "key_place") or False
                _, created = upsert_area(
                    session,
                    code=str(props.get("code") or "").strip(),
                    name=str(props.get("name") or "").strip(),
                    level=str(props.get("level") or "").strip(),
                    parent_code=(str(props.get("parent") or "").strip() or None),
                    geometry=feature.get("geometry"),
                    key_place=key_place,
                    pending={**levels, **pending},
                )
            except ValidationFailed as exc:
                report.error(n, "feature", exc.message)
                continue
            pending[str(props.get("code")).strip()] = str(props.get("level")).strip()
            if created:
                report.created += 1
            else:
                report.updated += 1
            session.flush()
        if report.errors or dry_run:
            nested.rollback()
            return report
    report.written = True
    audit.append(
        session,
        actor=actor,
        action="video.catalogue.import",
        target=source,
        detail={"kind": "areas", "rows": report.rows, "created": report.created, "updated": report.updated},
    )
    return report


# --- writing -----------------------------------------------------------------------------------


def iter_cameras(session: Session, stmt: Select[tuple[Camera]], batch: int = 2000) -> Iterator[Camera]:
    """Keyset pages of `stmt` (a select of Camera), expunged as they pass."""
    after: str | None = None
    while True:
        page_stmt = stmt.order_by(Camera.id).limit(batch)
        if after is not None:
            page_stmt = page_stmt.where(Camera.id > after)
        page: list[Camera] = list(session.scalars(page_stmt))
        yield from page
        if len(page) < batch:
            return
        after = page[-1].id
        session.expunge_all()


def _row(cam: Camera) -> list[str]:
    values = [
        cam.id,
        cam.name,
        cam.department_code,
        cam.area_code,
        cam.group_id,
        "" if cam.lat is None else cam.lat,
        "" if cam.lon is None else cam.lon,
        "true" if cam.key_place else "false",
        cam.status,
        "true" if cam.networked else "false",
        cam.install_address,
        cam.manufacturer,
        cam.model,
        _public_url(cam.stream_url),
    ]
    return [cell_out(v) for v in values]


def _public_url(url: str | None) -> str:
    if not url or "://" not in url:
        return ""  # a local clip path is not part of the catalogue
    parts = urlsplit(url)
    return url.replace(parts.netloc, parts.netloc.rpartition("@")[2], 1)


def export_csv(session: Session, principal: Principal, f: CameraFilter | None = None) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    yield buf.getvalue()
    for cam in iter_cameras(session, camera_query(session, principal, f or CameraFilter())):
        buf.seek(0)
        buf.truncate()
        writer.writerow(_row(cam))
        yield buf.getvalue()


def camera_feature(cam: Camera) -> dict[str, Any]:
    props: dict[str, Any] = dict(zip(CSV_COLUMNS, _row(cam), strict=True))
    props["key_place"], props["networked"] = cam.key_place, cam.networked
    props.pop("lat"), props.pop("lon")
    geometry = (
        {"type": "Point", "coordinates": [cam.lon, cam.lat]} if cam.lat is not None and cam.lon is not None else None
    )
    return {"type": "Feature", "id": cam.id, "geometry": geometry, "properties": props}


def export_geojson(session: Session, principal: Principal, f: CameraFilter | None = None) -> Iterator[str]:
    yield '{"type":"FeatureCollection","features":['
    first = True
    for cam in iter_cameras(session, camera_query(session, principal, f or CameraFilter())):
        yield ("" if first else ",") + json.dumps(camera_feature(cam), ensure_ascii=False)
        first = False
    yield "]}"


def export_areas(session: Session, level: str | None = None) -> dict[str, Any]:
    stmt = select(AdminArea).order_by(AdminArea.code)
    if level:
        stmt = stmt.where(AdminArea.level == level)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": a.code,
                "geometry": a.geometry,
                "properties": {
                    "code": a.code,
                    "name": a.name,
                    "level": a.level,
                    "parent": a.parent_code,
                    "key_place": a.key_place,
                    "area_km2": a.area_km2,
                },
            }
            for a in session.scalars(stmt)
        ],
    }


def platform_gb_id(platform: SharePlatform | None, settings: VideoSettings) -> str:
    if platform is not None and platform.gb_id:
        return platform.gb_id
    return gbt28181.make(
        settings.division, 1, type_code=gbt28181.PLATFORM_TYPE, industry=settings.industry, network=settings.network
    )


def export_catalog_xml(
    session: Session, principal: Principal, settings: VideoSettings, *, platform: str | None = None, sn: int = 1
) -> bytes:
    """The Catalog answer for an upper platform: the district, the 215/216 groups in use (with
    their ancestors), and every camera the platform (and the caller) may see."""
    stmt = camera_query(session, principal, CameraFilter())
    target = None
    if platform:
        target = session.get(SharePlatform, platform)
        if target is None:
            raise NotFound(f"platform {platform} not found")
        stmt = stmt.where(platform_scope(session, platform))
    cameras = list(iter_cameras(session, stmt))
    groups = {g.id: g for g in session.scalars(select(CatalogueGroup))}
    used: dict[str, CatalogueGroup] = {}
    for cam in cameras:
        gid = cam.group_id
        while gid and gid in groups and gid not in used:
            used[gid] = groups[gid]
            gid = groups[gid].parent_id

    def business_group(g: CatalogueGroup) -> str | None:
        while g.parent_id and g.parent_id in groups:
            g = groups[g.parent_id]
        return g.id if g.type == gbt28181.BUSINESS_GROUP else None

    district = session.get(AdminArea, settings.division)
    items = [gbt28181.CatalogItem(settings.division, district.name if district else settings.division)]
    for g in sorted(used.values(), key=lambda g: (g.type, g.id)):
        items.append(
            gbt28181.CatalogItem(
                g.id,
                g.name,
                parent_id=g.parent_id,
                business_group_id=business_group(g) if g.type == gbt28181.VIRTUAL_ORG else None,
            )
        )
    for cam in cameras:
        items.append(
            gbt28181.CatalogItem(
                cam.id,
                cam.name,
                manufacturer=cam.manufacturer,
                model=cam.model,
                owner=cam.department_code,
                civil_code=cam.id[:6],
                address=cam.install_address,
                parent_id=cam.group_id,
                status="ON" if cam.online else "OFF",
                longitude=cam.lon,
                latitude=cam.lat,
            )
        )
    return gbt28181.catalog_xml(platform_gb_id(target, settings), items, sn=sn)
