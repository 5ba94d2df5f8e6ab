"""`govops`: one CLI over every domain. Exit 0 success, 1 operation failed, 2 usage error.

Importing this module (and so `govops --help`) loads no domain's heavy libraries: OpenCV, PyAV,
Pulumi, ansible-runner, python-keycloak and zeep load inside the commands that use them.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from gateway.cli import (
    admin,
    alerts,
    cloud,
    cloud_sso,
    cluster,
    compliance,
    lab,
    report,
    roles,
    serve,
    status,
    tree,
    video,
    workorders,
)
from gateway.cli import apps as apps_cli
from gateway.cli import ca as ca_cli
from gateway.cli import realm as realm_cli
from gateway.cli.output import err_console
from govops.errors import GovopsError
from govops.logs import setup_cli_logging

app = typer.Typer(
    name="govops",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="E-government infrastructure platform: cloud tenants, unified identity, Sharp Eyes video, O&M.",
)
app.command("serve")(serve.serve)
app.command("status")(status.status)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.audit_app, name="audit")
app.command("secret-key")(admin.secret_key)
app.add_typer(video.app, name="video")
app.add_typer(lab.app, name="lab")
cloud.app.command("kubeconfig")(cloud_sso.kubeconfig)
cloud.app.command("credential")(cloud_sso.credential)
app.add_typer(cloud.app, name="cloud")
app.add_typer(cluster.app, name="cluster")
app.add_typer(compliance.app, name="compliance")
app.add_typer(alerts.app, name="alerts")
app.add_typer(workorders.app, name="workorders")
app.add_typer(report.app, name="report")

app.add_typer(ca_cli.ca_app, name="ca")
app.add_typer(realm_cli.identity_app, name="identity")
app.add_typer(apps_cli.apps_app, name="apps")
# 三员分立: every command declares the MLPS administrator role it needs (gateway/cli/roles.py).
roles.guard(app)
tree.summarise(app)


def _print_version(value: bool) -> None:
    if value:  # eager: answered while parsing, before the group asks for a command
        typer.echo(f"govops {version()}")
        raise typer.Exit(0)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("govops")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0.1.0"


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_print_version),
    ] = False,
) -> None:
    """E-government infrastructure platform: cloud tenants, unified identity, Sharp Eyes video, O&M."""


def main() -> None:
    setup_cli_logging()
    try:
        app(standalone_mode=True)
    except GovopsError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err_console.print(f"  [dim]→ {exc.hint}[/]", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: one clear line, the traceback only when asked for
        if os.environ.get("GOVOPS_DEBUG"):
            raise
        err_console.print(f"[bold red]error:[/] unexpected {type(exc).__name__}: {exc}", highlight=False)
        err_console.print(
            "  [dim]→ this is a bug in govops; rerun with GOVOPS_DEBUG=1 for the traceback and report it[/]",
            highlight=False,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
