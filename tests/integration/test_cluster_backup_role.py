"""The `backup` role and the restore playbook on real hosts: systemd-nspawn lab targets (real
systemd, real sshd, in network namespaces this test creates). tgt1 carries the platform (its CLI
under /opt/govops, its data under /var/lib/govops: the sample district's database, the secret-box
and audit keys, a CA key); tgt2 is the backup host.

The role installs a timer that is enabled and running; starting its service writes an archive that
only the operator's key opens into the local directory and onto the backup host, with the retention
applied in both places; then the data directory and the local archives are wiped and
`govops cluster restore --inventory` (playbooks/restore.yml) brings the database and the keys back
from the backup host."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.runtime import Runtime
from govops import audit
from govops.settings import load_settings
from infra.cluster.backup import list_backups, restore_backup, row_counts
from infra.cluster.envelope import new_operator_key
from infra.cluster.runner import run_playbook
from tests.fixtures.platform import need
from tests.support.platform_host import install_platform
from tools.lab.targets import TargetLab

pytestmark = pytest.mark.integration

DATA = "var/lib/govops"
TARGET = "var/backups/govops"
REMOTE = "srv/backup/govops"  # on tgt2, the backup host
CA_KEY = b"issuing CA key material \x00\x01\x02"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetLab]:
    lab = TargetLab(tmp_path_factory.mktemp("targets"), count=2)
    need(lab.start)
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    private, public = new_operator_key()
    keys = tmp_path_factory.mktemp("operator")
    (keys / "operator.key").write_bytes(private)
    (keys / "operator.key").chmod(0o600)
    return {"private": private, "public": public, "file": keys / "operator.key"}


@pytest.fixture(scope="module")
def platform(lab: TargetLab, sample_clips: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The platform on tgt1: its CLI and a data directory with the sample district in it."""
    root = lab.targets[0].merged
    install_platform(root)
    seed = tmp_path_factory.mktemp("seed") / "data"
    rt = Runtime.build(load_settings(data_dir=seed, environment="test"))
    rt.migrate()
    rt.settings.ensure_data_dir()
    rt.clips_dir.symlink_to(sample_clips, target_is_directory=True)
    rt.load_sample_district()
    sealed = rt.box.encrypt("camera password")  # the secret box key file
    with rt.transaction() as session:
        for i in range(5):
            audit.append(session, actor="cli:test", action="test.seed", target=f"t{i}", result="success")
    (seed / "ca").mkdir()
    (seed / "ca" / "issuing.key.enc").write_bytes(CA_KEY)
    database = Path(rt.settings.sqlalchemy_url.removeprefix("sqlite:///"))
    rt.engine.dispose()
    shutil.copytree(seed, root / DATA, symlinks=True)
    return {
        "rows": row_counts(f"sqlite:///{database}"),
        "database": root / DATA / database.relative_to(seed),
        "secret_key": rt.settings.key_file.read_bytes(),
        "key_file": root / DATA / rt.settings.key_file.relative_to(seed),
        "sealed": sealed,
    }


