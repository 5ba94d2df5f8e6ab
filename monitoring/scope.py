"""Which rows about cameras a caller may see, as a condition on the row's camera ID column (an
alert's `camera_id`, a work order's `camera_id`), for lists that page newest first.

The catalogue decides what a camera viewer sees (video.catalogue.queries: a department admin the
department's cameras, security staff the cameras shared to their platform). How the condition is
phrased decides the plan, and the two shapes of a scope want opposite plans:

- a few cameras (a small platform's camera grants): `camera_id IN (the IDs)`, one probe of the
  (camera_id, id) index per camera, then a sort of the few rows found;
- many cameras (a platform holding whole streets, a department's 20,000 cameras): walk the rows
  newest first by primary key and keep those whose camera is in scope, a correlated EXISTS on the
  catalogue's primary key. A page of 50 needs 50 / share rows, a few hundred; reading the IDs
  first would cost a query over the whole share on every request (the shared set of a platform
  with three streets is 16,000 cameras), and `IN (subquery)` makes SQLite build that set per
  request and PostgreSQL hash the whole table.

Camera grants are IDs already and test the row's own column. The IDs under area and group grants
(or a department) are read with a LIMIT one past INLINE_CAMERAS, so deciding costs at most that
many index entries; past it the scope stays a correlated EXISTS.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Select, String, any_, bindparam, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from govops.principal import DEPT_ADMIN, SECURITY_STAFF, Principal
from video.catalogue.models import Camera
from video.catalogue.queries import platform_grants

INLINE_CAMERAS = 1000


def values_in(session: Session, column: Any, values: list[str] | tuple[str, ...]) -> ColumnElement[bool]:
    """column IN (values) as ONE parameter (an array on PostgreSQL, one expanding parameter on
    SQLite, a JSON array that json_each unpacks): `column.in_(list)` makes and renders a bound
    parameter per value in Python, which for a platform's thousand grants cost more than the
    query."""
    if not values:
        return false()
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(String())))
    # SQLite: one JSON text, unpacked by json_each in C (built once per statement, not per row)
    each = func.json_each(bindparam(None, json.dumps(list(values)), type_=String())).table_valued("value")
    return column.in_(select(each.c.value))


def _in_scope(
    session: Session, camera_id: Any, where: ColumnElement[bool], known: tuple[str, ...] = ()
) -> list[ColumnElement[bool]]:
    """`camera_id` in `known` or in the cameras `where` selects: the IDs inline when they are
    few, else one correlated EXISTS holding every grant (one dense part, so the newest-first walk
    stops early; an EXISTS inside an OR makes PostgreSQL hash the whole share per request)."""
    room = INLINE_CAMERAS - len(known)
    ids = list(session.scalars(select(Camera.id).where(where).limit(room + 1))) if room >= 0 else []
    if room >= 0 and len(ids) <= room:
        wanted = sorted({*known, *ids})
        return [values_in(session, camera_id, wanted)] if wanted else []
    if known:
        where = or_(values_in(session, Camera.id, known), where)
    return [exists().where(Camera.id == camera_id, where)]


def shared_camera_parts(session: Session, principal: Principal, camera_id: Any) -> list[ColumnElement[bool]]:
    """Rows whose camera is shared to the security staff's platform. Camera grants are IDs
    already and test the row's own column; area and group grants go through the catalogue."""
    if not (principal.has(SECURITY_STAFF) and principal.platform):
        return []
    g = platform_grants(session, principal.platform)
    if not g.exists:
        return []
    if g.everything:
        return [camera_id.isnot(None)]
    through: list[ColumnElement[bool]] = []
    if g.areas:
        through.append(values_in(session, Camera.area_code, g.areas))
    if g.groups:
        through.append(values_in(session, Camera.group_id, g.groups))
    if not through:
        return [values_in(session, camera_id, g.cameras)] if g.cameras else []
    return _in_scope(session, camera_id, or_(*through), g.cameras)


def department_camera_parts(session: Session, principal: Principal, camera_id: Any) -> list[ColumnElement[bool]]:
    """Rows whose camera belongs to the department admin's department."""
    if not (principal.has(DEPT_ADMIN) and principal.department):
        return []
    return _in_scope(session, camera_id, Camera.department_code == principal.department)


def camera_row_parts(session: Session, principal: Principal, camera_id: Any) -> list[ColumnElement[bool]]:
    """Everything a camera viewer may see, for rows about one camera each, as parts to OR."""
    if principal.sees_all_cameras:
        return [true()]
    return [
        *department_camera_parts(session, principal, camera_id),
        *shared_camera_parts(session, principal, camera_id),
    ]


def any_of(parts: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return or_(*parts) if parts else false()


def newest_first(
    session: Session, stmt: Select[Any], id_column: Any, parts: list[ColumnElement[bool]], limit: int
) -> list[Any]:
    """`limit` rows of `stmt` newest first, restricted to the union of `parts`: one keyset page
    per part, each on its own index, merged (the union of pages is the page of the union)."""
    found: dict[int, Any] = {}
    for part in parts:
        for row in session.scalars(stmt.where(part).order_by(id_column.desc()).limit(limit)):
            found[row.id] = row
    return [found[k] for k in sorted(found, reverse=True)[:limit]]
