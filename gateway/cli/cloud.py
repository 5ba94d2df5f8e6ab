"""`govops cloud …`: the e-government cloud through the Pulumi Automation API.

Front door only: each command calls one method of the provisioning service (or its quota desk)
and renders the typed result. The service, and with it Pulumi, loads only inside a command."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.operator import operator as cli_principal
from gateway.cli.output import JsonOpt, console, emit, id_arg, progress_bar, table
from govops.db import MAX_ID

if TYPE_CHECKING:
    from infra.provisioning.contract import Watch
    from infra.provisioning.quota import QuotaDesk
    from infra.provisioning.runs import Run
    from infra.provisioning.service import Provisioning

RunArg = Annotated[int, id_arg("Run ID.")]
RequestArg = Annotated[int, id_arg("Quota request ID.")]
app = typer.Typer(help="E-government cloud (政务云): department tenants on Kubernetes.", no_args_is_help=True)


def _service() -> Provisioning:
    from gateway.runtime import Runtime
    from infra.provisioning.service import Provisioning

    rt = Runtime.build()
    rt.migrate()
    return Provisioning(rt.settings, rt.sessions)


def _desk() -> QuotaDesk:
    from infra.provisioning.quota import QuotaDesk

    return QuotaDesk(_service())


def _with_progress(json_out: bool, label: str, fn: Callable[[Watch], Any]) -> Any:
    """Run fn(watch) with a progress bar that counts resources as the engine reports them."""
    from infra.provisioning.contract import Watch

    with progress_bar(label, enabled=not json_out) as progress:
        task = progress.add_task(label, total=None, last="")
        seen: set[str] = set()
        done: set[str] = set()

        def on_event(kind: str, data: dict[str, Any]) -> None:
            if kind == "resource_pre":
                seen.add(data["urn"])
            elif kind == "resource_done":
                done.add(data["urn"])
            progress.update(task, total=max(len(seen), 1), completed=len(done), last=data.get("type", ""))

        return fn(Watch(on_event=on_event))


def _render_run(run: dict[str, Any]) -> None:
    colour = "green" if run["status"] == "succeeded" else "red"
    counts = ", ".join(f"{k} {v}" for k, v in run["summary"].items()) or "no changes"
    console.print(f"run #{run['id']} {run['kind']} [{colour}]{run['status']}[/]: {counts}", highlight=False)
    _render_changes(run)
    if run.get("error"):
        console.print(f"  [red]{run['error']}[/]", highlight=False)


def _render_changes(run: dict[str, Any]) -> None:
    from infra.provisioning.changes import ResourceChange

    for c in run.get("changes") or []:
        console.print("  " + ResourceChange.from_dict(c).describe().replace("\n", "\n  "), highlight=False)


def _finish(run: Run, json_out: bool) -> None:
    emit(run.as_dict(), json_out, _render_run)
    if not run.ok:
        raise typer.Exit(1)


@app.command("preview")
def preview(json_out: JsonOpt = False) -> None:
    """Show what `up` would change, resource by resource (the policy pack runs too)."""
    svc, who = _service(), cli_principal().subject
    _finish(_with_progress(json_out, "preview", lambda w: svc.preview(who, watch=w)), json_out)


@app.command("up")
def up(
    revert_drift: Annotated[
        bool,
        typer.Option("--revert-drift", help="Read the cluster first; put back changes made outside Pulumi."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Make the cloud match the declared departments."""
    svc, who = _service(), cli_principal().subject
    _finish(_with_progress(json_out, "up", lambda w: svc.up(who, watch=w, revert_drift=revert_drift)), json_out)


@app.command("refresh")
def refresh(json_out: JsonOpt = False) -> None:
    """Accept drift: read the live objects back into the recorded state (audited)."""
    svc, who = _service(), cli_principal().subject
    _finish(_with_progress(json_out, "refresh", lambda w: svc.refresh(who, watch=w)), json_out)


