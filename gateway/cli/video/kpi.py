"""`govops video kpi`: 在线率, 完好率, 联网率, coverage and density against their targets."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.output import JsonOpt, console, emit, percent, table
from gateway.cli.video.common import runtime
from govops.errors import ValidationFailed
from govops.localtime import SECOND, shown


def kpi(
    by: Annotated[str, typer.Option(help="area or platform.")] = "area",
    level: Annotated[str | None, typer.Option(help="street, community or grid (for --by area).")] = None,
    record: Annotated[
        bool, typer.Option("--record", help="Store today's KPIs for the trend charts (daily job).")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """在线率, 完好率, 联网率, key-place coverage and density against their targets."""
    from video.coverage import Coverage

    if record:
        from monitoring.kpi_history.record import record_now

        rt = runtime()
        done = record_now(rt.sessions, rt.settings, rt.video)
        emit(
            done,
            json_out,
            lambda d: console.print(f"recorded {d['samples']} KPI samples at {shown(d['recorded_at'], fmt=SECOND)}"),
        )
        return
    if by not in ("area", "platform"):
        raise ValidationFailed("--by must be area or platform")
    rt = runtime()
    with rt.sessions() as s:
        cov = Coverage(s, rt.video)
        items = cov.by_platform() if by == "platform" else cov.by_area(level)
        data = {"targets": cov.targets(), "items": [k.as_dict() for k in items]}

    emit(
        data,
        json_out,
        lambda d: table(
            f"KPIs by {by}",
            ["key", "name", "cameras", "在线率", "完好率(重点)", "完好率(其他)", "联网率", "重点覆盖", "密度/km²"],
            [
                [
                    k["key"],
                    k["name"],
                    k["cameras"],
                    percent(k["online_rate"]),
                    percent(k["intact_rate_key_place"]),
                    percent(k["intact_rate_other"]),
                    percent(k["networking_rate"]),
                    percent(k["key_place_coverage"]),
                    "—" if k["density_per_km2"] is None else f"{k['density_per_km2']:.2f}",
                ]
                for k in d["items"]
            ],
        ),
    )
