"""Append-only, hash-chained audit log (审计日志) that cannot lose its tail unseen.

Each record stores the hash of the one before it and its own hash over a canonical JSON of its
fields, so editing, deleting or reordering a record breaks the chain and `verify` names the
first broken record. A UNIQUE constraint on prev_hash makes a fork impossible: two writers that
read the same tail collide, and the loser retries on the new tail.

Chain rules (versioned, so records written before the upgrade keep verifying):
- v1: SHA-256 of the canonical JSON (no key; the records written before keyed chaining);
- v2: HMAC-SHA256 with the audit key, which the database does not hold (`govops.audit_keys`).
Once a v2 record appears every later record must be v2, so a forger cannot fall back to v1.

The head (last id and hash) is anchored outside the database after each commit, in a checkpoint
file signed with Ed25519 (`audit.checkpoint` in the data directory). `verify` compares the chain
with it, so a deleted tail, a rewritten chain and the restore of an older database show.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import itertools
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, event, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from govops import audit_keys
from govops.audit_keys import AuditKeys
from govops.db import Base

GENESIS = "0" * 64
RESULTS = ("success", "failure", "denied")
CHECKPOINT_FORMAT = "govops-audit-checkpoint/1"
EXPORT_FORMAT = "govops-audit-export/1"


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
            "at": _as_utc(self.at).isoformat(),
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


def _canonical(
    prev_hash: str, at: datetime, actor: str, action: str, target: str, result: str, detail: dict[str, Any]
) -> bytes:
    return json.dumps(
        [prev_hash, _as_utc(at).isoformat(timespec="microseconds"), actor, action, target, result, detail],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def record_hash(
    prev_hash: str, at: datetime, actor: str, action: str, target: str, result: str, detail: dict[str, Any]
) -> str:
    """Chain rule v1 (keyless): how records written before keyed chaining were hashed."""
    return hashlib.sha256(_canonical(prev_hash, at, actor, action, target, result, detail)).hexdigest()


def keyed_hash(
    key: bytes, prev_hash: str, at: datetime, actor: str, action: str, target: str, result: str, detail: dict[str, Any]
) -> str:
    """Chain rule v2: HMAC-SHA256 with the audit key."""
    return hmac.new(key, _canonical(prev_hash, at, actor, action, target, result, detail), hashlib.sha256).hexdigest()


def keys_for(session: Session, *, create: bool = True) -> AuditKeys | None:
    settings = session.info.get("settings")
    if settings is None:
        from govops.settings import load_settings

        settings = load_settings()
        session.info["settings"] = settings
    secret = getattr(settings, "audit_key", None)
    configured = secret.get_secret_value() if secret is not None else None
    return audit_keys.load(settings.data_dir, configured, create=create)


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
    """Append one record inside the caller's transaction (it commits with the change it audits);
    the checkpoint moves to it once that transaction commits."""
    if result not in RESULTS:
        raise ValueError(f"audit result must be one of {RESULTS}")
    detail = detail or {}
    keys = keys_for(session)
    assert keys is not None
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
            hash=keyed_hash(keys.hmac_key, prev, at, actor, action, target, result, detail),
        )
        try:
            with session.begin_nested():
                session.add(record)
            _anchor_after_commit(session, keys, record.id, record.hash)
            return record
        except IntegrityError:
            if attempt == retries - 1:
                raise
    raise AssertionError("unreachable")


# --- the checkpoint: the head, anchored outside the database ------------------------------------


def _anchor_after_commit(session: Session, keys: AuditKeys, record_id: int, record_hash_: str) -> None:
    session.info["audit_head"] = (keys, record_id, record_hash_)
    if not session.info.get("audit_listening"):
        session.info["audit_listening"] = True
        event.listen(session, "after_commit", _on_commit)
        event.listen(session, "after_rollback", _on_rollback)


def _on_commit(session: Session) -> None:
    head = session.info.pop("audit_head", None)
    if head is not None:
        write_checkpoint(*head)


def _on_rollback(session: Session) -> None:
    if not session.in_transaction():  # the whole transaction, not a savepoint
        session.info.pop("audit_head", None)


def _signed_body(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def read_checkpoint(keys: AuditKeys) -> dict[str, Any] | None:
    """The checkpoint, or None if there is none. Raises ValueError if it is not genuine."""
    path = keys.checkpoint_path
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
        signature = bytes.fromhex(doc.pop("signature"))
        audit_keys.public_key(keys.public_key_hex).verify(signature, _signed_body(doc))
    except Exception as exc:
        raise ValueError(f"the checkpoint {path} is not genuine ({exc.__class__.__name__})") from None
    return doc


def write_checkpoint(keys: AuditKeys, last_id: int, last_hash: str) -> None:
    """Move the checkpoint forward to (last_id, last_hash); never backwards (a slower writer
    that committed earlier does not undo a later one)."""
    path = keys.checkpoint_path
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = read_checkpoint(keys)
        except ValueError:
            current = None
        if current is not None and current.get("last_id", 0) >= last_id:
            return
        body = {
            "format": CHECKPOINT_FORMAT,
            "last_id": last_id,
            "last_hash": last_hash,
            "at": datetime.now(UTC).isoformat(),
            "public_key": keys.public_key_hex,
        }
        doc = {**body, "signature": keys.sign(_signed_body(body))}
        aside = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(aside, path)


def anchor(session: Session) -> dict[str, Any] | None:
    """Anchor the current head now (e.g. after the first verify of an upgraded database)."""
    keys = keys_for(session)
    assert keys is not None
    row = session.execute(select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)).first()
    if row is None:
        return None
    write_checkpoint(keys, row[0], row[1])
    return read_checkpoint(keys)


# --- verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    records: int
    first_bad_id: int | None = None
    reason: str | None = None
    keyed_from: int | None = None
    checkpoint_id: int | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "first_bad_id": self.first_bad_id,
            "reason": self.reason,
            "keyed_from": self.keyed_from,
            "checkpoint_id": self.checkpoint_id,
            "warnings": self.warnings,
        }


def _parse_at(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        return raw
    return datetime.fromisoformat(str(raw))


def _parse_detail(raw: Any) -> dict[str, Any]:
    value = json.loads(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(value, dict):
        raise ValueError("detail is not a JSON object")
    return value


def verify(session: Session, batch: int = 5000) -> ChainReport:
    """Walk the whole chain, then hold its head against the checkpoint. A row that cannot even be
    read (detail not JSON, a timestamp that does not parse) is reported as tampering."""
    keys = keys_for(session, create=False)
    hmac_key = keys.hmac_key if keys else None
    expected_prev, count, last_id, last_hash = GENESIS, 0, 0, GENESIS
    keyed_from: int | None = None
    hashes: dict[int, str] = {}
    try:
        checkpoint = read_checkpoint(keys) if keys else None
    except ValueError as exc:
        return ChainReport(False, 0, None, str(exc))
    anchor_id = checkpoint["last_id"] if checkpoint else None
    cols = (
        AuditRecord.id,
        type_coerce(AuditRecord.at, Text),
        AuditRecord.actor,
        AuditRecord.action,
        AuditRecord.target,
        AuditRecord.result,
        type_coerce(AuditRecord.detail, Text),
        AuditRecord.prev_hash,
        AuditRecord.hash,
    )
    while True:
        rows = session.execute(
            select(*cols).where(AuditRecord.id > last_id).order_by(AuditRecord.id).limit(batch)
        ).all()
        if not rows:
            break
        for rid, at_raw, actor, action, target, result, detail_raw, prev_hash, hash_ in rows:
            count += 1
            bad = ChainReport
            try:
                at, detail = _parse_at(at_raw), _parse_detail(detail_raw)
            except (ValueError, TypeError) as exc:
                return bad(False, count, rid, f"record cannot be read, it was altered in the database: {exc}")
            if prev_hash != expected_prev:
                return bad(False, count, rid, "previous hash does not match (record removed or reordered)")
            fields = (prev_hash, at, actor, action, target, result, detail)
            if hmac_key is not None and hmac.compare_digest(hash_, keyed_hash(hmac_key, *fields)):
                keyed_from = keyed_from or rid
            elif keyed_from is None and hmac.compare_digest(hash_, record_hash(*fields)):
                pass  # a v1 record, written before keyed chaining
            else:
                return bad(False, count, rid, "record content was changed after it was written")
            expected_prev, last_id, last_hash = hash_, rid, hash_
            if rid == anchor_id:
                hashes[rid] = hash_
    return _against_checkpoint(count, last_id, last_hash, keyed_from, checkpoint, hashes)


def _against_checkpoint(
    count: int,
    last_id: int,
    last_hash: str,
    keyed_from: int | None,
    checkpoint: dict[str, Any] | None,
    seen: dict[int, str],
) -> ChainReport:
    if checkpoint is None:
        if keyed_from is not None:
            return ChainReport(
                False, count, None, "the checkpoint file is missing: the tail cannot be vouched for", keyed_from
            )
        warn = ["the chain is not keyed yet: it becomes keyed with the next audited action"] if count else []
        return ChainReport(True, count, keyed_from=None, warnings=warn)
    cid, chash = checkpoint["last_id"], checkpoint["last_hash"]
    if cid not in seen:
        if last_id < cid:
            why = (
                f"records after #{last_id} are missing: the checkpoint names #{cid} "
                "(the tail was deleted, or an older copy of the database was restored)"
            )
            return ChainReport(False, count, last_id + 1, why, keyed_from, cid)
        return ChainReport(False, count, cid, f"record #{cid} named by the checkpoint is missing", keyed_from, cid)
    if not hmac.compare_digest(seen[cid], chash):
        return ChainReport(
            False, count, cid, "the chain was rewritten: the record differs from the checkpoint", keyed_from, cid
        )
    return ChainReport(True, count, keyed_from=keyed_from, checkpoint_id=cid)


# --- reading and export --------------------------------------------------------------------------


def query(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    result: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """Newest first; `action` matches a prefix (`auth.` gives every sign-in record)."""
    stmt = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AuditRecord.id < before)
    if actor:
        stmt = stmt.where(AuditRecord.actor == actor)
    if action:
        stmt = stmt.where(AuditRecord.action.startswith(action, autoescape=True))
    if result:
        stmt = stmt.where(AuditRecord.result == result)
    if since is not None:
        stmt = stmt.where(AuditRecord.at >= since)
    if until is not None:
        stmt = stmt.where(AuditRecord.at < until)
    return list(session.scalars(stmt))


def export(session: Session, first_id: int | None = None, last_id: int | None = None) -> dict[str, Any]:
    """A signed range of records that another machine verifies offline with the public key."""
    keys = keys_for(session)
    assert keys is not None
    stmt = select(AuditRecord).order_by(AuditRecord.id)
    if first_id is not None:
        stmt = stmt.where(AuditRecord.id >= first_id)
    if last_id is not None:
        stmt = stmt.where(AuditRecord.id <= last_id)
    records = [r.as_dict() for r in session.scalars(stmt)]
    body = {
        "format": EXPORT_FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "from_id": records[0]["id"] if records else first_id,
        "to_id": records[-1]["id"] if records else last_id,
        "count": len(records),
        "records": records,
        "public_key": keys.public_key_hex,
    }
    return {**body, "signature": keys.sign(_signed_body(body))}


@dataclass(frozen=True)
class ExportReport:
    ok: bool
    records: int
    reason: str | None = None
    trusted_key: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "reason": self.reason, "trusted_key": self.trusted_key}


def verify_export(doc: Any, public_key_hex: str | None = None) -> ExportReport:
    """Check an export offline: its signature (with the given key, else the one it carries) and
    that its records link up. Needs no database and no secret."""
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT or "signature" not in doc:
        return ExportReport(False, 0, "not a govops audit export")
    body = {k: v for k, v in doc.items() if k != "signature"}
    listed = body.get("records")
    records: list[Any] = listed if isinstance(listed, list) else []
    key_hex = public_key_hex or str(body.get("public_key", ""))
    try:
        audit_keys.public_key(key_hex).verify(bytes.fromhex(str(doc["signature"])), _signed_body(body))
    except Exception:
        why = "the signature does not match: the export was altered, or not signed with this key"
        return ExportReport(False, len(records), why)
    if public_key_hex and public_key_hex.strip().lower() != str(body.get("public_key", "")).lower():
        return ExportReport(False, len(records), "the export names another public key than the one given")
    for before, after in itertools.pairwise(records):
        if after.get("prev_hash") != before.get("hash"):
            return ExportReport(False, len(records), f"record #{after.get('id')} does not follow #{before.get('id')}")
    if body.get("count") != len(records):
        return ExportReport(False, len(records), "the record count does not match")
    return ExportReport(True, len(records), None, trusted_key=public_key_hex is not None)


def public_key_of(session: Session) -> str:
    keys = keys_for(session)
    assert keys is not None
    return keys.public_key_hex


def data_dir_of(session: Session) -> Path:
    keys = keys_for(session)
    assert keys is not None
    return keys.data_dir
