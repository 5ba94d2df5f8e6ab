"""`govops identity …`: the Keycloak realm as code, the directory import and X.509 login."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.operator import migrated_runtime, operator
from gateway.cli.output import JsonOpt, console, emit, progress_bar

if TYPE_CHECKING:
    from gateway.runtime import Runtime
    from identity.realm import RealmSpec

identity_app = typer.Typer(help="Keycloak realm as code, directory import, X.509 login.", no_args_is_help=True)
FileOpt = Annotated[
    Path | None,
    typer.Option("--file", help="Realm YAML overlay (district, sections, platforms, break-glass accounts)."),
]


def _spec(rt: Runtime, file: Path | None) -> RealmSpec:
    from identity import realm

    overlay = realm.load_overlay(file) if file else None
    with rt.sessions() as s:
        return realm.spec_from_settings(rt.settings, s, overlay)


def _render_apply(d: dict[str, Any]) -> None:
    for line in d["lines"]:
        colour = {"+": "green", "~": "yellow", "!": "red"}.get(line[0], "white")
        console.print(f"[{colour}]{line}[/]", highlight=False)
    for note in d.get("notes", []):
        console.print(f"[bold]{note}[/]")
    console.print(d["summary"])


@identity_app.command("apply")
def identity_apply(
    file: FileOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diff, change nothing.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Bring the civil-servants realm to its definition (idempotent; says when nothing changed)."""
    from identity import realm

    rt = migrated_runtime()
    spec = _spec(rt, file)
    with rt.transaction() as s:
        applied = realm.apply_and_audit(s, rt.keycloak, spec, actor=operator().subject, dry_run=dry_run)
    result = applied.as_dict()
    emit(result, json_out, _render_apply)
    if not applied.converged:
        raise typer.Exit(1)


@identity_app.command("diff")
def identity_diff(file: FileOpt = None, json_out: JsonOpt = False) -> None:
    """What `apply` would change (same as `apply --dry-run`)."""
    from identity import realm

    rt = migrated_runtime()
    emit(realm.apply(rt.keycloak, _spec(rt, file), dry_run=True), json_out, _render_apply)


@identity_app.command("status")
def identity_status(file: FileOpt = None, json_out: JsonOpt = False) -> None:
    """Is Keycloak up, does the realm exist, does it match its definition?"""
    from identity import realm

    rt = migrated_runtime()
    result = realm.status(rt.keycloak, _spec(rt, file))
    emit(
        result,
        json_out,
        lambda d: console.print(
            f"realm {d['realm']} on Keycloak {d['keycloak_version']}: {d['summary']}"
            + ("".join(f"\n  {line}" for line in d.get("drift", [])))
        ),
    )


@identity_app.command("import")
def identity_import(
    file: Annotated[Path, typer.Argument(help="Directory CSV or JSON.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, change nothing.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Disable directory users absent from the file.")] = False,
    district: Annotated[str | None, typer.Option(help="District code for new departments.")] = None,
    issue_certs: Annotated[
        Path | None, typer.Option("--issue-certs", help="Issue certificates for new users into this directory.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Import departments and civil servants; a second import of the same file changes nothing."""
    from govops.errors import ServiceUnavailable
    from identity import directory

    rt = migrated_runtime()
    parsed = directory.parse(file)
    kc = rt.keycloak
    ca = rt.ca if issue_certs else None
    with progress_bar("导入 directory import", enabled=not json_out) as bar:
        task = bar.add_task("import", total=len(parsed.people))

        def progress_cb(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with rt.transaction() as s:
            report = directory.import_directory(
                s,
                kc,
                parsed,
                actor=operator().subject,
                dry_run=dry_run,
                prune=prune,
                district=district,
                ca=ca,
                cert_dir=issue_certs,
                progress=progress_cb,
            )
    data = report.as_dict()
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"{'[dry run] ' if d['dry_run'] else ''}{d['summary']}: {d['created']} created, "
            f"{d['updated']} updated, {d['disabled']} disabled, {d['unchanged']} unchanged; "
            f"{d['departments_created']} departments and {d['groups_created']} groups created "
            f"in {d['elapsed_s']} s"
            + "".join(f"\n  certificate {c['id']}: {c['file']} password {c['password']}" for c in d["certificates"])
        ),
    )
    if report.stopped:
        raise ServiceUnavailable(report.stopped, hint="check that Keycloak answers (govops identity status)")


@identity_app.command("login")
def identity_login(
    cert: Annotated[Path, typer.Option(help="PEM certificate chain (leaf first).")],
    key: Annotated[Path, typer.Option(help="PEM private key.")],
    show_token: Annotated[bool, typer.Option("--show-token", help="Print the access token.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Sign in with a certificate (X.509 direct grant on Keycloak's mTLS port)."""
    import jwt

    from gateway.runtime import Runtime
    from govops.errors import ConfigError
    from identity.keycloak_adapter import OidcEndpoints
    from identity.login import certificate_login

    rt = Runtime.build()
    if not rt.settings.keycloak_url:
        raise ConfigError("Keycloak is not configured", hint="set GOVOPS_KEYCLOAK_URL")
    endpoints = OidcEndpoints(rt.settings.keycloak_url, rt.settings.keycloak_realm)
    tokens = certificate_login(endpoints, cert, key, ca_file=rt.settings.keycloak_ca_file)
    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    result: dict[str, Any] = {
        "subject": claims.get("sub"),
        "username": claims.get("preferred_username"),
        "civil_servant_id": claims.get("civil_servant_id"),
        "roles": sorted((claims.get("realm_access") or {}).get("roles", [])),
        "groups": claims.get("groups", []),
        "expires_in": tokens.raw.get("expires_in"),
    }
    if show_token:
        result["access_token"] = tokens.access_token
    emit(
        result,
        json_out,
        lambda d: console.print(
            f"[green]signed in[/] as {d['username']} ({d['civil_servant_id']}); roles "
            f"{', '.join(d['roles'])}; groups {', '.join(d['groups'])}"
        ),
    )
