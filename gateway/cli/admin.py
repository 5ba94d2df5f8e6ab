"""Database and audit commands."""

from __future__ import annotations

import getpass
import json
import secrets
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.output import JsonOpt, console, emit, table, written
from gateway.runtime import Runtime
from govops import audit
from govops.db import MAX_ID, current_revisions
from govops.errors import ValidationFailed as UsageError
from govops.inputs import read_text

db_app = typer.Typer(help="Database: migrate and check.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


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
    """Recompute the keyed hash chain and hold its head against the signed checkpoint; exit 1 and
    name the first bad record if records were changed, removed, or an older database restored."""
    rt = Runtime.build()
    with rt.sessions() as s:
        report = audit.verify(s)
    emit(
        report.as_dict(),
        json_out,
        lambda r: console.print(
            f"[green]audit chain intact[/]: {r['records']} records" + "".join(f"; {w}" for w in r["warnings"])
            if r["ok"]
            else f"[red]audit chain broken[/]{f' at record {b}' if (b := r['first_bad_id']) else ''}: {r['reason']}"
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


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="The file to write (JSON).")],
    first: Annotated[int | None, typer.Option("--from", min=1, max=MAX_ID, help="First record id.")] = None,
    last: Annotated[int | None, typer.Option("--to", min=1, max=MAX_ID, help="Last record id.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a signed range of records; another machine checks it with `audit verify-export`."""
    if first is not None and last is not None and first > last:
        raise UsageError("--from is after --to", hint="give the lower record id first")
    rt = Runtime.build()
    # A path that cannot be written is said before anything is done; the file is put in place
    # only after the export's own audit record commits: no export leaves without its record.
    with written(output, encoding="utf-8") as f, rt.transaction() as s:
        doc = audit.export(s, first, last)
        audit.append(
            s,
            actor=_os_user(),
            action="audit.export",
            target=str(output),
            detail={"from_id": doc["from_id"], "to_id": doc["to_id"], "count": doc["count"]},
        )
        f.write(json.dumps(doc, ensure_ascii=False, indent=1))
    summary = {
        "file": str(output),
        "count": doc["count"],
        "from_id": doc["from_id"],
        "to_id": doc["to_id"],
        "public_key": doc["public_key"],
    }
    emit(
        summary,
        json_out,
        lambda d: console.print(
            f"wrote {d['count']} records (#{d['from_id']}..#{d['to_id']}) to {d['file']}; public key {d['public_key']}"
        ),
    )


@audit_app.command("verify-export")
def audit_verify_export(
    file: Annotated[Path, typer.Argument(help="An export written by `govops audit export`.")],
    key: Annotated[
        str | None, typer.Option("--key", help="The trusted public key (hex, or a file holding it).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check an export offline (no database, no secret): its signature and its chain links."""
    try:
        doc = json.loads(file.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror or exc}", hint="check the path") from None
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deeply: not an export
        doc = None
    if key is not None and Path(key).is_file():
        key = read_text(Path(key), "a public key file").strip()
    report = audit.verify_export(doc, key)
    data = report.as_dict()
    emit(
        data,
        json_out,
        lambda r: console.print(
            (f"[green]export intact[/]: {r['records']} records" if r["ok"] else f"[red]export broken[/]: {r['reason']}")
            + ("" if r["trusted_key"] or not r["ok"] else " [yellow](checked with the key it carries: pass --key)[/]")
        ),
    )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("public-key")
def audit_public_key(json_out: JsonOpt = False) -> None:
    """The public key that checks this gateway's audit checkpoint and exports (give it to auditors)."""
    rt = Runtime.build()
    with rt.sessions() as s:
        key = audit.public_key_of(s)
    emit({"public_key": key}, json_out, lambda d: typer.echo(d["public_key"]))


@audit_app.command("new-key")
def audit_new_key(json_out: JsonOpt = False) -> None:
    """Print a new audit key for GOVOPS_AUDIT_KEY (several gateways sharing one database)."""
    emit({"audit_key": secrets.token_bytes(32).hex()}, json_out, lambda d: typer.echo(d["audit_key"]))


def _os_user() -> str:
    return f"os:{getpass.getuser()}"


def secret_key(json_out: JsonOpt = False) -> None:
    """Print a new Fernet key for GOVOPS_SECRET_KEY."""
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    emit({"secret_key": key}, json_out, lambda d: typer.echo(d["secret_key"]))
