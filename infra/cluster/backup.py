"""Backup and restore of what the platform cannot lose (备份与恢复), and the restore drill.

One archive holds, as of one moment:
- the database: SQLite through its online backup API, PostgreSQL through `pg_dump --format=custom`;
- the keys: the secret box key and the CA's key store (`<data_dir>/ca`);
- the Pulumi stack state (the file backend under `<data_dir>/pulumi`);
- optionally an etcd snapshot (`etcdctl snapshot save`) of the cluster the platform provisions,
  over TLS with the backup's own client certificate when etcd requires one (backup_etcd.py).
A manifest inside lists every file with its SHA-256 and the database's row counts; the archive is
encrypted to the operator's key (see envelope.py), so the backup target never holds a readable key.

A drill restores the newest archive into a scratch place, checks every hash, the row counts and the
audit chain, and records the result: the compliance report reads "last successful restore drill".
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, inspect, make_url, select, table

from govops.audit_keys import CHECKPOINT_FILE, KEY_FILE
from govops.errors import ServiceUnavailable, ValidationFailed
from govops.files import write_private
from govops.settings import Settings
from infra.cluster.backup_etcd import EtcdClientTLS
from infra.cluster.backup_etcd import snapshot as etcd_snapshot
from infra.cluster.envelope import OpeningReader, SealingWriter, load_private, load_public, read_header

SUFFIX = ".gvbackup"
DRILL_LOG = "restore-drills.jsonl"
ITEMS = ("database", "keys", "pulumi", "etcd")


@dataclass
class BackupResult:
    path: Path
    created: str
    items: dict[str, int]  # item -> bytes before encryption
    size: int  # bytes of the archive
    pruned: list[str] = field(default_factory=list)
    shipped_to: str | None = None  # user@host:/dir of a backup host, when copied there
    remote_pruned: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


@dataclass
class RestoreResult:
    archive: Path
    created: str
    restored: list[str]
    checks: dict[str, str]  # what was compared -> "ok" or what differed

    @property
    def ok(self) -> bool:
        return all(v == "ok" for v in self.checks.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "archive": str(self.archive), "ok": self.ok}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=3600)
    except FileNotFoundError:
        raise ServiceUnavailable(f"{argv[0]} is not installed ({what})", hint="run `make tools`") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ServiceUnavailable(f"{what} failed: {last[0][:300]}", hint="check the server is reachable, then retry")


def _pg_env(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (which goes through PGPASSWORD, never the command line)."""
    parsed = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    plain = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sorted(t for t in inspect(conn).get_table_names() if t != "alembic_version")
            return {t: int(conn.execute(select(func.count()).select_from(table(t))).scalar_one()) for t in tables}
    finally:
        engine.dispose()


def _dump_database(settings: Settings, into: Path) -> tuple[Path, dict[str, int]]:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        source = Path(make_url(url).database or "")
        if not source.exists():
            raise ValidationFailed(f"no database at {source}", hint="run `govops db upgrade` first")
        target = into / "govops.db"
        src, dst = sqlite3.connect(source), sqlite3.connect(target)
        try:
            src.backup(dst)  # online: a consistent copy while the gateway keeps writing
        finally:
            src.close()
            dst.close()
        return target, row_counts(f"sqlite:///{target}")
    target = into / "govops.pgdump"
    plain, env = _pg_env(url)
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), plain], "pg_dump", env)
    return target, row_counts(url)


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
    elif root.is_dir():
        yield from sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".write-test"))


