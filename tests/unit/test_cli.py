"""The CLI contract: --help, --json, exit codes, and one clear line instead of a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_role_env

REPO = Path(__file__).resolve().parents[2]


def govops(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **cli_role_env(args), **(env or {})},
        timeout=timeout,
    )


def assert_clean_failure(out: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr + out.stdout
    for n in needles:
        assert n in out.stderr, out.stderr


def test_help_lists_every_command_group():
    out = govops("--help")
    assert out.returncode == 0
    for group in ("serve", "db", "audit", "video", "lab"):
        assert group in out.stdout


def test_usage_error_exits_2():
    assert govops("no-such-command").returncode == 2


def test_wrong_database_url(tmp_path):
    out = govops("db", "check", env={"GOVOPS_DATA_DIR": str(tmp_path), "GOVOPS_DATABASE_URL": "mysqlx://nope"})
    assert_clean_failure(out, 2, "GOVOPS_DATABASE_URL", "postgresql+psycopg")


def test_unreachable_database_is_exit_1(tmp_path):
    url = "postgresql+psycopg://govops:pw-do-not-print@127.0.0.1:1/govops?connect_timeout=2"
    out = govops("db", "upgrade", env={"GOVOPS_DATA_DIR": str(tmp_path), "GOVOPS_DATABASE_URL": url})
    assert_clean_failure(out, 1, "cannot reach the database")
    assert "pw-do-not-print" not in out.stderr


def test_unwritable_data_dir(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = govops("db", "upgrade", env={"GOVOPS_DATA_DIR": str(blocker / "data")})
    assert_clean_failure(out, 2, "not writable", "GOVOPS_DATA_DIR")


def test_port_already_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = govops("serve", "--port", str(port), env={"GOVOPS_DATA_DIR": str(tmp_path)})
    assert_clean_failure(out, 2, f"port {port}", "--port")


def test_lab_status_json(tmp_path):
    out = govops("lab", "status", "--json", env={"GOVOPS_DATA_DIR": str(tmp_path)})
    assert out.returncode == 0
    rows = json.loads(out.stdout)
    assert {r["component"] for r in rows} >= {"postgres", "kube", "keycloak", "prometheus", "rtsp", "onvif"}


def test_missing_component_names_the_bootstrap_command(tmp_path):
    out = govops(
        "lab",
        "up",
        "kube",
        "--json",
        env={"GOVOPS_DATA_DIR": str(tmp_path), "GOVOPS_CACHE": str(tmp_path / "empty-cache")},
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    row = next(r for r in json.loads(out.stdout) if r["component"] == "kube")
    assert row["state"] == "failed" and "make tools" in row["error"]


@pytest.mark.parametrize("cmd", [["audit", "verify"], ["video", "list"], ["db", "check"]])
def test_json_output_parses(tmp_path, cmd):
    env = {"GOVOPS_DATA_DIR": str(tmp_path)}
    assert govops("db", "upgrade", env=env).returncode == 0
    out = govops(*cmd, "--json", env=env)
    assert out.returncode == 0, out.stderr
    json.loads(out.stdout)


def test_version():
    out = govops("--version")
    assert out.returncode == 0 and out.stdout.strip() == "govops 0.1.0", (out.stdout, out.stderr)


HEAVY = ("cv2", "av", "pulumi", "ansible_runner", "keycloak", "zeep", "onvif", "numpy")


@pytest.mark.parametrize(
    "args", [["--help"], ["video", "--help"], ["cloud", "--help"], ["identity", "--help"], ["lab", "--help"]]
)
def test_help_loads_no_heavy_library(args):
    probe = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print('LOADED', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr))\n"
        f"sys.argv = ['govops', *{args!r}]\n"
        "import gateway.cli.main\n"
        "gateway.cli.main.main()\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stderr, out.stderr


def test_lab_help_names_every_lab_component():
    from tools.lab import registry

    out = govops("lab", "up", "--help")
    assert out.returncode == 0
    assert all(name in out.stdout for name in registry.NAMES), out.stdout


def test_cloud_commands_act_as_the_cli_user(tmp_path):
    import getpass

    from gateway.runtime import Runtime
    from govops.principal import LOCAL_SYSTEM_ADMIN
    from govops.settings import load_settings
    from infra.provisioning.quota import QuotaDesk
    from infra.provisioning.service import Provisioning

    env = {"GOVOPS_DATA_DIR": str(tmp_path)}
    assert govops("db", "upgrade", env=env).returncode == 0
    rt = Runtime.build(load_settings(data_dir=tmp_path, environment="test"))
    req = QuotaDesk(Provisioning(rt.settings, rt.sessions)).request(
        LOCAL_SYSTEM_ADMIN, "gaj", {"cpu": "24"}, "analytics"
    )
    out = govops("cloud", "reject-quota", str(req["id"]), "--note", "not this year", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["decided_by"] == f"cli:{getpass.getuser()}"
    records = json.loads(govops("audit", "list", "--json", env=env).stdout)
    actors = {r["action"]: r["actor"] for r in records}
    assert actors["cloud.quota.reject"] == f"cli:{getpass.getuser()}"


def test_audit_export_is_verified_offline_with_the_public_key(tmp_path):
    env = {"GOVOPS_DATA_DIR": str(tmp_path / "data")}
    assert govops("db", "upgrade", env=env).returncode == 0
    out = govops("audit", "export", "-o", str(tmp_path / "range.json"), "--json", env=env)
    assert out.returncode == 0, out.stderr
    key = json.loads(govops("audit", "public-key", "--json", env=env).stdout)["public_key"]
    good = govops("audit", "verify-export", str(tmp_path / "range.json"), "--key", key, "--json")
    assert good.returncode == 0 and json.loads(good.stdout)["trusted_key"] is True
    doc = json.loads((tmp_path / "range.json").read_text())
    doc["count"] += 1
    (tmp_path / "edited.json").write_text(json.dumps(doc))
    bad = govops("audit", "verify-export", str(tmp_path / "edited.json"), "--key", key)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr + bad.stdout
    verify = govops("audit", "verify", "--json", env=env)
    assert verify.returncode == 0 and json.loads(verify.stdout)["ok"] is True
    assert_clean_failure(govops("audit", "export", "-o", str(tmp_path / "nodir" / "x.json"), env=env), 2, "nodir")


def test_an_empty_table_says_there_is_nothing_to_show(tmp_path):
    """`govops video faults` on a district with no faulty camera: the header, then 无 nothing to
    show, not a blank table a person may take for a failure."""
    out = govops("video", "faults", env={"GOVOPS_DATA_DIR": str(tmp_path), "COLUMNS": "200"})
    assert out.returncode == 0, out.stderr
    assert "故障摄像机 cameras with faults now" in out.stdout and "无 nothing to show" in out.stdout, out.stdout


@pytest.mark.parametrize(
    ("variable", "words"),
    [
        ("GOVOPS_ALERTS_ESCALATE_AFTER_MIN=abc", "invalid setting GOVOPS_ALERTS_ESCALATE_AFTER_MIN"),
        ("GOVOPS_STATUS_BUDGET_S=abc", "invalid setting GOVOPS_STATUS_BUDGET_S"),
        ("GOVOPS_ALERTS_ESCALATE_AFTR_MIN=5", "did you mean GOVOPS_ALERTS_ESCALATE_AFTER_MIN?"),
        # 0 s between checks was a loop that never slept; nan passed every bound
        ("GOVOPS_ALERTS_CHECK_INTERVAL_S=0", "invalid setting GOVOPS_ALERTS_CHECK_INTERVAL_S"),
        ("GOVOPS_STATUS_PROBE_TIMEOUT_S=nan", "invalid setting GOVOPS_STATUS_PROBE_TIMEOUT_S"),
    ],
)
def test_a_bad_setting_stops_serve_before_it_announces_itself(tmp_path, variable, words):
    """A typo in the alert loop's settings was "a bug in govops", after the login URLs were out."""
    name, value = variable.split("=")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = govops("serve", "--port", str(port), "--json", env={"GOVOPS_DATA_DIR": str(tmp_path), name: value})
    assert_clean_failure(out, 2, words)  # a configuration error, as GOVOPS_PORT=abc is
    assert "bug" not in out.stderr and "login" not in out.stdout, (out.stdout, out.stderr)
