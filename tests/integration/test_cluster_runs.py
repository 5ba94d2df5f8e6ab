"""Stored runs against real hosts: the lab's three targets, an address in the lab subnet with
nothing behind it, and a target whose Python is not where the inventory says. The reachable
targets are hardened while the others report their one-line cause; the run, per host, is kept in
the history; a check afterwards shows the diff of a file changed by hand; the compliance report
reads the baseline's evidence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.runtime import Runtime
from govops.principal import cli_principal
from govops.settings import load_settings
from infra.cluster import history
from monitoring.compliance.report import build
from tests.fixtures.platform import need
from tools.lab.targets import TargetLab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetLab]:
    lab = TargetLab(tmp_path_factory.mktemp("targets"), count=3)
    need(lab.start)
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    rt = Runtime.build(load_settings(data_dir=tmp_path_factory.mktemp("data"), environment="test"))
    rt.migrate()
    return rt


@pytest.fixture(scope="module")
def inventory(lab: TargetLab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    doc: dict[str, Any] = lab.inventory()
    hosts = doc["cluster"]["hosts"]
    like = dict(next(iter(hosts.values())))
    hosts["ghost"] = {**like, "ansible_host": f"{lab.subnet}.99"}  # nothing answers there
    hosts["nopython"] = {**like, "ansible_python_interpreter": "/usr/bin/python3.99"}
    path = tmp_path_factory.mktemp("inv") / "hosts.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def applied(runtime: Runtime, inventory: Path) -> dict[str, Any]:
    seen: list[tuple[str, str, str]] = []
    with runtime.transaction() as s:
        run_id = history.start_run(s, cli_principal(), inventory, kind="apply")
    result = history.execute(runtime.sessions, run_id, on_event=lambda h, t, w: seen.append((h, t, w)))
    return {"result": result, "events": seen}


def hosts_of(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {h["host"]: h for h in run["hosts"]}


def test_reachable_hosts_are_hardened_while_the_others_say_why_in_one_line(applied: dict[str, Any]) -> None:
    run = applied["result"]
    hosts = hosts_of(run)
    assert run["status"] == "failed"  # two hosts could not be served
    for name in ("tgt1", "tgt2", "tgt3"):
        assert hosts[name]["status"] == "changed", hosts[name]
        assert hosts[name]["failure"] is None and hosts[name]["duration_s"] > 0
        assert hosts[name]["controls"] and hosts[name]["controls"]["controls"]
    ghost = hosts["ghost"]
    assert ghost["status"] == "unreachable" and ghost["failure"].startswith("unreachable: ")
    assert "All items completed" not in ghost["failure"] and "\n" not in ghost["failure"]
    bare = hosts["nopython"]
    assert bare["status"] == "failed"
    assert "python3.99" in bare["failure"] or "interpreter" in bare["failure"], bare["failure"]
    assert any(w == "changed" for _, _, w in applied["events"])  # progress came from events


def test_the_run_is_kept_in_history_and_audited(runtime: Runtime, applied: dict[str, Any]) -> None:
    from sqlalchemy import select

    from govops import audit

    run_id = applied["result"]["id"]
    with runtime.transaction() as s:
        stored = history.get_run(s, run_id)
        actions = s.scalars(select(audit.AuditRecord.result).where(audit.AuditRecord.target == f"run:{run_id}")).all()
    assert hosts_of(stored)["ghost"]["status"] == "unreachable"
    assert actions == ["failure"]


def test_compliance_reads_the_hosts_baseline(runtime: Runtime, applied: dict[str, Any]) -> None:
    with runtime.transaction() as s:
        report = build(s, runtime.settings)
    tgt1 = [c for c in report["controls"] if c["subject"] == "host:tgt1"]
    assert tgt1, report["controls"]
    readings = {c["id"]: c["reading"] for c in tgt1}
    assert readings["ssh-hardening"] == "pass"
    assert readings["audit-rules"] == "configured, not applied: container"
    assert set(readings.values()) <= {"pass", "configured, not applied: container"}
    ghost = [c for c in report["controls"] if c["subject"] == "host:ghost"]
    assert [c["status"] for c in ghost] == ["fail"]


def test_check_shows_the_diff_of_a_file_changed_by_hand(
    lab: TargetLab, runtime: Runtime, inventory: Path, applied: dict[str, Any]
) -> None:
    target = lab.targets[0]
    assert lab.exec(target, "sh", "-c", "echo tampered > /etc/issue.net").returncode == 0
    with runtime.transaction() as s:
        run_id = history.start_run(s, cli_principal(), inventory, kind="check", limit=target.name)
    run = history.execute(runtime.sessions, run_id)
    host = hosts_of(run)[target.name]
    assert run["status"] == "succeeded" and host["status"] == "changed"
    diffs = "\n".join(d["diff"] for d in host["diffs"])
    assert "-tampered" in diffs, host["diffs"]
    assert lab.exec(target, "cat", "/etc/issue.net").stdout.strip() == "tampered"  # check changed nothing

    # The status board's cluster card reads these real runs: each host's newest, the failed first.
    from monitoring.status import StatusContext
    from monitoring.status.probes import cluster
    from monitoring.status.settings import StatusSettings

    card = cluster(StatusContext(runtime.settings, runtime.sessions, runtime.video, runtime.box, StatusSettings()))
    assert card.state == "warning" and "ghost" in card.summary and "nopython" in card.summary, card
    assert card.facts["hosts"][target.name]["kind"] == "check", card.facts
    assert {h["kind"] for n, h in card.facts["hosts"].items() if n != target.name} == {"apply"}, card.facts