def create_backup(
    settings: Settings,
    recipient_pem: bytes,
    target_dir: Path,
    *,
    etcd_endpoints: str | None = None,
    etcd_tls: EtcdClientTLS | None = None,
    keep: int = 14,
    keep_days: int | None = None,
) -> BackupResult:
    """Write one encrypted archive into `target_dir`, then apply the retention (see `prune`).
    With `etcd_endpoints`, an etcd snapshot too, over TLS with `etcd_tls` (backup_etcd.py)."""
    if keep < 1:
        raise ValidationFailed("keep must be at least 1", hint="pass --keep N with N ≥ 1")
    if keep_days is not None and keep_days < 1:
        raise ValidationFailed("keep-days must be at least 1", hint="pass --keep-days D with D ≥ 1, or leave it out")
    if etcd_tls is not None and not etcd_endpoints:
        raise ValidationFailed(
            "etcd TLS files given but no etcd endpoint", hint="pass --etcd https://HOST:2379 as well"
        )
    recipient = load_public(recipient_pem)
    if etcd_tls is not None:
        etcd_tls.check()  # a missing certificate fails before anything is dumped
    target_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    created = now.isoformat(timespec="seconds")
    data = settings.data_dir
    with tempfile.TemporaryDirectory(prefix="govops-backup-") as scratch:
        work = Path(scratch)
        members: list[tuple[str, Path]] = []
        db_file, counts = _dump_database(settings, work)
        members.append((f"database/{db_file.name}", db_file))
        # The secret box key, the audit chain's key and checkpoint (the chain verifies only with
        # them), and the CA's key store.
        for path in [settings.key_file, data / KEY_FILE, data / CHECKPOINT_FILE, *_files(data / "ca")]:
            if path.exists():
                members.append((f"keys/{path.relative_to(data)}", path))
        members += [(f"pulumi/{p.relative_to(data / 'pulumi')}", p) for p in _files(data / "pulumi")]
        if etcd_endpoints:
            members.append(("etcd/snapshot.db", etcd_snapshot(etcd_endpoints, work, etcd_tls)))
        sizes: dict[str, int] = {}
        for name, path in members:
            item = name.split("/", 1)[0]
            sizes[item] = sizes.get(item, 0) + path.stat().st_size
        manifest = {
            "created": created,
            "database": {"kind": "sqlite" if db_file.suffix == ".db" else "postgresql", "rows": counts},
            "files": {name: _sha256(path) for name, path in members},
        }
        final = target_dir / f"govops-{now.strftime('%Y%m%dT%H%M%SZ')}{SUFFIX}"
        partial = final.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            sealer = SealingWriter(out, recipient, {"created": created, "items": sizes})
            with tarfile.open(fileobj=sealer, mode="w|gz") as tar:
                blob = json.dumps(manifest, indent=1, sort_keys=True).encode()
                info = tarfile.TarInfo("manifest.json")
                info.size = len(blob)
                tar.addfile(info, fileobj=io.BytesIO(blob))
                for name, path in members:
                    tar.add(path, arcname=name, recursive=False)
            sealer.close()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)  # a crash mid-backup leaves a .partial, never a short archive
    pruned = prune(target_dir, keep=keep, keep_days=keep_days, now=now)
    return BackupResult(final, created, sizes, final.stat().st_size, pruned)


def archive_time(name: str) -> datetime | None:
    """When an archive was taken, from its name (govops-YYYYmmddTHHMMSSZ.gvbackup)."""
    try:
        return datetime.strptime(name.removeprefix("govops-").removesuffix(SUFFIX), "%Y%m%dT%H%M%SZ").replace(
            tzinfo=UTC
        )
    except ValueError:
        return None


def expired(names: list[str], *, keep: int, keep_days: int | None = None, now: datetime | None = None) -> list[str]:
    """The retention (保留策略), for a directory here or on a backup host alike: keep the newest `keep`
    archives and, with `keep_days`, none older than that many days, except that the newest archive is
    never removed. Returns the names to remove; names that are not archives are never touched."""
    archives = sorted((n for n in names if n.startswith("govops-") and n.endswith(SUFFIX)), reverse=True)
    limit = (now or datetime.now(UTC)) - timedelta(days=keep_days) if keep_days else None
    return [
        name
        for i, name in enumerate(archives)
        if i > 0 and (i >= keep or (limit is not None and (archive_time(name) or limit) < limit))
    ]


def prune(target_dir: Path, *, keep: int, keep_days: int | None = None, now: datetime | None = None) -> list[str]:
    """Apply the retention to `target_dir`; returns the names removed."""
    gone = expired([p.name for p in list_backups(target_dir)], keep=keep, keep_days=keep_days, now=now)
    for name in gone:
        (target_dir / name).unlink(missing_ok=True)
    return gone


