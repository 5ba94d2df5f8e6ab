"""`govops status`: 统一运维总览 in a terminal — the status board behind `GET /api/v1/status` and the
console's `/status` page, probed afresh."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.padding import Padding
from rich.text import Text

from gateway.cli.output import JsonOpt, console, emit, finite, progress_bar
from govops.localtime import SECOND, shown


def status(
    wait: Annotated[
        float | None,
        typer.Option(
            min=0.5,
            max=300,
            callback=finite,
            help="Seconds to wait for the slowest subsystem (default: its probe timeout "
            "GOVOPS_STATUS_PROBE_TIMEOUT_S, plus 2); one that has not answered by then shows as 未知 unknown.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """统一运维总览: every subsystem's state, since when, and what to do about it."""
    from gateway.runtime import Runtime
    from monitoring.status import StatusBoard, StatusContext

    rt = Runtime.build()
    rt.migrate()
    board = StatusBoard(StatusContext(rt.settings, rt.sessions, rt.video, rt.box))
    try:
        budget = board.ctx.timeout + 2 if wait is None else wait
        with progress_bar("探测 probing", enabled=not json_out) as bar:
            task = bar.add_task("探测 probing", total=len(board.probes))
            snap = board.snapshot(budget=budget, max_age=0, answered=lambda: bar.advance(task))
    finally:
        board.close()
    emit_status(snap, json_out)


STYLES = {"failing": "bold red", "unknown": "magenta", "warning": "yellow", "ok": "green", "not_configured": "dim"}


def emit_status(snap: dict[str, Any], json_out: bool) -> None:
    """The board worst first: each subsystem's state and since when, its summary, and for one
    that is not ok what to do (a list, not a table: the summaries are sentences)."""
    from monitoring.status.model import LABELS, SEVERITY

    def render(board: dict[str, Any]) -> None:
        overall = board["state"]
        console.print(
            f"[bold]统一运维总览 System status:[/] [{STYLES.get(overall, '')}]{LABELS.get(overall, overall)}[/]"
            f"  [dim]生成于 generated {shown(board['generated_at'], fmt=SECOND)}[/]",
            highlight=False,
        )
        for s in sorted(board["subsystems"], key=lambda s: -SEVERITY.get(s["state"], 0)):
            label = escape(LABELS.get(s["state"], s["state"]))
            console.print(
                f"[{STYLES.get(s['state'], '')}]● {label}[/]  [bold]{escape(s['title'])}[/]"
                f"  [dim]自 since {shown(s['since'])}[/]",
                highlight=False,
            )
            lines = [s["summary"]]
            if s["hint"] and s["state"] != "ok":
                what = "配置方法 to configure" if s["state"] == "not_configured" else "处理 what to do"
                lines.append(f"→ {what}: {s['hint']}")
            for line in lines:  # indented, wrapped lines too
                console.print(Padding(Text(line), (0, 0, 0, 4)))

    emit(snap, json_out, render)
