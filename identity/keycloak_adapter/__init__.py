"""The one adapter for Keycloak: a small OIDC client (`oidc`: endpoints, JWKS, token endpoint)
and the realm's admin API over python-keycloak's KeycloakAdmin (`admin`). Nothing outside this
package imports `keycloak` or knows a Keycloak URL path."""

from identity.keycloak_adapter.admin import KeycloakAdapter
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