@pytest.fixture(scope="module")
def inventory(lab: TargetLab, operator: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    inv = lab.inventory()
    host = inv["cluster"]["hosts"]["tgt1"]  # type: ignore[index]
    inv["platform"] = {
        "hosts": {"tgt1": host},
        "vars": {
            "backup_recipient_pem": operator["public"].decode(),
            "backup_platform_environment": {"GOVOPS_DATA_DIR": f"/{DATA}"},
            "backup_target_dir": f"/{TARGET}",
            "backup_keep": 3,
            "backup_keep_days": 30,
            "backup_host": "tgt2",
            "backup_host_dir": f"/{REMOTE}",
        },
    }
    path = tmp_path_factory.mktemp("inv") / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    return path


@pytest.fixture(scope="module")
def scheduled(lab: TargetLab, platform: dict[str, Any], inventory: Path) -> dict[str, Any]:
    first = run_playbook(inventory, "backup.yml")
    assert first.ok, first.failures
    second = run_playbook(inventory, "backup.yml")
    return {"first": first, "second": second}


def sh(lab: TargetLab, *argv: str) -> subprocess.CompletedProcess[str]:
    return lab.exec(lab.targets[0], *argv, timeout=300)


def test_the_role_installs_an_enabled_timer_and_changes_nothing_the_second_time(
    lab: TargetLab, scheduled: dict[str, Any]
) -> None:
    assert scheduled["first"].changed >= 5
    assert scheduled["second"].ok and scheduled["second"].changed == 0, scheduled["second"].stats
    assert sh(lab, "systemctl", "is-enabled", "govops-backup.timer").stdout.strip() == "enabled"
    assert sh(lab, "systemctl", "is-active", "govops-backup.timer").stdout.strip() == "active"
    unit = sh(lab, "systemctl", "cat", "govops-backup.service").stdout
    assert "ExecStart=/opt/govops/bin/govops cluster backup --json" in unit
    env = lab.targets[0].merged / "etc/govops/backup.env"
    assert env.stat().st_mode & 0o777 == 0o600
    assert "GOVOPS_BACKUP_KEEP_DAYS=30" in env.read_text() and "GOVOPS_DATA_DIR=/var/lib/govops" in env.read_text()


@pytest.fixture(scope="module")
def archive(lab: TargetLab, scheduled: dict[str, Any]) -> dict[str, Any]:
    """Two archives older than this run (one past the 30 days), then the service started once."""
    target, remote = lab.targets[0].merged / TARGET, lab.targets[1].merged / REMOTE
    now = datetime.now(UTC)
    old = {}
    for days in (10, 40):
        name = f"govops-{(now - timedelta(days=days)).strftime('%Y%m%dT%H%M%SZ')}.gvbackup"
        for where in (target, remote):
            (where / name).write_bytes(b"an older archive")
        old[days] = name
    started = sh(lab, "systemctl", "start", "govops-backup.service")
    assert started.returncode == 0, started.stderr + sh(lab, "journalctl", "-u", "govops-backup", "--no-pager").stdout
    return {"target": target, "remote": remote, "old": old, "archives": list_backups(target)}


def test_the_service_writes_an_archive_only_the_operator_key_opens(
    archive: dict[str, Any], operator: dict[str, Any], platform: dict[str, Any], tmp_path: Path
) -> None:
    newest = archive["archives"][0]
    assert newest.name not in archive["old"].values()
    assert newest.stat().st_mode & 0o777 == 0o600
    assert CA_KEY not in newest.read_bytes() and platform["secret_key"] not in newest.read_bytes()
    opened = restore_backup(
        load_settings(data_dir=tmp_path / "opened", environment="test"), newest, operator["private"]
    )
    assert opened.ok, opened.checks
    assert row_counts(f"sqlite:///{tmp_path / 'opened' / platform['database'].name}") == platform["rows"]
    assert (tmp_path / "opened" / "ca" / "issuing.key.enc").read_bytes() == CA_KEY


def test_retention_pruned_past_the_days_and_kept_the_rest(archive: dict[str, Any]) -> None:
    names = [p.name for p in archive["archives"]]
    assert archive["old"][40] not in names  # older than backup_keep_days
    assert archive["old"][10] in names and len(names) == 2  # within backup_keep and the days


def test_the_archive_is_on_the_backup_host_with_the_same_retention(archive: dict[str, Any]) -> None:
    newest = archive["archives"][0]
    there = list_backups(archive["remote"])
    assert [p.name for p in there] == [newest.name, archive["old"][10]]
    assert there[0].read_bytes() == newest.read_bytes()
    assert not list(archive["remote"].glob(".*.partial"))


def test_the_timer_run_is_audited_on_the_host(archive: dict[str, Any], platform: dict[str, Any]) -> None:
    with sqlite3.connect(platform["database"]) as db:
        rows = db.execute(
            "SELECT result, actor, detail FROM audit_records WHERE action = 'cluster.backup' ORDER BY id"
        ).fetchall()
    assert len(rows) == 1
    result, actor, detail = rows[0]
    assert result == "success" and actor == "cli:root"
    assert json.loads(detail)["via"] == "systemd" and json.loads(detail)["archive"] == archive["archives"][0].name
    assert json.loads(detail)["pruned"] == [archive["old"][40]]
    assert json.loads(detail)["shipped_to"] == f"govops-backup@10.213.0.12:/{REMOTE}"
    assert json.loads(detail)["remote_pruned"] == [archive["old"][40]]


def test_wipe_then_restore_playbook_brings_back_the_database_and_the_keys_from_the_backup_host(
    lab: TargetLab, archive: dict[str, Any], platform: dict[str, Any], operator: dict[str, Any], inventory: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    newest = archive["archives"][0].name
    assert sh(lab, "rm", "-rf", f"/{DATA}", f"/{TARGET}/{newest}").returncode == 0  # the disaster, spool too
    assert not platform["database"].exists() and not (archive["target"] / newest).exists()
    env = {**os.environ, "GOVOPS_DATA_DIR": str(tmp_path / "controller"), "GOVOPS_ENVIRONMENT": "test"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "govops"), "cluster", "restore", "--inventory", str(inventory),
         "--key", str(operator["file"]), "--json"],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads(done.stdout)
    assert run["kind"] == "restore" and run["status"] == "succeeded"
    assert [h["host"] for h in run["hosts"]] == ["tgt1"] and run["hosts"][0]["changed"] >= 1
    assert (archive["target"] / newest).read_bytes() == (archive["remote"] / newest).read_bytes()  # fetched
    restored = row_counts(f"sqlite:///{platform['database']}")
    assert restored == {**platform["rows"], "audit_records": platform["rows"]["audit_records"] + 1}
    assert (platform["database"].parent / "ca" / "issuing.key.enc").read_bytes() == CA_KEY
    assert platform["key_file"].read_bytes() == platform["secret_key"]
    assert not list((lab.targets[0].merged / "tmp").glob("*.govops-restore"))  # the key left the host
    host = Runtime.build(load_settings(data_dir=platform["database"].parent, environment="test"))
    try:
        with host.transaction() as session:
            assert audit.verify(session).ok
            last = session.query(audit.AuditRecord).order_by(audit.AuditRecord.id.desc()).first()
        assert last is not None and last.action == "cluster.restore" and last.result == "success"
        assert host.box.decrypt(platform["sealed"]) == "camera password"
    finally:
        host.engine.dispose()
