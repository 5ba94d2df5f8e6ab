"""`govops lab up|down|status`: the real components as a local lab for people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.output import console, emit, table
from govops.settings import load_settings

if TYPE_CHECKING:  # the lab launchers (httpx, subprocess plumbing) load only when a lab command runs
    pass

app = typer.Typer(help="A local lab of the real components (Keycloak, apiserver, Prometheus …).", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _render(rows: list[dict]) -> None:
    table(
        "lab",
        ["component", "state", "pid", "endpoint"],
        [[r["component"], r["state"], r.get("pid"), r.get("endpoint")] for r in rows],
    )


@app.command("up")
def up(
    components: Annotated[
        list[str] | None,
        typer.Argument(help="Which (postgres, prometheus, kube, keycloak, rtsp, onvif); default all."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Start the lab's components on free 127.0.0.1 ports and record their endpoints."""
    from tools.lab import registry

    settings = load_settings()
    lab = registry.Lab(settings.ensure_data_dir() / "lab", gateway=f"{settings.host}:{settings.port}")
    try:
        rows = lab.up(components or list(registry.NAMES), progress=None if json_out else console)
    except registry.UnknownComponent as exc:
        raise typer.BadParameter(str(exc)) from None
    emit(rows, json_out, _render)
    if any(r["state"] == "failed" for r in rows):
        raise typer.Exit(1)


@app.command("down")
def down(json_out: JsonOpt = False) -> None:
    """Stop every component the lab started (by the PIDs it recorded)."""
    from tools.lab import registry

    lab = registry.Lab(load_settings().data_dir / "lab")
    emit(lab.down(), json_out, _render)


@app.command("status")
def status(json_out: JsonOpt = False) -> None:
    """What is running, where, and whether it answers."""
    from tools.lab import registry

    lab = registry.Lab(load_settings().data_dir / "lab")
    emit(lab.status(), json_out, _render)