@app.command("drift")
def drift(json_out: JsonOpt = False) -> None:
    """Report what was changed outside Pulumi, with the diff; changes nothing. Exit 1 when drift
    exists (raised as an alert); `up --revert-drift` reverts it, `refresh` accepts it."""
    svc, who = _service(), cli_principal().subject
    run = _with_progress(json_out, "drift", lambda w: svc.drift(who, watch=w))
    emit(run.as_dict(), json_out, _render_drift)
    if not run.ok or run.changes:
        raise typer.Exit(1)


def _render_drift(run: dict[str, Any]) -> None:
    if run["status"] != "succeeded":
        _render_run(run)
    elif not run["changes"]:
        console.print(f"run #{run['id']}: no drift — the cluster matches the recorded state")
    else:
        console.print(f"run #{run['id']}: [yellow]{len(run['changes'])} resource(s) changed outside Pulumi[/]")
        _render_changes(run)
        console.print("revert with `govops cloud up --revert-drift`, or accept with `govops cloud refresh`")


@app.command("destroy-tenant")
def destroy_tenant(
    code: str, yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False, json_out: JsonOpt = False
) -> None:
    """Remove one department's tenant (only its objects)."""
    if not yes and not json_out:
        typer.confirm(f"remove tenant {code} and every object in it?", abort=True)
    svc, who = _service(), cli_principal().subject
    _finish(_with_progress(json_out, f"destroy {code}", lambda w: svc.destroy_tenant(code, who, watch=w)), json_out)


@app.command("runs")
def runs(limit: Annotated[int, typer.Option(min=1, max=500)] = 20, json_out: JsonOpt = False) -> None:
    """Provisioning runs, newest first."""
    rows = [r.as_dict() for r in _service().runs(limit)]
    emit(
        rows,
        json_out,
        lambda rs: table(
            "runs",
            ["id", "kind", "target", "status", "actor", "started", "changes"],
            [
                [
                    r["id"],
                    r["kind"],
                    r["target"],
                    r["status"],
                    r["actor"],
                    r["started_at"],
                    ", ".join(f"{k} {v}" for k, v in r["summary"].items()),
                ]
                for r in rs
            ],
        ),
    )


