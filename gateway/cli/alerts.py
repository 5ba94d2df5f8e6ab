"""`govops alerts …`: the alert inbox from a terminal, over the same domain functions as the API.

The CLI runs on a machine with the platform's database credentials, so it acts as an ops
engineer named `cli:<login>` (the audit log records that name).
"""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from gateway.cli.output import JsonOpt, console, emit, finite, id_arg, table
from gateway.runtime import Runtime
from govops.errors import ValidationFailed
from govops.localtime import SECOND, TYPED, shown, typed
from govops.principal import OPS_ENGINEER, Principal
from monitoring.inbox import actions, queries, silences
from monitoring.inbox.service import AlertLoop

AlertArg = Annotated[int, id_arg("Alert ID.")]
app = typer.Typer(help="Alert inbox (告警收件箱): list, claim, acknowledge, resolve, silence.", no_args_is_help=True)


def _runtime() -> Runtime:
    rt = Runtime.build()
    rt.migrate()
    return rt


def _me() -> Principal:
    user = getpass.getuser()
    return Principal(subject=f"cli:{user}", name=user, roles=frozenset({OPS_ENGINEER}))


def _loop(rt: Runtime) -> AlertLoop:
    return AlertLoop.build(rt.settings.data_dir, rt.transaction)


def _render_list(page: dict[str, Any]) -> None:
    table(
        "alerts",
        ["id", "severity", "state", "summary", "scope", "since", "claimed"],
        [
            [
                a["id"],
                a["severity"],
                a["status"],
                a["summary"][:60],
                " ".join(a[k] for k in ("camera", "area", "department", "platform") if a[k]),
                a["starts_at"],
                a["claimed_by"],
            ]
            for a in page["items"]
        ],
    )
    if page["next_cursor"]:
        console.print(f"more: --cursor {page['next_cursor']}", highlight=False)


