"""What the identity commands (`govops ca`, `identity`, `apps`) share: who the CLI acts as and
a migrated runtime.

The CLI acts as `cli:<os user>` with the one MLPS administrator role that user is configured for
(GOVOPS_CLI_ROLE, gateway/cli/roles.py); a command needing another role stops before it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from govops.principal import Principal

if TYPE_CHECKING:
    from gateway.runtime import Runtime


def operator() -> Principal:
    from gateway.cli.roles import operator as configured

    return configured()


def migrated_runtime() -> Runtime:
    from gateway.runtime import Runtime

    rt = Runtime.build()
    rt.migrate()
    return rt


def write_private(path: Path, data: bytes) -> None:
    from govops.files import write_private as write

    write(path, data)
