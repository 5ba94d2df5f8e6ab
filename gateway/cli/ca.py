"""`govops ca …`: the civil-servant CA (政务公务人员数字证书) — init, issue, revoke, CRL, check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.operator import migrated_runtime, operator, write_private
from gateway.cli.output import JsonOpt, console, emit, output_dir, table, written
from govops.errors import ValidationFailed

ca_app = typer.Typer(
    help="The civil-servant CA (政务公务人员数字证书): init, issue, revoke, CRL.", no_args_is_help=True
)


@ca_app.command("init")
def ca_init(
    organization: Annotated[str, typer.Option(help="O of the CA certificates.")] = "上海市金山区人民政府",
    json_out: JsonOpt = False,
) -> None:
    """Create the root and issuing CA once (keys sealed under the data directory)."""
    rt = migrated_runtime()
    ca = rt.ca
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
    from identity.pki import CivilServant

    rt = migrated_runtime()
    ca = rt.ca
    with rt.transaction() as s:
        bundle = ca.issue(s, CivilServant(id_, name, department, section, email), actor=operator().subject, days=days)
    cid = bundle.record.civil_servant_id
    p12 = out / f"{cid}.p12"
    write_private(p12, bundle.pkcs12)
    files = {"pkcs12": str(p12)}
    if pem:
        write_private(out / f"{cid}.crt.pem", bundle.chain_pem)
        write_private(out / f"{cid}.key.pem", bundle.key_pem)
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
    output_dir(out)  # before the certificate is issued: never one whose key had nowhere to go
    rt = migrated_runtime()
    ca = rt.ca
    with rt.transaction() as s:
        bundle = ca.issue_server(s, hosts, actor=operator().subject)
    write_private(out / "server.crt.pem", bundle.chain_pem)
    write_private(out / "server.key.pem", bundle.key_pem)
    write_private(out / "ca-chain.pem", ca.chain_pem())
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
    from identity.pki.revocation import revoke_certificate

    rt = migrated_runtime()
    result = revoke_certificate(
        rt.transaction,
        rt.ca,
        serial,
        actor=operator().subject,
        reason=reason,
        keycloak=lambda: rt.keycloak if rt.keycloak_admin_configured else None,
    ).as_dict()
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
    rt = migrated_runtime()
    with rt.sessions() as s:
        rows = [c.as_dict() for c in rt.ca.list(s, civil_servant_id=id_, status=status, limit=limit)]
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

    rt = migrated_runtime()
    ca = rt.ca
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
            with written(out, "wb") as f:
                f.write(crl.der)
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
    from identity.pki import check_certificate

    rt = migrated_runtime()
    try:
        pem = cert.read_bytes()
    except OSError as exc:
        raise ValidationFailed(f"cannot read {cert}: {exc.strerror}") from None
    with rt.sessions() as s:
        result = check_certificate(rt.ca, s, pem)
    emit(
        result,
        json_out,
        lambda d: console.print(
            "[green]acceptable[/]" if d["acceptable"] else "[red]refused[/]: " + "; ".join(d["reasons"])
        ),
    )
    if not result["acceptable"]:
        raise typer.Exit(1)
