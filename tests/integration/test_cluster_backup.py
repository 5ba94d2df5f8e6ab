"""Backup, wipe, restore and compare — of SQLite, PostgreSQL, the keys and a real etcd — and the drill."""

from __future__ import annotations

import base64
import shutil
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from gateway.runtime import Runtime
from govops import audit
from govops.settings import load_settings
from infra.cluster.backup import (
    create_backup,
    describe,
    last_drill,
    list_backups,
    restore_backup,
    restore_drill,
    row_counts,
)
from infra.cluster.envelope import BackupUnreadable, new_operator_key
from tools.lab.etcd import start_plain_etcd

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def operator_key() -> tuple[bytes, bytes]:
    return new_operator_key()


def _audited(runtime: Runtime, n: int) -> None:
    with runtime.transaction() as session:
        for i in range(n):
            audit.append(session, actor="cli:test", action="test.backup", target=f"t{i}", result="success")


def test_sqlite_and_keys_survive_a_wiped_data_directory(district: Runtime, operator_key, tmp_path: Path) -> None:
    private, public = operator_key
    _audited(district, 5)
    sealed = district.box.encrypt("camera password")  # creates the secret box key file
    assert district.settings.key_file.exists()
    (district.settings.data_dir / "ca").mkdir(exist_ok=True)
    (district.settings.data_dir / "ca" / "issuing.key.enc").write_bytes(b"ca key material \x00\x01")
    before = row_counts(district.settings.sqlalchemy_url)
    assert before["cameras"] >= 8 and before["audit_records"] >= 5
    key_bytes = district.settings.key_file.read_bytes()

    result = create_backup(district.settings, public, tmp_path / "backups")
    assert result.path.exists() and set(result.items) >= {"database", "keys"}
    assert b"ca key material" not in result.path.read_bytes()  # encrypted at the target
    assert describe(result.path)["created"] == result.created

    district.engine.dispose()
    shutil.rmtree(district.settings.data_dir)  # the disaster
    restored = restore_backup(district.settings, result.path, private)
    assert restored.ok, restored.checks
    assert row_counts(district.settings.sqlalchemy_url) == before
    assert district.settings.key_file.read_bytes() == key_bytes
    assert (district.settings.data_dir / "ca" / "issuing.key.enc").read_bytes() == b"ca key material \x00\x01"
    assert district.settings.key_file.stat().st_mode & 0o777 == 0o600
    fresh = Runtime.build(district.settings)
    with fresh.transaction() as session:
        assert audit.verify(session).ok
    assert fresh.box.decrypt(sealed) == "camera password"  # the restored key opens what the old one sealed


def test_a_changed_archive_or_a_wrong_key_restores_nothing(runtime: Runtime, operator_key, tmp_path: Path) -> None:
    private, public = operator_key
    result = create_backup(runtime.settings, public, tmp_path / "b")
    other_private, _ = new_operator_key()
    with pytest.raises(BackupUnreadable, match="encrypted to operator key"):
        restore_backup(runtime.settings, result.path, other_private)
    damaged = bytearray(result.path.read_bytes())
    damaged[-40] ^= 0x01
    bad = tmp_path / "damaged.gvbackup"
    bad.write_bytes(bytes(damaged))
    with pytest.raises(BackupUnreadable, match="changed or is damaged"):
        restore_backup(runtime.settings, bad, private)
    cut = tmp_path / "cut.gvbackup"
    cut.write_bytes(result.path.read_bytes()[:-10])
    with pytest.raises(BackupUnreadable):
        restore_backup(runtime.settings, cut, private)


def test_retention_keeps_the_newest_and_the_drill_is_recorded(district: Runtime, operator_key, tmp_path) -> None:
    private, public = operator_key
    target = tmp_path / "backups"
    for i in range(3):
        target.mkdir(exist_ok=True)
        (target / f"govops-2026010{i}T000000Z.gvbackup").write_bytes(b"old")
    result = create_backup(district.settings, public, target, keep=2)
    assert len(result.pruned) == 2 and len(list_backups(target)) == 2
    assert list_backups(target)[0] == result.path
    assert last_drill(target) is None
    drill = restore_drill(district.settings, target, private)
    assert drill.ok and {"hashes", "row counts", "audit chain"} <= set(drill.checks)
    assert last_drill(target)["created"] == result.created


def test_postgresql_backup_wipe_restore(postgres, operator_key, tmp_path: Path, sample_clips: Path) -> None:
    private, public = operator_key
    name = f"backup_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    rt = Runtime.build(load_settings(data_dir=tmp_path / "data", environment="test", database_url=url))
    rt.migrate()
    rt.settings.ensure_data_dir()
    rt.clips_dir.symlink_to(sample_clips, target_is_directory=True)
    rt.load_sample_district()
    _audited(rt, 3)
    before = row_counts(url)
    assert before["cameras"] >= 8
    result = create_backup(rt.settings, public, tmp_path / "backups")
    rt.engine.dispose()
    with admin.connect() as conn:  # the disaster: the database is gone
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    restored = restore_backup(rt.settings, result.path, private, items=("database",))
    assert restored.ok, restored.checks
    assert row_counts(url) == before


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _keys(url: str) -> dict[str, str]:
    r = httpx.post(f"{url}/v3/kv/range", json={"key": _b64("/govops/"), "range_end": _b64("/govops0")}, timeout=30)
    kvs = r.json().get("kvs", [])
    return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]).decode() for kv in kvs}


def test_etcd_snapshot_wipe_restore(runtime: Runtime, operator_key, tmp_path: Path) -> None:
    private, public = operator_key
    etcd, url = start_plain_etcd(tmp_path / "etcd", tmp_path / "etcd.log")
    try:
        with httpx.Client(timeout=30) as client:
            for i in range(200):
                client.post(f"{url}/v3/kv/put", json={"key": _b64(f"/govops/k{i:03d}"), "value": _b64(f"v{i}")})
        before = _keys(url)
        assert len(before) == 200
        result = create_backup(runtime.settings, public, tmp_path / "backups", etcd_endpoints=url)
        assert result.items["etcd"] > 0
    finally:
        etcd.stop()
    shutil.rmtree(tmp_path / "etcd")  # the disaster
    restore_backup(runtime.settings, result.path, private, items=("etcd",), etcd_data_dir=tmp_path / "etcd-restored")
    etcd, url = start_plain_etcd(tmp_path / "etcd-restored", tmp_path / "etcd2.log")
    try:
        assert _keys(url) == before
    finally:
        etcd.stop()
