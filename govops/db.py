"""Database engine, sessions and migrations.

SQLite (a file in the data directory) is the embedded default; the same code runs on PostgreSQL
through GOVOPS_DATABASE_URL. Each domain owns its tables and its Alembic versions directory and
registers it with `migrate(..., version_locations=[...])`, so the kernel never imports a domain.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Dialect, Engine, MetaData, create_engine, event, text
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects.sqlite.base import DATETIME as SQLITE_DATETIME
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from govops.errors import ConfigError, ServiceUnavailable
from govops.settings import Settings

if TYPE_CHECKING:
    from alembic.config import Config

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
MIGRATIONS = Path(__file__).with_name("migrations")
MAX_ID = 2**63 - 1  # the largest BIGINT: a bigger ID is refused at the front door, never an OverflowError in the driver
THREADS = 40  # anyio's default thread limiter, which runs FastAPI's sync routes and dependencies
IMMEDIATE = "govops_begin_immediate"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already (what SQLite hands back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp column that always stores UTC and always returns an aware UTC datetime.

    PostgreSQL keeps the zone (timestamptz) and SQLite drops it; either way the Python side
    sees the same aware value, so comparisons with `datetime.now(UTC)` never mix naive and aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs (a RELEASE would commit); let
    # SQLAlchemy emit BEGIN itself instead (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # A unit of work that will write takes the write lock at BEGIN: a deferred transaction that
    # read first cannot upgrade once another writer committed ("database is locked" at once,
    # whatever the busy timeout). Reads stay deferred, so readers never queue behind writers.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(IMMEDIATE) else "BEGIN")


class _UTCDateTime(SQLITE_DATETIME):
    """SQLite keeps no offset: store `DateTime(timezone=True)` values as UTC and hand them back as
    aware UTC, as PostgreSQL does, so that every timestamp the API writes out carries its offset.

    SQLite's own DATETIME formats a value's wall-clock digits and drops its offset, so without the
    conversion 09:00+08:00 would be stored, compared and read back as 09:00 UTC: a filter or an
    expiry given in 北京时间 would be eight hours off."""

    def bind_processor(self, dialect: Any) -> Any:
        process = super().bind_processor(dialect)
        if not self.timezone:
            return process

        def convert(value: Any) -> Any:
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(UTC)
            return process(value) if process is not None else value

        return convert

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        process = super().result_processor(dialect, coltype)
        if not self.timezone:
            return process

        def convert(value: Any) -> Any:
            value = process(value) if process is not None else value
            return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value

        return convert


def make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    try:
        if url.startswith("sqlite"):
            settings.ensure_data_dir()
            # At least as many connections as FastAPI's worker threads (40): a request holding a
            # connection must never wait for a thread that waits for a connection (a deadlock
            # at 200 concurrent clients, found by bench/gateway_api.py). SQLite opens them lazily.
            engine = create_engine(
                url, connect_args={"check_same_thread": False}, pool_size=THREADS, max_overflow=THREADS
            )
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            engine.dialect.colspecs = {**engine.dialect.colspecs, sqltypes.DateTime: _UTCDateTime}
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=THREADS)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise ConfigError(
            f"GOVOPS_DATABASE_URL is not a usable database URL ({exc.__class__.__name__}: {str(exc).splitlines()[0]})",
            hint="use sqlite:///PATH or postgresql+psycopg://USER:PASS@HOST/DB",
        ) from None
    return engine


def check_database(engine: Engine) -> None:
    """Connect once; raise a clean error naming the server (never the password)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        raise ServiceUnavailable(
            f"cannot reach the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}",
            hint="check GOVOPS_DATABASE_URL and that the server is running",
        ) from None


class Sessions(sessionmaker[Session]):
    """`sessions()` for reading; `sessions.begin()` for a unit of work that writes (on SQLite it
    begins IMMEDIATE, see _sqlite_begin)."""

    @contextmanager
    def begin(self) -> Iterator[Session]:
        with self() as session, session.begin():
            session.connection(execution_options={IMMEDIATE: True})
            yield session


def make_sessionmaker(engine: Engine, settings: Settings | None = None) -> sessionmaker[Session]:
    """Sessions carry the settings (in `session.info`) so that the audit log finds its key."""
    return Sessions(engine, expire_on_commit=False, info={"settings": settings} if settings else {})


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = False) -> Iterator[Session]:
    """One unit of work: committed whole or rolled back whole (no half-written records).
    `write=True` takes the write lock at once (SQLite), for a unit that reads, then writes."""
    session = factory()
    try:
        if write:
            session.connection(execution_options={IMMEDIATE: True})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine, version_locations: Sequence[Path] = ()) -> Config:
    from alembic.config import Config  # Alembic loads only when a migration is looked at

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    locations = [MIGRATIONS / "versions", *version_locations]
    cfg.set_main_option("version_locations", " ".join(str(p) for p in locations))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, version_locations: Sequence[Path] = (), revision: str = "heads") -> None:
    # Alembic names each of its own plugins at INFO when it loads ("setup plugin
    # alembic.autogenerate.schemas", seven lines); the migrations it runs are still logged.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from alembic import command

    check_database(engine)
    try:
        if revision == "heads" and not pending_heads(engine, version_locations):
            return  # up to date: every CLI command calls this, and it stays quiet and quick
        command.upgrade(alembic_config(engine, version_locations), revision)
    except SQLAlchemyError as exc:
        raise ServiceUnavailable(
            f"database migration failed: {str(exc).splitlines()[0]}",
            hint="check the database is reachable and writable, then run `govops db upgrade`",
        ) from None


def pending_heads(engine: Engine, version_locations: Sequence[Path] = ()) -> set[str]:
    """Migration heads not yet applied (a head reached only as a dependency counts as applied)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine, version_locations))
    current = tuple(current_revisions(engine))
    applied = {r.revision for r in script.iterate_revisions(current, "base") if r} if current else set()
    return set(script.get_heads()) - applied


def current_revisions(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    quiet = logging.getLogger("alembic.runtime.migration")  # "Context impl …" on every look
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        quiet.setLevel(level)
