"""`govops ca …`, `govops identity …`, `govops apps …`: unified identity from the command line.

The CLI runs on the gateway host as its operator: it acts with every platform role (and is
audited as `cli:<os user>`), like the one-time local admin login of the console.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.output import console, emit, table
from gateway.runtime import Runtime
from govops.errors import ValidationFailed
from govops.principal import ROLES, Principal

if TYPE_CHECKING:  # the realm and the adapter load python-keycloak: only in the commands that use them
    from identity import realm
    from identity.ca import CertificateAuthority
    from identity.keycloak_adapter import KeycloakAdapter

ca_app = typer.Typer(
    help="The civil-servant CA (政务公务人员数字证书): init, issue, revoke, CRL.", no_args_is_help=True
)
identity_app = typer.Typer(help="Keycloak realm as code, directory import, X.509 login.", no_args_is_help=True)
apps_app = typer.Typer(help="Department app onboarding to single sign-on (OIDC clients).", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
FileOpt = Annotated[
    Path | None,
    typer.Option("--file", help="Realm YAML overlay (district, sections, platforms, break-glass accounts)."),
]


def operator() -> Principal:
    return Principal(subject=f"cli:{getpass.getuser()}", name="本机运维 (local operator)", roles=frozenset(ROLES))


def _runtime() -> Runtime:
    rt = Runtime.build()
    rt.migrate()
    return rt


def _ca(rt: Runtime) -> CertificateAuthority:
    from identity.ca import CertificateAuthority

    return CertificateAuthority.from_settings(rt.settings, rt.box)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)


# -- ca ----------------------------------------------------------------------------------------


@ca_app.command("init")
def ca_init(
    organization: Annotated[str, typer.Option(help="O of the CA certificates.")] = "上海市金山区人民政府",
    json_out: JsonOpt = False,
) -> None:
    """Create the root and issuing CA once (keys sealed under the data directory)."""
    rt = _runtime()
    ca = _ca(rt)
    with rt.transaction() as s:
        info = ca.init(s, actor=operator().subject, organization=organization)
    emit(
        info,
        json_out,
        lambda d: console.print(
            f"[green]CA created[/] in {d['directory']}\n  root    {d['root_subject']}\n"
            f"          sha256 {d['root_fingerprint']}\n  issuing {d['issuing_subject']}\n"
            f"  CRL     {d['crl_url'] or '(set GOVOPS_PUBLIC_URL to publish a CRL URL)'}"
        ),
    )


@ca_app.command("issue")
def ca_issue(
    id_: Annotated[str, typer.Option("--id", help="Civil servant ID (ID-card or staff number).")],
    name: Annotated[str, typer.Option(help="姓名 (CN).")],
    department: Annotated[str, typer.Option(help="单位 (O), e.g. 金山公安分局.")],
    out: Annotated[Path, typer.Option(help="Directory for <id>.p12 (and PEM files with --pem).")],
    section: Annotated[str | None, typer.Option(help="科室 (OU).")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail for the SAN.")] = None,
    days: Annotated[int | None, typer.Option(min=1, max=3650, help="Validity (default 730).")] = None,
    pem: Annotated[bool, typer.Option("--pem", help="Also write <id>.crt.pem and <id>.key.pem.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Issue a civil servant's certificate as PKCS#12 under a one-time password."""
    from identity.ca import CivilServant

    rt = _runtime()
    ca = _ca(rt)
    with rt.transaction() as s:
        bundle = ca.issue(s, CivilServant(id_, name, department, section, email), actor=operator().subject, days=days)
    cid = bundle.record.civil_servant_id
    p12 = out / f"{cid}.p12"
    _write_private(p12, bundle.pkcs12)
    files = {"pkcs12": str(p12)}
    if pem:
        _write_private(out / f"{cid}.crt.pem", bundle.chain_pem)
        _write_private(out / f"{cid}.key.pem", bundle.key_pem)
        files.update(cert=str(out / f"{cid}.crt.pem"), key=str(out / f"{cid}.key.pem"))
    result = {"certificate": bundle.record.as_dict(), "files": files, "password": bundle.password}
    emit(
        result,
        json_out,
        lambda d: console.print(
            f"[green]issued[/] {d['certificate']['serial']} to {d['certificate']['subject']}\n"
            f"  PKCS#12 {d['files']['pkcs12']}\n  one-time password [bold]{d['password']}[/] "
            "(shown once, not stored)"
        ),
    )


