"""`govops video patrol|faults|history|rediagnose|reference|thresholds|rounds`: the camera patrol.

`patrol` runs rounds forever (a Kubernetes StatefulSet pod, shard = its ordinal) or one round
with --once; SIGTERM finishes and writes what is in flight, then stops. The round's summary is
printed per round (a JSON line each with --json); a progress bar shows on a terminal.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.operator import operator
from gateway.cli.output import JsonOpt, console, emit, finite, progress_bar, table
from gateway.cli.video.common import actor as _actor
from gateway.cli.video.common import runtime as _runtime
from govops.errors import ValidationFailed

if TYPE_CHECKING:  # the patrol and diagnosis load OpenCV and PyAV: only in the commands that run them
    from video.diagnosis import DiagnosisResult
    from video.patrol import Patrol, Shard
    from video.patrol.ledger import Outcome

ShardOpt = Annotated[str | None, typer.Option("--shard", help="Worker i of n, as i/n (0 ≤ i < n).")]


def _shard(shard: str | None, from_pod: bool) -> Shard:
    from video.patrol import Shard

    if shard and from_pod:
        raise ValidationFailed("give either --shard or --shard-from-pod-name, not both")
    if from_pod:
        return Shard.from_pod_name(
            os.environ.get("POD_NAME") or os.environ.get("HOSTNAME"),
            os.environ.get("GOVOPS_PATROL_SHARDS"),
            os.environ.get("JOB_COMPLETION_INDEX"),
        )
    return Shard.parse(shard) if shard else Shard()


def _print_round(report: dict[str, Any]) -> None:
    faults = ", ".join(f"{k} {v}" for k, v in report["faults"].items()) or "none"
    console.print(
        f"round {report['round']} shard {report['shard']} [bold]{report['status']}[/]: "
        f"{report['cameras']} cameras, [green]{report['ok']} ok[/], [yellow]{report['faulty']} faulty[/], "
        f"[red]{report['offline']} offline[/] ({report['timed_out']} timed out); alerts "
        f"+{report['alerts_raised']} −{report['alerts_cleared']}; faults: {faults}; "
        f"{report['elapsed_s']} s, CPU {report['cpu_s']} s, peak RSS {report['peak_rss_mib']} MiB",
        highlight=False,
    )


def patrol(
    once: Annotated[bool, typer.Option("--once", help="Run one round and exit.")] = False,
    shard: ShardOpt = None,
    shard_from_pod_name: Annotated[
        bool,
        typer.Option(
            "--shard-from-pod-name",
            help="Shard = the StatefulSet ordinal (or JOB_COMPLETION_INDEX) of GOVOPS_PATROL_SHARDS.",
        ),
    ] = False,
    concurrency: Annotated[int | None, typer.Option(min=1, max=2000, help="Streams in flight.")] = None,
    interval: Annotated[
        float | None, typer.Option(min=10, help="Seconds between round starts.", callback=finite)
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """巡检: diagnose every camera of this shard, store history, update status, raise/clear alerts."""
    from video.patrol import Patrol, Policy

    rt = _runtime()
    settings = rt.video
    worker = Patrol(
        rt.sessions,
        rt.box,
        shard=_shard(shard, shard_from_pod_name),
        concurrency=concurrency or settings.patrol_concurrency,
        camera_timeout_s=settings.patrol_camera_timeout_s,
        policy=Policy.from_settings(settings),
        thresholds=rt.thresholds,
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stop())
    period = interval or settings.patrol_interval_s
    while True:
        report = _round(worker, show_progress=not json_out)
        emit(report, json_out, _print_round)
        if once or worker.wait(max(0.0, period - report["elapsed_s"])):
            break


def _round(worker: Patrol, show_progress: bool) -> dict[str, Any]:
    progress = progress_bar("巡检 patrol", show_progress)
    task = progress.add_task("patrol", total=None, last="")

    def on_result(camera_id: str, result: DiagnosisResult, outcome: Outcome | None) -> None:
        mark = "[green]ok[/]" if result.healthy else f"[yellow]{','.join(result.codes)}[/]"
        progress.update(task, advance=1, last=f"{camera_id} {mark}")

    with progress:
        return worker.run_round(on_result=on_result, on_start=lambda n: progress.update(task, total=n)).as_dict()


def _fault_row(c: dict[str, Any]) -> list[Any]:
    baseline = "yes" if c["commissioned"] else "no"
    return [c["id"], c["name"], c["verdict"], ",".join(c["faults"]), baseline, c["since"], c["error"]]


def faults(json_out: JsonOpt = False) -> None:
    """Cameras faulty or offline now (the patrol's stable verdict), longest-standing first; a
    camera without a baseline (建档) was judged on the absolute limits."""
    from video.patrol import queries

    rt = _runtime()
    with rt.transaction() as session:
        items = queries.faults_now(session, operator())
    emit(
        {"items": items},
        json_out,
        lambda d: table(
            "故障摄像机 cameras with faults now",
            ["camera", "name", "verdict", "faults", "baseline", "since", "error"],
            [_fault_row(c) for c in d["items"]],
        ),
    )


def history(camera: str, limit: Annotated[int, typer.Option(min=1, max=200)] = 20, json_out: JsonOpt = False) -> None:
    """A camera's diagnosis history, newest first."""
    from video.patrol import queries

    rt = _runtime()
    with rt.transaction() as session:
        data = queries.history(session, operator(), camera, limit=limit)
    emit(
        data,
        json_out,
        lambda d: table(
            f"诊断记录 diagnosis history of {camera}",
            ["id", "at", "origin", "verdict", "faults", "error"],
            [
                [r["id"], r["at"], r["origin"], r["verdict"], ",".join(f["code"] for f in r["faults"]), r["error"]]
                for r in d["items"]
            ],
        ),
    )


def _print_one(d: dict[str, Any]) -> None:
    found = ", ".join(f["code"] if isinstance(f, dict) else f for f in d.get("faults", [])) or "no fault"
    console.print(f"{d['verdict']}: {found}" + (f" ({d['error']})" if d.get("error") else ""), highlight=False)
    console.print(f"camera now {d['watch']['stable']} since {d['watch']['stable_since']}", highlight=False)


def _on_camera(
    action: Callable[..., dict[str, Any]], camera: str, json_out: bool, show: Callable[[Any], None] = _print_one
) -> None:
    from video.patrol import Policy

    rt = _runtime()
    out = action(rt.sessions, rt.box, camera, actor=_actor(), base=rt.thresholds, policy=Policy.from_settings(rt.video))
    emit(out, json_out, show)


def rediagnose(camera: str, json_out: JsonOpt = False) -> None:
    """Diagnose one camera now; believed at once (a repaired camera clears its alert)."""
    from video.patrol import ondemand

    _on_camera(ondemand.diagnose_now, camera, json_out)


def reference(
    camera: str,
    plain_is_view: Annotated[
        bool,
        typer.Option(
            "--plain-is-view",
            help="The plain region the new view reads as a cover is the view itself (a dim sky, a wall, water).",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Re-take the camera's baseline (建档) and scene reference from its current picture (after a
    deliberate change: the camera moved or replaced). Audited."""
    from video.patrol import ondemand

    def show(d: dict[str, Any]) -> None:
        b = d["baseline"]
        console.print(
            f"baseline (建档) re-taken for {b['mode']} mode from the current picture, and the scene reference "
            f"with it: brightness {b['brightness']}, blur effect {b['blur_effect']}, noise σ {b['noise_sigma']} "
            "(audited; the patrol refines it over its next healthy rounds)",
            highlight=False,
        )
        if d.get("vouched"):
            console.print(f"vouched for by you: {', '.join(d['vouched'])} is the view itself", highlight=False)
        _print_one(d)

    _on_camera(partial(ondemand.refresh_reference, plain_is_view=plain_is_view), camera, json_out, show)


def accept(camera: str, json_out: JsonOpt = False) -> None:
    """误报确认: the camera's current picture is its normal, and the fault it shows a false alarm.
    The camera learns it (the hour's brightness, or its baseline statistics) and the alert clears.
    Refused for no signal, freeze, stripes, covers and a camera turned away; a cover read without
    a baseline (a still camera's dim sky) is accepted, and the camera commissioned. Audited."""
    from video.patrol import ondemand

    def show(d: dict[str, Any]) -> None:
        learned = {"hour": f"the brightness of hour {d['hour']}", "statistics": "its baseline statistics"}
        what = learned.get(d["learned"], "a new baseline")
        console.print(f"accepted as normal: {', '.join(d['accepted'])}; learned {what}", highlight=False)
        _print_one(d)

    _on_camera(ondemand.accept_normal, camera, json_out, show)


def thresholds(
    camera: str,
    values: Annotated[list[str] | None, typer.Argument(help="NAME=VALUE, e.g. dark_mean=15.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every override.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Show or set a camera's own diagnosis thresholds (a night camera may be dark on purpose)."""
    from video.patrol import ondemand, queries

    overrides: dict[str, float] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not (sep and name.strip()) or number is None:
            raise ValidationFailed(f"bad threshold {item!r}", hint="write NAME=NUMBER, e.g. dark_mean=15")
        overrides[name.strip()] = number
    rt = _runtime()
    with rt.transaction() as session:
        if overrides or clear:
            watch = ondemand.set_thresholds(session, camera, overrides, actor=_actor(), base=rt.thresholds)
        else:
            watch = queries.history(session, operator(), camera, limit=1)["watch"] or {"thresholds": {}}
    emit(
        {"camera": camera, "thresholds": watch["thresholds"]},
        json_out,
        lambda d: console.print(d["thresholds"] or "no overrides; the GOVOPS_VQD_* settings apply"),
    )


def rounds(limit: Annotated[int, typer.Option(min=1, max=200)] = 20, json_out: JsonOpt = False) -> None:
    """The latest patrol rounds of every shard."""
    from video.patrol import queries

    rt = _runtime()
    with rt.transaction() as session:
        items = queries.rounds(session, limit=limit)
    emit(
        {"items": items},
        json_out,
        lambda d: table(
            "巡检轮次 patrol rounds",
            ["id", "shard", "status", "started", "s", "cameras", "ok", "faulty", "offline"],
            [
                [
                    r["id"],
                    r["shard"],
                    r["status"],
                    r["started_at"],
                    r["elapsed_s"],
                    r["cameras"],
                    r["ok"],
                    r["faulty"],
                    r["offline"],
                ]
                for r in d["items"]
            ],
        ),
    )
