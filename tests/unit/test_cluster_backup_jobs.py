"""Backups, restores and drills are audited (the kernel's chain), the retention keeps N and days,
and the compliance report reads the last successful drill from the audit chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.runtime import Runtime
from govops import audit
from govops.errors import ValidationFailed
from infra.cluster import backup_jobs
from infra.cluster.backup import DRILL_LOG, list_backups, prune
from infra.cluster.envelope import new_operator_key
from monitoring.compliance.report import gather


def records(rt: Runtime, action: str) -> list[audit.AuditRecord]:
    with rt.transaction() as s:
        return list(s.scalars(select(audit.AuditRecord).where(audit.AuditRecord.action == action)))


def test_a_backup_is_audited_with_its_archive_and_a_refused_one_with_its_cause(runtime: Runtime, tmp_path) -> None:
    _, public = new_operator_key()
    result = backup_jobs.backup(runtime.settings, "cli:op", public, tmp_path / "b", keep=3, via="systemd")
    [ok] = records(runtime, backup_jobs.BACKUP)
    assert ok.result == "success" and ok.actor == "cli:op" and ok.target == f"archive:{result.path.name}"
    assert ok.detail["via"] == "systemd" and ok.detail["size"] == result.size and ok.detail["pruned"] == []
    with pytest.raises(ValidationFailed):
        backup_jobs.backup(runtime.settings, "cli:op", b"not a key", tmp_path / "b")
    failed = records(runtime, backup_jobs.BACKUP)[-1]
    assert failed.result == "failure" and "X25519" in failed.detail["error"]
    with runtime.transaction() as s:
        assert audit.verify(s).ok


def test_a_restore_is_audited_into_the_restored_chain(runtime: Runtime, tmp_path) -> None:
    private, public = new_operator_key()
    runtime.box.encrypt("x")  # the secret box key file exists
    result = backup_jobs.backup(runtime.settings, "cli:op", public, tmp_path / "b")
    runtime.engine.dispose()
    restored = backup_jobs.restore(runtime.settings, "cli:op", result.path, private, items=("database", "keys"))
    assert restored.ok, restored.checks
    fresh = Runtime.build(runtime.settings)
    with fresh.transaction() as s:
        last = s.scalars(select(audit.AuditRecord).order_by(audit.AuditRecord.id.desc()).limit(1)).one()
        assert audit.verify(s).ok
    assert last.action == backup_jobs.RESTORE and last.result == "success"
    assert last.detail["restored"] == ["database", "keys"] and last.detail["created"] == result.created


def test_the_drill_is_audited_and_the_compliance_report_reads_it(runtime: Runtime, tmp_path) -> None:
    private, public = new_operator_key()
    target = tmp_path / "b"
    with runtime.transaction() as s:
        assert backup_jobs.last_drill(s, target) is None
    backup_jobs.backup(runtime.settings, "cli:op", public, target)
    drill = backup_jobs.drill(runtime.settings, "cli:op", target, private)
    assert drill.ok, drill.checks
    [record] = records(runtime, backup_jobs.DRILL)
    assert record.result == "success" and record.detail["checks"]["audit chain"] == "ok"
    (target / DRILL_LOG).unlink()  # the chain alone is the evidence
    settings = runtime.settings.model_copy(update={"backup_dir": target})
    with runtime.transaction() as s:
        got = {c["id"]: c for c in gather(s, settings)["controls"] if c["subject"] == "subsystem:backup"}
    assert got["restore-drill"]["status"] == "pass"
    assert f"audit record #{record.id}" in got["restore-drill"]["evidence"]
    assert got["backup-freshness"]["status"] == "pass"


def test_a_failed_drill_is_audited_and_not_taken_as_the_last_good_one(runtime: Runtime, tmp_path) -> None:
    private, _ = new_operator_key()
    with pytest.raises(ValidationFailed, match="no backups"):
        backup_jobs.drill(runtime.settings, "cli:op", tmp_path / "empty", private)
    [record] = records(runtime, backup_jobs.DRILL)
    assert record.result == "failure"
    with runtime.transaction() as s:
        assert backup_jobs.last_drill(s, tmp_path / "empty") is None


def test_retention_keeps_n_and_days_but_never_the_newest(tmp_path: Path) -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    for days in (1, 2, 3, 10, 20):
        stamp = (now - timedelta(days=days)).strftime("%Y%m%dT%H%M%SZ")
        (tmp_path / f"govops-{stamp}.gvbackup").write_bytes(b"x")
    gone = prune(tmp_path, keep=4, keep_days=7, now=now)
    assert len(gone) == 2 and len(list_backups(tmp_path)) == 3  # 10 and 20 days old
    oldest = list_backups(tmp_path)[-1].name
    assert prune(tmp_path, keep=2, now=now) == [oldest] and len(list_backups(tmp_path)) == 2
    assert prune(tmp_path, keep=1, keep_days=1, now=now + timedelta(days=30)) != []
    assert len(list_backups(tmp_path)) == 1  # the newest stays even when it is older than the limit


def test_restore_and_drill_front_doors_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    from tests.unit.test_cli import assert_clean_failure, govops

    env = {"GOVOPS_DATA_DIR": str(tmp_path / "data")}
    assert_clean_failure(govops("cluster", "restore", "--key", str(tmp_path / "k"), env=env), 2, "no archive given")
    out = govops("cluster", "restore", "--inventory", str(tmp_path / "hosts.yml"), env=env)
    assert_clean_failure(out, 2, "no readable operator key")
    private, _ = new_operator_key()
    (tmp_path / "k").write_bytes(private)
    inventory = str(tmp_path / "hosts.yml")
    out = govops("cluster", "restore", "--inventory", inventory, "--key", str(tmp_path / "k"), env=env)
    assert_clean_failure(out, 2, "does not exist")
    out = govops("cluster", "drill", "--key", str(tmp_path / "k"), "--target", str(tmp_path / "none"), env=env)
    assert_clean_failure(out, 2, "no backups in")
    out = govops("cluster", "backup", "--keep-days", "0", env=env)
    assert out.returncode == 2 and "Traceback" not in out.stderr
