"""The realm's OpenID Connect endpoints (no I/O, no third-party import: kubectl's credential
plugin reads its issuer on every call)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OidcEndpoints:
    """The realm's OpenID Connect endpoints, derived from its public base URL (no discovery
    round trip: the issuer is fixed by configuration and must match the tokens exactly)."""

    base_url: str
    realm: str

    @property
    def issuer(self) -> str:
        return f"{self.base_url.rstrip('/')}/realms/{self.realm}"

    @property
    def authorize(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/auth"

    @property
    def token(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def jwks(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def logout(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/logout"

    @property
    def device(self) -> str:
        """RFC 8628 device authorization endpoint."""
        return f"{self.issuer}/protocol/openid-connect/auth/device"
