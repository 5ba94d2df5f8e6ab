"""`govops video …`: the catalogue and video quality diagnosis."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.output import emit, table
from gateway.runtime import Runtime
from govops.principal import SYSTEM
from video.catalogue.queries import CameraFilter, list_cameras

app = typer.Typer(help="Sharp Eyes video network: catalogue, diagnosis.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("list")
def list_(
    department: Annotated[str | None, typer.Option(help="Department code.")] = None,
    area: Annotated[str | None, typer.Option(help="Admin area code; includes everything under it.")] = None,
    status: Annotated[str | None, typer.Option(help="online, offline, faulty or unknown.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    json_out: JsonOpt = False,
) -> None:
    """Cameras in the catalogue."""
    rt = Runtime.build()
    with rt.sessions() as s:
        rows = [c.as_dict() for c in list_cameras(s, SYSTEM, CameraFilter(department, area, status), limit=limit)]
    emit(rows, json_out, lambda rs: table("cameras", ["id", "name", "department", "area", "status"],
                                          [[r[k] for k in ("id", "name", "department", "area", "status")] for r in rs]))


@app.command("diagnose")
def diagnose(
    sources: Annotated[list[str], typer.Argument(help="File paths, rtsp:// URLs or http(s):// snapshot URLs.")],
    reference: Annotated[str | None, typer.Option(help="Reference image for scene_change.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Video quality diagnosis (视频质量诊断): one result per SOURCE."""
    from video.diagnosis.cli import run_diagnose

    run_diagnose(sources, reference, json_out)
