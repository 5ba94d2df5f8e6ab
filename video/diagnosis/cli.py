"""`govops video diagnose`: diagnose each SOURCE, as JSON lines for scripts or a table for people.

The batch always exits 0 when its arguments were usable: an unreadable source is a finding
(signal_loss with an `error`), not a failure of the command. A bad reference picture or bad
GOVOPS_VQD_* settings are usage errors (exit 2).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from govops.errors import GovopsError
from video.diagnosis.checks.scene import Reference
from video.diagnosis.diagnose import diagnose_source, load_reference
from video.diagnosis.result import DiagnosisResult
from video.diagnosis.thresholds import Thresholds

# Sources wait on the network as much as they decode: a few in flight at once.
MAX_WORKERS = 8


def _fail(console: Console, message: str, hint: str | None = None) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    if hint:
        console.print(f"  [dim]→ {hint}[/]", highlight=False)
    return typer.Exit(2)


def _results(sources: list[str], ref: Reference | None, t: Thresholds) -> Iterator[DiagnosisResult]:
    workers = max(1, min(len(sources), MAX_WORKERS, 2 * (os.cpu_count() or 1)))
    if workers == 1:
        yield from (diagnose_source(s, ref, t) for s in sources)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="vqd") as pool:
        yield from pool.map(lambda s: diagnose_source(s, ref, t), sources)


def _summary(result: DiagnosisResult) -> str:
    m = result.metrics
    keys = (
        ("brightness_mean", "luma"),
        ("blur_effect", "blur"),
        ("noise_sigma", "noise σ"),
        ("cast_k", "K"),
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


def run_diagnose(sources: list[str], reference: str | None, json_out: bool) -> None:
    err = Console(stderr=True)
    try:
        t = Thresholds()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _fail(err, f"bad GOVOPS_VQD_{str(first['loc'][0]).upper()}: {first['msg']}") from None
    try:
        ref = load_reference(reference, t)
    except GovopsError as exc:
        raise _fail(err, exc.message, exc.hint) from None

    show_progress = err.is_terminal and len(sources) > 1
    results: list[DiagnosisResult] = []
    with Progress(
        TextColumn("diagnosing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not show_progress,
    ) as progress:
        task = progress.add_task("diagnose", total=len(sources))
        for result in _results(sources, ref, t):
            if json_out:
                sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
                sys.stdout.flush()
            else:
                results.append(result)
            progress.advance(task)
    if not json_out:
        console = Console()
        console.print(_table(results))
        faulty = sum(1 for r in results if r.faults and not r.error)
        lost = sum(1 for r in results if r.error)
        console.print(
            f"{len(results)} source(s): {len(results) - faulty - lost} ok, {faulty} faulty, {lost} unreadable"
        )
