"""What every `govops video …` command shares: options, the runtime, the actor, passwords."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.output import progress_bar
from gateway.runtime import Runtime
from govops.inputs import read_text

PasswordEnv = Annotated[str, typer.Option(help="Environment variable holding the camera password.")]
PASSWORD_ENV = "GOVOPS_CAMERA_PASSWORD"  # noqa: S105 - the name of a variable, not a password
PasswordFile = Annotated[
    Path | None, typer.Option(help="File holding the camera password.", exists=True, dir_okay=False)
]


def runtime() -> Runtime:
    rt = Runtime.build()
    rt.migrate()  # idempotent; the embedded default needs no separate step
    return rt


def actor() -> str:
    return f"cli:{getpass.getuser()}"


def password(env: str, file: Path | None, user: str | None) -> str | None:
    """From a file, an environment variable or a prompt; never from the command line (`ps`)."""
    if file is not None:
        return read_text(file, "a password file").rstrip("\n")
    if os.environ.get(env):
        return os.environ[env]
    if user and sys.stdin.isatty():
        return getpass.getpass(f"password for {user}: ")
    return None


def device_progress(total: int, label: str, enabled: bool) -> tuple[Callable[[Any], None], Any]:
    """A progress bar over device results (only on a terminal); returns (on_result, context)."""
    progress = progress_bar(label, enabled)
    task = progress.add_task(label, total=total, last="")

    def on_result(r: Any) -> None:
        mark = "[green]✓[/]" if r.ok else f"[red]✗ {r.error.kind}[/]"
        progress.update(task, advance=1, last=f"{r.target} {mark}")

    return on_result, progress