@ca_app.command("server-cert")
def ca_server_cert(
    hosts: Annotated[list[str], typer.Argument(help="DNS names or IP addresses.")],
    out: Annotated[Path, typer.Option(help="Directory for server.crt.pem and server.key.pem.")],
    json_out: JsonOpt = False,
) -> None:
    """A TLS server certificate from the issuing CA (e.g. for Keycloak's mTLS port)."""
    rt = _runtime()
    ca = _ca(rt)
    with rt.transaction() as s:
        bundle = ca.issue_server(s, hosts, actor=operator().subject)
    _write_private(out / "server.crt.pem", bundle.chain_pem)
    _write_private(out / "server.key.pem", bundle.key_pem)
    _write_private(out / "ca-chain.pem", ca.chain_pem())
    emit(
        {
            "certificate": bundle.record.as_dict(),
            "cert": str(out / "server.crt.pem"),
            "key": str(out / "server.key.pem"),
            "truststore": str(out / "ca-chain.pem"),
        },
        json_out,
        lambda d: console.print(f"[green]issued[/] server certificate {d['certificate']['serial']} → {d['cert']}"),
    )


@ca_app.command("revoke")
def ca_revoke(
    serial: Annotated[str, typer.Argument(help="Certificate serial (hex).")],
    reason: Annotated[
        str,
        typer.Option(
            help="key_compromise, affiliation_changed, superseded, cessation_of_operation, privilege_withdrawn, …"
        ),
    ] = "unspecified",
    json_out: JsonOpt = False,
) -> None:
    """Revoke a certificate, publish a new CRL and make Keycloak refetch it."""
    from gateway.routes.identity import refresh_keycloak_crl

    rt = _runtime()
    ca = _ca(rt)
    with rt.transaction() as s:
        record = ca.revoke(s, serial, actor=operator().subject, reason=reason)
        crl = ca.current_crl(s)
        result = {"certificate": record.as_dict(), "crl_number": crl.number}
    result["keycloak_crl_cache"] = refresh_keycloak_crl(rt)
    emit(
        result,
        json_out,
        lambda d: console.print(
            f"[yellow]revoked[/] {d['certificate']['serial']} ({d['certificate']['revocation_reason']}); "
            f"CRL #{d['crl_number']}; Keycloak CRL cache: {d['keycloak_crl_cache']}"
        ),
    )