@app.command("run")
def run(
    run_id: RunArg,
    log: Annotated[bool, typer.Option("--log", help="Print the engine log.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """One run: its status, resource changes and (with --log) the engine's log."""
    r = _service().get_run(run_id).as_dict()

    def render(d: dict[str, Any]) -> None:
        _render_run(d)
        if log:
            console.print(d.get("log") or "", markup=False, highlight=False)

    emit(r, json_out, render)


@app.command("tenants")
def tenants(json_out: JsonOpt = False) -> None:
    """The declared department tenants."""
    rows = _service().tenants()
    emit(
        rows,
        json_out,
        lambda rs: table(
            "tenants",
            ["code", "name", "namespace", "zone", "MLPS", "cpu", "memory", "pods"],
            [
                [
                    r["code"],
                    r["name"],
                    r["namespace"],
                    r["zone"],
                    r["mlps_level"],
                    r["quota"]["cpu"],
                    r["quota"]["memory"],
                    r["quota"]["pods"],
                ]
                for r in rs
            ],
        ),
    )


@app.command("usage")
def usage(json_out: JsonOpt = False) -> None:
    """Each tenant's quota against its use now (from the apiserver), the nearest a limit first."""
    rows = _service().usage()

    def cells(r: dict[str, Any]) -> list[Any]:
        u = r["usage"]
        if u is None:
            return [r["code"], r["namespace"], "not provisioned", "", ""]
        top = max(u["resources"], key=lambda x: x["ratio"] or 0, default=None)
        worst = f"{top['resource']} {top['used']}/{top['hard']}" if top else ""
        mark = "[red]near limit[/]" if u["near_limit"] else "ok"
        return [r["code"], r["namespace"], f"{u['highest_ratio']:.0%}", worst, mark]

    columns = ["code", "namespace", "highest", "resource", ""]
    emit(rows, json_out, lambda rs: table("quota use", columns, map(cells, rs)))


@app.command("quota-request")
def quota_request(
    department: Annotated[str, typer.Argument(help="Department code, e.g. gaj.")],
    reason: Annotated[str, typer.Option(help="What the quota is for.")],
    cpu: Annotated[str | None, typer.Option(help="CPU, e.g. 8 or 500m.")] = None,
    memory: Annotated[str | None, typer.Option(help="Memory, e.g. 16Gi.")] = None,
    storage: Annotated[str | None, typer.Option(help="Storage, e.g. 200Gi.")] = None,
    pods: Annotated[int | None, typer.Option(min=0, max=MAX_ID, help="Pods.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Ask for a department's new quota (reviewed and approved by an ops engineer)."""
    quota = {k: v for k, v in {"cpu": cpu, "memory": memory, "storage": storage, "pods": pods}.items() if v is not None}
    if not quota:
        raise typer.BadParameter("name at least one of --cpu, --memory, --storage, --pods")
    r = _desk().request(cli_principal(), department, quota, reason)
    emit(r, json_out, lambda d: console.print(f"quota request #{d['id']} for {d['department']} is pending review"))


@app.command("quota-requests")
def quota_requests(json_out: JsonOpt = False) -> None:
    """Quota requests, newest first."""
    rows = _desk().list(cli_principal())
    emit(
        rows,
        json_out,
        lambda rs: table(
            "quota requests",
            ["id", "department", "status", "requested_by", "reason", "note"],
            [[r["id"], r["department"], r["status"], r["requested_by"], r["reason"], r["decision_note"]] for r in rs],
        ),
    )


@app.command("quota-preview")
def quota_preview(request_id: RequestArg, json_out: JsonOpt = False) -> None:
    """Preview a quota request: the diff of that tenant's change, to read before approving."""
    desk, who = _desk(), cli_principal()
    label = f"preview quota #{request_id}"
    _finish(_with_progress(json_out, label, lambda w: desk.preview(who, request_id, watch=w)), json_out)


@app.command("approve-quota")
def approve_quota(
    request_id: RequestArg,
    yes: Annotated[bool, typer.Option("--yes", help="Approve the previewed change without asking.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Approve a quota request: shows the previewed diff (previewing first if needed), asks, then runs `up`."""
    desk, who = _desk(), cli_principal()
    shown = desk.show(who, request_id)
    if not shown["preview_current"]:
        _with_progress(json_out, f"preview quota #{request_id}", lambda w: desk.preview(who, request_id, watch=w))
        shown = desk.show(who, request_id)
        if not shown["preview_current"]:
            failed = (shown["preview"] or {}).get("error") or "see `govops cloud runs`"
            emit(shown, json_out, lambda _: console.print(f"[red]the preview failed: {failed}[/]", highlight=False))
            raise typer.Exit(1)
    if not json_out:
        _render_run(shown["preview"])
    if not yes and not json_out:
        typer.confirm(f"apply this change to {shown['department']}?", abort=True)
    request, run = _with_progress(json_out, f"quota #{request_id}", lambda w: desk.approve(who, request_id, watch=w))
    request = desk.show(who, request_id)
    request.pop("preview", None)
    emit({**request, "run": run.as_dict()}, json_out, _render_applied)
    if not run.ok:
        raise typer.Exit(1)


def _render_applied(r: dict[str, Any]) -> None:
    _render_run(r["run"])
    console.print(f"quota request #{r['id']} {r['status']}", highlight=False)


@app.command("reject-quota")
def reject_quota(
    request_id: RequestArg, note: Annotated[str, typer.Option(help="Why.")], json_out: JsonOpt = False
) -> None:
    """Reject a quota request."""
    result = _desk().reject(cli_principal(), request_id, note)
    emit(result, json_out, lambda r: console.print(f"quota request #{r['id']} rejected"))
