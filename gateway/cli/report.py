"""`govops report daily`: 运维日报, the morning report of one district day (monitoring.reports)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gateway.cli.output import JsonOpt, console, emit, table
from govops.errors import ValidationFailed

app = typer.Typer(no_args_is_help=True, help="运维日报 Reports to read and forward: the daily operations report.")


@app.command("daily")
def daily(
    day: Annotated[
        str | None, typer.Option(help="The district's day: YYYY-MM-DD, today, or yesterday (the default).")
    ] = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="Also send it to the notification channels that take it (daily_report among a channel's "
            "events in GOVOPS_ALERTS_CHANNELS_FILE); exit 1 if one fails.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """运维日报: one district day of operations — video KPIs and faults, alerts, work orders, runs, backup."""
    from gateway.runtime import Runtime
    from monitoring.reports.daily import daily as report
    from monitoring.settings import load_alert_settings

    rt = Runtime.build()
    rt.migrate()
    alerts = load_alert_settings()
    with rt.sessions() as s:
        r = report(s, rt.settings, rt.video, day=day, backup_max_age_h=alerts.backup_max_age_h)
    if send:
        r["sent"] = _send(r, rt, alerts.channels_file)
    emit(r, json_out, _render)
    if send and set(r["sent"].values()) != {"sent"}:
        raise typer.Exit(1)


def _send(r: dict[str, Any], rt: Any, channels_file: Any) -> dict[str, str]:
    from monitoring.notify.channels import load_channels
    from monitoring.notify.dispatcher import Notifier
    from monitoring.reports.daily import send

    outcomes = send(r, Notifier(load_channels(channels_file), rt.transaction), rt.settings.public_url)
    if not outcomes:
        raise ValidationFailed(
            "no notification channel takes the daily report",
            hint="add daily_report to a channel's events in GOVOPS_ALERTS_CHANNELS_FILE "
            "(see monitoring/notify/channels.example.yml)",
        )
    return outcomes


def _render(r: dict[str, Any]) -> None:
    from monitoring.reports.daily import kpi_rows, lines

    console.print(f"[bold]运维日报 Daily operations report {r['day']}[/] ({r['timezone']})", highlight=False)
    now = " (今日 now)" if r["video"]["kpi_source"] == "live" else ""
    table(
        f"视频 Video network{now}", ["指标 KPI", "日终 end of day", "较前日 vs day before", "目标 target"], kpi_rows(r)
    )
    for line in lines(r, kpis=False):
        console.print(line, highlight=False)
    if "sent" in r:
        console.print("已发送 sent: " + ", ".join(f"{k} {v}" for k, v in r["sent"].items()), highlight=False)
