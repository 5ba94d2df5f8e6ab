"""Signing in: X.509 direct grant (the CLI, scripts) and the console's code + PKCE flow.

A refusal always comes back with its reason. When Keycloak's authenticator refuses, its reason
is in the token response (and its login events). When the TLS layer refuses (an expired, not yet
valid, foreign or non-clientAuth certificate never reaches the authenticator) we work the reason
out ourselves against our CA and log it, since Keycloak's log says nothing.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography import x509

from govops.errors import Unauthenticated, ValidationFailed
from govops.logs import log
from identity.keycloak_adapter import (
    ClientCertificateRefused,
    DeviceAuthorization,
    OidcEndpoints,
    TokenResponse,
    device_authorization,
    poll_device_token,
    tls_context,
    token_request,
)

logger = logging.getLogger("govops.identity.login")


class CertificateLoginRefused(Unauthenticated):
    def __init__(self, message: str, *, reasons: list[str], stage: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.reasons = reasons
        self.stage = stage

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "stage": self.stage, "reasons": self.reasons}


def _trusted_issuers(ca_file: Path | None) -> list[x509.Certificate]:
    from identity.pki import parse_pem_chain

    if ca_file is None or not Path(ca_file).is_file():
        return []
    return [c for c in parse_pem_chain(Path(ca_file).read_bytes()) if _is_ca(c)]


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def certificate_login(
    endpoints: OidcEndpoints,
    cert_file: Path,
    key_file: Path,
    *,
    ca_file: Path | None,
    client_id: str | None = None,
    scope: str = "openid",
) -> TokenResponse:
    """X.509 direct grant: present the certificate on Keycloak's mTLS port, no password.
    `client_id` defaults to the platform's CLI client."""
    # The realm's and the CA's code (SQLAlchemy models behind them) load only when needed:
    # kubectl's credential plugin signs in through here and names its client.
    if client_id is None:
        from identity.realm import CLI_CLIENT

        client_id = CLI_CLIENT
    try:
        chain = x509.load_pem_x509_certificates(Path(cert_file).read_bytes())
    except OSError as exc:
        raise ValidationFailed(f"cannot read {cert_file}: {exc.strerror}") from None
    except ValueError:
        raise ValidationFailed(f"{cert_file} is not a PEM certificate", hint="give a PEM file") from None
    subject = chain[0].subject.rfc4514_string()
    ctx = tls_context(ca_file, (Path(cert_file), Path(key_file)))
    try:
        response = token_request(
            endpoints, {"grant_type": "password", "client_id": client_id, "scope": scope}, verify=ctx
        )
    except ClientCertificateRefused:
        from identity.pki import PROBLEMS, diagnose

        problems = diagnose(chain[0], _trusted_issuers(ca_file)) or ["unknown"]
        reasons = [PROBLEMS.get(p, "refused by the TLS layer") for p in problems]
        log(logger, "x509 login refused", logging.WARNING, stage="tls", subject=subject, reason=",".join(problems))
        raise CertificateLoginRefused(
            f"Keycloak refused the certificate at the TLS layer: {'; '.join(reasons)}",
            reasons=problems,
            stage="tls",
            hint="ask the security administrator for a new certificate",
        ) from None
    except Unauthenticated as exc:
        reason = exc.message.removeprefix("Keycloak refused the login: ")
        log(logger, "x509 login refused", logging.WARNING, stage="keycloak", subject=subject, reason=reason)
        raise CertificateLoginRefused(
            f"Keycloak refused the certificate: {reason}", reasons=[reason], stage="keycloak", hint=exc.hint
        ) from None
    log(logger, "x509 login", subject=subject, client=client_id)
    return response


def device_login(
    endpoints: OidcEndpoints,
    *,
    client_id: str,
    ca_file: Path | None,
    prompt: Callable[[DeviceAuthorization], None],
    scope: str = "openid",
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> TokenResponse:
    """RFC 8628 device flow: `prompt` shows the person where to confirm (the browser step is the
    realm's X.509 browser login), then the token endpoint is polled at the pace Keycloak sets."""
    ctx = tls_context(ca_file)
    auth = device_authorization(endpoints, client_id, scope=scope, verify=ctx)
    prompt(auth)
    interval = float(auth.interval)
    deadline = clock() + auth.expires_in
    while clock() < deadline:
        sleep(interval)
        got = poll_device_token(endpoints, client_id, auth.device_code, verify=ctx)
        if isinstance(got, TokenResponse):
            log(logger, "device login", client=client_id)
            return got
        if got == "slow_down":
            interval += 5  # RFC 8628 3.5
    raise Unauthenticated(
        f"the device login was not confirmed within {auth.expires_in} s", hint="start it again and confirm sooner"
    )


def refresh_login(
    endpoints: OidcEndpoints, refresh_token: str, *, client_id: str, ca_file: Path | None
) -> TokenResponse:
    """A new access token for a session that is still alive (Keycloak rotates the refresh token)."""
    data = {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token}
    return token_request(endpoints, data, verify=tls_context(ca_file))


# -- browser: authorization code + PKCE -------------------------------------------------------


@dataclass(frozen=True)
class PkceStart:
    state: str
    verifier: str
    url: str


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def start_login(endpoints: OidcEndpoints, *, client_id: str, redirect_uri: str, scope: str = "openid") -> PkceStart:
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return PkceStart(state, verifier, f"{endpoints.authorize}?{query}")


def finish_login(
    endpoints: OidcEndpoints,
    *,
    client_id: str,
    code: str,
    redirect_uri: str,
    verifier: str,
    client_secret: str | None = None,
    ca_file: Path | None = None,
) -> TokenResponse:
    data = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    if client_secret:
        data["client_secret"] = client_secret
    return token_request(endpoints, data, verify=tls_context(ca_file))
