"""Database and audit commands."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.output import console, emit, table
from gateway.runtime import Runtime
from govops import audit
from govops.db import current_revisions

db_app = typer.Typer(help="Database: migrate and check.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@db_app.command("upgrade")
def db_upgrade(json_out: JsonOpt = False) -> None:
    """Apply every pending migration (kernel and domains)."""
    rt = Runtime.build()
    rt.migrate()
    emit(
        {"revisions": sorted(current_revisions(rt.engine))},
        json_out,
        lambda d: console.print(f"database at {', '.join(d['revisions'])}"),
    )


@db_app.command("check")
def db_check(json_out: JsonOpt = False) -> None:
    """Connect to the database and show its migration state."""
    rt = Runtime.build()
    rt.check()
    revs = sorted(current_revisions(rt.engine))
    emit(
        {"database": rt.engine.url.render_as_string(hide_password=True), "revisions": revs},
        json_out,
        lambda d: console.print(f"{d['database']}: {', '.join(revs) or 'not migrated'}"),
    )


@audit_app.command("verify")
def audit_verify(json_out: JsonOpt = False) -> None:
    """Recompute the hash chain; exit 1 and name the first bad record if it was tampered with."""
    rt = Runtime.build()
    with rt.sessions() as s:
        report = audit.verify(s)
    emit(
        report.as_dict(),
        json_out,
        lambda r: console.print(
            f"[green]audit chain intact[/]: {r['records']} records"
            if r["ok"]
            else f"[red]audit chain broken[/] at record {r['first_bad_id']}: {r['reason']}"
        ),
    )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20, json_out: JsonOpt = False) -> None:
    """The newest audit records."""
    from sqlalchemy import select

    rt = Runtime.build()
    with rt.sessions() as s:
        rows = [
            r.as_dict() for r in s.scalars(select(audit.AuditRecord).order_by(audit.AuditRecord.id.desc()).limit(limit))
        ]
    emit(
        rows,
        json_out,
        lambda rs: table(
            "audit log",
            ["id", "at", "actor", "action", "target", "result"],
            [[r[k] for k in ("id", "at", "actor", "action", "target", "result")] for r in rs],
        ),
    )


def secret_key(json_out: JsonOpt = False) -> None:
    """Print a new Fernet key for GOVOPS_SECRET_KEY."""
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    emit({"secret_key": key}, json_out, lambda d: typer.echo(d["secret_key"]))
