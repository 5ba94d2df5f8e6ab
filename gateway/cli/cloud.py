"""`govops cloud …`: the e-government cloud through the Pulumi Automation API."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from gateway.cli.output import console, emit, table
from gateway.runtime import Runtime
from govops.principal import LOCAL_ADMIN
from infra.provisioning.provisioning import Provisioning
from infra.provisioning.quota import QuotaDesk

app = typer.Typer(help="E-government cloud (政务云): department tenants on Kubernetes.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _service() -> Provisioning:
    rt = Runtime.build()
    rt.migrate()
    return Provisioning(rt.settings, rt.sessions)


def _with_progress(json_out: bool, label: str, fn: Any) -> dict[str, Any]:
    """Run fn(on_event=…) with a Rich progress bar that counts resources as the engine reports them."""
    if json_out or not console.is_terminal:
        return fn(on_event=None)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} resources"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)
        seen: set[str] = set()
        done: set[str] = set()

        def on_event(kind: str, data: dict[str, Any]) -> None:
            if kind == "resource_pre":
                seen.add(data["urn"])
            elif kind == "resource_done":
                done.add(data["urn"])
            progress.update(
                task, total=max(len(seen), 1), completed=len(done), description=f"{label}: {data.get('type', '')}"
            )

        return fn(on_event=on_event)


def _render_run(run: dict[str, Any]) -> None:
    colour = "green" if run["status"] == "succeeded" else "red"
    changes = ", ".join(f"{k} {v}" for k, v in run["summary"].items()) or "no changes"
    console.print(f"run #{run['id']} {run['kind']} [{colour}]{run['status']}[/]: {changes}")
    if run.get("error"):
        console.print(f"  [red]{run['error']}[/]")


def _finish(run: dict[str, Any], json_out: bool) -> None:
    emit(run, json_out, _render_run)
    if run["status"] != "succeeded":
        raise typer.Exit(1)


@app.command("preview")
def preview(json_out: JsonOpt = False) -> None:
    """Show what `up` would change (the policy pack runs too)."""
    svc = _service()
    _finish(_with_progress(json_out, "preview", lambda **kw: svc.preview(LOCAL_ADMIN.subject, **kw)), json_out)


@app.command("up")
def up(json_out: JsonOpt = False) -> None:
    """Make the cloud match the declared departments."""
    svc = _service()
    _finish(_with_progress(json_out, "up", lambda **kw: svc.up(LOCAL_ADMIN.subject, **kw)), json_out)


@app.command("refresh")
def refresh(json_out: JsonOpt = False) -> None:
    """Read the cluster back and record drift."""
    svc = _service()
    _finish(_with_progress(json_out, "refresh", lambda **kw: svc.refresh(LOCAL_ADMIN.subject, **kw)), json_out)


@app.command("destroy-tenant")
def destroy_tenant(
    code: str, yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False, json_out: JsonOpt = False
) -> None:
    """Remove one department's tenant (only its objects)."""
    if not yes and not json_out:
        typer.confirm(f"remove tenant {code} and every object in it?", abort=True)
    svc = _service()
    _finish(
        _with_progress(json_out, f"destroy {code}", lambda **kw: svc.destroy_tenant(code, LOCAL_ADMIN.subject, **kw)),
        json_out,
    )


@app.command("runs")
def runs(limit: Annotated[int, typer.Option(min=1, max=500)] = 20, json_out: JsonOpt = False) -> None:
    """Provisioning runs, newest first."""
    rows = _service().runs(limit)
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


@app.command("quota-requests")
def quota_requests(json_out: JsonOpt = False) -> None:
    """Quota requests, newest first."""
    rows = QuotaDesk(_service()).list(LOCAL_ADMIN)
    emit(
        rows,
        json_out,
        lambda rs: table(
            "quota requests",
            ["id", "department", "status", "requested_by", "reason"],
            [[r["id"], r["department"], r["status"], r["requested_by"], r["reason"]] for r in rs],
        ),
    )


@app.command("approve-quota")
def approve_quota(request_id: int, json_out: JsonOpt = False) -> None:
    """Approve a quota request: preview, then up."""
    desk = QuotaDesk(_service())
    result = _with_progress(json_out, f"quota #{request_id}", lambda **kw: desk.approve(LOCAL_ADMIN, request_id, **kw))
    emit(result, json_out, lambda r: console.print(f"quota request #{r['id']} {r['status']} (run #{r['run_id']})"))
    if result["status"] != "applied":
        raise typer.Exit(1)


@app.command("reject-quota")
def reject_quota(request_id: int, note: Annotated[str, typer.Option(help="Why.")], json_out: JsonOpt = False) -> None:
    """Reject a quota request."""
    result = QuotaDesk(_service()).reject(LOCAL_ADMIN, request_id, note)
    emit(result, json_out, lambda r: console.print(f"quota request #{r['id']} rejected"))
