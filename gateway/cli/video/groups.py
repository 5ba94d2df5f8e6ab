"""`govops video group …`: business groups (215) and virtual organisations (216)."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.output import JsonOpt, console, emit, table
from gateway.cli.video.common import actor, runtime


def group_add(
    group_id: Annotated[str, typer.Argument(help="20-digit code with type 215 or 216.")],
    name: Annotated[str, typer.Argument()],
    parent: Annotated[str | None, typer.Option(help="Parent group (216 only).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Add or move a business group (215) or virtual organisation (216)."""
    from video.catalogue import tree

    rt = runtime()
    with rt.transaction() as s:
        g = tree.save_group(s, group_id=group_id, name=name, parent_id=parent, actor=actor()).as_dict()
    emit(g, json_out, lambda d: console.print(f"group {d['id']} saved"))


def group_list(json_out: JsonOpt = False) -> None:
    """Business groups and virtual organisations, by ID."""
    from video.catalogue import tree

    rt = runtime()
    with rt.sessions() as s:
        rows = [g.as_dict() for g in tree.list_groups(s)]
    emit(
        rows,
        json_out,
        lambda rs: table(
            "groups", ["id", "name", "type", "parent"], [[r["id"], r["name"], r["type"], r["parent"]] for r in rs]
        ),
    )
