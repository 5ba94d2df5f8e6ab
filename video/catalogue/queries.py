"""Reading the catalogue with each viewer's visibility applied in SQL.

- ops-engineer: every camera;
- dept-admin: cameras their department owns;
- security-staff: cameras shared to their platform (directly, through a group subtree or an
  admin-area subtree), grants not expired.
Anyone else sees nothing. Paging is keyset on the camera ID so page 10,000 costs what page 1 does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from govops.errors import NotFound
from govops.principal import DEPT_ADMIN, SECURITY_STAFF, Principal
from video.catalogue.models import Camera, CatalogueGroup, ShareGrant

MAX_PAGE = 500


@dataclass(frozen=True)
class CameraFilter:
    department: str | None = None
    area: str | None = None  # an area code; matches the area and everything under it
    status: str | None = None
    key_place: bool | None = None
    q: str | None = None  # name contains


def _group_subtree(session: Session, roots: list[str]) -> list[str]:
    found, frontier = set(roots), list(roots)
    while frontier:
        children = session.scalars(
            select(CatalogueGroup.id).where(CatalogueGroup.parent_id.in_(frontier))
        ).all()
        frontier = [c for c in children if c not in found]
        found.update(frontier)
    return sorted(found)


def visibility(session: Session, principal: Principal) -> ColumnElement[bool]:
    if principal.sees_all_cameras:
        return and_(True)
    clauses: list[ColumnElement[bool]] = []
    if principal.has(DEPT_ADMIN) and principal.department:
        clauses.append(Camera.department_code == principal.department)
    if principal.has(SECURITY_STAFF) and principal.platform:
        now = datetime.now(UTC)
        grants = session.execute(
            select(ShareGrant.subject_kind, ShareGrant.subject_id).where(
                ShareGrant.platform_code == principal.platform,
                or_(ShareGrant.expires_at.is_(None), ShareGrant.expires_at > now),
            )
        ).all()
        cams = [g.subject_id for g in grants if g.subject_kind == "camera"]
        groups = [g.subject_id for g in grants if g.subject_kind == "group"]
        areas = [g.subject_id for g in grants if g.subject_kind == "area"]
        if cams:
            clauses.append(Camera.id.in_(cams))
        if groups:
            clauses.append(Camera.group_id.in_(_group_subtree(session, groups)))
        # Area codes nest by prefix (district 310116 → street 310116001 → grid ...).
        clauses.extend(Camera.area_code.startswith(a, autoescape=True) for a in areas)
    return or_(*clauses) if clauses else false()


def camera_query(session: Session, principal: Principal, f: CameraFilter) -> Select[tuple[Camera]]:
    stmt = select(Camera).where(visibility(session, principal))
    if f.department:
        stmt = stmt.where(Camera.department_code == f.department)
    if f.area:
        stmt = stmt.where(Camera.area_code.startswith(f.area, autoescape=True))
    if f.status:
        stmt = stmt.where(Camera.status == f.status)
    if f.key_place is not None:
        stmt = stmt.where(Camera.key_place.is_(f.key_place))
    if f.q:
        stmt = stmt.where(Camera.name.contains(f.q, autoescape=True))
    return stmt


def list_cameras(session: Session, principal: Principal, f: CameraFilter | None = None,
                 after: str | None = None, limit: int = 50) -> list[Camera]:
    stmt = camera_query(session, principal, f or CameraFilter())
    if after:
        stmt = stmt.where(Camera.id > after)
    limit = max(1, min(limit, MAX_PAGE))
    return list(session.scalars(stmt.order_by(Camera.id).limit(limit)))


def get_camera(session: Session, principal: Principal, camera_id: str) -> Camera:
    """A camera the principal may see; an invisible camera is reported as not found."""
    cam = session.scalar(select(Camera).where(Camera.id == camera_id, visibility(session, principal)))
    if cam is None:
        raise NotFound(f"camera {camera_id} not found", hint="check the ID with `govops video list`")
    return cam
