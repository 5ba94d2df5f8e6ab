"""`govops cloud kubeconfig` and `govops cloud credential`: a civil servant reaches their
department's namespace with plain kubectl through the platform's login (SSO).

Both act for the person running them, not for one of the three administrators (roles.py: ANY):
the apiserver decides what the token may do. `credential` is kubectl's exec plugin: its stdout
is the ExecCredential JSON and nothing else, errors go to stderr as one line (exit 1)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.output import JsonOpt

KeycloakUrlOpt = Annotated[
    str | None, typer.Option("--keycloak-url", help="Keycloak's HTTPS URL (default GOVOPS_KEYCLOAK_URL).")
]
RealmOpt = Annotated[str | None, typer.Option("--realm", help="The realm (default GOVOPS_KEYCLOAK_REALM).")]
ClientOpt = Annotated[str, typer.Option("--client-id", help="The realm's client the apiserver trusts.")]
CaOpt = Annotated[
    Path | None, typer.Option("--ca-file", help="CA of Keycloak's certificate (default GOVOPS_KEYCLOAK_CA_FILE).")
]
CertOpt = Annotated[Path | None, typer.Option("--cert", help="Your certificate (PEM chain): X.509 login.")]
KeyOpt = Annotated[Path | None, typer.Option("--key", help="Its private key (PEM).")]
DeviceOpt = Annotated[bool, typer.Option("--device", help="Sign in through the browser (device flow).")]
CacheOpt = Annotated[
    Path | None, typer.Option("--cache-dir", help="Token cache (default ~/.config/govops/kube-credentials).")
]


def _govops_command() -> list[str]:
    """How kubectl runs this CLI: the installed `govops` script, else this interpreter."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "govops" and argv0.is_file():
        return [str(argv0.resolve())]
    found = shutil.which("govops")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "gateway.cli.entry"]


def kubeconfig(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write it (0600).")] = Path(
        "~/.kube/govops.yaml"
    ),
    server: Annotated[str | None, typer.Option("--server", help="The apiserver's https:// URL.")] = None,
    certificate_authority: Annotated[
        Path | None, typer.Option("--certificate-authority", help="The apiserver's CA (PEM).")
    ] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", "-n", help="Default namespace.")] = None,
    keycloak_url: KeycloakUrlOpt = None,
    realm: RealmOpt = None,
    client_id: ClientOpt = "kubernetes",
    ca_file: CaOpt = None,
    cert: CertOpt = None,
    key: KeyOpt = None,
    device: DeviceOpt = False,
    cache_dir: CacheOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite a file govops did not write.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write a kubeconfig whose user signs in through the platform (exec plugin `govops cloud credential`)."""
    from gateway.cli.credential_plugin import login_from
    from govops.errors import ConfigError
    from govops.settings import Settings, load_or_explain
    from identity.kubeauth import cluster_from_kubeconfig, credential_args, kubeconfig_document, write_kubeconfig

    login = login_from(keycloak_url, realm, client_id, ca_file, cert, key, device)
    if server is None or certificate_authority is None:
        admin = load_or_explain(Settings).kubeconfig
        if admin is None:
            raise ConfigError(
                "which cluster?", hint="give --server and --certificate-authority, or set GOVOPS_KUBECONFIG"
            )
        found_server, found_ca = cluster_from_kubeconfig(admin)
        server = server or found_server
        ca_pem = Path(certificate_authority).read_bytes() if certificate_authority else found_ca
    else:
        try:
            ca_pem = Path(certificate_authority).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {certificate_authority}: {exc.strerror}") from None
    doc = kubeconfig_document(
        server=server,
        ca_pem=ca_pem,
        command=_govops_command(),
        args=credential_args(login, cache_dir),
        namespace=namespace,
    )
    path = write_kubeconfig(output, doc, force=force)
    from gateway.cli.output import console, emit

    result = {
        "kubeconfig": str(path),
        "server": server,
        "context": doc["current-context"],
        "namespace": namespace,
        "login": login.method,
        "issuer": login.endpoints.issuer,
        "client_id": login.client_id,
    }
    emit(
        result,
        json_out,
        lambda d: console.print(
            f"[green]wrote[/] {d['kubeconfig']} (0600): {d['server']} as you, signing in by {d['login']}\n"
            f"  export KUBECONFIG={d['kubeconfig']}; kubectl get pods -n <your department's namespace>",
            highlight=False,
        ),
    )


def credential(
    keycloak_url: KeycloakUrlOpt = None,
    realm: RealmOpt = None,
    client_id: ClientOpt = "kubernetes",
    ca_file: CaOpt = None,
    cert: CertOpt = None,
    key: KeyOpt = None,
    device: DeviceOpt = False,
    cache_dir: CacheOpt = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Accepted for symmetry: stdout is always the ExecCredential JSON.")
    ] = False,
) -> None:
    """kubectl's exec credential plugin: prints a client.authentication.k8s.io/v1 ExecCredential."""
    from gateway.cli.credential_plugin import issue_credential

    issue_credential(keycloak_url, realm, client_id, ca_file, cert, key, device, cache_dir)