@ca_app.command("list")
def ca_list(
    id_: Annotated[str | None, typer.Option("--id", help="Only this civil servant.")] = None,
    status: Annotated[str | None, typer.Option(help="valid, revoked, expired, not_yet_valid.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000)] = 200,
    json_out: JsonOpt = False,
) -> None:
    """Issued certificates, newest first."""
    rt = _runtime()
    with rt.sessions() as s:
        rows = [c.as_dict() for c in _ca(rt).list(s, civil_servant_id=id_, status=status, limit=limit)]
    emit(
        rows,
        json_out,
        lambda rs: table(
            "certificates",
            ["serial", "civil servant", "name", "not after", "status"],
            [[r["serial"], r["civil_servant_id"], r["common_name"], r["not_after"][:10], r["status"]] for r in rs],
        ),
    )


@ca_app.command("crl")
def ca_crl(
    out: Annotated[Path | None, typer.Option(help="Write the DER CRL here.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Sign a new CRL now.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """The current CRL (re-signed when half its validity is gone or after a revocation)."""
    from identity.models import as_utc

    rt = _runtime()
    ca = _ca(rt)
    with rt.transaction() as s:
        crl = ca.publish_crl(s) if force else ca.current_crl(s)
        info = {
            "number": crl.number,
            "this_update": as_utc(crl.this_update).isoformat(),  # type: ignore[union-attr]
            "next_update": as_utc(crl.next_update).isoformat(),  # type: ignore[union-attr]
            "revoked": crl.revoked_count,
            "url": ca.crl_url,
        }
        if out:
            out.write_bytes(crl.der)
            info["file"] = str(out)
    emit(
        info,
        json_out,
        lambda d: console.print(
            f"CRL #{d['number']}: {d['revoked']} revoked, next update {d['next_update']}"
            + (f" → {d['file']}" if out else "")
        ),
    )


@ca_app.command("check")
def ca_check(
    cert: Annotated[Path, typer.Argument(help="PEM certificate (chain) to check.")],
    json_out: JsonOpt = False,
) -> None:
    """Would Keycloak accept this certificate? Names every reason it would not."""
    from identity.ca import check_certificate

    rt = _runtime()
    try:
        pem = cert.read_bytes()
    except OSError as exc:
        raise ValidationFailed(f"cannot read {cert}: {exc.strerror}") from None
    with rt.sessions() as s:
        result = check_certificate(_ca(rt), s, pem)
    emit(
        result,
        json_out,
        lambda d: console.print(
            "[green]acceptable[/]" if d["acceptable"] else "[red]refused[/]: " + "; ".join(d["reasons"])
        ),
    )
    if not result["acceptable"]:
        raise typer.Exit(1)


# -- identity ----------------------------------------------------------------------------------


def _spec(rt: Runtime, file: Path | None) -> realm.RealmSpec:
    from identity import realm

    overlay = realm.load_overlay(file) if file else None
    with rt.sessions() as s:
        return realm.spec_from_settings(rt.settings, s, overlay)


def _kc(rt: Runtime) -> KeycloakAdapter:
    from identity.keycloak_adapter import KeycloakAdapter

    return KeycloakAdapter.from_settings(rt.settings)


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
    from govops import audit
    from identity import realm

    rt = _runtime()
    spec = _spec(rt, file)
    result = realm.apply(_kc(rt), spec, dry_run=dry_run)
    if not dry_run and result.get("changed"):
        with rt.transaction() as s:
            audit.append(
                s,
                actor=operator().subject,
                action="identity.realm_apply",
                target=spec.realm,
                detail={"changed": result["changed"], "lines": result["lines"][:50]},
            )
    emit(result, json_out, _render_apply)
    if result.get("remaining"):
        raise typer.Exit(1)


@identity_app.command("diff")
def identity_diff(file: FileOpt = None, json_out: JsonOpt = False) -> None:
    """What `apply` would change (same as `apply --dry-run`)."""
    from identity import realm

    rt = _runtime()
    emit(realm.apply(_kc(rt), _spec(rt, file), dry_run=True), json_out, _render_apply)


@identity_app.command("status")
def identity_status(file: FileOpt = None, json_out: JsonOpt = False) -> None:
    """Is Keycloak up, does the realm exist, does it match its definition?"""
    from identity import realm

    rt = _runtime()
    result = realm.status(_kc(rt), _spec(rt, file))
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
    from identity import directory

    rt = _runtime()
    parsed = directory.parse(file)
    kc = _kc(rt)
    ca = _ca(rt) if issue_certs else None
    progress_cb = None
    progress = None
    if not json_out and sys.stdout.isatty():
        from rich.progress import Progress

        progress = Progress(console=console)
        task = progress.add_task("importing", total=len(parsed.people))
        progress.start()

        def progress_cb(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

    try:
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
    finally:
        if progress is not None:
            progress.stop()
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


@identity_app.command("login")
def identity_login(
    cert: Annotated[Path, typer.Option(help="PEM certificate chain (leaf first).")],
    key: Annotated[Path, typer.Option(help="PEM private key.")],
    show_token: Annotated[bool, typer.Option("--show-token", help="Print the access token.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Sign in with a certificate (X.509 direct grant on Keycloak's mTLS port)."""
    import jwt

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


# -- apps --------------------------------------------------------------------------------------


def _app_rows(rows: list[dict[str, Any]]) -> None:
    table(
        "apps",
        ["id", "client", "name", "department", "status", "secret"],
        [[r["id"], r["client_id"], r["name"], r["department"], r["status"], r["secret"] or ""] for r in rows],
    )


@apps_app.command("request")
def apps_request(
    name: Annotated[str, typer.Option(help="The app's name.")],
    department: Annotated[str, typer.Option(help="Department code (e.g. gaj).")],
    home_url: Annotated[str, typer.Option(help="The app's home page (https).")],
    redirect_uri: Annotated[list[str], typer.Option(help="Redirect URI (repeat).")],
    role: Annotated[list[str] | None, typer.Option(help="App role NAME[:description] (repeat).")] = None,
    department_role: Annotated[
        list[str] | None, typer.Option(help="Role the whole department gets (default: the first role).")
    ] = None,
    client_id: Annotated[str | None, typer.Option(help="Client ID (default <dept>-<name>).")] = None,
    description: Annotated[str, typer.Option()] = "",
    json_out: JsonOpt = False,
) -> None:
    """Request an OIDC client for a department's app."""
    from identity import apps

    roles = []
    for r in role or []:
        rname, _, rdesc = r.partition(":")
        roles.append({"name": rname, "description": rdesc})
    rt = _runtime()
    with rt.transaction() as s:
        app = apps.request_app(
            s,
            operator(),
            apps.AppRequest(
                name=name,
                department=department,
                home_url=home_url,
                redirect_uris=redirect_uri,
                roles=roles,
                department_roles=department_role,
                client_id=client_id,
                description=description,
            ),
        )
        data = app.as_dict()
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"requested app {d['id']} ({d['client_id']}); an ops engineer approves it with "
            f"`govops apps approve {d['id']}`"
        ),
    )


@apps_app.command("approve")
def apps_approve(
    app_id: Annotated[int, typer.Argument(help="App request ID.")],
    note: Annotated[str, typer.Option(help="Note for the record.")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Approve: create the client in Keycloak (roles, department mapping); secret awaits pickup."""
    from identity import apps

    rt = _runtime()
    with rt.transaction() as s:
        data = apps.approve_app(s, operator(), app_id, _kc(rt), rt.box, note).as_dict()
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"[green]approved[/] {d['client_id']}; the department collects the secret once with "
            f"`govops apps secret {d['id']}` or the API"
        ),
    )


@apps_app.command("reject")
def apps_reject(
    app_id: Annotated[int, typer.Argument(help="App request ID.")],
    reason: Annotated[str, typer.Option(help="Why (recorded and shown to the requester).")],
    json_out: JsonOpt = False,
) -> None:
    """Reject a request, with the reason."""
    from identity import apps

    rt = _runtime()
    with rt.transaction() as s:
        data = apps.reject_app(s, operator(), app_id, reason).as_dict()
    emit(data, json_out, lambda d: console.print(f"[yellow]rejected[/] {d['client_id']}: {reason}"))


@apps_app.command("list")
def apps_list(
    status: Annotated[str | None, typer.Option(help="requested, approved or rejected.")] = None,
    department: Annotated[str | None, typer.Option(help="Department code.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """App requests and onboarded apps."""
    from identity import apps

    rt = _runtime()
    with rt.sessions() as s:
        rows = [a.as_dict() for a in apps.list_apps(s, operator(), status=status, department=department)]
    emit(rows, json_out, _app_rows)


@apps_app.command("rotate-secret")
def apps_rotate(
    app_id: Annotated[int, typer.Argument(help="App ID.")],
    json_out: JsonOpt = False,
) -> None:
    """Make a new client secret in Keycloak; it awaits pickup like the first one."""
    from identity import apps

    rt = _runtime()
    with rt.transaction() as s:
        data = apps.rotate_secret(s, operator(), app_id, _kc(rt), rt.box).as_dict()
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"rotated the secret of {d['client_id']} (version {d['secret_version']}); collect it "
            f"with `govops apps secret {d['id']}`"
        ),
    )


@apps_app.command("secret")
def apps_secret(
    app_id: Annotated[int, typer.Argument(help="App ID.")],
    json_out: JsonOpt = False,
) -> None:
    """Collect the client secret — it is shown exactly once."""
    from identity import apps

    rt = _runtime()
    with rt.transaction() as s:
        data = apps.collect_secret(s, operator(), app_id, rt.box, local_operator=True)
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"client_id     {d['client_id']}\nclient_secret [bold]{d['client_secret']}[/]\n{d['note']}"
        ),
    )
