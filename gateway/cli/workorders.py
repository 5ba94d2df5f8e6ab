"""`govops workorders list|show|dispatch|repair|verify|close|sync|report|contractors …`: fault
work orders (运维工单). Every command calls the same domain function as the API and has --json."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.operator import operator as cli_principal
from gateway.cli.output import JsonOpt, console, emit, id_arg, percent, progress_bar, table, written
from govops.db import MAX_ID
from govops.errors import ValidationFailed
from govops.localtime import SECOND, shown

if TYPE_CHECKING:
    from gateway.runtime import Runtime
    from monitoring.workorders.settings import WorkOrderSettings

app = typer.Typer(
    help="运维工单 Fault work orders: SLA, repair, verification, contractor report.", no_args_is_help=True
)
contractors_app = typer.Typer(
    help="运维单位 Maintenance contractors and the areas they answer for.", no_args_is_help=True
)
app.add_typer(contractors_app, name="contractors")

OrderArg = Annotated[int, id_arg("Work order ID.")]


def _runtime() -> Runtime:
    from gateway.runtime import Runtime

    rt = Runtime.build()
    rt.migrate()
    return rt


def _settings() -> WorkOrderSettings:
    from govops.settings import load_or_explain
    from monitoring.workorders.settings import WorkOrderSettings

    return load_or_explain(WorkOrderSettings)


def _show_order(d: dict[str, Any]) -> None:
    contractor = " ".join(filter(None, (d["contractor"], d.get("contractor_name")))) or "-"
    console.print(
        f"#{d['id']} [bold]{d['state']}[/] {d['camera_name']} ({d['camera']}) contractor {contractor}; "
        f"SLA {d['sla_hours']} h, due {shown(d['due_at'])}{' [red]breached[/]' if d['breached'] else ''}",
        highlight=False,
    )
    for e in d.get("history", []):
        at = shown(e["at"], fmt=SECOND)
        console.print(f"  {at} {e['action']}: {e['from'] or ''} → {e['to']} by {e['actor']} {e['note'] or ''}")


@app.command("list")
def list_cmd(
    state: Annotated[str | None, typer.Option(help="open|dispatched|repaired|verified|closed")] = None,
    contractor: Annotated[str | None, typer.Option()] = None,
    camera: Annotated[str | None, typer.Option()] = None,
    cursor: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="next_cursor of the previous page")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    json_out: JsonOpt = False,
) -> None:
    """List work orders, newest first."""
    from monitoring.workorders import lifecycle

    with _runtime().transaction() as s:
        rows, nxt = lifecycle.list_orders(
            s, cli_principal(), state=state, contractor=contractor, camera=camera, after=cursor, limit=limit
        )
        data = {"items": [o.as_dict() for o in rows], "next_cursor": nxt}
    emit(
        data,
        json_out,
        lambda d: table(
            "运维工单 work orders",
            ["id", "state", "camera", "contractor", "due", "fault"],
            [
                [o["id"], o["state"], o["camera_name"], o["contractor"], o["due_at"], o["fault"][:60]]
                for o in d["items"]
            ],
        ),
    )


@app.command("show")
def show(order: OrderArg, json_out: JsonOpt = False) -> None:
    """One order with its history."""
    from monitoring.workorders import lifecycle

    with _runtime().transaction() as s:
        data = lifecycle.detail(s, lifecycle.get_order(s, cli_principal(), order))
    emit(data, json_out, _show_order)


@app.command("dispatch")
def dispatch(
    order: OrderArg,
    contractor: Annotated[str | None, typer.Option(help="Another contractor than the area's.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """派单: send an open order to its contractor."""
    from monitoring.workorders import lifecycle

    with _runtime().transaction() as s:
        data = lifecycle.dispatch(s, cli_principal(), order, contractor).as_dict()
    emit(data, json_out, _show_order)


@app.command("repair")
def repair(
    order: OrderArg,
    note: Annotated[str, typer.Option(help="What was done.")],
    photo: Annotated[Path | None, typer.Option(help="A JPEG or PNG from the site.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """上报维修: the contractor reports the repair; the next patrol verifies it."""
    from monitoring.workorders import lifecycle

    settings = _settings()
    data_bytes = None
    if photo is not None:
        if not photo.is_file():
            raise ValidationFailed(f"no photo at {photo}", hint="give the path of a .jpg or .png file")
        if photo.stat().st_size > settings.photo_max_bytes:
            raise ValidationFailed(f"{photo} is over {settings.photo_max_bytes} bytes", hint="send a smaller image")
        data_bytes = photo.read_bytes()
    rt = _runtime()
    with rt.transaction() as s:
        data = lifecycle.repair(
            s,
            cli_principal(),
            order,
            note,
            photo=data_bytes,
            data_dir=rt.settings.data_dir,
            max_photo_bytes=settings.photo_max_bytes,
        ).as_dict()
    emit(data, json_out, _show_order)


@app.command("verify")
def verify(order: OrderArg, json_out: JsonOpt = False) -> None:
    """复核: judge a repaired order by the diagnoses made since the repair report."""
    from monitoring.workorders.sync import verify_now

    with _runtime().transaction() as s:
        data = verify_now(s, cli_principal(), order, _settings()).as_dict()
    emit(data, json_out, _show_order)


@app.command("close")
def close(order: OrderArg, json_out: JsonOpt = False) -> None:
    """关闭: close a verified order."""
    from monitoring.workorders import lifecycle

    with _runtime().transaction() as s:
        data = lifecycle.close(s, cli_principal(), order).as_dict()
    emit(data, json_out, _show_order)


@app.command("sync")
def sync_cmd(json_out: JsonOpt = False) -> None:
    """Run the work-order engine once: open, verify, check SLAs, self-heal (if on)."""
    from monitoring.workorders.sync import sync

    rt = _runtime()
    with progress_bar("运维工单 sync", enabled=not json_out) as bar:
        task = bar.add_task("sync", total=None, last="alerts → orders")
        with rt.transaction() as s:
            data = sync(s, None, _settings(), box=rt.box).as_dict()
        bar.update(task, last="done")
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"opened {len(d['opened'])}, dispatched {len(d['dispatched'])}, verified {len(d['verified'])}, "
            f"closed {len(d['closed'])}, reopened {len(d['reopened'])}, withdrawn as false alarms "
            f"{len(d['withdrawn'])}, SLA breached {len(d['breached'])}, "
            f"self-healing {len(d['selfheal'])}",
            highlight=False,
        ),
    )


@app.command("report")
def report_cmd(
    month: Annotated[str | None, typer.Option(help="YYYY-MM, the district's month (default: this one).")] = None,
    contractor: Annotated[str | None, typer.Option(help="Only this contractor's areas.")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write the report as CSV here.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """运维考核: the monthly report per contractor and area."""
    from monitoring.workorders import report

    month = month or report.this_month()
    with _runtime().transaction() as s:
        rows = report.monthly(s, month, contractor)
    if csv_out is not None:
        with written(csv_out, encoding="utf-8") as f:
            f.write(report.to_csv(rows))
    data = {"month": month, "items": [r.as_dict() for r in rows]}
    emit(
        data,
        json_out,
        lambda d: table(
            f"运维考核 {month}",
            ["contractor", "area", "cameras", "完好率", "在线率", "opened", "closed", "on time", "MTTR h"],
            [
                [
                    r["contractor"],
                    r["area"],
                    r["cameras"],
                    percent(r["intact_rate"]),
                    percent(r["online_rate"]),
                    r["opened"],
                    r["closed"],
                    percent(r["on_time_rate"]),
                    "—" if r["mttr_hours"] is None else r["mttr_hours"],
                ]
                for r in d["items"]
            ],
            keep=2,
        ),
    )


CodeArg = Annotated[str, typer.Argument(help="Contractor code: lower-case letters, digits, - and _.")]
AreaArg = Annotated[str, typer.Argument(help="Admin-division code; a street covers its communities and grids.")]


@contractors_app.command("list")
def contractors_list(json_out: JsonOpt = False) -> None:
    """The contractors and the areas each answers for (重点: a key area, the shorter SLA)."""
    from monitoring.workorders import contractors

    with _runtime().transaction() as s:
        data = {"items": contractors.list_contractors(s)}
    emit(
        data,
        json_out,
        lambda d: table(
            "运维单位 contractors",
            ["code", "name", "contact", "areas"],
            [
                [
                    c["code"],
                    c["name"],
                    c["contact"],
                    ", ".join(a["area"] + (" (重点)" if a["key_area"] else "") for a in c["areas"]),
                ]
                for c in d["items"]
            ],
        ),
    )


@contractors_app.command("add")
def contractors_add(
    code: CodeArg,
    name: Annotated[str, typer.Option(help="The contractor's name, e.g. 金山区雪亮工程运维一标段.")],
    contact: Annotated[str | None, typer.Option(help="Who to call: a name and a phone number.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Add a maintenance contractor (运维单位); then give it its areas with `assign`. Audited."""
    from monitoring.workorders import contractors

    with _runtime().transaction() as s:
        data = contractors.add_contractor(s, code, name, contact, actor=cli_principal().subject).as_dict()
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"added contractor {d['code']} {d['name']}; give it its areas with "
            f"`govops workorders contractors assign {d['code']} AREA`",
            highlight=False,
        ),
    )


