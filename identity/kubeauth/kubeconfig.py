"""A civil servant's kubeconfig for the e-government cloud: the cluster (server and CA only,
never an administrator's credential) and a user that is kubectl's exec credential plugin,
`govops cloud credential`, with everything it needs to sign in written as its arguments."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from govops.errors import ConfigError, ValidationFailed
from govops.files import write_private
from identity.kubeauth.credential import EXEC_API_VERSION, Login

CONTEXT = "govops"
USER = "govops-sso"
MARKER = "govops.cn/kubeconfig"  # in preferences: a file `govops cloud kubeconfig` may overwrite


def credential_args(login: Login, cache_dir: Path | None = None) -> list[str]:
    args = ["cloud", "credential", "--keycloak-url", login.keycloak_url, "--realm", login.realm]
    args += ["--client-id", login.client_id]
    if login.ca_file is not None:
        args += ["--ca-file", str(Path(login.ca_file).resolve())]
    if login.cert is not None and login.key is not None:
        args += ["--cert", str(Path(login.cert).resolve()), "--key", str(Path(login.key).resolve())]
    else:
        args += ["--device"]
    if cache_dir is not None:
        args += ["--cache-dir", str(Path(cache_dir).resolve())]
    return args


def cluster_from_kubeconfig(path: Path) -> tuple[str, bytes]:
    """The server and CA of a kubeconfig's current context (an admin's file: only these two are
    read, its credentials stay where they are)."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        ctx_name = doc.get("current-context")
        ctx = next(c["context"] for c in doc.get("contexts", []) if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in doc.get("clusters", []) if c["name"] == ctx["cluster"])
    except (
        OSError,
        ValueError,
        yaml.YAMLError,
        RecursionError,
        StopIteration,
        KeyError,
        TypeError,
        AttributeError,
    ) as exc:
        raise ConfigError(
            f"cannot read the cluster of {path}: {type(exc).__name__}",
            hint="give --server and --certificate-authority",
        ) from None
    if "certificate-authority-data" in cluster:
        ca = base64.b64decode(cluster["certificate-authority-data"])
    elif "certificate-authority" in cluster:
        ca = Path(cluster["certificate-authority"]).read_bytes()
    else:
        raise ConfigError(f"the cluster of {path} names no CA", hint="give --certificate-authority")
    return str(cluster["server"]), ca


def kubeconfig_document(
    *, server: str, ca_pem: bytes, command: list[str], args: list[str], namespace: str | None = None
) -> dict[str, Any]:
    if not server.startswith("https://"):
        raise ValidationFailed(f"the apiserver must be HTTPS, not {server}", hint="give --server https://…")
    if b"BEGIN CERTIFICATE" not in ca_pem:
        raise ValidationFailed("the cluster CA is not a PEM certificate", hint="give --certificate-authority FILE")
    context: dict[str, Any] = {"cluster": CONTEXT, "user": USER}
    if namespace:
        context["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {"extensions": [{"name": MARKER, "extension": {"written-by": "govops cloud kubeconfig"}}]},
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {"server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()},
            }
        ],
        "users": [
            {
                "name": USER,
                "user": {
                    "exec": {
                        "apiVersion": EXEC_API_VERSION,
                        "command": command[0],
                        "args": [*command[1:], *args],
                        # The plugin never reads stdin: the device flow's URL goes to stderr.
                        "interactiveMode": "Never",
                        "provideClusterInfo": False,
                        "installHint": "install govops (the platform's CLI) and run `govops cloud kubeconfig` again",
                    }
                },
            }
        ],
        "contexts": [{"name": CONTEXT, "context": context}],
        "current-context": CONTEXT,
    }


def _ours(path: Path) -> bool:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return any(e.get("name") == MARKER for e in (doc.get("preferences") or {}).get("extensions") or [])
    except (OSError, yaml.YAMLError, AttributeError):
        return False


def write_kubeconfig(path: Path, document: dict[str, Any], *, force: bool = False) -> Path:
    """Write it 0600; an existing file that govops did not write is kept unless `force`."""
    path = Path(path).expanduser()
    if path.exists() and not force and not _ours(path):
        raise ValidationFailed(
            f"{path} exists and was not written by govops", hint="choose another --output, or add --force"
        )
    return write_private(path, yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode())
