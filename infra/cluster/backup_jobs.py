"""Backups, restores and restore drills as audited operations: what the CLI, the systemd timer the
`backup` role installs and the restore playbook all call. Each one appends a record to the audit
chain (备份、恢复、恢复演练 are security-relevant operations, GB/T 22239 8.1.4.11) with its outcome,
so the compliance report can read the last successful drill from a tamper-evident place.

A restore replaces the database, so its record is written after the restore, into the restored
chain: the chain then says when and from which archive it came back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import GovopsError
from govops.settings import Settings
from infra.cluster import backup as store
from infra.cluster.backup_etcd import EtcdClientTLS

T = TypeVar("T")
BACKUP, RESTORE, DRILL = "cluster.backup", "cluster.restore", "cluster.drill"


def _audit(settings: Settings, actor: str, action: str, target: str, result: str, detail: dict[str, Any]) -> None:
    from govops.db import make_engine, make_sessionmaker, transaction

    engine = make_engine(settings)
    try:
        with transaction(make_sessionmaker(engine, settings)) as session:
            audit.append(session, actor=actor, action=action, target=target, result=result, detail=detail)
    finally:
        engine.dispose()


def _audited(
    settings: Settings, actor: str, action: str, target: str, work: Callable[[], T], detail: dict[str, Any]
) -> T:
    """Run `work`; a failure is audited (with its one-line cause) before it reaches the caller."""
    try:
        return work()
    except Exception as exc:  # audited whatever it was, then raised to the caller as it was
        cause = exc.message if isinstance(exc, GovopsError) else f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):  # a database that is gone must not hide the cause
            _audit(settings, actor, action, target, "failure", {**detail, "error": cause[:500]})
        raise


def backup(
    settings: Settings,
    actor: str,
    recipient_pem: bytes,
    target_dir: Path,
    *,
    etcd_endpoints: str | None = None,
    etcd_tls: EtcdClientTLS | None = None,
    keep: int = 14,
    keep_days: int | None = None,
    via: str = "cli",
    ship_to: str | None = None,
) -> store.BackupResult:
    """One encrypted archive with the retention applied, audited as `cluster.backup`; with `ship_to`
    (user@host:/dir, a backup host) copied there too, with the same retention there."""
    from infra.cluster.backup_ship import Destination, ship

    detail: dict[str, Any] = {"target": str(target_dir), "via": via, "keep": keep, "keep_days": keep_days}
    destination = Destination.parse(ship_to) if ship_to else None
    if etcd_endpoints:  # which etcd, and as whom: paths only, never a key's contents
        detail["etcd"] = {"endpoints": etcd_endpoints, "client_cert": str(etcd_tls.cert) if etcd_tls else None}

    def work() -> tuple[store.BackupResult, list[str]]:
        made = store.create_backup(
            settings,
            recipient_pem,
            target_dir,
            etcd_endpoints=etcd_endpoints,
            etcd_tls=etcd_tls,
            keep=keep,
            keep_days=keep_days,
        )
        if destination is None:
            return made, []
        detail.update(archive=made.path.name, shipped_to=str(destination))
        key, known = settings.backup_ssh_key, settings.backup_known_hosts
        return made, ship(made.path, destination, keep=keep, keep_days=keep_days, key=key, known_hosts=known)

    result, remote_pruned = _audited(settings, actor, BACKUP, f"dir:{target_dir}", work, detail)
    detail |= {"archive": result.path.name, "size": result.size, "items": result.items, "pruned": result.pruned}
    if destination is not None:
        result.shipped_to, result.remote_pruned = str(destination), remote_pruned
        detail |= {"shipped_to": str(destination), "remote_pruned": remote_pruned}
    _audit(settings, actor, BACKUP, f"archive:{result.path.name}", "success", detail)
    return result


def restore(
    settings: Settings,
    actor: str,
    archive: Path,
    private_pem: bytes,
    *,
    items: tuple[str, ...] = ("database", "keys", "pulumi"),
    etcd_data_dir: Path | None = None,
) -> store.RestoreResult:
    """Put an archive back (the caller has stopped the gateway and let go of the database), then
    audit the restore into the restored chain."""
    detail: dict[str, Any] = {"archive": str(archive), "items": list(items)}
    result = _audited(
        settings,
        actor,
        RESTORE,
        f"archive:{archive.name}",
        lambda: store.restore_backup(settings, archive, private_pem, items=items, etcd_data_dir=etcd_data_dir),
        detail,
    )
    detail |= {"created": result.created, "restored": result.restored, "checks": result.checks}
    _audit(settings, actor, RESTORE, f"archive:{archive.name}", "success" if result.ok else "failure", detail)
    return result


def drill(settings: Settings, actor: str, target_dir: Path, private_pem: bytes) -> store.RestoreResult:
    """Restore the newest archive into a scratch place and check it (恢复演练), audited as `cluster.drill`."""
    detail: dict[str, Any] = {"target": str(target_dir)}
    result = _audited(
        settings,
        actor,
        DRILL,
        f"dir:{target_dir}",
        lambda: store.restore_drill(settings, target_dir, private_pem),
        detail,
    )
    detail |= {"archive": result.archive.name, "created": result.created, "checks": result.checks}
    _audit(settings, actor, DRILL, f"archive:{result.archive.name}", "success" if result.ok else "failure", detail)
    return result


def last_drill(session: Session, target_dir: Path | None = None) -> dict[str, Any] | None:
    """The newest successful restore drill: from the audit chain, else from the drill log kept next
    to the archives (a drill run against this backup directory from another platform copy)."""
    row = session.scalars(
        select(audit.AuditRecord)
        .where(audit.AuditRecord.action == DRILL, audit.AuditRecord.result == "success")
        .order_by(audit.AuditRecord.id.desc())
        .limit(1)
    ).first()
    logged = store.last_drill(target_dir) if target_dir is not None else None
    if row is not None:
        at = row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at.astimezone(UTC)
        if logged is None or datetime.fromisoformat(logged["at"]) <= at:
            return {
                "at": at.isoformat(timespec="seconds"),
                "archive": row.detail.get("archive"),
                "source": f"audit record #{row.id}",
            }
    return {**logged, "source": f"drill log in {target_dir}"} if logged else None
