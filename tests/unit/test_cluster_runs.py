"""Cluster runs without a target: the event follower, failure lines, diffs, the stored history,
the API (202, cursor pages, ops only) and the CLI's errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway.runtime import Runtime
from govops.errors import GovopsError
from govops.principal import AUDITOR, OPS_ENGINEER, Principal, cli_principal
from infra.cluster import history
from infra.cluster.events import HostOutcome, diff_text, failure_line
from infra.cluster.runner import PlaybookResult, _Follower, check_inventory
from tests.conftest import client_as

UNREACHABLE_LOOP = {
    "msg": "All items completed",
    "unreachable": True,
    "results": [
        {
            "unreachable": True,
            "msg": "Failed to connect to the host via ssh: "
            "ssh: connect to host 10.213.0.99 port 22: Connection refused",
        }
    ],
}
NO_PYTHON = {
    "msg": "The module failed to execute correctly, you probably need to set the interpreter.\nSee stdout/stderr",
    "module_stderr": "/bin/sh: 1: /usr/bin/python3: not found\n",
    "rc": 127,
}


def events(*items: tuple[str, str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"event": f"runner_on_{k}", "event_data": {"host": h, "task": t, "res": r}} for k, h, t, r in items]


def test_an_unreachable_loop_names_the_ssh_error_not_all_items_completed() -> None:
    line = failure_line("unreachable", "Directories exist", UNREACHABLE_LOOP)
    assert line == "unreachable: ssh: connect to host 10.213.0.99 port 22: Connection refused"


def test_a_target_without_python_names_the_interpreter() -> None:
    line = failure_line("failed", "Gathering Facts", NO_PYTHON)
    assert "interpreter" in line and "/usr/bin/python3: not found" in line
    assert "\n" not in line


def test_a_raw_probe_names_its_own_words_not_the_ssh_clients() -> None:
    res = {
        "msg": "non-zero return code",
        "rc": 127,
        "stdout": "",
        "stderr": "no Python at /usr/bin/python3.99: install python3 on the host\n"
        "ControlSocket /tmp/cp/a626 already exists, disabling multiplexing\nShared connection to 10.213.0.11 closed.\n",
    }
    line = failure_line("failed", "Python is where the inventory says", res)
    assert line.endswith("(rc 127): no Python at /usr/bin/python3.99: install python3 on the host")


def test_a_failed_task_reads_task_and_message() -> None:
    res = {"msg": "One or more items failed", "results": [{"failed": True, "msg": "No package matching 'chronyx'"}]}
    assert failure_line("failed", "Packages present", res) == "Packages present: No package matching 'chronyx'"


def test_a_failed_command_reads_its_own_error_line() -> None:
    res = {
        "msg": "non-zero return code",
        "rc": 2,
        "stdout": "",
        "stderr": "acting as ops-engineer (cli:root)\nerror: no backup archive at /x\n  → list them\n",
    }
    line = failure_line("failed", "Restore the archive", res)
    assert line == "Restore the archive: non-zero return code (rc 2): error: no backup archive at /x"


def test_diff_text_from_before_after_and_loops() -> None:
    res = {
        "results": [{"diff": [{"before": "a\n", "after": "b\n", "before_header": "/etc/x", "after_header": "/etc/x"}]}]
    }
    text = diff_text(res)
    assert "-a" in text and "+b" in text and "/etc/x" in text
    assert diff_text({"diff": {"prepared": "--- sshd\n+PermitRootLogin no"}}).endswith("PermitRootLogin no")
    assert diff_text({"diff": {"before": "same", "after": "same"}}) == ""


def test_follower_keeps_one_line_per_host_and_the_baseline_evidence() -> None:
    seen: list[tuple[str, str, str]] = []
    follow = _Follower(None, lambda h, t, w: seen.append((h, t, w)))
    for ev in events(
        ("start", "tgt1", "Directories exist", {}),
        ("ok", "tgt1", "Directories exist", {"changed": True, "diff": {"before": "", "after": "x"}}),
        ("unreachable", "ghost", "Directories exist", UNREACHABLE_LOOP),
        ("failed", "bare", "Gathering Facts", NO_PYTHON),
        ("failed", "bare", "later", {"msg": "a consequence"}),
        (
            "ok",
            "tgt1",
            "Evidence for the run history",
            {"ansible_stats": {"data": {"baseline_controls": {"controls": [{"id": "ssh", "status": "applied"}]}}}},
        ),
    ):
        follow(ev)
    follow(
        {
            "event": "playbook_on_stats",
            "event_data": {
                "ok": {"tgt1": 5},
                "changed": {"tgt1": 1},
                "dark": {"ghost": 1},
                "failures": {"bare": 1},
                "artifact_data": {},
            },
        }
    )
    hosts = follow.hosts
    assert {h: o.status for h, o in hosts.items()} == {"tgt1": "changed", "ghost": "unreachable", "bare": "failed"}
    assert hosts["ghost"].failure is not None and "Connection refused" in hosts["ghost"].failure
    assert hosts["bare"].failure is not None and "interpreter" in hosts["bare"].failure  # the first cause kept
    assert hosts["tgt1"].controls == {"controls": [{"id": "ssh", "status": "applied"}]}
    assert hosts["tgt1"].diffs and hosts["tgt1"].diffs[0]["task"] == "Directories exist"
    assert ("tgt1", "Directories exist", "changed") in seen


@pytest.mark.parametrize(
    ("text", "words"),
    [("cluster: [unclosed\n", "not valid YAML"), ("cluster: {}\n", "names no hosts"), ("- a\n", "names no hosts")],
)
def test_a_broken_inventory_is_refused_before_ansible_runs(tmp_path: Path, text: str, words: str) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(text)
    with pytest.raises(Exception, match=words) as err:
        check_inventory(inv)
    assert getattr(err.value, "exit_code", None) == 2


def fake_result(**hosts: HostOutcome) -> PlaybookResult:
    ok = all(h.status in ("ok", "changed") for h in hosts.values())
    failures = [f"{n}: {h.failure}" for n, h in hosts.items() if h.failure]
    return PlaybookResult("successful" if ok else "failed", 0 if ok else 2, {}, failures, dict(hosts))


@pytest.fixture
def fake_ansible(monitoring_result: PlaybookResult, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def run_playbook(inventory: Path, playbook: str = "site.yml", **kw: Any) -> PlaybookResult:
        calls.append({"inventory": inventory, "playbook": playbook, **kw})
        return monitoring_result

    monkeypatch.setattr("infra.cluster.runner.run_playbook", run_playbook)
    return calls


@pytest.fixture
def monitoring_result() -> PlaybookResult:
    return fake_result(
        tgt1=HostOutcome("tgt1", "changed", ok=10, changed=3, duration_s=4.0, controls={"controls": []}),
        ghost=HostOutcome("ghost", "unreachable", unreachable=1, failure="unreachable: ssh: connect … refused"),
    )


SAMPLE = Path("playbooks/inventory/sample/hosts.yml").resolve()


def test_a_run_is_stored_per_host_and_audited(runtime: Runtime, fake_ansible: list[dict[str, Any]]) -> None:
    from govops import audit

    with runtime.transaction() as s:
        run_id = history.start_run(s, cli_principal(), SAMPLE, kind="check")
    result = history.execute(runtime.sessions, run_id)
    assert fake_ansible[0]["check"] is True
    assert result["status"] == "failed"
    assert {h["host"]: h["status"] for h in result["hosts"]} == {"tgt1": "changed", "ghost": "unreachable"}
    with runtime.transaction() as s:
        stored = history.get_run(s, run_id)
        assert [h["failure"] for h in stored["hosts"] if h["host"] == "ghost"] == [
            "unreachable: ssh: connect … refused"
        ]
        from sqlalchemy import select

        actions = s.scalars(select(audit.AuditRecord.action).where(audit.AuditRecord.target == f"run:{run_id}")).all()
        assert actions == ["cluster.check"] and audit.verify(s).ok
        latest = history.latest_per_host(s)
        assert {h.host for h, _ in latest} == {"tgt1", "ghost"}


def test_runs_page_with_a_cursor(runtime: Runtime, fake_ansible: list[dict[str, Any]]) -> None:
    ids = []
    for _ in range(3):
        with runtime.transaction() as s:
            ids.append(history.start_run(s, cli_principal(), SAMPLE))
        history.execute(runtime.sessions, ids[-1])
    with runtime.transaction() as s:
        first = history.list_runs(s, limit=2)
        assert [r["id"] for r in first["items"]] == ids[::-1][:2]
        second = history.list_runs(s, after=first["next_cursor"], limit=2)
    assert [r["id"] for r in second["items"]] == [ids[0]] and second["next_cursor"] is None


def test_api_starts_a_run_202_and_shows_it_ops_only(app: Any, fake_ansible: list[dict[str, Any]]) -> None:
    ops = Principal(subject="ops1", name="ops", roles=frozenset({OPS_ENGINEER}))
    auditor = Principal(subject="aud1", name="aud", roles=frozenset({AUDITOR}))
    with client_as(app, auditor) as c:
        assert c.post("/api/cluster/runs", json={}).status_code == 403
        assert c.get("/api/cluster/runs").status_code == 403
    with client_as(app, ops) as c:
        r = c.post("/api/cluster/runs", json={"kind": "check", "inventory": "sample"})
        assert r.status_code == 202, r.text
        run_id = r.json()["run"]["id"]
        assert c.post("/api/cluster/runs", json={"inventory": "../etc"}).status_code == 422
        assert c.post("/api/cluster/runs", json={"inventory": "nosuch"}).status_code in (400, 422)
        import time

        for _ in range(200):  # the background thread stores the run; wait for its status to leave running
            shown = c.get(f"/api/cluster/runs/{run_id}").json()
            if shown["status"] != "running":
                break
            time.sleep(0.05)
        assert shown["status"] == "failed" and len(shown["hosts"]) == 2
        page = c.get("/api/cluster/runs").json()
        assert page["items"][0]["id"] == run_id and "next_cursor" in page
        assert c.get("/api/cluster/runs/99999").status_code == 404


def test_cli_broken_inventory_exits_2_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.cli.main import app

    monkeypatch.setenv("GOVOPS_DATA_DIR", str(tmp_path / "data"))
    bad = tmp_path / "hosts.yml"
    bad.write_text("cluster: [\n")
    out = CliRunner().invoke(app, ["cluster", "check", "--inventory", str(bad), "--json"])
    # main() turns a GovopsError into its one line and exit code; CliRunner hands it back
    assert isinstance(out.exception, GovopsError) and out.exception.exit_code == 2
    assert "not valid YAML (line 2)" in out.exception.message


def test_cli_backup_key_writes_0600_and_refuses_to_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.cli.main import app

    monkeypatch.setenv("GOVOPS_DATA_DIR", str(tmp_path / "data"))
    key = tmp_path / "op.key"
    out = CliRunner().invoke(app, ["cluster", "backup-key", "-o", str(key), "--json"])
    assert out.exit_code == 0, out.output
    assert key.stat().st_mode & 0o777 == 0o600 and (tmp_path / "op.key.pub").read_bytes().startswith(b"-----BEGIN")
    again = CliRunner().invoke(app, ["cluster", "backup-key", "-o", str(key)])
    assert isinstance(again.exception, GovopsError) and again.exception.exit_code == 2