@contractors_app.command("remove")
def contractors_remove(code: CodeArg, json_out: JsonOpt = False) -> None:
    """Remove a contractor that has no open work order, with its areas. Audited."""
    from monitoring.workorders import contractors

    with _runtime().transaction() as s:
        contractors.remove_contractor(s, code, actor=cli_principal().subject)
    emit({"removed": code}, json_out, lambda d: console.print(f"removed contractor {d['removed']}", highlight=False))


@contractors_app.command("assign")
def contractors_assign(
    code: CodeArg,
    area: AreaArg,
    key_area: Annotated[bool, typer.Option("--key-area", help="重点区域: the shorter SLA.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Make a contractor answer for an area: new fault work orders there go to it. Audited."""
    from monitoring.workorders import contractors

    with _runtime().transaction() as s:
        data = contractors.assign_area(s, code, area, key_area=key_area, actor=cli_principal().subject).as_dict()
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"contractor {d['contractor']} answers for area {d['area']}"
            + (" (重点区域 key area: the shorter SLA)" if d["key_area"] else ""),
            highlight=False,
        ),
    )


@contractors_app.command("unassign")
def contractors_unassign(area: AreaArg, json_out: JsonOpt = False) -> None:
    """No contractor answers for an area any more (its open orders keep theirs). Audited."""
    from monitoring.workorders import contractors

    with _runtime().transaction() as s:
        contractors.unassign_area(s, area, actor=cli_principal().subject)
    emit(
        {"unassigned": area},
        json_out,
        lambda d: console.print(f"no contractor answers for area {d['unassigned']} now", highlight=False),
    )
