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


class CatalogueCollector(Collector):
    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[Any]:
        cams = GaugeMetricFamily("govops_cameras", "Cameras in the catalogue by status and department",
                                 labels=["status", "department"])
        alerts = GaugeMetricFamily("govops_alerts_firing", "Open alerts by source and severity",
                                   labels=["source", "severity"])
        with self._sessions() as session:
            for status, dept, n in session.execute(
                select(Camera.status, Camera.department_code, func.count()).group_by(
                    Camera.status, Camera.department_code)
            ):
                cams.add_metric([status, dept], n)
            for source, severity, n in session.execute(
                select(Alert.source, Alert.severity, func.count()).where(Alert.status == "firing")
                .group_by(Alert.source, Alert.severity)
            ):
                alerts.add_metric([source, severity], n)
        yield cams
        yield alerts
