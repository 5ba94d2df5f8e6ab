"""Revoking a certificate, as one use case: mark it revoked, sign a new CRL, commit, then tell
Keycloak to drop its cached CRL — after the commit, so that the CRL Keycloak fetches next from
the gateway already lists the certificate (a refetch in between would pin the old list until its
nextUpdate, a day later)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from govops.errors import GovopsError
from govops.logs import log
from identity.keycloak_adapter import KeycloakAdapter
from identity.pki.authority import CertificateAuthority

logger = logging.getLogger("govops.identity.pki")


@dataclass(frozen=True)
class Revocation:
    certificate: dict[str, Any]
    crl_number: int
    keycloak_crl_cache: str  # cleared | not configured | failed: <why>

    def as_dict(self) -> dict[str, Any]:
        return {
            "certificate": self.certificate,
            "crl_number": self.crl_number,
            "keycloak_crl_cache": self.keycloak_crl_cache,
        }


def refresh_keycloak_crl(kc: KeycloakAdapter | None) -> str:
    """After a revocation Keycloak must not serve its cached CRL until nextUpdate."""
    if kc is None:
        return "not configured"
    try:
        kc.clear_crl_cache()
    except GovopsError as exc:
        log(logger, "CRL cache refresh failed", logging.WARNING, error=exc.message)
        return f"failed: {exc.message}"
    return "cleared"


def revoke_certificate(
    transaction: Callable[[], AbstractContextManager[Session]],
    ca: CertificateAuthority,
    serial: str,
    *,
    actor: str,
    reason: str = "unspecified",
    keycloak: Callable[[], KeycloakAdapter | None] = lambda: None,
) -> Revocation:
    """Revoke, publish the CRL and commit; then refresh Keycloak's CRL cache (a failure there
    is reported, not raised: the revocation stands and the CRL is published)."""
    with transaction() as session:
        record = ca.revoke(session, serial, actor=actor, reason=reason)
        crl = ca.current_crl(session)
        certificate, number = record.as_dict(), crl.number
    try:
        kc = keycloak()
    except GovopsError as exc:  # Keycloak half-configured: the revocation stands regardless
        return Revocation(certificate, number, f"failed: {exc.message}")
    return Revocation(certificate, number, refresh_keycloak_crl(kc))
