"""Prometheus collectors that read the video catalogue and the patrol at scrape time.

One custom Collector instead of a gauge per camera updated everywhere: the scrape asks the
database for grouped counts, so the series count is bounded by departments, areas (at the
settings' KPI level), platforms and statuses, never by cameras.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Text, and_, case, cast, func, select
from sqlalchemy.orm import Session

from govops.alerts import Alert
from govops.audit import AuditRecord
from govops.settings import load_or_explain
from monitoring.collectors.base import ScrapeCollector
from video.catalogue.models import CAMERA_STATUSES, Camera
from video.catalogue.settings import VideoSettings
from video.catalogue.tree import AreaTree
from video.coverage import Counts, Coverage
from video.diagnosis.result import FAULT_CODES
from video.patrol.models import PatrolRound
from video.patrol.ondemand import ACCEPT_ACTION


def _catalogue_families() -> dict[str, Metric]:
    return {
        "cams": GaugeMetricFamily(
            "govops_cameras", "Cameras in the catalogue by status and department", labels=["status", "department"]
        ),
        "area": GaugeMetricFamily(
            "govops_video_area_cameras_by_status",
            "Cameras by status in each admin area at the KPI level (streets by default)",
            labels=["area", "status"],
        ),
        "alerts": GaugeMetricFamily(
            "govops_alerts_firing", "Open alerts by source and severity", labels=["source", "severity"]
        ),
        "unclaimed": GaugeMetricFamily(
            "govops_alerts_unclaimed_critical", "Critical open alerts nobody has claimed (认领)"
        ),
    }


# name suffix, help, Kpi attribute
_AREA_GAUGES = [
    ("cameras", "Cameras in the admin area (and everything under it)", "cameras"),
    ("online_ratio", "在线率: cameras online over all cameras", "online_rate"),
    ("intact_ratio", "完好率: cameras online and without a picture fault, over all", "intact_rate"),
    ("intact_key_place_ratio", "完好率 of key-public-area cameras (target 98%)", "intact_rate_key_place"),
    ("intact_other_ratio", "完好率 of other (key-industry) cameras (target 95%)", "intact_rate_other"),
    ("networking_ratio", "联网率: cameras connected to the sharing platform over all", "networking_rate"),
    ("key_place_coverage_ratio", "Key grids with an online camera over key grids", "key_place_coverage"),
]


def _coverage_families() -> dict[str, Metric]:
    fams: dict[str, Metric] = {}
    for name, help_, attr in _AREA_GAUGES:
        fams[f"area:{attr}"] = GaugeMetricFamily(f"govops_video_{name}", help_, labels=["area"])
    fams["density"] = GaugeMetricFamily(
        "govops_video_density_per_km2", "Cameras per km² of the area, measured from its grid polygons", labels=["area"]
    )
    for name, help_, attr in _AREA_GAUGES:
        fams[f"platform:{attr}"] = GaugeMetricFamily(
            f"govops_video_platform_{name}", f"{help_} (per platform)", labels=["platform"]
        )
    fams["targets"] = GaugeMetricFamily("govops_video_kpi_target", "KPI targets from settings", labels=["kpi"])
    return fams


def _count_if(cond: Any) -> Any:
    return func.sum(case((cond, 1), else_=0))


@dataclass
class _Grids:
    """One pass over the catalogue's KPI index: per grid, cameras by status and the KPI counts,
    summed in SQL (one row per grid, a few thousand whatever the camera count)."""

    status: dict[str, dict[str, int]]
    counts: dict[str | None, Counts]

    @classmethod
    def read(cls, session: Session) -> _Grids:
        intact = and_(Camera.status == "online", Camera.picture_fault.is_(False))
        key = Camera.key_place.is_(True)
        stmt = select(
            Camera.area_code,
            func.count(),
            _count_if(Camera.status.in_(("online", "faulty"))),
            _count_if(intact),
            _count_if(Camera.networked.is_(True)),
            _count_if(key),
            _count_if(and_(key, intact)),
            *(_count_if(Camera.status == st) for st in CAMERA_STATUSES),
        ).group_by(Camera.area_code)
        status: dict[str, dict[str, int]] = {}
        counts: dict[str | None, Counts] = {}
        for area, n, online, n_intact, networked, n_key, key_intact, *by_status in session.execute(stmt):
            c = Counts(n, int(online or 0), int(n_intact or 0), int(networked or 0), int(n_key or 0))
            c.key_intact = int(key_intact or 0)
            if online and area is not None:
                c.covered_grids.add(area)
            counts[area] = c
            if area is not None:
                status[area] = {st: int(k or 0) for st, k in zip(CAMERA_STATUSES, by_status, strict=True)}
        return cls(status, counts)


class VideoCollector(ScrapeCollector):
    """The catalogue and its KPIs in one pass per scrape: cameras by status and department, by
    status and area (the fault rate per area), the inbox's open alerts, and the video KPIs per
    admin area (settings' level, streets by default) and per sharing platform.

    One grouped query per family's source (departments; the KPI index; firing alerts), the admin
    tree read once and shared. Labels are bounded by departments, the admin tree, platforms and
    statuses, never by cameras. Nothing is kept between scrapes.
    """

    catalogue = True
    coverage = True

    def __init__(self, sessions: Callable[[], Session], settings: VideoSettings | None = None) -> None:
        self._sessions = sessions
        self._settings = settings or load_or_explain(VideoSettings)

    def families(self) -> dict[str, Metric]:
        fams: dict[str, Metric] = {}
        if self.catalogue:
            fams.update(_catalogue_families())
        if self.coverage:
            fams.update(_coverage_families())
        return fams

    def fill(self, fams: dict[str, Any]) -> None:
        with self._sessions() as session:
            tree = AreaTree.load(session)
            grids = _Grids.read(session)
            if self.catalogue:
                self._fill_catalogue(session, tree, grids, fams)
            if self.coverage:
                self._fill_coverage(Coverage(session, self._settings, tree, counts=grids.counts), fams)

    def _fill_catalogue(self, session: Session, tree: AreaTree, grids: _Grids, fams: dict[str, Any]) -> None:
        for status, dept, n in session.execute(  # covering index ix_cameras_department_status
            select(Camera.status, Camera.department_code, func.count()).group_by(Camera.department_code, Camera.status)
        ):
            fams["cams"].add_metric([status, dept], n)
        level = self._settings.kpi_area_level
        by_area: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CAMERA_STATUSES, 0))
        up = {d: a.code for a in tree.at_level(level) for d in tree.descendants(a.code)}  # one walk down
        for area, counts in grids.status.items():
            at = up.get(area)
            if at is not None:
                rolled = by_area[at]
                for status, n in counts.items():
                    rolled[status] = rolled.get(status, 0) + n
        for area, counts in sorted(by_area.items()):
            for status, n in counts.items():
                fams["area"].add_metric([area, status], n)
        # One grouped query over the firing alerts, read from the covering index
        # ix_alerts_status_counts (monitoring_0002) in its own order: no sort, no table.
        unclaimed = 0
        for source, severity, n, claimed in session.execute(
            select(Alert.source, Alert.severity, func.count(), func.count(Alert.claimed_by))
            .where(Alert.status == "firing")
            .group_by(Alert.source, Alert.severity)
        ):
            fams["alerts"].add_metric([source, severity], n)
            if severity == "critical":
                unclaimed += n - claimed
        fams["unclaimed"].add_metric([], unclaimed)

    def _fill_coverage(self, coverage: Coverage, fams: dict[str, Any]) -> None:
        for kpi in coverage.by_area():
            for _name, _help, attr in _AREA_GAUGES:
                value = getattr(kpi, attr)
                if value is not None:
                    fams[f"area:{attr}"].add_metric([kpi.key], value)
            if kpi.density_per_km2 is not None:
                fams["density"].add_metric([kpi.key], kpi.density_per_km2)
        for kpi in coverage.by_platform():
            for _name, _help, attr in _AREA_GAUGES:
                value = getattr(kpi, attr)
                if value is not None:
                    fams[f"platform:{attr}"].add_metric([kpi.key], value)
        for name, value in coverage.targets().items():
            fams["targets"].add_metric([name], value)


class CatalogueCollector(VideoCollector):
    """Only the catalogue's families (cameras by status, per area; open alerts)."""

    coverage = False


class VideoCoverageCollector(VideoCollector):
    """Only the KPI families (per area and per platform)."""

    catalogue = False


FALSE_ALARM_DAYS = 7


class PatrolCollector(ScrapeCollector):
    """The patrol (巡检) at scrape time: each shard's latest finished round, how many cameras have
    each picture fault now, and the false alarms people accepted lately. Labels: `shard` (i/n,
    bounded by the worker count), `verdict` (three values) and `code` (the ten fault codes)."""

    def __init__(self, sessions: Callable[[], Session], settings: VideoSettings | None = None) -> None:
        self._sessions = sessions
        self._settings = settings or load_or_explain(VideoSettings)

    def families(self) -> dict[str, Metric]:
        return {
            "last": GaugeMetricFamily(
                "govops_video_patrol_last_round_timestamp_seconds",
                "When the shard's latest finished round ended (Unix time)",
                labels=["shard"],
            ),
            "duration": GaugeMetricFamily(
                "govops_video_patrol_round_duration_seconds",
                "How long the shard's latest finished round took",
                labels=["shard"],
            ),
            "per_camera": GaugeMetricFamily(
                "govops_video_patrol_diagnosis_seconds_per_camera",
                "The shard's latest round duration over its cameras (mean diagnosis time per camera)",
                labels=["shard"],
            ),
            "verdicts": GaugeMetricFamily(
                "govops_video_patrol_round_cameras",
                "Cameras of the shard's latest finished round by verdict",
                labels=["shard", "verdict"],
            ),
            "faults": GaugeMetricFamily(
                "govops_video_picture_faults", "Cameras whose latest diagnosis reports the fault code", labels=["code"]
            ),
            "interval": GaugeMetricFamily(
                "govops_video_patrol_interval_seconds", "Seconds between patrol rounds (settings)"
            ),
            "false_alarms": GaugeMetricFamily(
                "govops_video_false_alarms_accepted",
                f"Faults a person accepted as the camera's normal picture (误报确认) in the last "
                f"{FALSE_ALARM_DAYS} days, by fault code: the codes that cry wolf in this district",
                labels=["code"],
            ),
        }

    def fill(self, fams: dict[str, Any]) -> None:
        fams["interval"].add_metric([], self._settings.patrol_interval_s)
        with self._sessions() as session:
            newest = (
                select(PatrolRound.shard, PatrolRound.shards, func.max(PatrolRound.id).label("id"))
                .where(PatrolRound.finished_at.is_not(None), PatrolRound.status != "failed")
                .group_by(PatrolRound.shard, PatrolRound.shards)
                .subquery()
            )
            for rnd in session.scalars(select(PatrolRound).join(newest, PatrolRound.id == newest.c.id)):
                shard = f"{rnd.shard}/{rnd.shards}"
                fams["last"].add_metric([shard], rnd.finished_at.timestamp())  # type: ignore[union-attr]
                fams["duration"].add_metric([shard], rnd.elapsed_s or 0.0)
                total = rnd.ok + rnd.faulty + rnd.offline
                if total:
                    fams["per_camera"].add_metric([shard], (rnd.elapsed_s or 0.0) / total)
                for verdict in ("ok", "faulty", "offline"):
                    fams["verdicts"].add_metric([shard, verdict], getattr(rnd, verdict))
            # Grouped by the fault list itself: a few distinct lists, each parsed once, instead
            # of every faulty camera's list decoded in Python.
            counts = dict.fromkeys(FAULT_CODES, 0)
            for raw, n in session.execute(
                select(cast(Camera.diagnosis_faults, Text), func.count())
                .where(Camera.diagnosis_faults.is_not(None), Camera.status.in_(("faulty", "offline")))
                .group_by(cast(Camera.diagnosis_faults, Text))
            ):
                try:
                    codes = json.loads(raw) if raw else []
                except ValueError:
                    continue
                for code in codes if isinstance(codes, list) else []:
                    if code in counts:
                        counts[code] += n
            for code, n in counts.items():
                fams["faults"].add_metric([code], n)
            accepted = dict.fromkeys(FAULT_CODES, 0)
            since = datetime.now(UTC) - timedelta(days=FALSE_ALARM_DAYS)
            for detail in session.scalars(
                select(AuditRecord.detail).where(AuditRecord.action == ACCEPT_ACTION, AuditRecord.at >= since)
            ):
                for code in (detail or {}).get("accepted") or []:
                    if code in accepted:
                        accepted[code] += 1
            for code, n in accepted.items():
                fams["false_alarms"].add_metric([code], n)
