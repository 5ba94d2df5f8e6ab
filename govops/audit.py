"""Append-only, hash-chained audit log (审计日志).

Each record stores the hash of the one before it and its own hash over a canonical JSON of its
fields, so editing, deleting or reordering a record breaks the chain and `verify` names the
first broken record. A UNIQUE constraint on prev_hash makes a fork impossible: two writers that
read the same tail collide, and the loser retries on the new tail.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from govops.db import Base

GENESIS = "0" * 64
RESULTS = ("success", "failure", "denied")


class AuditRecord(Base):
    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    target: Mapped[str] = mapped_column(String(300))
    result: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "result": self.result,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def _as_utc(at: datetime) -> datetime:
    # SQLite hands timestamps back naive; they were stored as UTC.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def record_hash(
    prev_hash: str, at: datetime, actor: str, action: str, target: str, result: str, detail: dict[str, Any]
) -> str:
    canonical = json.dumps(
        [prev_hash, _as_utc(at).isoformat(timespec="microseconds"), actor, action, target, result, detail],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _tail_hash(session: Session) -> str:
    last = session.scalar(select(AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1))
    return last or GENESIS


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    result: str = "success",
    detail: dict[str, Any] | None = None,
    retries: int = 5,
) -> AuditRecord:
    """Append one record inside the caller's transaction (it commits with the change it audits)."""
    if result not in RESULTS:
        raise ValueError(f"audit result must be one of {RESULTS}")
    detail = detail or {}
    for attempt in range(retries):
        at = datetime.now(UTC)
        prev = _tail_hash(session)
        record = AuditRecord(
            at=at,
            actor=actor,
            action=action,
            target=target,
            result=result,
            detail=detail,
            prev_hash=prev,
            hash=record_hash(prev, at, actor, action, target, result, detail),
        )
        try:
            with session.begin_nested():
                session.add(record)
            return record
        except IntegrityError:
            if attempt == retries - 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    records: int
    first_bad_id: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "first_bad_id": self.first_bad_id, "reason": self.reason}


def verify(session: Session, batch: int = 5000) -> ChainReport:
    expected_prev = GENESIS
    count = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.id > last_id).order_by(AuditRecord.id).limit(batch)
        ).all()
        if not rows:
            return ChainReport(ok=True, records=count)
        for r in rows:
            count += 1
            if r.prev_hash != expected_prev:
                return ChainReport(False, count, r.id, "previous hash does not match (record removed or reordered)")
            if r.hash != record_hash(r.prev_hash, r.at, r.actor, r.action, r.target, r.result, r.detail):
                return ChainReport(False, count, r.id, "record content was changed after it was written")
            expected_prev = r.hash
            last_id = r.id
        session.expunge_all()
