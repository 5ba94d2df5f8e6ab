"""Reading the catalogue with each viewer's visibility applied in SQL.

- ops-engineer: every camera;
- dept-admin: cameras their department owns;
- security-staff: cameras shared to their platform (directly, through a group subtree or an
  admin-area subtree), grants neither revoked nor expired; staff of the master platform see all.
Anyone else sees nothing. Area and group subtrees are resolved from their small tables into
IN lists, so the camera table is read through its indexes on both SQLite and PostgreSQL. Paging
is keyset on the camera ID so page 10,000 costs what page 1 does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Select, String, and_, any_, bindparam, false, or_, select, true
from sqlalchemy.orm import Session, load_only

from govops.errors import NotFound
from govops.principal import DEPT_ADMIN, SECURITY_STAFF, Principal
from video.catalogue.models import Camera, ShareGrant, SharePlatform
from video.catalogue.tree import area_codes_under, group_subtree

MAX_PAGE = 500
# What a list page shows (Camera.as_dict and the console list); profiles, capabilities and the
# other JSON columns stay in the database until a camera's own page asks for them.
LIST_COLUMNS = (Camera.id, Camera.name, Camera.department_code, Camera.area_code, Camera.group_id,
                Camera.lat, Camera.lon, Camera.key_place, Camera.status, Camera.networked,
                Camera.manufacturer, Camera.model, Camera.stream_url, Camera.onvif_address,
                Camera.last_seen, Camera.picture_fault)


@dataclass(frozen=True)
class CameraFilter:
    department: str | None = None
    area: str | None = None  # an area code; matches the area and everything under it
    status: str | None = None
    key_place: bool | None = None
    q: str | None = None  # name contains
    platform: str | None = None  # shared to this platform
    group: str | None = None  # in this group's subtree
    networked: bool | None = None


def _in(session: Session, column: Any, values: list[str], name: str) -> ColumnElement[bool]:
    """column IN (values), built for thousands of values.

    The database must see the values themselves (its planner then estimates from statistics; a
    subquery here makes SQLite sort a whole street), but not as thousands of parameters:
    PostgreSQL gets one array parameter (`= ANY(:p)`), SQLite one expanding parameter. Neither
    path coerces the list value by value in Python.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(name, value=values, type_=ARRAY(String())))
    return column.in_(bindparam(name, value=values, expanding=True, type_=String()))


@dataclass(frozen=True)
class PlatformGrants:
    """What a platform may see, resolved: `everything` for the master, else camera IDs, the
    group subtrees' IDs and the area subtrees' codes of its grants in force."""

    exists: bool
    everything: bool = False
    cameras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()


def platform_grants(session: Session, platform_code: str) -> PlatformGrants:
    now = datetime.now(UTC)
    rows = session.connection().execute(  # Core: a platform may hold thousands of grants
        select(SharePlatform.kind, ShareGrant.subject_kind, ShareGrant.subject_id)
        .select_from(SharePlatform)
        .outerjoin(ShareGrant, and_(
            ShareGrant.platform_code == SharePlatform.code, SharePlatform.kind != "master",
            ShareGrant.revoked_at.is_(None),
            or_(ShareGrant.expires_at.is_(None), ShareGrant.expires_at > now)))
        .where(SharePlatform.code == platform_code)
    ).all()
    if not rows:
        return PlatformGrants(exists=False)
    if rows[0].kind == "master":
        return PlatformGrants(exists=True, everything=True)
    cams = sorted({r.subject_id for r in rows if r.subject_kind == "camera"})
    groups = sorted({r.subject_id for r in rows if r.subject_kind == "group"})
    areas = sorted({r.subject_id for r in rows if r.subject_kind == "area"})
    return PlatformGrants(
        exists=True, cameras=tuple(cams),
        groups=tuple(group_subtree(session, groups)) if groups else (),
        areas=tuple(area_codes_under(session, *areas)) if areas else ())


def grants_clause(session: Session, g: PlatformGrants, *, areas: bool = True) -> ColumnElement[bool]:
    """The SQL condition for resolved grants (without the area part when `areas` is False)."""
    if not g.exists:
        return false()
    if g.everything:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if g.cameras:
        clauses.append(_in(session, Camera.id, list(g.cameras), "shared_cameras"))
    if g.groups:
        clauses.append(_in(session, Camera.group_id, list(g.groups), "shared_groups"))
    if g.areas and areas:
        clauses.append(_in(session, Camera.area_code, list(g.areas), "shared_areas"))
    return or_(*clauses) if clauses else false()


def platform_scope(session: Session, platform_code: str) -> ColumnElement[bool]:
    """The cameras a platform may see, as one SQL condition."""
    return grants_clause(session, platform_grants(session, platform_code))


def visibility(session: Session, principal: Principal) -> ColumnElement[bool]:
    if principal.sees_all_cameras:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if principal.has(DEPT_ADMIN) and principal.department:
        clauses.append(Camera.department_code == principal.department)
    if principal.has(SECURITY_STAFF) and principal.platform:
        clauses.append(platform_scope(session, principal.platform))
    return or_(*clauses) if clauses else false()


def apply_filter(session: Session, stmt: Select[Any], f: CameraFilter) -> Select[Any]:
    if f.department:
        stmt = stmt.where(Camera.department_code == f.department)
    if f.area:
        stmt = stmt.where(_in(session, Camera.area_code, area_codes_under(session, f.area), "filter_areas"))
    if f.status:
        stmt = stmt.where(Camera.status == f.status)
    if f.key_place is not None:
        stmt = stmt.where(Camera.key_place.is_(f.key_place))
    if f.networked is not None:
        stmt = stmt.where(Camera.networked.is_(f.networked))
    if f.q:
        stmt = stmt.where(Camera.name.contains(f.q, autoescape=True))
    if f.platform:
        stmt = stmt.where(platform_scope(session, f.platform))
    if f.group:
        stmt = stmt.where(_in(session, Camera.group_id, group_subtree(session, [f.group]), "filter_groups"))
    return stmt


def camera_query(session: Session, principal: Principal, f: CameraFilter) -> Select[tuple[Camera]]:
    return apply_filter(session, select(Camera).where(visibility(session, principal)), f)


def list_statement(session: Session, principal: Principal, f: CameraFilter | None = None,
                   after: str | None = None, limit: int = 50) -> Select[Any]:
    """The one SELECT a page of the list runs (also what the benchmark compares with raw SQL)."""
    stmt = camera_query(session, principal, f or CameraFilter())
    if after:
        stmt = stmt.where(Camera.id > after)
    return stmt.options(load_only(*LIST_COLUMNS)).order_by(Camera.id).limit(max(1, min(limit, MAX_PAGE)))


def list_cameras(session: Session, principal: Principal, f: CameraFilter | None = None,
                 after: str | None = None, limit: int = 50) -> list[Camera]:
    return list(session.scalars(list_statement(session, principal, f, after, limit)))


def get_camera(session: Session, principal: Principal, camera_id: str) -> Camera:
    """A camera the principal may see; an invisible camera is reported as not found."""
    cam = session.scalar(select(Camera).where(Camera.id == camera_id, visibility(session, principal)))
    if cam is None:
        raise NotFound(f"camera {camera_id} not found", hint="check the ID with `govops video list`")
    return cam
