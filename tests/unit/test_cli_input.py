"""A typo is a usage error that names the option, never "this is a bug": every number of every
command refuses what the database or the clock cannot hold, and every file a command writes is
checked before the command acts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._click import Context

from gateway.cli.main import app
from govops.db import MAX_ID
from govops.errors import ConfigError, ValidationFailed
from govops.settings import Settings, load_or_explain
from monitoring.settings import AlertSettings
from monitoring.status.settings import StatusSettings
from monitoring.workorders.settings import WorkOrderSettings
from tests.unit.test_cli import assert_clean_failure, govops
from video.catalogue.settings import VideoSettings


def _commands() -> Iterator[tuple[str, Any]]:
    root = typer.main.get_command(app)
    ctx = Context(root)

    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                yield from walk(cmd.get_command(ctx, name), [*path, name])
        else:
            yield " ".join(path), cmd

    yield from walk(root, [])


def _kind(p: Any) -> str:
    """ "int", "float", … of a parameter (its annotation, which may still be a string)."""
    kind = p.bare_type() if callable(getattr(p, "bare_type", None)) else None
    return kind if isinstance(kind, str) else getattr(kind, "__name__", "")


def _numbers() -> list[tuple[str, str, str]]:
    return [(path, p.name, _kind(p)) for path, cmd in _commands() for p in cmd.params if _kind(p) in ("int", "float")]


NUMBERS = _numbers()


def _placeholder(p: Any) -> str:
    return "1" if _kind(p) in ("int", "float") else "x"


def _args(cmd: Any, name: str, value: str) -> list[str]:
    """Arguments that reach the parameter `name` with `value`: every other argument and every
    required option has a harmless placeholder, so the error, if any, is about this one."""
    args: list[str] = []
    for p in cmd.params:
        if p.param_type_name == "argument":
            args.append(value if p.name == name else _placeholder(p))
        elif p.name == name:
            args += [p.opts[-1], value]
        elif p.required:
            args += [p.opts[-1], _placeholder(p)]
    return args


def test_the_walk_found_the_numbers():
    assert len(NUMBERS) >= 40
    assert ("alerts show", "alert_id", "int") in NUMBERS
    assert ("video patrol", "interval", "float") in NUMBERS


@pytest.mark.parametrize(("path", "name", "kind"), NUMBERS, ids=[f"{p}:{n}" for p, n, _ in NUMBERS])
def test_a_number_nothing_can_hold_is_a_usage_error_naming_it(path, name, kind):
    cmd = dict(_commands())[path]
    values = [str(MAX_ID + 1), "99999999999999999999"] if kind == "int" else ["nan", "inf", "-inf", "1e309"]
    for value in values:
        with pytest.raises(Exception) as exc:
            cmd.make_context(path, _args(cmd, name, value))
        assert type(exc.value).__name__ == "BadParameter", (value, exc.value)
        assert exc.value.param.name == name, (value, exc.value.format_message())  # type: ignore[attr-defined]


def test_an_alert_id_of_twenty_nines_says_so_in_one_line(tmp_path):
    env = {"GOVOPS_DATA_DIR": str(tmp_path / "data")}
    out = govops("alerts", "show", "99999999999999999999", env=env)
    assert_clean_failure(out, 2, "alert_id")
    assert "bug" not in out.stderr


@pytest.fixture
def data(tmp_path):
    env = {"GOVOPS_DATA_DIR": str(tmp_path / "data")}
    assert govops("db", "upgrade", env=env).returncode == 0
    return env


def _exports(env: dict[str, str]) -> int:
    out = govops("audit", "list", "--limit", "1000", "--json", env=env)
    assert out.returncode == 0, out.stderr
    return sum(1 for r in json.loads(out.stdout) if r["action"] == "audit.export")


def test_files_that_cannot_be_written_are_said_before_anything_is_done(tmp_path, data):
    folder = tmp_path / "folder"
    folder.mkdir()
    (tmp_path / "a-file").write_text("kept")
    cases = [
        (["audit", "export", "-o", str(folder)], "it is a directory"),
        (["audit", "export", "-o", str(tmp_path / "nodir" / "x.json")], "does not exist"),
        (["workorders", "report", "--csv", str(folder)], "it is a directory"),
        (["compliance", "report", "--html", str(tmp_path / "nodir" / "r.html")], "does not exist"),
        (["ca", "server-cert", "gw.example", "--out", str(tmp_path / "a-file")], "it is a file"),
        (["cluster", "backup-key", "-o", str(folder)], "is a directory"),
    ]
    for args, words in cases:
        out = govops(*args, env=data)
        assert_clean_failure(out, 2, words)
        assert "bug" not in out.stderr, args
    assert _exports(data) == 0  # no record of an export that did not happen
    assert (tmp_path / "a-file").read_text() == "kept"
    certs = govops("ca", "list", "--json", env=data)
    assert certs.returncode == 0 and json.loads(certs.stdout) == [], certs.stdout  # none issued for nowhere
    assert sorted(p.name for p in folder.iterdir()) == []  # and nothing left half-written


def test_a_written_file_replaces_the_old_one_whole(tmp_path, data):
    target = tmp_path / "range.json"
    target.write_text("old")
    assert govops("audit", "export", "-o", str(target), env=data).returncode == 0
    assert "public_key" in json.loads(target.read_text())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    assert _exports(data) == 1


@pytest.mark.parametrize(
    ("cls", "name", "value"),
    [
        (Settings, "GOVOPS_PORT", "70000"),
        (Settings, "GOVOPS_CA_CERT_DAYS", "0"),
        (Settings, "GOVOPS_CRL_HOURS", "-1"),
        (Settings, "GOVOPS_BACKUP_KEEP_DAYS", "99999999"),  # past the clock's last day
        (AlertSettings, "GOVOPS_ALERTS_CHECK_INTERVAL_S", "0"),  # a loop that never sleeps
        (AlertSettings, "GOVOPS_ALERTS_ESCALATE_AFTER_MIN", "nan"),
        (AlertSettings, "GOVOPS_ALERTS_ESCALATE_AFTER_MIN", "-1"),
        (StatusSettings, "GOVOPS_STATUS_PROBE_TIMEOUT_S", "inf"),
        (StatusSettings, "GOVOPS_STATUS_CACHE_S", "-1"),
        (StatusSettings, "GOVOPS_STATUS_CERT_WARN_DAYS", "99999999999999999999"),
        (VideoSettings, "GOVOPS_VIDEO_SNAPSHOT_MAX_AGE_S", "nan"),
        (WorkOrderSettings, "GOVOPS_WORKORDERS_SYNC_INTERVAL_S", "inf"),
    ],
)
def test_a_setting_out_of_its_range_is_refused_by_name(monkeypatch, cls, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as exc:
        load_or_explain(cls)
    assert name in exc.value.message


def _hostile(tmp_path: Path) -> dict[str, Path]:
    files = {
        "gbk": "姓名,部门\n".encode("gbk"),
        "binary": bytes(range(256)) * 16,
        "deep": b"[" * 100_000 + b"]" * 100_000,
        "long-field": b"id,name,department\n" + b"a" * 200_000 + b",x,gaj\n",
        "nul": b"id,name,department\nA1,\x00,gaj\n",
    }
    out = {}
    for name, data in files.items():
        out[name] = tmp_path / f"{name}.txt"
        out[name].write_bytes(data)
    out["directory"] = tmp_path
    return out


@pytest.mark.parametrize("kind", ["gbk", "binary", "deep", "long-field", "nul", "directory"])
def test_a_hostile_file_handed_in_is_a_clear_error(tmp_path, kind):
    """A GBK export from Excel, a binary file, a 100,000-deep JSON array, a 200 KB field, a NUL
    byte or a directory: each reader says what is wrong (they were tracebacks: "a bug in govops")."""
    from identity.directory_file import parse
    from identity.realm.source import load_overlay

    path = _hostile(tmp_path)[kind]
    for read in (parse, load_overlay):
        try:
            read(path)
        except ValidationFailed as exc:
            assert str(path) in exc.message or "directory" in exc.message or "CSV" in exc.message, exc.message
        else:  # only a CSV that reads as rows may pass the reader; the import then checks each row
            assert read is parse and kind == "nul", (read, kind)


def test_a_gbk_directory_file_says_how_to_save_it(tmp_path):
    path = _hostile(tmp_path)["gbk"]
    out = govops("identity", "import", str(path), env={"GOVOPS_DATA_DIR": str(tmp_path / "data")})
    assert_clean_failure(out, 2, "not UTF-8", "CSV UTF-8")
    deep = govops("audit", "verify-export", str(_hostile(tmp_path)["deep"]))
    assert_clean_failure(deep, 1)
    assert "not a govops audit export" in deep.stdout + deep.stderr


# Commands that would reach past this machine, run Ansible, Pulumi or a patrol loop, or start
# processes: their parsing is covered above; here every other command runs.
REACHES_OUT = (
    "lab",
    "serve",
    "identity login",
    "video discover",
    "video onboard",
    "video probe",
    "video ptz",
    "video patrol",
    "cluster check",
    "cluster apply",
    "cluster harden",
    "cluster backup ",
    "cluster restore",
    "cluster drill",
    "cloud up",
    "cloud preview",
    "cloud refresh",
    "cloud drift",
)
GARBAGE = {"int": ["99999999999999999999", "-1"], "float": ["nan", "-1"]}
TEXT = ["", "中文/../x", "'; drop table cameras;--"]


def test_no_typo_in_any_command_is_a_bug(district, monkeypatch, tmp_path):
    """Every command that stays on this machine, every argument and option given garbage (one
    at a time, the others a placeholder): a usage error or a clear error, never an exception
    the CLI can only call a bug. (Found: IDs past BIGINT, unwritable output paths.)"""
    from typer.testing import CliRunner

    from govops.errors import GovopsError
    from tests.conftest import cli_role_env

    monkeypatch.chdir(tmp_path)  # files the commands are told to write land here
    monkeypatch.setenv("GOVOPS_DATA_DIR", str(district.settings.data_dir))
    runner = CliRunner()
    ran, bugs = 0, []
    for path, cmd in _commands():
        if f"{path} ".startswith(REACHES_OUT) or path.startswith(REACHES_OUT):
            continue
        env = cli_role_env(path.split())
        for p in cmd.params:
            if p.param_type_name == "option" and (getattr(p, "is_flag", False) or p.name == "json_out"):
                continue
            for value in GARBAGE.get(_kind(p), TEXT):
                args = [*path.split(), *_args(cmd, p.name, value)]
                result = runner.invoke(app, args, env=env)
                ran += 1
                if result.exception is not None and not isinstance(result.exception, SystemExit | GovopsError):
                    bugs.append((args, repr(result.exception)[:200]))
    assert ran >= 300
    assert bugs == []


def test_a_settings_file_saved_as_gbk_is_named(tmp_path, monkeypatch):
    """A .env with a Chinese comment saved by an editor as GBK was "a bug in govops"."""
    (tmp_path / ".env").write_bytes("# 端口\nGOVOPS_PORT=8080\n".encode("gbk"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as exc:
        load_or_explain(Settings)
    assert str(tmp_path / ".env") in exc.value.message and "UTF-8" in (exc.value.hint or "")


@pytest.mark.parametrize("content", ["gbk", "binary", "deep"])
def test_configuration_files_that_cannot_be_read_say_so(tmp_path, content):
    """The channels file, the cloud's departments file, an Ansible inventory, a camera password
    file and an admin kubeconfig, saved as GBK, binary or nested past the parser: each is the
    error of its own kind naming the file (UnicodeDecodeError and RecursionError escaped them)."""
    from identity.kubeauth.kubeconfig import cluster_from_kubeconfig
    from infra.cluster.runner import check_inventory
    from infra.model import DepartmentsInvalid, load_cloud
    from monitoring.notify.channels import load_channels

    data = {
        "gbk": "# 值班群\nchannels: []\n".encode("gbk"),
        "binary": bytes(range(256)),
        "deep": b"[" * 50_000 + b"]" * 50_000,
    }[content]
    path = tmp_path / "file.yml"
    path.write_bytes(data)
    readers: list[tuple[Any, type[Exception]]] = [
        (load_channels, ConfigError),
        (load_cloud, DepartmentsInvalid),
        (check_inventory, ValidationFailed),
        (cluster_from_kubeconfig, ConfigError),
    ]
    for read, error in readers:
        with pytest.raises(error) as exc:
            read(path)
        assert str(path) in str(getattr(exc.value, "message", exc.value)), (read, exc.value)
    if content != "deep":
        from gateway.cli.video.common import password

        with pytest.raises(ValidationFailed, match="not UTF-8"):
            password("GOVOPS_CAMERA_PASSWORD", path, None)
