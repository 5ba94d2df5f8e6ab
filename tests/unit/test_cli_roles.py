"""三员分立 on the CLI: it acts as the OS user's one configured role, says which, and a command
needing another role stops with the role it needs and how to set it."""

from __future__ import annotations

import json

import typer.main
from typer._click import Context

from gateway.cli import roles
from gateway.cli.main import app
from govops.principal import AUDITOR, OPS_ENGINEER, SEC_ADMIN
from tests.unit.test_cli import assert_clean_failure, govops

# The commands the CLI has today; more is fine, fewer means the walk lost some.
KNOWN_COMMANDS = 70


def _leaves() -> list[str]:
    root = typer.main.get_command(app)
    ctx = Context(root)
    found: list[str] = []

    def walk(cmd, path: list[str]) -> None:  # type: ignore[no-untyped-def]
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), [*path, name])
        else:
            found.append(" ".join(path))

    walk(root, [])
    return found


def test_every_command_declares_its_role_and_is_guarded():
    leaves = _leaves()
    assert len(leaves) >= KNOWN_COMMANDS
    undeclared = []
    for path in leaves:
        try:
            roles.needed_role(path)
        except KeyError:
            undeclared.append(path)
    assert undeclared == []
    # each one is wrapped by the check (not only listed in the table)
    root = typer.main.get_command(app)
    ctx = Context(root)
    for path in leaves:
        cmd = root
        for word in path.split():
            cmd = cmd.get_command(ctx, word)  # type: ignore[attr-defined]
        assert getattr(cmd.callback, "__govops_cli_path__", None) == path, path


def test_every_command_is_summarised_on_one_line_in_its_group():
    # Rich help keeps a docstring's line breaks in the group's list of commands ("… longest-
    # standing first; a" ended a line of `govops video --help`); the summary is one line.
    root = typer.main.get_command(app)
    ctx = Context(root)
    checked = 0
    for path in _leaves():
        cmd = root
        for word in path.split():
            cmd = cmd.get_command(ctx, word)  # type: ignore[attr-defined]
        summary = cmd.short_help or cmd.help or ""
        assert summary.strip() and "\n" not in summary.split("\n\n")[0], path
        checked += 1
    assert checked >= KNOWN_COMMANDS


def test_the_table_names_each_administrator_where_it_belongs():
    assert roles.needed_role("audit list") == AUDITOR
    assert roles.needed_role("ca issue") == SEC_ADMIN
    assert roles.needed_role("identity import") == SEC_ADMIN
    assert roles.needed_role("cloud up") == OPS_ENGINEER
    assert roles.needed_role("video list") == OPS_ENGINEER


def test_a_command_of_another_role_says_which_role_and_how(tmp_path):
    env = {"GOVOPS_DATA_DIR": str(tmp_path)}
    assert govops("db", "upgrade", env=env).returncode == 0
    out = govops("audit", "list", "--json", env={**env, "GOVOPS_CLI_ROLE": OPS_ENGINEER})
    assert_clean_failure(out, 1, "needs the", "auditor", "GOVOPS_CLI_ROLE=auditor")
    assert out.stdout == ""
    out = govops("ca", "list", env={**env, "GOVOPS_CLI_ROLE": AUDITOR})
    assert_clean_failure(out, 1, "sec-admin", "GOVOPS_CLI_ROLE=sec-admin")
    out = govops("video", "list", env={**env, "GOVOPS_CLI_ROLE": SEC_ADMIN})
    assert_clean_failure(out, 1, "ops-engineer", "GOVOPS_CLI_ROLE=ops-engineer")


def test_the_role_acted_as_is_on_stderr_not_in_json(tmp_path):
    env = {"GOVOPS_DATA_DIR": str(tmp_path)}
    assert govops("db", "upgrade", env=env).returncode == 0
    out = govops("audit", "verify", "--json", env={**env, "GOVOPS_CLI_ROLE": AUDITOR})
    assert out.returncode == 0, out.stderr
    json.loads(out.stdout)
    assert "acting as auditor" in out.stderr


def test_a_bad_role_setting_is_a_config_error(tmp_path):
    out = govops("db", "check", env={"GOVOPS_DATA_DIR": str(tmp_path), "GOVOPS_CLI_ROLE": "root"})
    assert_clean_failure(out, 2, "GOVOPS_CLI_ROLE")


def test_the_default_is_the_system_admin(monkeypatch):
    monkeypatch.delenv("GOVOPS_CLI_ROLE", raising=False)
    assert roles.operator().roles == frozenset({OPS_ENGINEER})
    monkeypatch.setenv("GOVOPS_CLI_ROLE", SEC_ADMIN)
    assert roles.operator().roles == frozenset({SEC_ADMIN})
