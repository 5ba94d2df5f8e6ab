"""Coverage KPIs of the video network, per admin area and per sharing platform.

- online rate (在线率): cameras online (status online or faulty) over all cameras;
- intact rate (完好率): cameras online *and* without a picture fault from diagnosis, over all;
  split into key public areas (target 98%) and other, key-industry cameras (target 95%);
- networking rate (联网率): cameras connected to the sharing platform over all;
- key-place coverage (重点区域覆盖率): key grids with at least one online camera over key grids;
- density (每平方公里摄像机数): cameras per km², the area measured from the grid polygons.

Cameras are counted in SQL, grouped by grid (a handful of rows per grid whatever the camera
count), then rolled up the admin tree in Python. The targets come from `VideoSettings`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from govops.errors import ValidationFailed
from govops.principal import Principal
from video.catalogue.models import AREA_LEVELS, Camera
from video.catalogue.queries import grants_clause, platform_grants, visibility
from video.catalogue.settings import VideoSettings
from video.catalogue.sharing import platforms
from video.catalogue.tree import AreaTree

KPIS = ("online", "intact_key_place", "intact_other", "networking", "key_place_coverage", "density_per_km2")


@dataclass
class Counts:
    cameras: int = 0
    online: int = 0
    intact: int = 0
    networked: int = 0
    key_cameras: int = 0
    key_intact: int = 0
    covered_grids: set[str] = field(default_factory=set)

    def add(self, other: Counts) -> None:
        self.cameras += other.cameras
        self.online += other.online
        self.intact += other.intact
        self.networked += other.networked
        self.key_cameras += other.key_cameras
        self.key_intact += other.key_intact
        self.covered_grids |= other.covered_grids


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


@dataclass
class Kpi:
    scope: str  # area | platform
    key: str
    name: str
    cameras: int
    online_rate: float | None
    intact_rate: float | None
    intact_rate_key_place: float | None
    intact_rate_other: float | None
    networking_rate: float | None
    key_grids: int
    key_grids_covered: int
    key_place_coverage: float | None
    area_km2: float | None
    density_per_km2: float | None
    meets: dict[str, bool | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _counts_by_area(session: Session, scope: ColumnElement[bool]) -> dict[str | None, Counts]:
    """One grouped query, one row per area with the sums done in SQL (SUM(CASE …)), so a
    100,000-camera district comes back as a few thousand rows whatever its distribution."""
    online = Camera.status.in_(("online", "faulty"))
    intact = and_(Camera.status == "online", Camera.picture_fault.is_(False))

    def count_if(cond: ColumnElement[bool]) -> Any:
        return func.sum(case((cond, 1), else_=0))

    stmt = (
        select(
            Camera.area_code,
            func.count(),
            count_if(online),
            count_if(intact),
            count_if(Camera.networked.is_(True)),
            count_if(Camera.key_place.is_(True)),
            count_if(and_(Camera.key_place.is_(True), intact)),
        )
        .where(scope)
        .group_by(Camera.area_code)
    )
    out: dict[str | None, Counts] = defaultdict(Counts)
    for area, n, n_online, n_intact, n_networked, n_key, n_key_intact in session.connection().execute(stmt):
        c = out[area]
        c.cameras += n
        c.online += int(n_online or 0)
        c.intact += int(n_intact or 0)
        c.networked += int(n_networked or 0)
        c.key_cameras += int(n_key or 0)
        c.key_intact += int(n_key_intact or 0)
        if n_online and area is not None:
            c.covered_grids.add(area)
    return out


class Coverage:
    def __init__(
        self,
        session: Session,
        settings: VideoSettings,
        tree: AreaTree | None = None,
        counts: dict[str | None, Counts] | None = None,
    ) -> None:
        """`counts`: the whole catalogue's counts per area, when the caller read them already
        (the metrics scrape reads the KPI index once for several families)."""
        self.session = session
        self.settings = settings
        self.tree = tree or AreaTree.load(session)
        self.key_grids = {c for c, a in self.tree.areas.items() if a.level == "grid" and a.key_place}
        self._all: dict[str | None, Counts] | None = counts

    def _counts(self, scope: ColumnElement[bool] | None) -> dict[str | None, Counts]:
        if scope is not None:
            return _counts_by_area(self.session, scope)
        if self._all is None:  # the whole catalogue: counted once per Coverage
            self._all = _counts_by_area(self.session, true())
        return self._all

    def _kpi(self, scope: str, key: str, name: str, c: Counts, key_grids: set[str], area_km2: float | None) -> Kpi:
        s = self.settings
        covered = len(key_grids & c.covered_grids)
        other = c.cameras - c.key_cameras
        kpi = Kpi(
            scope=scope,
            key=key,
            name=name,
            cameras=c.cameras,
            online_rate=_ratio(c.online, c.cameras),
            intact_rate=_ratio(c.intact, c.cameras),
            intact_rate_key_place=_ratio(c.key_intact, c.key_cameras),
            intact_rate_other=_ratio(c.intact - c.key_intact, other),
            networking_rate=_ratio(c.networked, c.cameras),
            key_grids=len(key_grids),
            key_grids_covered=covered,
            key_place_coverage=_ratio(covered, len(key_grids)),
            area_km2=area_km2,
            density_per_km2=round(c.cameras / area_km2, 3) if area_km2 else None,
        )

        def meets(value: float | None, target: float) -> bool | None:
            return None if value is None else value >= target - 1e-9

        kpi.meets = {
            "online": meets(kpi.online_rate, s.target_online),
            "intact_key_place": meets(kpi.intact_rate_key_place, s.target_intact_key_place),
            "intact_other": meets(kpi.intact_rate_other, s.target_intact_other),
            "networking": meets(kpi.networking_rate, s.target_networking),
            "key_place_coverage": meets(kpi.key_place_coverage, s.target_key_place_coverage),
            "density_per_km2": meets(kpi.density_per_km2, s.target_density_per_km2),
        }
        return kpi

    def by_area(
        self, level: str | None = None, scope: ColumnElement[bool] | None = None, under: str | None = None
    ) -> list[Kpi]:
        """KPIs of every area at `level` (default: the settings' metrics level), the district first."""
        level = level or self.settings.kpi_area_level
        if level not in AREA_LEVELS:
            raise ValidationFailed(
                f"level {level[:40]!r} is not an area level", hint=f"one of {', '.join(AREA_LEVELS)}"
            )
        per_area = self._counts(scope)
        rolled: dict[str, Counts] = defaultdict(Counts)
        for area, c in per_area.items():
            if area is None:
                continue
            for anc in self.tree.ancestors(area):
                rolled[anc].add(c)
        wanted = self.tree.at_level("district") + (self.tree.at_level(level) if level != "district" else [])
        if under:
            inside = set(self.tree.descendants(under))
            wanted = [a for a in wanted if a.code in inside]
        out = []
        for a in wanted:
            keys = self.key_grids & set(self.tree.descendants(a.code))
            out.append(
                self._kpi("area", a.code, a.name, rolled.get(a.code, Counts()), keys, self.tree.area_km2(a.code))
            )
        return out

    def by_grid(self, scope: ColumnElement[bool] | None = None) -> dict[str, Kpi]:
        """Per grid, for the map's colouring."""
        per_area = self._counts(scope)
        return {
            a.code: self._kpi(
                "area",
                a.code,
                a.name,
                per_area.get(a.code, Counts()),
                {a.code} & self.key_grids,
                self.tree.area_km2(a.code),
            )
            for a in self.tree.at_level("grid")
        }

    def _district_km2(self) -> float | None:
        districts = self.tree.at_level("district")
        return sum(self.tree.area_km2(d.code) or 0 for d in districts) or None

    def by_platform(self) -> list[Kpi]:
        """Per platform. Area grants are summed from the whole-catalogue counts per area; only
        the cameras granted one by one or by group, outside those areas, need a query, so the
        cost follows the number of grants, not of cameras."""
        out = []
        km2 = self._district_km2()
        everything = self._counts(None)
        for p in platforms(self.session):
            g = platform_grants(self.session, p.code)
            total = Counts()
            if g.everything:
                for c in everything.values():
                    total.add(c)
            else:
                for code in g.areas:
                    if code in everything:
                        total.add(everything[code])
                if g.cameras or g.groups:
                    rest = grants_clause(self.session, g, areas=False)
                    if g.areas:
                        rest = and_(rest, or_(Camera.area_code.is_(None), Camera.area_code.not_in(list(g.areas))))
                    for c in _counts_by_area(self.session, rest).values():
                        total.add(c)
            out.append(self._kpi("platform", p.code, p.name, total, self.key_grids, km2))
        return out

    def for_principal(self, principal: Principal, level: str | None = None) -> list[Kpi]:
        return self.by_area(level, scope=visibility(self.session, principal))

    def targets(self) -> dict[str, float]:
        s = self.settings
        return {
            "online": s.target_online,
            "intact_key_place": s.target_intact_key_place,
            "intact_other": s.target_intact_other,
            "networking": s.target_networking,
            "key_place_coverage": s.target_key_place_coverage,
            "density_per_km2": s.target_density_per_km2,
        }
