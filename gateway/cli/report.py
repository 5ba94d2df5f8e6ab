"""`govops report daily`: 运维日报, the morning report of one district day (monitoring.reports)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gateway.cli.output import JsonOpt, console, emit, percent, table
from govops.localtime import shown

app = typer.Typer(no_args_is_help=True, help="运维日报 Reports to read and forward: the daily operations report.")


def _counts(d: dict[str, int]) -> str:
    return " · ".join(f"{k} {n}" for k, n in d.items()) or "0"


@app.command("daily")
def daily(
    day: Annotated[
        str | None, typer.Option(help="The district's day: YYYY-MM-DD, today, or yesterday (the default).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """运维日报: one district day of operations — video KPIs and faults, alerts, work orders, runs, backup."""
    from gateway.runtime import Runtime
    from monitoring.reports.daily import daily as report
    from monitoring.settings import load_alert_settings

    rt = Runtime.build()
    rt.migrate()
    with rt.sessions() as s:
        r = report(s, rt.settings, rt.video, day=day, backup_max_age_h=load_alert_settings().backup_max_age_h)
    emit(r, json_out, _render)


def _render(r: dict[str, Any]) -> None:
    v, a, w = r["video"], r["alerts"], r["workorders"]
    console.print(f"[bold]运维日报 Daily operations report {r['day']}[/] ({r['timezone']})", highlight=False)
    kpi, change = v["kpi"] or {}, v["kpi_change"]
    table(
        "视频 Video network" + (" (今日 now)" if v["kpi_source"] == "live" else ""),
        ["指标 KPI", "日终 end of day", "较前日 vs day before", "目标 target"],
        [
            (
                label,
                percent(kpi.get(key)),
                f"{change[key] * 100:+.1f} pt" if key in change else "—",
                percent(v["targets"][key]),
            )
            for key, label in (
                ("online_rate", "在线率 online"),
                ("intact_rate", "完好率 intact"),
                ("networking_rate", "联网率 networked"),
            )
        ],
    )
    if not v["kpi"]:
        console.print(
            "  当日未记录指标 no KPI sample that day: govops video kpi --record (a daily timer)", highlight=False
        )
    lines = [
        f"摄像机 cameras {v['cameras']} · 当日诊断 diagnosed {v['diagnosed_cameras']} · "
        f"巡检 rounds {_counts(v['patrol_rounds'])}",
        f"故障摄像机 cameras with a fault: {_counts(v['faults'])}",
        f"告警 alerts: 新增 raised {_counts(a['raised'])} · 恢复 resolved {_counts(a['resolved'])} · "
        f"升级 escalated {a['escalated']} · 日终未恢复 open at the end {_counts(a['open_at_end'])}",
        *(
            f"  #{x['id']} {x['summary']} (since {shown(x['since'])}, {x['claimed_by'] or '未认领 unclaimed'})"
            for x in a["oldest_open_critical"]
        ),
        f"工单 work orders: 新开 opened {w['opened']} · 修复 repaired {w['repaired']} · 关闭 closed {w['closed']} "
        f"(late {w['closed_late']}) · 日终超时 overdue at the end {w['overdue_at_end']}",
        *(
            f"  #{o['id']} {o['camera_name']} · {o['contractor_name'] or o['contractor'] or '—'} "
            f"· due {shown(o['due_at'])}"
            for o in w["longest_overdue"]
        ),
        f"集群 cluster: {_counts(r['cluster']['runs'])} · 政务云 cloud: {_counts(r['cloud']['runs'])}",
        *(
            f"  失败 failed: {k} run #{x['id']} {x['kind']}: {x['error'] or ''}"
            for k in ("cluster", "cloud")
            for x in r[k]["failed"]
        ),
        _backup_line(r["backup"]),
    ]
    for line in lines:
        console.print(line, highlight=False)


def _backup_line(b: dict[str, Any]) -> str:
    if not b["newest"]:
        return f"备份 backup: 日终前没有备份 none in {b['target']} before the day's end (govops cluster backup)"
    late = f" · 超过 older than {b['max_age_h']:g} h" if b["too_old"] else ""
    return f"备份 backup: {b['newest']} · {shown(b['at'])}{late}"
