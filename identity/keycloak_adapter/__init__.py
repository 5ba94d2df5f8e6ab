"""The one adapter for Keycloak: a small OIDC client (`oidc`: endpoints, JWKS, token endpoint,
device flow) and the realm's admin API over python-keycloak's KeycloakAdapter (`admin`). Nothing
outside this package imports `keycloak` or knows a Keycloak URL path.

Names load on first use (PEP 562): kubectl's credential plugin imports this package on every
call and needs only the endpoints, not httpx or python-keycloak."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from identity.keycloak_adapter.admin import KeycloakAdapter
    from identity.keycloak_adapter.endpoints import OidcEndpoints
    from identity.keycloak_adapter.oidc import (
        ClientCertificateRefused,
        DeviceAuthorization,
        TokenResponse,
        device_authorization,
        fetch_jwks,
        ping,
        poll_device_token,
        tls_context,
        token_request,
        unreachable,
    )

_WHERE = {
    "KeycloakAdapter": "admin",
    "OidcEndpoints": "endpoints",
    **dict.fromkeys(
        (
            "ClientCertificateRefused",
            "DeviceAuthorization",
            "TokenResponse",
            "device_authorization",
            "fetch_jwks",
            "ping",
            "poll_device_token",
            "tls_context",
            "token_request",
            "unreachable",
        ),
        "oidc",
    ),
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ClientCertificateRefused",
    "DeviceAuthorization",
    "KeycloakAdapter",
    "OidcEndpoints",
    "TokenResponse",
    "device_authorization",
    "fetch_jwks",
    "ping",
    "poll_device_token",
    "tls_context",
    "token_request",
    "unreachable",
]
