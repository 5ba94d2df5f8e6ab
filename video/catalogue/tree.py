"""The two trees of the catalogue: admin divisions (with polygons) and 215/216 groups.

Admin areas: district → street → community → grid, each level exactly one below its parent.
Groups: business groups (215) on top; virtual organisations (216) under a 215 or a 216; nothing
contains a 215; no cycles. Cameras hang under a 216 (or under no group).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import Conflict, NotFound, ValidationFailed
from video import gbt28181
from video.catalogue.models import AREA_LEVELS, AdminArea, Camera, CatalogueGroup
from video.catalogue.prepared import AnySelect, fetch, items

# --- geometry ----------------------------------------------------------------------------------

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320


def _ring_km2(ring: list[list[float]], lat0: float) -> float:
    kx = KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
    pts = [(p[0] * kx, p[1] * KM_PER_DEG_LAT) for p in ring]
    s = 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True):
        s += x1 * y2 - x2 * y1
    return abs(s) / 2


def polygon_km2(geometry: dict[str, Any] | None) -> float | None:
    """Area of a GeoJSON Polygon/MultiPolygon in km² (local equirectangular projection; holes
    subtract). Accurate to well under 1% for district-sized shapes."""
    if not geometry:
        return None
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if not polygons:
        return None
    total = 0.0
    for poly in polygons:
        if not poly or not poly[0]:
            continue
        lat0 = sum(p[1] for p in poly[0]) / len(poly[0])
        outer, *holes = poly
        total += _ring_km2(outer, lat0) - sum(_ring_km2(h, lat0) for h in holes)
    return round(total, 4)


def validate_geometry(geometry: Any, where: str) -> dict[str, Any]:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValidationFailed(f"{where}: geometry must be a GeoJSON Polygon or MultiPolygon")
    polys = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    try:
        for poly in polys:
            for ring in poly:
                if len(ring) < 4 or ring[0] != ring[-1]:
                    raise ValidationFailed(f"{where}: every ring needs 4+ positions and must be closed")
                for lon, lat, *_ in ring:
                    if not (-180 <= float(lon) <= 180 and -90 <= float(lat) <= 90):
                        raise ValidationFailed(f"{where}: position {lon},{lat} is not lon/lat (WGS 84)")
    except (TypeError, ValueError):
        raise ValidationFailed(f"{where}: coordinates are not numbers") from None
    return {"type": geometry["type"], "coordinates": geometry["coordinates"]}


# --- admin areas -------------------------------------------------------------------------------


class AreaTree:
    """The admin-division tree held in memory (a district has at most a few thousand areas)."""

    def __init__(self, areas: Iterable[Any]) -> None:
        """`areas`: AdminArea objects or rows with the same attribute names."""
        self.areas: dict[str, Any] = {a.code: a for a in areas}
        self.children: dict[str | None, list[str]] = {}
        for a in self.areas.values():
            self.children.setdefault(a.parent_code, []).append(a.code)

    @classmethod
    def load(cls, session: Session, *, geometry: bool = False) -> AreaTree:
        """The tree. Without `geometry` (KPIs, lists) it is read as plain rows, no polygons:
        their km² are stored on import; the map asks for the polygons."""
        if geometry:
            return cls(session.scalars(select(AdminArea)))
        t = AdminArea.__table__
        rows = session.connection().execute(
            select(t.c.code, t.c.name, t.c.level, t.c.parent_code, t.c.area_km2, t.c.key_place)
        )
        return cls(rows)  # rows answer to the same attribute names

    def descendants(self, code: str) -> list[str]:
        """`code` and every area under it."""
        out, stack = [], [code]
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(self.children.get(c, ()))
        return out

    def ancestors(self, code: str) -> list[str]:
        """`code` and every area above it, nearest first."""
        out, seen = [], set()
        c: str | None = code
        while c is not None and c in self.areas and c not in seen:
            seen.add(c)
            out.append(c)
            c = self.areas[c].parent_code
        return out

    def at_level(self, level: str) -> list[Any]:
        return sorted((a for a in self.areas.values() if a.level == level), key=lambda a: a.code)

    def area_km2(self, code: str) -> float | None:
        """From the grid polygons under the area when there are grids, else its own shape."""
        grids = [self.areas[c] for c in self.descendants(code) if self.areas[c].level == "grid"]
        shapes = grids or [self.areas[code]]
        total, any_known = 0.0, False
        for a in shapes:
            # area_km2 is computed from the polygon when an area is imported (upsert_area).
            km2 = a.area_km2 if a.area_km2 is not None else polygon_km2(getattr(a, "geometry", None))
            if km2 is not None:
                total += km2
                any_known = True
        return round(total, 4) if any_known else None


def _area_tree_statement(roots: int) -> AnySelect:
    areas = AdminArea.__table__
    child = areas.alias("child")
    tree = (
        select(areas.c.code).where(areas.c.code.in_(items("roots", roots, String()))).cte("area_tree", recursive=True)
    )
    tree = tree.union_all(select(child.c.code).where(child.c.parent_code == tree.c.code))
    return select(tree.c.code)


def area_codes_under(session: Session, *roots: str) -> list[str]:
    """The given areas and every area under them, in one recursive query (SQLite and PostgreSQL).

    Run prepared (tuples, compiled once): a street has hundreds of areas and this runs for every
    filtered list page."""
    if not roots:
        return []
    return [
        r[0]
        for r in fetch(session, ("area_tree", len(roots)), lambda: _area_tree_statement(len(roots)), {"roots": roots})
    ]


def upsert_area(
    session: Session,
    *,
    code: str,
    name: str,
    level: str,
    parent_code: str | None,
    geometry: dict[str, Any] | None,
    key_place: bool = False,
    pending: dict[str, str] | None = None,
) -> tuple[AdminArea, bool]:
    """Create or update one area, checking the level against its parent's.

    `pending` maps codes to levels of areas added in the same import but not flushed yet."""
    if level not in AREA_LEVELS:
        raise ValidationFailed(f"area {code}: level {level!r} is not one of {', '.join(AREA_LEVELS)}")
    if not code or len(code) > 20 or not code.isalnum():
        raise ValidationFailed(f"area code {code!r} must be 1-20 letters or digits")
    if not name or len(name) > 200:
        raise ValidationFailed(f"area {code}: name must be 1-200 characters")
    want_parent_level = AREA_LEVELS[AREA_LEVELS.index(level) - 1] if level != "district" else None
    if want_parent_level is None:
        if parent_code:
            raise ValidationFailed(f"area {code}: a district has no parent")
    else:
        parent_level = (pending or {}).get(parent_code or "")
        if parent_level is None and parent_code:
            parent = session.get(AdminArea, parent_code)
            parent_level = parent.level if parent else None
        if parent_level is None:
            raise ValidationFailed(
                f"area {code}: parent {parent_code!r} does not exist",
                hint="import parents before children (district first)",
            )
        if parent_level != want_parent_level:
            raise ValidationFailed(
                f"area {code}: a {level} belongs under a {want_parent_level}, "
                f"not under a {parent_level} ({parent_code})"
            )
    geometry = validate_geometry(geometry, f"area {code}") if geometry is not None else None
    area = session.get(AdminArea, code)
    created = area is None
    if area is None:
        area = AdminArea(code=code)
        session.add(area)
    area.name, area.level, area.parent_code = name, level, parent_code
    area.geometry, area.key_place = geometry, key_place
    area.area_km2 = polygon_km2(geometry) if geometry else area.area_km2
    return area, created


# --- groups (215 / 216) ------------------------------------------------------------------------


def _would_cycle(session: Session, group_id: str, new_parent: str | None) -> bool:
    seen = set()
    p = new_parent
    while p is not None and p not in seen:
        if p == group_id:
            return True
        seen.add(p)
        p = session.scalar(select(CatalogueGroup.parent_id).where(CatalogueGroup.id == p))
    return False


def save_group(session: Session, *, group_id: str, name: str, parent_id: str | None, actor: str) -> CatalogueGroup:
    """Create or move/rename a business group or virtual organisation, enforcing the tree rules."""
    gb = gbt28181.parse_group(group_id)
    if not name or len(name) > 200:
        raise ValidationFailed(f"group {group_id}: name must be 1-200 characters")
    parent = None
    if parent_id:
        parent = session.get(CatalogueGroup, parent_id)
        if parent is None:
            raise NotFound(f"parent group {parent_id} not found")
    gbt28181.check_tree_edge(gb.type, parent.type if parent else None)
    if parent_id and _would_cycle(session, group_id, parent_id):
        raise ValidationFailed(f"group {group_id} cannot move under its own descendant {parent_id}")
    group = session.get(CatalogueGroup, group_id)
    created = group is None
    if group is None:
        group = CatalogueGroup(id=group_id, type=gb.type)
        session.add(group)
    group.name, group.parent_id = name, parent_id
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="video.group.create" if created else "video.group.update",
        target=group_id,
        detail={"name": name, "type": gb.type, "parent": parent_id},
    )
    return group


def delete_group(session: Session, group_id: str, actor: str) -> None:
    group = session.get(CatalogueGroup, group_id)
    if group is None:
        raise NotFound(f"group {group_id} not found")
    if session.scalar(select(CatalogueGroup.id).where(CatalogueGroup.parent_id == group_id).limit(1)):
        raise Conflict(f"group {group_id} still has groups under it", hint="move or delete them first")
    if session.scalar(select(Camera.id).where(Camera.group_id == group_id).limit(1)):
        raise Conflict(f"group {group_id} still has cameras", hint="move the cameras first")
    session.delete(group)
    audit.append(session, actor=actor, action="video.group.delete", target=group_id)


def check_camera_group(session: Session, group_id: str | None) -> None:
    if group_id is None:
        return
    group = session.get(CatalogueGroup, group_id)
    if group is None:
        raise ValidationFailed(f"group {group_id} does not exist")
    if group.type != gbt28181.VIRTUAL_ORG:
        raise ValidationFailed(
            f"cameras belong under a virtual organisation (216); {group_id} is a business group (215)"
        )


def _group_tree_statement(roots: int) -> AnySelect:
    groups = CatalogueGroup.__table__
    child = groups.alias("child")
    tree = select(groups.c.id).where(groups.c.id.in_(items("roots", roots, String()))).cte("group_tree", recursive=True)
    tree = tree.union_all(select(child.c.id).where(child.c.parent_id == tree.c.id))
    return select(tree.c.id)


def group_subtree(session: Session, roots: list[str]) -> list[str]:
    """The given groups and every group under them, in one recursive query (no cycles: see
    save_group)."""
    if not roots:
        return []
    return sorted(
        {
            r[0]
            for r in fetch(
                session, ("group_tree", len(roots)), lambda: _group_tree_statement(len(roots)), {"roots": roots}
            )
        }
    )


def list_groups(session: Session) -> list[CatalogueGroup]:
    """Every business group (215) and virtual organisation (216), by ID."""
    return list(session.scalars(select(CatalogueGroup).order_by(CatalogueGroup.id)))
