"""`govops status`: the status board in a terminal — the same snapshot as GET /api/v1/status,
worst first, with what to do; for the system and security admins, as the route."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app as cli
from monitoring.status import StatusBoard, StatusContext
from monitoring.status.probes import PROBES
from monitoring.status.settings import StatusSettings
from tools.lab.process import free_port


@pytest.fixture
def env(runtime, monkeypatch):
    monkeypatch.setenv("GOVOPS_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("GOVOPS_PROMETHEUS_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.delenv("GOVOPS_CLI_ROLE", raising=False)
    return runtime


def test_status_shows_every_subsystem_worst_first_with_what_to_do(env):
    run = CliRunner().invoke
    r = run(cli, ["status", "--json"])
    assert r.exit_code == 0, r.output
    board = json.loads(r.stdout)
    by = {s["subsystem"]: s for s in board["subsystems"]}
    assert list(by) == [p.key for p in PROBES]  # every probe answered, none left "still checking"
    assert by["prometheus"]["state"] == "failing" and board["state"] == "failing"
    assert by["database"]["state"] == "ok" and by["ca"]["state"] == "not_configured"

    human = run(cli, ["status"])
    assert human.exit_code == 0, human.output
    text = human.stdout
    assert "统一运维总览" in text and "故障 failing" in text and "未配置 not configured" in text
    assert text.index("监控 Prometheus") < text.index("数据库与数据目录") < text.index("政务 CA")  # worst first
    assert "配置方法 to configure: govops ca init" in text


def test_status_is_for_the_system_and_security_admins(env):
    run = CliRunner().invoke
    assert run(cli, ["status", "--json"], env={"GOVOPS_CLI_ROLE": "sec-admin"}).exit_code == 0
    refused = run(cli, ["status", "--json"], env={"GOVOPS_CLI_ROLE": "auditor"})
    assert type(refused.exception).__name__ == "PermissionDenied" and refused.stdout == ""
    assert "ops-engineer" in refused.exception.message and "sec-admin" in refused.exception.message


def test_the_board_says_as_each_probe_answers(runtime):
    board = StatusBoard(StatusContext(runtime.settings, runtime.sessions, runtime.video, runtime.box, StatusSettings()))
    answers: list[int] = []
    try:
        snap = board.snapshot(budget=60, max_age=0, answered=lambda: answers.append(1))
    finally:
        board.close()
    assert len(answers) == len(PROBES) == len(snap["subsystems"])
