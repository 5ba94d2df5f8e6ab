"""Prometheus collectors, each reading stored state at scrape time (see base.ScrapeCollector)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session

from govops.settings import Settings
from monitoring.collectors.platform import CloudCollector, ClusterCollector, IdentityCollector, KeycloakProbe
from monitoring.collectors.video import CatalogueCollector, PatrolCollector, VideoCollector, VideoCoverageCollector
from monitoring.collectors.workorders import WorkOrderCollector
from monitoring.settings import load_alert_settings
from video.catalogue.settings import VideoSettings

__all__ = [
    "CatalogueCollector",
    "CloudCollector",
    "ClusterCollector",
    "IdentityCollector",
    "KeycloakProbe",
    "PatrolCollector",
    "VideoCollector",
    "VideoCoverageCollector",
    "WorkOrderCollector",
    "register_collectors",
]


def register_collectors(
    registry: CollectorRegistry, sessions: Callable[[], Session], settings: Settings, video: VideoSettings
) -> None:
    """Register every subsystem's collector; no database query runs here (they describe())."""
    keycloak_ca = str(settings.keycloak_ca_file) if settings.keycloak_ca_file else True
    alerts = load_alert_settings()
    for collector in (
        VideoCollector(sessions, video),  # the catalogue and its KPIs, one pass
        PatrolCollector(sessions, video),
        WorkOrderCollector(sessions),
        CloudCollector(sessions),
        ClusterCollector(
            sessions, settings.backup_dir or settings.data_dir / "backups", alerts.backup_max_age_h * 3600
        ),
        IdentityCollector(sessions, settings.data_dir / "ca"),
        KeycloakProbe(
            settings.keycloak_admin_url or settings.keycloak_url, settings.keycloak_realm, verify=keycloak_ca
        ),
    ):
        registry.register(collector)
