"""`govops video diagnose`: diagnose each SOURCE, as JSON lines for scripts or a table for people.

The batch always exits 0 when its arguments were usable: an unreadable source is a finding
(signal_loss with an `error`), not a failure of the command. A bad reference picture, an unknown
camera or bad GOVOPS_VQD_* settings are usage errors (exit 2). With `--camera` the sources are
judged with that camera's settings (its baselines, reference and thresholds), exactly as the
patrol judges it. `--reference` is the camera's normal picture: the sources are judged against a
baseline taken on it (建档, not stored), as the patrol judges a commissioned camera; with
`--camera` too, it stands in for that camera's baseline of its mode.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import typer
from rich.table import Table

from gateway.cli.output import console, err_console, progress_bar
from govops.errors import GovopsError
from govops.settings import load_or_explain
from video.diagnosis import CameraSettings, DiagnosisResult, Thresholds, commissioned_on, diagnose_source

# Sources wait on the network as much as they decode: a few in flight at once.
MAX_WORKERS = 8
# Without a baseline (建档) the absolute thresholds judge: what they cannot see, and what to do.
ABSOLUTE_HINT = (
    "{n} source(s) judged on the absolute thresholds (no baseline, 未建档): a slight defocus of a "
    "view soft by nature, or a white balance pushed along daylight colours (bluer or warmer), "
    "reads like the scene itself there.\n  → judge against the camera's normal picture: "
    "--reference PICTURE, or --camera ID of a commissioned camera"
)


def _fail(message: str, hint: str | None = None) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    if hint:
        err_console.print(f"  [dim]→ {hint}[/]", highlight=False)
    return typer.Exit(2)


def _results(sources: list[str], settings: CameraSettings) -> Iterator[DiagnosisResult]:
    workers = max(1, min(len(sources), MAX_WORKERS, 2 * (os.cpu_count() or 1)))
    if workers == 1:
        yield from (diagnose_source(s, settings) for s in sources)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="vqd") as pool:
        yield from pool.map(lambda s: diagnose_source(s, settings), sources)


def _summary(result: DiagnosisResult) -> str:
    m = result.metrics
    keys = (
        ("basis", "basis"),
        ("brightness_mean", "luma"),
        ("blur_effect", "blur"),
        ("noise_sigma", "noise σ"),
        ("cast_offset", "cast"),
        ("cast_shift", "cast shift"),
        ("reference_similarity", "ref sim"),
    )
    return "  ".join(f"{label} {m[k]}" for k, label in keys if m.get(k) is not None)


def _table(results: list[DiagnosisResult]) -> Table:
    table = Table(title="video quality diagnosis (视频质量诊断)")
    for column in ("source", "result", "measurements", "ms"):
        table.add_column(column, overflow="fold")
    for res in results:
        if res.error:
            verdict = f"[red]signal_loss[/]\n[dim]{res.error}[/]"
        elif res.faults:
            verdict = "[yellow]" + ", ".join(f"{f.code} {f.score:.2f}" for f in res.faults) + "[/]"
        else:
            verdict = "[green]ok[/]"
        table.add_row(res.source, verdict, _summary(res), f"{res.elapsed_ms:.0f}")
    return table


def _settings(reference: str | None, camera: str | None) -> CameraSettings:
    try:
        t = load_or_explain(Thresholds)
        settings = CameraSettings(t)
        if camera is not None:
            from gateway.cli.video.common import runtime
            from video.patrol.baselines import camera_settings

            rt = runtime()
            with rt.transaction() as session:
                settings = camera_settings(session, camera, t)
        if reference is not None:
            settings = commissioned_on(settings, reference)
    except GovopsError as exc:
        raise _fail(exc.message, exc.hint) from None
    return settings


def run_diagnose(sources: list[str], reference: str | None, json_out: bool, camera: str | None = None) -> None:
    settings = _settings(reference, camera)
    results: list[DiagnosisResult] = []
    progress = progress_bar("diagnosing", len(sources) > 1)
    with progress:
        task = progress.add_task("diagnose", total=len(sources), last="")
        for result in _results(sources, settings):
            if json_out:
                sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
                sys.stdout.flush()
            else:
                results.append(result)
            progress.update(task, advance=1, last=result.source[-40:])
    if not json_out:
        console.print(_table(results))
        faulty = sum(1 for r in results if r.faults and not r.error)
        lost = sum(1 for r in results if r.error)
        console.print(
            f"{len(results)} source(s): {len(results) - faulty - lost} ok, {faulty} faulty, {lost} unreadable"
        )
        absolute = sum(1 for r in results if r.without_baseline)
        if absolute:
            console.print(f"[dim]{ABSOLUTE_HINT.format(n=absolute)}[/]", highlight=False)
