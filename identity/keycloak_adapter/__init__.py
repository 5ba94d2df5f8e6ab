"""The one adapter for Keycloak: a small OIDC client (`oidc`: endpoints, JWKS, token endpoint)
and the realm's admin API over python-keycloak's KeycloakAdmin (`admin`). Nothing outside this
package imports `keycloak` or knows a Keycloak URL path."""

from typing import TYPE_CHECKING, Any

from identity.keycloak_adapter.oidc import (
    ClientCertificateRefused,
    DeviceAuthorization,
    OidcEndpoints,
    TokenResponse,
    device_authorization,
    fetch_jwks,
    ping,
    poll_device_token,
    tls_context,
    token_request,
    unreachable,
)

if TYPE_CHECKING:
    from identity.keycloak_adapter.admin import KeycloakAdapter


def __getattr__(name: str) -> Any:
    # The admin API (python-keycloak, the settings) loads on first use: the OIDC half is what
    # kubectl's credential plugin imports on every call, and it must stay fast.
    if name == "KeycloakAdapter":
        from identity.keycloak_adapter.admin import KeycloakAdapter

        return KeycloakAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
