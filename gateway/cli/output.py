"""One way to print: Rich for people, one JSON document (or line) for scripts."""

from __future__ import annotations

import json
import math
import os
import secrets
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from govops.db import MAX_ID
from govops.errors import ValidationFailed
from govops.localtime import shown
from govops.principal import Principal

# Every command's --json (one document on stdout; errors stay on stderr).
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def id_arg(what: str) -> Any:
    """A record's ID as an argument: a positive integer the database can hold (a typo of twenty
    nines is a usage error, not an OverflowError in the driver)."""
    return typer.Argument(min=1, max=MAX_ID, help=what)


def finite(value: float | None) -> float | None:
    """A float option's callback: nan and inf pass every range check (comparisons with nan are
    false), so they are refused here."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter("give a finite number")
    return value


@contextmanager
def written(path: Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """The file a command writes, whole or not at all: written into a hidden file beside it and
    put in its place when the block ends without an error (an earlier file of that name stays
    as it was until then). A path that cannot be written is a clear error before the block
    runs: no such directory, a directory, no permission."""
    if path.is_dir():
        raise ValidationFailed(f"cannot write {path}: it is a directory", hint="give a file name")
    part = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")  # two runs never share one
    f = _open(part, path, mode, **kwargs)
    try:
        with f:
            yield f
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def output_dir(path: Path) -> Path:
    """A directory a command writes files into, made if need be, before any work is done."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ValidationFailed(f"cannot write into {path}: it is a file", hint="give a directory") from None
    except OSError as exc:
        raise ValidationFailed(f"cannot make {path}: {exc.strerror or exc}", hint="check the path") from None
    return path


def _open(part: Path, path: Path, mode: str, **kwargs: Any) -> IO[Any]:
    try:
        return part.open(mode, **kwargs)
    except FileNotFoundError:
        raise ValidationFailed(
            f"cannot write {path}: the directory {path.parent} does not exist", hint="create it, or write elsewhere"
        ) from None
    except OSError as exc:
        raise ValidationFailed(f"cannot write {path}: {exc.strerror or exc}", hint="check the path") from None


console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def emit(data: Any, as_json: bool, render: Callable[[Any], object] | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    elif render is not None:
        render(data)
    else:
        console.print(data)


NOTHING = "无 nothing to show"


def percent(v: float | None) -> str:
    """A rate as people read it: 0.875 → 87.5%; no rate → —."""
    return "—" if v is None else f"{v:.1%}"


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]], keep: int = 1) -> None:
    """A titled table; one with no rows says so under its header instead of ending blank. The
    first `keep` columns (an ID or a code: what the next command is given) are never cut short
    when the terminal is narrow; the others give way. An instant (ISO 8601 with its offset, as
    the records give it) is shown in the district's local time (govops.localtime)."""
    cells = [[shown(v) if isinstance(v, str) else ("" if v is None else str(v)) for v in r] for r in rows]
    t = Table(title=title, caption=None if cells else NOTHING)
    for i, c in enumerate(columns):
        if i < keep:
            width = max((cell_len(r[i]) for r in cells if len(r) > i), default=0)
            t.add_column(c, no_wrap=True, min_width=min(40, width))
        else:
            t.add_column(c)
    for r in cells:
        t.add_row(*r)
    console.print(t)


class _LastColumn(ProgressColumn):
    """The latest item or step, from the task's optional `last` field."""

    def render(self, task: Task) -> RenderableType:
        return Text.from_markup(str(task.fields.get("last", "")))


def progress_bar(label: str, enabled: bool = True) -> Progress:
    """The CLI's one progress bar: on stderr, counted (`total` may stay None until known, or for
    work that is not counted), with the latest item or step in the task's `last` field.

        with progress_bar("巡检 patrol", enabled=not json_out) as bar:
            task = bar.add_task("patrol", total=len(cameras))
            bar.update(task, advance=1, last=camera_id)

    Shown only on a terminal (and when `enabled`); a silent no-op otherwise, so `--json` output
    and pipes stay clean."""
    return Progress(
        SpinnerColumn(),
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        _LastColumn(),
        console=err_console,
        transient=True,
        disable=not (enabled and err_console.is_terminal),
    )


def role_line(principal: Principal) -> None:
    """Which MLPS administrator role a command acts as (三员分立): one dim line on stderr, so a
    `--json` stdout stays one document."""
    roles = ", ".join(sorted(principal.roles))
    err_console.print(f"[dim]acting as {roles} ({principal.subject}; GOVOPS_CLI_ROLE)[/]", highlight=False)
