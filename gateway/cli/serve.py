"""`govops serve`: the gateway and console, with the sample district in the embedded default."""

from __future__ import annotations

import errno
import socket
from contextlib import nullcontext
from typing import Annotated, Any

import typer

from gateway.cli.output import console, emit
from gateway.runtime import Runtime
from govops.errors import ConfigError
from govops.logs import setup_logging
from govops.settings import load_settings


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is already in use",
                    hint=f"stop what is using it or pass --port (e.g. --port {port + 1})",
                ) from None
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror}", hint="pass another --host/--port"
            ) from None


ACCOUNT_TITLES = {
    "system-admin": "系统管理员 system admin (ops-engineer)",
    "security-admin": "安全管理员 security admin (sec-admin)",
    "auditor": "审计管理员 auditor (auditor)",
}


def _show(facts: dict[str, Any]) -> None:
    lines = [
        f"[bold]govops[/] gateway on [cyan]{facts['url']}[/] (database {facts['database']}; "
        f"times shown in {facts['timezone']}, GOVOPS_TIMEZONE)",
        "One-time login URLs, one per account (each valid once, for this run only):",
    ]
    for account, url in facts["login_urls"].items():
        lines.append(f"  {ACCOUNT_TITLES[account]}:\n    [bold green]{url}[/]")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind; 127.0.0.1 unless you say otherwise.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default 8080 or GOVOPS_PORT).")] = None,
    sample: Annotated[bool, typer.Option(help="Load the sample district (金山区) into an empty catalogue.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the start-up facts as one JSON line.")] = False,
) -> None:
    """Start the API gateway and web console."""
    import uvicorn

    from gateway.app import create_app
    from gateway.auth import LocalLogin

    settings = load_settings()
    setup_logging(settings.log_level)
    host = host or settings.host
    port = port or settings.port
    check_port_free(host, port)
    runtime = Runtime.build(settings)
    runtime.check_settings()
    with console.status("migrating the database…", spinner="dots") if not json_out else nullcontext():
        runtime.migrate()
    added: dict[str, int] = {}
    if sample:
        with (
            console.status("loading the sample district (generating clips on first run)…")
            if not json_out
            else nullcontext()
        ):
            added = runtime.load_sample_district()
    login = LocalLogin(runtime.signins)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    base = f"http://{shown_host}:{port}"
    # One one-time URL per MLPS administrator (三员分立): system admin, security admin, auditor.
    urls = {account: f"{base}/login?token={token}" for account, token in login.tokens.items()}
    facts = {
        "url": f"{base}/",
        "login_url": urls["system-admin"],
        "login_urls": urls,
        "database": runtime.engine.url.render_as_string(hide_password=True),
        "data_dir": str(settings.data_dir),
        "timezone": settings.timezone,
        "sample_added": added,
    }
    emit(facts, json_out, _show)
    uvicorn.run(create_app(runtime, local_login=login), host=host, port=port, log_level="warning", access_log=False)
