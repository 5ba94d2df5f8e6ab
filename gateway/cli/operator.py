"""What the identity commands (`govops ca`, `identity`, `apps`) share: who the CLI acts as and
a migrated runtime.

The CLI runs on the gateway host as its operator: it acts with every platform role (and is
audited as `cli:<os user>`), like the one-time local admin login of the console.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from govops.principal import ROLES, Principal

if TYPE_CHECKING:
    from gateway.runtime import Runtime

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def operator() -> Principal:
    return Principal(subject=f"cli:{getpass.getuser()}", name="本机运维 (local operator)", roles=frozenset(ROLES))


def migrated_runtime() -> Runtime:
    from gateway.runtime import Runtime

    rt = Runtime.build()
    rt.migrate()
    return rt


def write_private(path: Path, data: bytes) -> None:
    from govops.files import write_private as write

    write(path, data)