@app.command("list")
def list_(
    severity: Annotated[str | None, typer.Option(help="critical | warning | info")] = None,
    state: Annotated[str | None, typer.Option(help="firing | resolved")] = "firing",
    source: Annotated[str | None, typer.Option()] = None,
    area: Annotated[str | None, typer.Option()] = None,
    department: Annotated[str | None, typer.Option()] = None,
    platform: Annotated[str | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help=f"Started on or after: {TYPED}.", metavar="WHEN")] = None,
    until: Annotated[str | None, typer.Option(help="Started before; a date includes its day.", metavar="WHEN")] = None,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=queries.MAX_LIMIT)] = 50,
    all_states: Annotated[bool, typer.Option("--all", help="Firing and resolved.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Alerts, newest first (firing only unless --state/--all)."""
    rt = _runtime()
    f = queries.AlertFilter(
        severity,
        source,
        area,
        department,
        platform,
        None,
        None if all_states else state,
        typed(since, what="--since") if since else None,
        typed(until, end=True, what="--until") if until else None,
    )
    with rt.sessions() as s:
        page = queries.list_alerts(s, _me(), f, cursor=cursor, limit=limit)
    emit(page, json_out, _render_list)


@app.command("show")
def show(alert_id: AlertArg, json_out: JsonOpt = False) -> None:
    """One alert: labels, runbook, history."""
    rt = _runtime()
    with rt.sessions() as s:
        a = queries.detail(s, _me(), alert_id)

    def render(a: dict[str, Any]) -> None:
        console.print(f"[bold]#{a['id']} {a['summary']}[/] ({a['severity']}, {a['status']})", highlight=False)
        console.print(f"runbook: {a['runbook'] or '-'}", highlight=False)
        console.print("labels: " + ", ".join(f"{k}={v}" for k, v in sorted(a["labels"].items())), highlight=False)
        for e in a["history"]:
            at = shown(e["at"], fmt=SECOND)
            console.print(f"  {at} {e['action']} by {e['actor']} {e['comment'] or ''}", highlight=False)

    emit(a, json_out, render)


@app.command("claim")
def claim(
    alert_id: AlertArg,
    force: Annotated[bool, typer.Option(help="Take over another's claim.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Claim (认领) an alert: it is yours to handle."""
    with _runtime().transaction() as s:
        out = actions.claim(s, _me(), alert_id, force=force).as_dict()
    emit(out, json_out, lambda a: console.print(f"claimed #{a['id']} as {a['claimed_by']}", highlight=False))


@app.command("ack")
def ack(
    alert_id: AlertArg,
    comment: Annotated[str, typer.Option("--comment", "-m", help="What you found or do.")],
    json_out: JsonOpt = False,
) -> None:
    """Acknowledge an alert with a comment."""
    with _runtime().transaction() as s:
        out = actions.acknowledge(s, _me(), alert_id, comment).as_dict()
    emit(out, json_out, lambda a: console.print(f"acknowledged #{a['id']}", highlight=False))


@app.command("resolve")
def resolve(
    alert_id: AlertArg,
    comment: Annotated[str | None, typer.Option("--comment", "-m")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Resolve an alert by hand (a source that still sees the fault raises it again)."""
    with _runtime().transaction() as s:
        out = actions.resolve(s, _me(), alert_id, comment).as_dict()
    emit(out, json_out, lambda a: console.print(f"resolved #{a['id']}", highlight=False))


def _matchers(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        name, sep, value = p.partition("=")
        if not sep or not name or not value:
            raise ValidationFailed(f"matcher {p!r} is not NAME=VALUE", hint="e.g. --match alertname=KeycloakDown")
        out[name] = value
    return out


@app.command("silence")
def silence(
    alert_id: Annotated[int | None, id_arg("Silence what this alert matches.")] = None,
    match: Annotated[list[str] | None, typer.Option("--match", help="NAME=VALUE (repeatable).")] = None,
    hours: Annotated[float, typer.Option(help="How long.", callback=finite)] = 2.0,
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why (required).")] = "",
    expire: Annotated[str | None, typer.Option(help="Expire this silence id instead.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a silence in Alertmanager (from an alert or matchers), or --expire one."""
    matchers = _matchers(match or [])
    if not expire and alert_id is None and not matchers:
        raise ValidationFailed("say what to silence", hint="govops alerts silence ALERT_ID -m why, or --match")
    rt = _runtime()
    loop = _loop(rt)
    with rt.transaction() as s:
        if expire:
            silences.expire(s, loop.alertmanager(), _me(), expire)
            out: dict[str, Any] = {"id": expire, "state": "expired"}
        else:
            out = silences.create(
                s,
                loop.alertmanager(),
                _me(),
                matchers=matchers,
                alert_id=alert_id,
                hours=hours,
                comment=comment,
            )
    emit(out, json_out, lambda o: console.print(f"silence {o['id']}: {o.get('state', 'active')}", highlight=False))


@app.command("silences")
def list_silences(
    include_expired: Annotated[bool, typer.Option("--expired", help="Also expired ones.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Silences in Alertmanager, with their creation and expiry."""
    rows = _loop(_runtime()).alertmanager().silences(include_expired=include_expired)
    emit(
        rows,
        json_out,
        lambda rs: table(
            "silences",
            ["id", "state", "matchers", "by", "starts", "ends", "comment"],
            [
                [
                    r["id"],
                    r["state"],
                    " ".join(f"{k}={v}" for k, v in r["matchers"].items()),
                    r["created_by"],
                    r["starts_at"],
                    r["ends_at"],
                    r["comment"],
                ]
                for r in rs
            ],
        ),
    )


@app.command("escalate")
def escalate(json_out: JsonOpt = False) -> None:
    """Run the escalation check once (critical alerts not claimed in time); the gateway runs it too."""
    rt = _runtime()
    loop = _loop(rt)
    with rt.transaction() as s:
        due = loop.escalate(s)
    loop.notifier.drain()
    emit({"escalated": due}, json_out, lambda d: console.print(f"escalated {len(d['escalated'])} alert(s)"))
