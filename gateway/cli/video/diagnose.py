"""`govops video diagnose`: video quality diagnosis (视频质量诊断) of files, streams, snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.output import JsonOpt


def diagnose(
    sources: Annotated[list[str], typer.Argument(help="File paths, rtsp:// URLs or http(s):// snapshot URLs.")],
    reference: Annotated[
        str | None,
        typer.Option(
            help="The camera's normal picture (image or clip): judged against a baseline taken on it "
            "(建档, not stored) and for scene_change."
        ),
    ] = None,
    camera: Annotated[str | None, typer.Option(help="Judge with this camera's baselines and thresholds.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Video quality diagnosis (视频质量诊断): one result per SOURCE."""
    from gateway.cli.diagnosis import run_diagnose
    from video.diagnosis.sources import source_kind

    run_diagnose(sources, reference, json_out, camera)
    # DESIGN.md: a local path that does not exist still gets its line, then the command exits 1
    # (the user's mistake, not a camera's fault); so does a URL of a scheme no camera is read over.
    local = (s.removeprefix("file://") for s in sources if source_kind(s) == "file")
    if any(not Path(p).exists() for p in local) or any(source_kind(s) == "unsupported URL" for s in sources):
        raise typer.Exit(1)
