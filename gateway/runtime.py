"""The composition root: everything a front door needs, built once from settings.

A `Runtime` holds the settings, the database engine and session factory, the sign-in session
store, the secret box, the video settings, the diagnosis thresholds and the paths of the real
components' binaries. It is built inside the app factory or a CLI command, never at import time,
and domain code receives what it needs from it as arguments. The gateway is the one place that
knows every domain, so it hands their migration directories to the kernel.

Parts that read more of the environment, touch the disk or import heavy modules (the secret box,
the thresholds) are built on first use, once, under the runtime's own lock.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import identity
import infra.cluster
import infra.provisioning
import monitoring
import monitoring.kpi_history
import video
from govops.db import check_database, make_engine, make_sessionmaker, migrate, transaction
from govops.sessions import SessionStore
from govops.settings import Settings, load_or_explain, load_settings
from video.catalogue.settings import VideoSettings

if TYPE_CHECKING:
    from govops.secretbox import SecretBox
    from identity.keycloak_adapter import KeycloakAdapter
    from identity.pki import CertificateAuthority
    from video.diagnosis.thresholds import Thresholds
    from video.snapshots import SnapshotCache

DOMAIN_MIGRATIONS: tuple[Path, ...] = (
    video.MIGRATIONS,
    identity.MIGRATIONS,
    infra.provisioning.MIGRATIONS,
    monitoring.kpi_history.MIGRATIONS,
    monitoring.MIGRATIONS,  # fault work orders
    infra.cluster.MIGRATIONS,
)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    signins: SessionStore
    _box: SecretBox | None = field(default=None, repr=False)
    _video: VideoSettings | None = field(default=None, repr=False)
    _thresholds: Thresholds | None = field(default=None, repr=False)
    _ca: CertificateAuthority | None = field(default=None, repr=False)
    _keycloak: KeycloakAdapter | None = field(default=None, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _snapshots: SnapshotCache | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or load_settings()
        engine = make_engine(settings)
        sessions = make_sessionmaker(engine, settings)
        return cls(settings=settings, engine=engine, sessions=sessions, signins=SessionStore(sessions))

    @property
    def box(self) -> SecretBox:
        with self._lock:  # first use may come from several request threads at once
            if self._box is None:
                from govops.secretbox import SecretBox

                self._box = SecretBox.from_settings(self.settings)
            return self._box

    @property
    def ca(self) -> CertificateAuthority:
        """One CA per runtime, so the unlocked issuing key is not re-derived per request."""
        with self._lock:
            if self._ca is None:
                from identity.pki import CertificateAuthority

                self._ca = CertificateAuthority.from_settings(self.settings, self.box)
            return self._ca

    @property
    def keycloak(self) -> KeycloakAdapter:
        """One Keycloak admin adapter per runtime: its admin token is granted once and refreshed,
        not granted per request. ConfigError (with the hint) when Keycloak is not configured."""
        with self._lock:
            if self._keycloak is None:
                from identity.keycloak_adapter import KeycloakAdapter

                self._keycloak = KeycloakAdapter.from_settings(self.settings)
            return self._keycloak

    @property
    def keycloak_admin_configured(self) -> bool:
        s = self.settings
        return bool((s.keycloak_admin_url or s.keycloak_url) and s.keycloak_admin_user)

    @property
    def video(self) -> VideoSettings:
        with self._lock:
            if self._video is None:
                self._video = load_or_explain(VideoSettings)
            return self._video

    @property
    def thresholds(self) -> Thresholds:
        """The diagnosis thresholds of GOVOPS_VQD_*, read once (a camera's own limits go on top)."""
        with self._lock:
            if self._thresholds is None:
                from video.diagnosis.thresholds import Thresholds

                self._thresholds = load_or_explain(Thresholds)
            return self._thresholds

    def check_settings(self) -> None:
        """Read every settings class now: a bad or misspelt variable stops the start, named, instead
        of the first request or background loop that reads it (after the start-up was announced)."""
        from gateway.routes.console_map import MapSettings
        from monitoring.settings import AlertSettings
        from monitoring.status.settings import StatusSettings
        from monitoring.workorders.settings import WorkOrderSettings

        _ = self.video, self.thresholds
        for cls in (AlertSettings, StatusSettings, WorkOrderSettings, MapSettings):
            load_or_explain(cls)

    @property
    def snapshots_dir(self) -> Path:
        return self.settings.data_dir / "snapshots"

    @property
    def clips_dir(self) -> Path:
        return self.settings.data_dir / "clips"

    @property
    def snapshots(self) -> SnapshotCache:
        """The snapshot cache and its locks (OpenCV loads with the first snapshot, not with the CLI)."""
        with self._lock:
            if self._snapshots is None:
                from video.snapshots import SnapshotCache

                self._snapshots = SnapshotCache(self.snapshots_dir)
            return self._snapshots

    def migrate(self) -> None:
        migrate(self.engine, DOMAIN_MIGRATIONS)

    def check(self) -> None:
        check_database(self.engine)

    def transaction(self, *, write: bool = False) -> AbstractContextManager[Session]:
        """A unit of work. `write=True` takes SQLite's write lock at BEGIN: for a short unit that
        reads, then writes (never one that waits on the network meanwhile)."""
        return transaction(self.sessions, write=write)

    def load_sample_district(self) -> dict[str, int]:
        from gateway import sample_district

        with self.transaction() as session:
            return sample_district.load(session, self.clips_dir)