def list_backups(target_dir: Path) -> list[Path]:
    """Newest first."""
    return sorted(target_dir.glob(f"govops-*{SUFFIX}"), reverse=True) if target_dir.is_dir() else []


def describe(archive: Path) -> dict[str, Any]:
    """What an archive holds, without the key (the plaintext header only)."""
    with archive.open("rb") as f:
        header, _ = read_header(f)
    return {
        "path": str(archive),
        "created": header.get("created"),
        "items": header.get("items", {}),
        "size": archive.stat().st_size,
        "recipient": header.get("recipient"),
    }


def _open(archive: Path, private_pem: bytes, into: Path) -> dict[str, Any]:
    """Decrypt and unpack into `into`; check every file against the manifest before anything is used."""
    if not archive.is_file():
        raise ValidationFailed(f"no backup archive at {archive}", hint="list them with `govops cluster backups`")
    private = load_private(private_pem)
    with archive.open("rb") as f, tarfile.open(fileobj=OpeningReader(f, private), mode="r|gz") as tar:
        for member in tar:
            _extract(tar, member, into)
    manifest = json.loads((into / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        member = into / name
        if not member.is_file() or _sha256(member) != digest:
            raise ValidationFailed(f"backup member {name} does not match its manifest", hint="use another backup")
    return manifest


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, into: Path) -> None:
    """Only plain files and directories under `into`: an archive is checked by its manifest after
    unpacking, so nothing in it may write elsewhere first. (tarfile's own "data" filter is missing
    from Python 3.11 before 3.11.4, which Debian bookworm ships.)"""
    name = Path(member.name)
    if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
        raise ValidationFailed(f"backup member {member.name} is not a plain file", hint="use another backup")
    if hasattr(tarfile, "data_filter"):
        tar.extract(member, into, filter="data")
    else:  # pragma: no cover - Python < 3.11.4
        tar.extract(member, into)


def restore_backup(
    settings: Settings,
    archive: Path,
    private_pem: bytes,
    *,
    items: tuple[str, ...] = ("database", "keys", "pulumi"),
    etcd_data_dir: Path | None = None,
) -> RestoreResult:
    """Put an archive's contents back: the database, the keys, the Pulumi state and, given a fresh
    data directory, etcd. Stop the gateway first; the database is replaced whole."""
    unknown = set(items) - set(ITEMS)
    if unknown:
        raise ValidationFailed(
            f"unknown backup items: {', '.join(sorted(unknown))}", hint=f"choose from {', '.join(ITEMS)}"
        )
    with tempfile.TemporaryDirectory(prefix="govops-restore-") as scratch:
        staged = Path(scratch)
        manifest = _open(archive, private_pem, staged)
        restored: list[str] = []
        data = settings.ensure_data_dir()
        if "database" in items:
            _restore_database(settings, staged / "database")
            # The audit checkpoint anchors the chain's head: it goes back with the database (or
            # goes, when the archive's database had none), else the restored chain reads as cut.
            # The restore itself is audited into the restored chain (backup_jobs.restore).
            checkpoint = staged / "keys" / CHECKPOINT_FILE
            if checkpoint.is_file():
                write_private(data / CHECKPOINT_FILE, checkpoint.read_bytes())
            else:
                (data / CHECKPOINT_FILE).unlink(missing_ok=True)
            restored.append("database")
        if "keys" in items and (staged / "keys").is_dir():
            for path in _files(staged / "keys"):
                write_private(data / path.relative_to(staged / "keys"), path.read_bytes())
            restored.append("keys")
        if "pulumi" in items and (staged / "pulumi").is_dir():
            shutil.rmtree(data / "pulumi", ignore_errors=True)
            shutil.copytree(staged / "pulumi", data / "pulumi")
            restored.append("pulumi")
        if "etcd" in items:
            if etcd_data_dir is None or not (staged / "etcd" / "snapshot.db").is_file():
                raise ValidationFailed(
                    "this restore needs an etcd snapshot and --etcd-data-dir", hint="pass a new, empty directory"
                )
            _run(
                [
                    "etcdctl",
                    "snapshot",
                    "restore",
                    str(staged / "etcd" / "snapshot.db"),
                    "--data-dir",
                    str(etcd_data_dir),
                ],
                "etcd snapshot restore",
                {"ETCDCTL_API": "3"},
            )
            restored.append("etcd")
        checks = {"hashes": "ok"}
        if "database" in items:
            checks["row counts"] = _compare_rows(manifest["database"]["rows"], row_counts(settings.sqlalchemy_url))
        return RestoreResult(archive, manifest["created"], restored, checks)


def _restore_database(settings: Settings, staged: Path) -> None:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        source = staged / "govops.db"
        if not source.is_file():
            raise ValidationFailed(
                "this backup holds a PostgreSQL dump, not SQLite", hint="restore with GOVOPS_DATABASE_URL set"
            )
        target = Path(make_url(url).database or "")
        target.parent.mkdir(parents=True, exist_ok=True)
        aside = target.with_name(f".{target.name}.restore")
        shutil.copyfile(source, aside)
        for suffix in ("-wal", "-shm"):  # a stale WAL would be replayed over the restored file
            with contextlib.suppress(FileNotFoundError):
                target.with_name(target.name + suffix).unlink()
        os.replace(aside, target)
        return
    source = staged / "govops.pgdump"
    if not source.is_file():
        raise ValidationFailed(
            "this backup holds a SQLite database, not a PostgreSQL dump", hint="restore without GOVOPS_DATABASE_URL"
        )
    plain, env = _pg_env(url)
    _run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--dbname", plain, str(source)],
        "pg_restore",
        env,
    )


