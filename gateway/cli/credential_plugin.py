"""`govops cloud credential` as kubectl runs it: parsed with argparse and started without the rest
of the CLI (gateway/cli/entry.py), since kubectl runs it for every command whose token ran out
and Typer's parameter machinery alone costs ~0.9 s of imports. The full CLI's `cloud credential`
(gateway/cli/cloud_sso.py: help, the role table) calls the same `issue_credential`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from identity.kubeauth.credential import Login


def login_from(
    keycloak_url: str | None,
    realm: str | None,
    client_id: str,
    ca_file: Path | None,
    cert: Path | None,
    key: Path | None,
    device: bool,
) -> Login:
    from govops.errors import ConfigError, ValidationFailed
    from identity.kubeauth.credential import Login

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


def issue_credential(
    keycloak_url: str | None,
    realm: str | None,
    client_id: str,
    ca_file: Path | None,
    cert: Path | None,
    key: Path | None,
    device: bool,
    cache_dir: Path | None,
) -> None:
    from identity.kubeauth.credential import TokenCache, default_cache_dir, get_credential

    login = login_from(keycloak_url, realm, client_id, ca_file, cert, key, device)
    got = get_credential(login, TokenCache(cache_dir or default_cache_dir(), login))
    sys.stdout.write(json.dumps(got.exec_credential()) + "\n")


def run_credential_plugin(args: list[str]) -> None:
    """`govops cloud credential ARGS` on its own (gateway/cli/entry.py): the same options and the
    same one-line errors as the full CLI, parsed with argparse (Typer's parameter machinery
    alone costs ~0.9 s of imports, and kubectl runs the plugin for every command)."""
    import argparse

    from govops.errors import GovopsError

    parser = argparse.ArgumentParser(
        prog="govops cloud credential",
        description="kubectl's exec credential plugin: prints a client.authentication.k8s.io/v1 ExecCredential.",
    )
    parser.add_argument("--keycloak-url")
    parser.add_argument("--realm")
    parser.add_argument("--client-id", default="kubernetes")
    parser.add_argument("--ca-file", type=Path)
    parser.add_argument("--cert", type=Path)
    parser.add_argument("--key", type=Path)
    parser.add_argument("--device", action="store_true")
    parser.add_argument("--cache-dir", type=Path)
    parser.add_argument("--json", action="store_true", help="stdout is always the ExecCredential JSON")
    ns = parser.parse_args(args)  # a usage error exits 2 with argparse's one line
    try:
        issue_credential(ns.keycloak_url, ns.realm, ns.client_id, ns.ca_file, ns.cert, ns.key, ns.device, ns.cache_dir)
    except GovopsError as exc:
        from gateway.cli.output import err_console

        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err_console.print(f"  [dim]→ {exc.hint}[/]", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
