"""Sign-in sessions, kept in the database so any gateway replica (and a restarted one) knows them.

The browser holds a random session id in an HttpOnly cookie; the table holds only its SHA-256, so
a copy of the database opens no session. A row carries the principal as it was at sign-in and
its expiry; signing out deletes the row, and expired rows are swept when new ones are opened.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, String, delete
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from govops.db import Base, UtcDateTime, transaction
from govops.errors import ServiceUnavailable
from govops.principal import Principal

SESSION_TTL = 12 * 3600


class SignInSession(Base):
    __tablename__ = "sign_in_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    department: Mapped[str | None] = mapped_column(String(50))
    platform: Mapped[str | None] = mapped_column(String(50))
    contractor: Mapped[str | None] = mapped_column(String(50), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)

    def principal(self) -> Principal:
        return Principal(
            subject=self.subject,
            name=self.name,
            roles=frozenset(self.roles),
            department=self.department,
            platform=self.platform,
            contractor=self.contractor,
        )


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class SessionStore:
    """Opens, finds and closes sign-in sessions; one per runtime, shared by every request."""

    def __init__(self, sessions: sessionmaker[Session], ttl: int = SESSION_TTL) -> None:
        self._sessions = sessions
        self.ttl = ttl

    def open(self, principal: Principal) -> str:
        sid = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        row = SignInSession(
            id_hash=_hash(sid),
            subject=principal.subject,
            name=principal.name,
            roles=sorted(principal.roles),
            department=principal.department,
            platform=principal.platform,
            contractor=principal.contractor,
            created_at=now,
            expires_at=now + timedelta(seconds=self.ttl),
        )
        with self._unit() as s:
            s.execute(delete(SignInSession).where(SignInSession.expires_at < now))
            s.add(row)
        return sid

    def lookup(self, sid: str) -> Principal | None:
        with self._unit() as s:
            row = s.get(SignInSession, _hash(sid))
            if row is None:
                return None
            if row.expires_at < datetime.now(UTC):
                s.delete(row)
                return None
            return row.principal()

    def close(self, sid: str) -> None:
        with self._unit() as s:
            s.execute(delete(SignInSession).where(SignInSession.id_hash == _hash(sid)))

    @contextmanager
    def _unit(self) -> Iterator[Session]:
        try:
            with transaction(self._sessions) as s:
                yield s
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"sign-in sessions cannot be read or written: {str(exc).splitlines()[0]}",
                hint="check the database is reachable and migrated (`govops db upgrade`)",
            ) from None
