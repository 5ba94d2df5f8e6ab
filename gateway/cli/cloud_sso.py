"""`govops cloud kubeconfig` and `govops cloud credential`: a civil servant reaches their
department's namespace with plain kubectl through the platform's login (SSO).

Both act for the person running them, not for one of the three administrators (roles.py: ANY):
the apiserver decides what the token may do. `credential` is kubectl's exec plugin: its stdout
is the ExecCredential JSON and nothing else, errors go to stderr as one line (exit 1)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.output import console, emit

if TYPE_CHECKING:
    from identity.kubeauth import Login

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
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


def _login(
    keycloak_url: str | None,
    realm: str | None,
    client_id: str,
    ca_file: Path | None,
    cert: Path | None,
    key: Path | None,
    device: bool,
) -> Login:
    from govops.errors import ConfigError, ValidationFailed
    from identity.kubeauth import Login

    if device and cert is not None:
        raise ValidationFailed("choose --cert/--key or --device, not both")
    if keycloak_url is None or realm is None or ca_file is None:
        from govops.settings import Settings, load_or_explain

        settings = load_or_explain(Settings)
        keycloak_url = keycloak_url or settings.keycloak_url
        realm = realm or settings.keycloak_realm
        ca_file = ca_file or settings.keycloak_ca_file
    if not keycloak_url:
        raise ConfigError("Keycloak is not configured", hint="give --keycloak-url or set GOVOPS_KEYCLOAK_URL")
    if not keycloak_url.startswith("https://"):
        raise ValidationFailed(
            f"the cloud trusts tokens from Keycloak's HTTPS URL only, not {keycloak_url}",
            hint="give Keycloak's https:// URL",
        )
    return Login(keycloak_url, str(realm), client_id, ca_file, cert, key)


def _govops_command() -> list[str]:
    """How kubectl runs this CLI: the installed `govops` script, else this interpreter."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "govops" and argv0.is_file():
        return [str(argv0.resolve())]
    found = shutil.which("govops")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "gateway.cli.main"]


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
    from govops.errors import ConfigError
    from govops.settings import Settings, load_or_explain
    from identity.kubeauth import cluster_from_kubeconfig, credential_args, kubeconfig_document, write_kubeconfig

    login = _login(keycloak_url, realm, client_id, ca_file, cert, key, device)
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
    from identity.kubeauth import TokenCache, default_cache_dir, get_credential

    login = _login(keycloak_url, realm, client_id, ca_file, cert, key, device)
    got = get_credential(login, TokenCache(cache_dir or default_cache_dir(), login))
    doc: dict[str, Any] = got.exec_credential()
    sys.stdout.write(json.dumps(doc) + "\n")


def run_credential_plugin(args: list[str]) -> None:
    """`govops cloud credential ARGS` on its own (gateway/cli/entry.py): the same command and the
    same one-line errors as the full CLI, without loading it."""
    from gateway.cli.output import err_console
    from govops.errors import GovopsError

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(credential)
    try:
        app(args=args, prog_name="govops cloud credential", standalone_mode=True)
    except GovopsError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err_console.print(f"  [dim]→ {exc.hint}[/]", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
