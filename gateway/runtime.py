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
import infra.provisioning
import video
from govops.db import check_database, make_engine, make_sessionmaker, migrate, transaction
from govops.sessions import SessionStore
from govops.settings import Settings, load_or_explain, load_settings
from video.catalogue.settings import VideoSettings

if TYPE_CHECKING:
    from govops.secretbox import SecretBox
    from video.diagnosis.thresholds import Thresholds

DOMAIN_MIGRATIONS: tuple[Path, ...] = (video.MIGRATIONS, identity.MIGRATIONS, infra.provisioning.MIGRATIONS)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    signins: SessionStore
    _box: SecretBox | None = field(default=None, repr=False)
    _video: VideoSettings | None = field(default=None, repr=False)
    _thresholds: Thresholds | None = field(default=None, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

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

    @property
    def pulumi_bin_dirs(self) -> list[Path]:
        return self.settings.pulumi_bin_dirs

    @property
    def snapshots_dir(self) -> Path:
        return self.settings.data_dir / "snapshots"

    @property
    def clips_dir(self) -> Path:
        return self.settings.data_dir / "clips"

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