def _compare_rows(expected: dict[str, int], actual: dict[str, int]) -> str:
    diff = [
        f"{t}: {expected.get(t)} → {actual.get(t)}"
        for t in sorted(set(expected) | set(actual))
        if expected.get(t) != actual.get(t)
    ]
    return "ok" if not diff else "; ".join(diff)


def restore_drill(settings: Settings, target_dir: Path, private_pem: bytes) -> RestoreResult:
    """Restore the newest archive into a scratch data directory (SQLite), check it, and log the drill."""
    newest = next(iter(list_backups(target_dir)), None)
    if newest is None:
        raise ValidationFailed(f"no backups in {target_dir}", hint="run `govops cluster backup` first")
    with tempfile.TemporaryDirectory(prefix="govops-drill-") as scratch:
        drill = Settings(data_dir=Path(scratch), environment=settings.environment)
        result = restore_backup(drill, newest, private_pem)
        result.checks["audit chain"] = _audit_chain(drill)
    with (target_dir / DRILL_LOG).open("a") as log:
        log.write(json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), **result.as_dict()}) + "\n")
    return result


def _audit_chain(settings: Settings) -> str:
    from govops import audit
    from govops.db import make_engine, make_sessionmaker, transaction

    engine = make_engine(settings)
    try:
        with transaction(make_sessionmaker(engine, settings)) as session:
            report = audit.verify(session)
        return "ok" if report.ok else f"broken: {report.as_dict()}"
    finally:
        engine.dispose()


def last_drill(target_dir: Path) -> dict[str, Any] | None:
    """The newest successful drill, for the compliance report."""
    log = target_dir / DRILL_LOG
    if not log.is_file():
        return None
    good = [d for d in map(json.loads, log.read_text().splitlines()) if d.get("ok")]
    return good[-1] if good else None


def target_dir_of(settings: Settings) -> Path:
    """Where backups go: GOVOPS_BACKUP_DIR, else `<data_dir>/backups`."""
    return settings.backup_dir or settings.data_dir / "backups"


def newest_age_s(target_dir: Path, now: datetime | None = None) -> float | None:
    """Seconds since the newest archive was written (its file time), or None without one."""
    newest = next(iter(list_backups(target_dir)), None)
    if newest is None:
        return None
    return max(0.0, (now or datetime.now(UTC)).timestamp() - newest.stat().st_mtime)
