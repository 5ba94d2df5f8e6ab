"""The CLI's command tree, walked by what applies to every command: its role (roles.guard) and
its one-line summary in the group's list of commands (summarise)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import typer
from typer.models import CommandInfo


def commands(app: typer.Typer, prefix: str = "") -> Iterator[tuple[str, CommandInfo]]:
    """Every command of `app` and its sub-apps, with its path ("video faults")."""
    for info in app.registered_commands:
        if info.callback is not None:
            yield f"{prefix}{info.name or typer.main.get_command_name(info.callback.__name__)}", info
    for group in app.registered_groups:
        if group.typer_instance is not None:
            sub = group.name or group.typer_instance.info.name
            yield from commands(group.typer_instance, f"{prefix}{sub} ")


def summarise(app: typer.Typer) -> None:
    """A group's list of commands shows each one's first paragraph as written, its line breaks
    too (Rich help keeps them): "longest-standing first; a" ended a line there. The summary is
    that paragraph on one line; `--help` of the command itself shows the whole text."""
    for _, info in commands(app):
        if info.short_help is None and info.help is None and info.callback is not None:
            first = (inspect.getdoc(info.callback) or "").split("\n\n")[0]
            info.short_help = " ".join(first.split()) or None
