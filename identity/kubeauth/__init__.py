"""Single sign-on into the e-government cloud's Kubernetes.

- `authn`: the apiserver's structured authentication configuration that trusts the platform's
  Keycloak (issuer, CA, the `kubernetes` audience, `oidc:` username and role-gated groups);
- `credential`: kubectl's exec credential plugin (token from the certificate or the device
  flow, refreshed, cached encrypted and 0600);
- `kubeconfig`: the civil servant's kubeconfig whose user is that plugin.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from identity.kubeauth.authn import (
        GROUPS_PREFIX,
        USERNAME_PREFIX,
        authentication_config,
        authentication_config_for,
        write_authentication_config,
    )
    from identity.kubeauth.credential import (
        EXEC_API_VERSION,
        Credential,
        Login,
        TokenCache,
        Tokens,
        default_cache_dir,
        exec_credential,
        get_credential,
        token_problem,
    )
    from identity.kubeauth.kubeconfig import (
        cluster_from_kubeconfig,
        credential_args,
        kubeconfig_document,
        write_kubeconfig,
    )

# Loaded on first use (PEP 562): the credential plugin needs `credential` only.
_WHERE = {
    **dict.fromkeys(
        ("GROUPS_PREFIX", "USERNAME_PREFIX", "authentication_config", "authentication_config_for",
         "write_authentication_config"),
        "authn",
    ),
    **dict.fromkeys(
        ("EXEC_API_VERSION", "Credential", "Login", "TokenCache", "Tokens", "default_cache_dir", "exec_credential",
         "get_credential", "token_problem"),
        "credential",
    ),
    **dict.fromkeys(
        ("cluster_from_kubeconfig", "credential_args", "kubeconfig_document", "write_kubeconfig"), "kubeconfig"
    ),
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "EXEC_API_VERSION",
    "GROUPS_PREFIX",
    "USERNAME_PREFIX",
    "Credential",
    "Login",
    "TokenCache",
    "Tokens",
    "authentication_config",
    "authentication_config_for",
    "cluster_from_kubeconfig",
    "credential_args",
    "default_cache_dir",
    "exec_credential",
    "get_credential",
    "kubeconfig_document",
    "token_problem",
    "write_authentication_config",
    "write_kubeconfig",
]
