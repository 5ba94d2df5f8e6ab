"""Prometheus collectors that read the catalogue at scrape time.

One custom Collector instead of a gauge per camera updated everywhere: the scrape asks the
database for grouped counts, so the series count is bounded by departments × statuses, never by
cameras.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govops.alerts import Alert
from video.catalogue.models import Camera
from video.catalogue.settings import VideoSettings
from video.coverage import Coverage
from video.diagnosis.result import FAULT_CODES
from video.patrol.models import PatrolRound


class CatalogueCollector(Collector):
    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[Any]:
        cams = GaugeMetricFamily(
            "govops_cameras", "Cameras in the catalogue by status and department", labels=["status", "department"]
        )
        alerts = GaugeMetricFamily(
            "govops_alerts_firing", "Open alerts by source and severity", labels=["source", "severity"]
        )
        with self._sessions() as session:
            for status, dept, n in session.execute(
                select(Camera.status, Camera.department_code, func.count()).group_by(
                    Camera.status, Camera.department_code
                )
            ):
                cams.add_metric([status, dept], n)
            for source, severity, n in session.execute(
                select(Alert.source, Alert.severity, func.count())
                .where(Alert.status == "firing")
                .group_by(Alert.source, Alert.severity)
            ):
                alerts.add_metric([source, severity], n)
        yield cams
        yield alerts


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


class VideoCoverageCollector(Collector):
    """Video KPIs per admin area (settings' level, streets by default) and per sharing platform.

    Labels are `area` and `platform` only: their values are bounded by the admin tree and the
    platform list, never by the camera count.
    """

    def __init__(self, sessions: Callable[[], Session], settings: VideoSettings | None = None) -> None:
        self._sessions = sessions
        self._settings = settings or VideoSettings()

    def collect(self) -> Iterator[Any]:
        area_fams = {
            attr: GaugeMetricFamily(f"govops_video_{name}", help_, labels=["area"])
            for name, help_, attr in _AREA_GAUGES
        }
        density = GaugeMetricFamily(
            "govops_video_density_per_km2",
            "Cameras per km² of the area, measured from its grid polygons",
            labels=["area"],
        )
        platform_fams = {
            attr: GaugeMetricFamily(f"govops_video_platform_{name}", f"{help_} (per platform)", labels=["platform"])
            for name, help_, attr in _AREA_GAUGES
        }
        targets = GaugeMetricFamily("govops_video_kpi_target", "KPI targets from settings", labels=["kpi"])
        with self._sessions() as session:
            coverage = Coverage(session, self._settings)
            for kpi in coverage.by_area():
                for attr, fam in area_fams.items():
                    value = getattr(kpi, attr)
                    if value is not None:
                        fam.add_metric([kpi.key], value)
                if kpi.density_per_km2 is not None:
                    density.add_metric([kpi.key], kpi.density_per_km2)
            for kpi in coverage.by_platform():
                for attr, fam in platform_fams.items():
                    value = getattr(kpi, attr)
                    if value is not None:
                        fam.add_metric([kpi.key], value)
            for name, value in coverage.targets().items():
                targets.add_metric([name], value)
        yield from area_fams.values()
        yield density
        yield from platform_fams.values()
        yield targets


class PatrolCollector(Collector):
    """The patrol (巡检) at scrape time: each shard's latest finished round, and how many cameras
    have each picture fault now. Labels: `shard` (i/n, bounded by the worker count), `verdict`
    (three values) and `code` (the ten fault codes)."""

    def __init__(self, sessions: Callable[[], Session], settings: VideoSettings | None = None) -> None:
        self._sessions = sessions
        self._settings = settings or VideoSettings()

    def collect(self) -> Iterator[Any]:
        last = GaugeMetricFamily(
            "govops_video_patrol_last_round_timestamp_seconds",
            "When the shard's latest finished round ended (Unix time)",
            labels=["shard"],
        )
        duration = GaugeMetricFamily(
            "govops_video_patrol_round_duration_seconds",
            "How long the shard's latest finished round took",
            labels=["shard"],
        )
        verdicts = GaugeMetricFamily(
            "govops_video_patrol_round_cameras",
            "Cameras of the shard's latest finished round by verdict",
            labels=["shard", "verdict"],
        )
        faults = GaugeMetricFamily(
            "govops_video_picture_faults", "Cameras whose latest diagnosis reports the fault code", labels=["code"]
        )
        interval = GaugeMetricFamily("govops_video_patrol_interval_seconds", "Seconds between patrol rounds (settings)")
        interval.add_metric([], self._settings.patrol_interval_s)
        with self._sessions() as session:
            newest = (
                select(PatrolRound.shard, PatrolRound.shards, func.max(PatrolRound.id).label("id"))
                .where(PatrolRound.finished_at.is_not(None), PatrolRound.status != "failed")
                .group_by(PatrolRound.shard, PatrolRound.shards)
                .subquery()
            )
            for rnd in session.scalars(select(PatrolRound).join(newest, PatrolRound.id == newest.c.id)):
                shard = f"{rnd.shard}/{rnd.shards}"
                last.add_metric([shard], rnd.finished_at.timestamp())  # type: ignore[union-attr]
                duration.add_metric([shard], rnd.elapsed_s or 0.0)
                for verdict in ("ok", "faulty", "offline"):
                    verdicts.add_metric([shard, verdict], getattr(rnd, verdict))
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
                faults.add_metric([code], n)
        yield from (last, duration, verdicts, faults, interval)
