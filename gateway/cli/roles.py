"""Which MLPS administrator each CLI command needs, and who the CLI acts as (三员分立).

The OS user running `govops` acts as ONE of the three administrators: the role configured for
that user in `GOVOPS_CLI_ROLE` (its environment, or the `.env` file): `ops-engineer` (system
admin, the default), `sec-admin` (security admin) or `auditor`. Every command declares the role
it needs in `COMMAND_ROLES` below (the CLI's counterpart of a route's `Allow`; a tuple when it,
like its route, serves more than one); a command run
under another role stops before it does anything, saying which role it needs and how to set it.
A command that acts says on stderr which role it acted as (never on `--json` stdout).
`tests/unit/test_cli_roles.py` walks every command and fails on one this table does not cover.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

import typer
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.cli import tree
from govops.errors import PermissionDenied
from govops.principal import AUDITOR, OPS_ENGINEER, SEC_ADMIN, Principal, cli_principal
from govops.settings import load_or_explain

ANY = None  # the command touches no platform record (a local file, a lab process, a new key)
TITLES = {
    OPS_ENGINEER: "系统管理员 system admin",
    SEC_ADMIN: "安全管理员 security admin",
    AUDITOR: "审计管理员 auditor",
}

# The longest matching command path wins: a group's entry covers its commands unless one of
# them is listed on its own.
Roles = str | tuple[str, ...] | None
COMMAND_ROLES: dict[str, Roles] = {
    "serve": OPS_ENGINEER,
    "status": (OPS_ENGINEER, SEC_ADMIN),  # as GET /api/v1/status: the CA and Keycloak are the security admin's
    "secret-key": ANY,  # prints a fresh key; stores nothing
    "db": OPS_ENGINEER,
    "audit": AUDITOR,
    "audit verify-export": ANY,  # an export file checked offline (no database)
    "audit new-key": ANY,  # prints a fresh key; stores nothing
    "video": OPS_ENGINEER,
    "lab": ANY,  # local test components on loopback
    "cloud": OPS_ENGINEER,
    # A civil servant reaching their own namespace with kubectl (SSO): the apiserver decides.
    "cloud kubeconfig": ANY,
    "cloud credential": ANY,
    "cluster": OPS_ENGINEER,
    "compliance": OPS_ENGINEER,  # the evidence report for the 等保测评 assessor
    "alerts": OPS_ENGINEER,
    "workorders": OPS_ENGINEER,  # dispatch, verify, close; contractors act through the API
    "report": OPS_ENGINEER,  # 运维日报, as GET /api/v1/reports/daily
    "ca": SEC_ADMIN,
    "identity": SEC_ADMIN,  # the realm as code and the directory import
    "identity login": ANY,  # a person signing in with their own certificate
    "apps": OPS_ENGINEER,
}


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVOPS_CLI_", env_file=".env", extra="ignore")

    role: Literal["ops-engineer", "sec-admin", "auditor"] = "ops-engineer"


def configured_role() -> str:
    return load_or_explain(CliSettings).role


def operator() -> Principal:
    """The principal a CLI command acts as: `cli:<os user>` with the configured role."""
    return cli_principal(configured_role())


def needed_role(path: str) -> Roles:
    """The role `govops <path>` needs (ANY: none). KeyError for a command the table misses."""
    words = path.split()
    for n in range(len(words), 0, -1):
        key = " ".join(words[:n])
        if key in COMMAND_ROLES:
            return COMMAND_ROLES[key]
    raise KeyError(path)


def check(path: str) -> str | None:
    """Stop `govops <path>` unless the CLI acts as the role it needs; say the role on stderr."""
    from gateway.cli.output import role_line

    try:
        need = needed_role(path)
    except KeyError:
        raise PermissionDenied(
            f"`govops {path}` declares no role, so it does not run", hint="this is a bug in govops; report it"
        ) from None
    if need is ANY:
        return None
    needs = (need,) if isinstance(need, str) else need
    role = configured_role()
    if role not in needs:
        wanted = " or ".join(f"{TITLES[n]} ({n})" for n in needs)
        raise PermissionDenied(
            f"`govops {path}` needs the {wanted} role; this CLI acts as {role} ({TITLES[role]})",
            hint=f"run it as the OS user configured for {needs[0]}, e.g. GOVOPS_CLI_ROLE={needs[0]} govops {path} …",
        )
    role_line(operator())
    return role


def guard(app: typer.Typer) -> int:
    """Wrap every command of `app` (and its sub-apps) with `check`; returns how many."""
    count = 0
    for path, info in tree.commands(app):
        info.callback = _checked(path, info.callback)  # type: ignore[arg-type]
        count += 1
    return count


def _checked(path: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(fn, "__govops_cli_path__", None) is not None:
        return fn  # already guarded (main imported twice)

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        check(path)
        return fn(*args, **kwargs)

    run.__govops_cli_path__ = path  # type: ignore[attr-defined]
    return run
