"""Prometheus collectors that read the video catalogue and the patrol at scrape time.

One custom Collector instead of a gauge per camera updated everywhere: the scrape asks the
database for grouped counts, so the series count is bounded by departments, areas (at the
settings' KPI level), platforms and statuses, never by cameras.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govops.alerts import Alert
from monitoring.collectors.base import ScrapeCollector
from video.catalogue.models import CAMERA_STATUSES, Camera
from video.catalogue.settings import VideoSettings
from video.catalogue.tree import AreaTree
from video.coverage import Coverage
from video.diagnosis.result import FAULT_CODES
from video.patrol.models import PatrolRound


class CatalogueCollector(ScrapeCollector):
    """Cameras by status and department, by status and area (the fault rate per area), and the
    inbox's open alerts."""

    def __init__(self, sessions: Callable[[], Session], settings: VideoSettings | None = None) -> None:
        self._sessions = sessions
        self._settings = settings or VideoSettings()

    def families(self) -> dict[str, Metric]:
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

    def fill(self, fams: dict[str, Any]) -> None:
        level = self._settings.kpi_area_level
        with self._sessions() as session:
            # Two grouped queries, each answered from a covering index (ix_cameras_department_status,
            # ix_cameras_kpi); grids are rolled up to the KPI level here, not in SQL.
            for status, dept, n in session.execute(
                select(Camera.status, Camera.department_code, func.count()).group_by(
                    Camera.department_code, Camera.status
                )
            ):
                fams["cams"].add_metric([status, dept], n)
            rows = session.execute(
                select(Camera.area_code, Camera.status, func.count()).group_by(Camera.area_code, Camera.status)
            ).all()
            tree = AreaTree.load(session)
            by_area: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CAMERA_STATUSES, 0))
            for area, status, n in rows:
                if area is None:
                    continue
                for anc in tree.ancestors(area):
                    if tree.areas[anc].level == level:
                        by_area[anc][status] = by_area[anc].get(status, 0) + n
            for area, counts in sorted(by_area.items()):
                for status, n in counts.items():
                    fams["area"].add_metric([area, status], n)
            for source, severity, n in session.execute(
                select(Alert.source, Alert.severity, func.count())
                .where(Alert.status == "firing")
                .group_by(Alert.source, Alert.severity)
            ):
                fams["alerts"].add_metric([source, severity], n)
            unclaimed = session.scalar(
                select(func.count()).where(
                    Alert.status == "firing", Alert.severity == "critical", Alert.claimed_by.is_(None)
                )
            )
            fams["unclaimed"].add_metric([], unclaimed or 0)


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


class VideoCoverageCollector(ScrapeCollector):
    """Video KPIs per admin area (settings' level, streets by default) and per sharing platform.

    Labels are `area` and `platform` only: their values are bounded by the admin tree and the
    platform list, never by the camera count.
    """

    def __init__(self, sessions: Callable[[], Session], settings: VideoSettings | None = None) -> None:
        self._sessions = sessions
        self._settings = settings or VideoSettings()

    def families(self) -> dict[str, Metric]:
        fams: dict[str, Metric] = {}
        for name, help_, attr in _AREA_GAUGES:
            fams[f"area:{attr}"] = GaugeMetricFamily(f"govops_video_{name}", help_, labels=["area"])
        fams["density"] = GaugeMetricFamily(
            "govops_video_density_per_km2",
            "Cameras per km² of the area, measured from its grid polygons",
            labels=["area"],
        )
        for name, help_, attr in _AREA_GAUGES:
            fams[f"platform:{attr}"] = GaugeMetricFamily(
                f"govops_video_platform_{name}", f"{help_} (per platform)", labels=["platform"]
            )
        fams["targets"] = GaugeMetricFamily("govops_video_kpi_target", "KPI targets from settings", labels=["kpi"])
        return fams

    def fill(self, fams: dict[str, Any]) -> None:
        with self._sessions() as session:
            coverage = Coverage(session, self._settings)
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


class PatrolCollector(ScrapeCollector):
    """The patrol (巡检) at scrape time: each shard's latest finished round, and how many cameras
    have each picture fault now. Labels: `shard` (i/n, bounded by the worker count), `verdict`
    (three values) and `code` (the ten fault codes)."""

    def __init__(self, sessions: Callable[[], Session], settings: VideoSettings | None = None) -> None:
        self._sessions = sessions
        self._settings = settings or VideoSettings()

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
            counts = dict.fromkeys(FAULT_CODES, 0)
            for codes in session.scalars(
                select(Camera.diagnosis_faults).where(
                    Camera.diagnosis_faults.is_not(None), Camera.status.in_(("faulty", "offline"))
                )
            ):
                for code in codes or []:
                    if code in counts:
                        counts[code] += 1
            for code, n in counts.items():
                fams["faults"].add_metric([code], n)
