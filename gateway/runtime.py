"""Everything a front door needs, built once from settings: engine, sessions, secret box.

Built inside the app factory or a CLI command, never at import time. The gateway is the one place
that knows every domain, so it hands their migration directories to the kernel.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import identity
import infra.service
import video
from govops.db import check_database, make_engine, make_sessionmaker, migrate, transaction
from govops.secretbox import SecretBox
from govops.settings import Settings, load_settings
from video.catalogue.settings import VideoSettings, load_video_settings

DOMAIN_MIGRATIONS: list[Path] = [video.MIGRATIONS]
DOMAIN_MIGRATIONS.append(identity.MIGRATIONS)
DOMAIN_MIGRATIONS.append(infra.service.MIGRATIONS)
_BOX_LOCK = threading.Lock()


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    _box: SecretBox | None = None
    _video: VideoSettings | None = None

    @classmethod
    def build(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or load_settings()
        engine = make_engine(settings)
        return cls(settings=settings, engine=engine, sessions=make_sessionmaker(engine, settings))

    @property
    def box(self) -> SecretBox:
        with _BOX_LOCK:  # first use may come from several request threads at once
            if self._box is None:
                self._box = SecretBox.from_settings(self.settings)
            return self._box

    @property
    def video(self) -> VideoSettings:
        if self._video is None:
            self._video = load_video_settings()
        return self._video

    @property
    def snapshots_dir(self) -> Path:
        return self.settings.data_dir / "snapshots"

    def migrate(self) -> None:
        migrate(self.engine, DOMAIN_MIGRATIONS)

    def check(self) -> None:
        check_database(self.engine)

    def transaction(self, *, write: bool = False):  # type: ignore[no-untyped-def]
        """A unit of work. `write=True` takes SQLite's write lock at BEGIN: for a short unit that
        reads, then writes (never one that waits on the network meanwhile)."""
        return transaction(self.sessions, write=write)

    @property
    def clips_dir(self) -> Path:
        return self.settings.data_dir / "clips"

    def load_sample_district(self) -> dict[str, int]:
        from gateway import sample_district

        with self.transaction() as session:
            return sample_district.load(session, self.clips_dir)
