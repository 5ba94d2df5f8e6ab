"""`govops ca|identity|apps`: --json everywhere, one clean line (never a traceback) on failure."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from gateway.cli.main import main
from tests.conftest import cli_role_env
from tests.unit.test_cli import assert_clean_failure
from tools.lab.process import free_port


@pytest.fixture
def env(tmp_path):
    return {"GOVOPS_DATA_DIR": str(tmp_path / "data"), "GOVOPS_PUBLIC_URL": "https://govops.example.cn"}


@pytest.fixture
def govops(monkeypatch, capsys):
    """`govops ARGS` in-process (the console-script entry point, exit code and all): the same
    contract as a subprocess without paying the import of every domain per call."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        with monkeypatch.context() as m:
            for k in [k for k in os.environ if k.startswith("GOVOPS_")]:
                m.delenv(k)
            for k, v in {**cli_role_env(args), **(env or {})}.items():
                m.setenv(k, v)
            m.setattr(sys, "argv", ["govops", *args])
            capsys.readouterr()
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            out = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out.out, out.err)

    return run


def _json(out):
    assert out.returncode == 0, (out.stdout, out.stderr)
    return json.loads(out.stdout)


def test_help_lists_the_identity_groups(govops):
    out = govops("--help")
    for group in ("ca", "identity", "apps"):
        assert group in out.stdout
    for sub, words in (
        ("ca", ("init", "issue", "revoke", "list", "crl", "check")),
        ("identity", ("apply", "diff", "status", "import", "login")),
        ("apps", ("request", "approve", "reject", "list", "rotate-secret", "secret")),
    ):
        text = govops(sub, "--help").stdout
        assert all(w in text for w in words), text


def test_ca_lifecycle(govops, env, tmp_path):
    info = _json(govops("ca", "init", "--json", env=env))
    assert info["crl_url"] == "https://govops.example.cn/pki/issuing.crl"
    assert_clean_failure(govops("ca", "init", "--json", env=env), 1, "already exists")

    out_dir = tmp_path / "out"
    issued = _json(
        govops(
            "ca",
            "issue",
            "--id",
            "310116199001011234",
            "--name",
            "王明",
            "--department",
            "金山公安分局",
            "--section",
            "治安支队",
            "--email",
            "w@jinshan.gov.cn",
            "--out",
            str(out_dir),
            "--pem",
            "--json",
            env=env,
        )
    )
    serial = issued["certificate"]["serial"]
    assert issued["password"] and issued["certificate"]["status"] == "valid"
    for f in issued["files"].values():
        assert stat.S_IMODE((out_dir / f.rsplit("/", 1)[1]).stat().st_mode) == 0o600
    checked = _json(govops("ca", "check", issued["files"]["cert"], "--json", env=env))
    assert checked["acceptable"] is True

    listed = _json(govops("ca", "list", "--json", env=env))
    assert [c["serial"] for c in listed] == [serial]
    revoked = _json(govops("ca", "revoke", serial, "--reason", "key_compromise", "--json", env=env))
    assert revoked["certificate"]["status"] == "revoked" and revoked["crl_number"] == 2
    assert revoked["keycloak_crl_cache"] == "not configured"
    bad = govops("ca", "check", issued["files"]["cert"], "--json", env=env)
    assert bad.returncode == 1 and json.loads(bad.stdout)["problems"] == ["revoked"]
    crl = _json(govops("ca", "crl", "--out", str(tmp_path / "x.crl"), "--json", env=env))
    assert crl["revoked"] == 1 and (tmp_path / "x.crl").stat().st_size > 100

    assert_clean_failure(govops("ca", "revoke", "ABC123", env=env), 1, "no certificate")
    assert_clean_failure(govops("ca", "revoke", serial, "--reason", "whim", env=env), 2, "reason")
    assert_clean_failure(
        govops("ca", "issue", "--id", "1", "--name", "x", "--department", "y", "--out", str(out_dir), env=env),
        2,
        "6-32",
    )


def test_ca_needs_init(govops, env, tmp_path):
    assert_clean_failure(
        govops(
            "ca",
            "issue",
            "--id",
            "310116199001011234",
            "--name",
            "王明",
            "--department",
            "d",
            "--out",
            str(tmp_path),
            env=env,
        ),
        1,
        "govops ca init",
    )


def test_identity_without_keycloak_is_a_config_error(govops, env):
    assert_clean_failure(govops("identity", "status", env=env), 2, "Keycloak is not configured")
    dead = {
        **env,
        "GOVOPS_KEYCLOAK_URL": f"http://127.0.0.1:{free_port()}",
        "GOVOPS_KEYCLOAK_ADMIN_USER": "admin",
        "GOVOPS_KEYCLOAK_ADMIN_PASSWORD": "x-secret-1",
    }
    assert_clean_failure(govops("identity", "apply", "--dry-run", env=dead), 1, "not answering")
    out = govops("identity", "login", "--cert", "/nonexistent.pem", "--key", "/k.pem", env=dead)
    assert_clean_failure(out, 2, "cannot read")


def test_apps_cli_without_departments(govops, env):
    assert _json(govops("apps", "list", "--json", env=env)) == []
    out = govops(
        "apps",
        "request",
        "--name",
        "x",
        "--department",
        "gaj",
        "--home-url",
        "https://a.example.cn/",
        "--redirect-uri",
        "https://a.example.cn/cb",
        env=env,
    )
    assert_clean_failure(out, 2, "unknown department")
    assert_clean_failure(govops("apps", "approve", "42", env=env), 2, "Keycloak is not configured")


def test_import_bad_file_changes_nothing(govops, env, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("id,name,department\n1,王明,gaj\n", encoding="utf-8")
    kc = {
        **env,
        "GOVOPS_KEYCLOAK_URL": f"http://127.0.0.1:{free_port()}",
        "GOVOPS_KEYCLOAK_ADMIN_USER": "admin",
        "GOVOPS_KEYCLOAK_ADMIN_PASSWORD": "x-secret-1",
    }
    assert_clean_failure(govops("identity", "import", str(f), env=kc), 2, "nothing was changed")
