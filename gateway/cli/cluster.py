"""`govops cluster …`: build and harden the data-centre cluster with the Ansible playbooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from gateway.cli.output import console, emit, table
from infra.cluster import PLAYBOOKS

app = typer.Typer(help="Data-centre cluster (数据中心集群): Ansible baseline and hardening.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("harden")
def harden(
    inventory: Annotated[Path, typer.Option(help="Inventory file.")] = PLAYBOOKS / "inventory" / "sample" / "hosts.yml",
    limit: Annotated[str | None, typer.Option(help="Only these hosts or groups.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Dry run: report what would change.")] = False,
    root: Annotated[Path | None, typer.Option(help="Manage files under this directory instead of /.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Apply the MLPS 2.0 baseline (site.yml). A second run reports changed=0."""
    from infra.cluster.runner import run_playbook  # ansible-runner loads only for this command

    extravars = {"govops_root": str(root)} if root else {}
    if json_out or not console.is_terminal:
        result = run_playbook(inventory, extravars=extravars, limit=limit, check=check)
    else:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
        ) as progress:
            task = progress.add_task("starting ansible …")
            result = run_playbook(
                inventory,
                extravars=extravars,
                limit=limit,
                check=check,
                on_task=lambda host, name: progress.update(task, description=f"{host}: {name}"),
            )
    emit(result.as_dict(), json_out, _render)
    if not result.ok:
        raise typer.Exit(1)


def _render(r: dict[str, Any]) -> None:
    table(
        "hosts",
        ["host", "ok", "changed", "failed", "unreachable"],
        [
            [h, s.get("ok", 0), s.get("changed", 0), s.get("failures", 0), s.get("dark", 0)]
            for h, s in r["stats"].items()
        ],
    )
    for f in r["failures"]:
        console.print(f"[red]{f}[/]", highlight=False)
    console.print(f"{r['status']}: {r['changed']} changed")
