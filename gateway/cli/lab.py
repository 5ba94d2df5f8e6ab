"""`govops lab up|down|status`: the real components as a local lab for people."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.output import JsonOpt, console, emit, table
from govops.files import write_private
from govops.settings import load_settings

if TYPE_CHECKING:  # the lab launchers (httpx, subprocess plumbing) load only when a lab command runs
    from tools.lab.registry import Lab

app = typer.Typer(help="A local lab of the real components (Keycloak, apiserver, Prometheus …).", no_args_is_help=True)


def _render(rows: list[dict]) -> None:
    table(
        "lab",
        ["component", "state", "health", "pid", "endpoint"],
        [[r["component"], r["state"], r.get("health", ""), r.get("pid"), r.get("endpoint")] for r in rows],
    )


def _render_up(rows: list[dict]) -> None:
    from tools.lab.registry import all_healthy

    _render(rows)
    by = {r["component"]: r for r in rows}
    for name in ("gateway", "keycloak", "prometheus", "alertmanager", "kube", "rtsp", "onvif"):
        if by.get(name, {}).get("state") == "running":
            console.print(f"{name:13} {by[name]['endpoint']}{_extra(name, by[name])}", highlight=False, soft_wrap=True)
    failed = [r for r in rows if r["state"] == "failed"]
    for r in failed:
        console.print(f"[red]{r['component']} failed[/]: {r.get('error')}", highlight=False)
    people = (by.get("realm", {}).get("details") or {}).get("signin", [])
    if people:
        console.print("\n登录 sign in (PKCS#12 from the project's CA; import it into the browser with its password):")
        for p in people:
            console.print(
                f"  {p['role']:15} {p['department']:4} {p['name']}: {p['pkcs12']}"
                f" (password: {p['pkcs12_password_file']})",
                highlight=False,
                soft_wrap=True,
            )
    env = by.get("gateway", {}).get("details", {}).get("env_file")
    if env:
        console.print(f"\nCLI against the lab: set -a; . {env}; set +a", highlight=False)
    console.print("all healthy" if all_healthy(rows) else "[yellow]not all healthy[/]: see `govops lab status`")


def _extra(name: str, row: dict[str, Any]) -> str:
    d = row.get("details") or {}
    if name == "gateway":
        return f"  (console; API docs {d.get('api_docs')})"
    if name == "keycloak":
        return (
            f"/admin (admin {d.get('admin_user')}, password in {d.get('admin_password_file')});"
            f" certificate sign-in at {d.get('https_url')}/realms/civil-servants/account"
        )
    if name == "kube":
        sso = "; SSO: govops cloud kubeconfig --cert … --key …" if d.get("sso") else ""
        return f"  (admin kubeconfig {d.get('kubeconfig')}{sso})"
    if name == "onvif":
        return f"  (user {d.get('user')}, password in {d.get('password_file')})"
    return ""


def _metrics_token(root: Path, configured: str | None) -> str:
    """The token Prometheus presents and the lab gateway expects: the configured one, else one the
    lab keeps in a 0600 file."""
    if configured:
        return configured
    f = root / "metrics.token"
    if not f.exists():
        write_private(f, secrets.token_urlsafe(24).encode())
    return f.read_text()


def _lab(with_steps: bool) -> Lab:
    from gateway.cli import lab_steps
    from monitoring.settings import load_alert_settings, webhook_token
    from tools.lab import registry

    settings = load_settings()
    root = settings.ensure_data_dir() / "lab"
    if not with_steps:
        return registry.Lab(root)
    return registry.Lab(
        root,
        gateway=f"{settings.host}:{settings.port}",
        metrics_token=_metrics_token(
            root, settings.metrics_token.get_secret_value() if settings.metrics_token else None
        ),
        webhook_token=webhook_token(load_alert_settings(), settings.data_dir),
        steps=lab_steps.STEPS,
        gateway_env=lab_steps.gateway_env,
        kube_auth=lab_steps.kube_authentication,
    )


@app.command("up")
def up(
    components: Annotated[
        list[str] | None,
        typer.Argument(
            help="Which (postgres, pki, keycloak, realm, gateway, alertmanager, prometheus, kube, rtsp, onvif, "
            "cameras); default all. What they need starts too."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Start the lab's components on free 127.0.0.1 ports and record their endpoints."""
    from tools.lab import registry

    lab = _lab(with_steps=True)
    try:
        rows = lab.up(components or list(registry.NAMES), progress=None if json_out else console)
    except registry.UnknownComponent as exc:
        raise typer.BadParameter(str(exc)) from None
    emit(rows, json_out, _render_up)
    if any(r["state"] == "failed" for r in rows):
        raise typer.Exit(1)


@app.command("down")
def down(json_out: JsonOpt = False) -> None:
    """Stop every component the lab started (by the PIDs it recorded)."""
    emit(_lab(with_steps=False).down(), json_out, _render)


@app.command("status")
def status(json_out: JsonOpt = False) -> None:
    """What is running, where, and whether it answers."""
    from tools.lab.registry import all_healthy

    rows = _lab(with_steps=False).status()
    emit(rows, json_out, _render)
    if not json_out:
        console.print("all healthy" if all_healthy(rows) else "[yellow]not all healthy[/]")
