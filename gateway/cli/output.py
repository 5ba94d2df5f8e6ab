"""One way to print: Rich for people, one JSON document (or line) for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def emit(data: Any, as_json: bool, render: Callable[[Any], None] | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    elif render is not None:
        render(data)
    else:
        console.print(data)


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*[("" if v is None else str(v)) for v in r])
    console.print(t)


def progress_bar(label: str, enabled: bool = True) -> Progress:
    """A counted progress bar on stderr, its `last` field naming the latest item; shown only on a
    terminal (and when `enabled`), a silent no-op otherwise."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        console=err_console,
        transient=True,
        disable=not (enabled and err_console.is_terminal),
    )
