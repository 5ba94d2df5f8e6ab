"""The compliance report on the embedded default (no Keycloak, no runs, no backups), after a
stored baseline run, in the console, as printable HTML and from the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway.runtime import Runtime
from govops.principal import AUDITOR, OPS_ENGINEER, Principal
from infra.cluster.models import ClusterHostResult, ClusterRun
from monitoring.compliance.report import STATUSES, build
from tests.conftest import client_as


def by_id(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["id"], c["subject"]): c for c in report["controls"]}


def test_the_embedded_default_reads_honestly(runtime: Runtime) -> None:
    with runtime.transaction() as s:
        report = build(s, runtime.settings)
    got = by_id(report)
    assert all(c["status"] in STATUSES and c["taken_at"] and c["evidence"] for c in report["controls"])
    assert got[("host-baseline", "subsystem:cluster")]["status"] == "not configured"
    assert got[("identity-password-policy", "subsystem:identity")]["status"] == "not configured"
    assert got[("tls-gateway", "subsystem:gateway")]["status"] == "not configured"
    sep = got[("three-role-separation", "subsystem:identity")]
    assert sep["status"] == "pass" and "none holds two" in sep["evidence"]  # three local accounts now
    assert got[("audit-chain", "subsystem:audit")]["status"] == "pass"
    assert got[("backup-freshness", "subsystem:backup")]["status"] == "fail"
    assert got[("restore-drill", "subsystem:backup")]["status"] == "fail"
    assert got[("tenant-policy-pack", "subsystem:cloud")]["status"] == "not configured"
    assert sum(report["summary"].values()) == len(report["controls"])


def store_run(runtime: Runtime, kind: str, hosts: dict[str, dict[str, Any]]) -> int:
    with runtime.transaction() as s:
        run = ClusterRun(
            kind=kind, playbook="site.yml", inventory="x", status="succeeded", actor="cli:t",
            started_at=datetime.now(UTC), finished_at=datetime.now(UTC),
        )  # fmt: skip
        s.add(run)
        s.flush()
        for name, fields in hosts.items():
            s.add(ClusterHostResult(run_id=run.id, host=name, diffs=[], **fields))
        return run.id


def test_host_controls_come_from_the_latest_apply_run(runtime: Runtime) -> None:
    controls = {
        "controls": [
            {"id": "ssh-hardening", "clause": "8.1.4.2", "status": "applied", "evidence": "PermitRootLogin=no"},
            {"id": "audit-rules", "clause": "8.1.4.3 a", "status": "configured, not applied: container"},
        ]
    }
    store_run(runtime, "apply", {"tgt1": {"status": "ok", "controls": controls}})
    store_run(runtime, "apply", {"ghost": {"status": "unreachable", "failure": "unreachable: ssh: refused"}})
    store_run(runtime, "check", {"tgt1": {"status": "failed", "failure": "a check says nothing"}})
    with runtime.transaction() as s:
        got = by_id(build(s, runtime.settings))
    assert got[("ssh-hardening", "host:tgt1")]["status"] == "pass"
    audit_rules = got[("audit-rules", "host:tgt1")]
    assert audit_rules["reading"] == "configured, not applied: container"
    ghost = got[("host-baseline", "host:ghost")]
    assert ghost["status"] == "fail" and "refused" in ghost["evidence"]


def test_backup_and_drill_read_pass_when_fresh(runtime: Runtime, tmp_path: Path) -> None:
    import json

    from infra.cluster.backup import DRILL_LOG, target_dir_of

    target = target_dir_of(runtime.settings)
    target.mkdir(parents=True)
    (target / "govops-20261205T000000Z.gvbackup").write_bytes(b"x")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    (target / DRILL_LOG).write_text(json.dumps({"at": now, "ok": True, "archive": "a"}) + "\n")
    with runtime.transaction() as s:
        got = by_id(build(s, runtime.settings))
    assert got[("backup-freshness", "subsystem:backup")]["status"] == "pass"
    assert got[("restore-drill", "subsystem:backup")]["status"] == "pass"


def test_three_role_separation_fails_on_a_mixed_sign_in(runtime: Runtime) -> None:
    runtime.signins.open(Principal(subject="mixed", name="m", roles=frozenset({OPS_ENGINEER, AUDITOR})))
    with runtime.transaction() as s:
        sep = by_id(build(s, runtime.settings))[("three-role-separation", "subsystem:identity")]
    assert sep["status"] == "fail" and "mixed" in sep["evidence"]


def test_console_page_and_printable_html_ops_only(app: Any) -> None:
    ops = Principal(subject="ops1", name="ops", roles=frozenset({OPS_ENGINEER}))
    aud = Principal(subject="aud1", name="aud", roles=frozenset({AUDITOR}))
    with client_as(app, ops) as c:
        page = c.get("/compliance")
        assert page.status_code == 200 and 'data-testid="compliance-table"' in page.text
        printable = c.get("/compliance/print")
        assert printable.status_code == 200 and "等保" in printable.text and "<nav" not in printable.text
    with client_as(app, aud) as c:
        assert c.get("/compliance/print", headers={"accept": "application/json"}).status_code == 403


def test_cli_report_json_and_html(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from gateway.cli.main import app

    monkeypatch.setenv("GOVOPS_DATA_DIR", str(tmp_path / "data"))
    out = CliRunner().invoke(app, ["compliance", "report", "--json", "--html", str(tmp_path / "r.html")])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["controls"] and set(data["summary"]) == set(STATUSES)
    assert "取证时间" in (tmp_path / "r.html").read_text()


def test_cluster_metrics_come_from_the_run_history_and_the_backup_dir(runtime: Runtime) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from infra.cluster.backup import target_dir_of
    from monitoring.collectors import ClusterCollector

    controls = {"controls": [{"id": "a", "status": "applied"}, {"id": "b", "status": "missing"}]}
    store_run(runtime, "apply", {"tgt1": {"status": "ok", "controls": controls}})
    store_run(runtime, "apply", {"ghost": {"status": "unreachable", "failure": "unreachable: x"}})
    target = target_dir_of(runtime.settings)
    target.mkdir(parents=True)
    (target / "govops-20261205T000000Z.gvbackup").write_bytes(b"x")
    registry = CollectorRegistry()
    registry.register(ClusterCollector(runtime.sessions, target))
    text = generate_latest(registry).decode()
    assert "govops_cluster_run_history_available 1.0" in text
    assert 'govops_cluster_host_reachable{host="ghost"} 0.0' in text
    assert 'govops_cluster_host_reachable{host="tgt1"} 1.0' in text
    assert 'govops_cluster_baseline_controls_failing{host="tgt1"} 1.0' in text
    assert "govops_backup_last_success_timestamp_seconds{" in text
