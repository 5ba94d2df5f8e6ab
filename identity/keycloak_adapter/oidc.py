"""The small OIDC client: the realm's endpoints, a TLS context, the JWKS, a reachability ping
and the token endpoint (plain HTTPS with httpx). A refusal leaves as a GovopsError with a hint:
Keycloak down → ServiceUnavailable, a TLS refusal of the client certificate → Unauthenticated
naming the TLS layer, a refused login → Unauthenticated carrying Keycloak's reason."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from govops.errors import ServiceUnavailable, Unauthenticated, ValidationFailed
from govops.logs import log
from identity.keycloak_adapter.endpoints import OidcEndpoints

logger = logging.getLogger("govops.identity.keycloak")


def tls_context(ca_file: Path | str | None = None, cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    """A client TLS context: verify Keycloak against `ca_file` (or the system store) and, for
    X.509 login, present `cert` = (certificate chain PEM, private key PEM)."""
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert is not None:
        try:
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        except (OSError, ssl.SSLError) as exc:
            raise ValidationFailed(
                f"cannot load the client certificate {cert[0]}: {exc}",
                hint="give a PEM certificate chain and its PEM private key",
            ) from None
    return ctx


def unreachable(url: str, exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"the identity service (Keycloak) at {url} is not answering "
        f"({exc.__class__.__name__}); 统一身份认证服务暂不可用",
        hint="check that Keycloak is running and GOVOPS_KEYCLOAK_URL is right; try again shortly",
    )


def fetch_jwks(url: str, *, verify: ssl.SSLContext | bool = True, timeout: float = 5.0) -> dict[str, Any]:
    try:
        r = httpx.get(url, verify=verify, timeout=timeout)
    except httpx.HTTPError as exc:
        raise unreachable(url, exc) from None
    if r.status_code != 200:
        raise ServiceUnavailable(
            f"Keycloak answered {r.status_code} for its signing keys at {url}",
            hint="check GOVOPS_KEYCLOAK_URL and GOVOPS_KEYCLOAK_REALM",
        )
    try:
        body: dict[str, Any] = r.json()
    except ValueError:
        raise ServiceUnavailable(f"Keycloak's signing keys at {url} are not JSON") from None
    return body


def ping(endpoints: OidcEndpoints, *, verify: ssl.SSLContext | bool = True, timeout: float = 3.0) -> None:
    """Raise ServiceUnavailable unless the realm answers (used before sending a browser there)."""
    try:
        r = httpx.get(endpoints.issuer, verify=verify, timeout=timeout)
    except httpx.HTTPError as exc:
        raise unreachable(endpoints.base_url, exc) from None
    if r.status_code != 200:
        raise ServiceUnavailable(
            f"the identity service has no realm {endpoints.realm!r} (HTTP {r.status_code})",
            hint="apply the realm with `govops identity apply`",
        )


class ClientCertificateRefused(Unauthenticated):
    """The TLS layer refused the client certificate before Keycloak's authenticator saw it."""


def _tls_alert(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError) and "ALERT" in str(seen).upper():
            return True
        text = str(seen).upper()
        if "SSL" in text and "ALERT" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    raw: dict[str, Any]


def token_request(
    endpoints: OidcEndpoints,
    data: dict[str, str],
    *,
    verify: ssl.SSLContext | bool = True,
    timeout: float = 10.0,
    client: httpx.Client | None = None,
) -> TokenResponse:
    """POST to the token endpoint. A refusal is Unauthenticated carrying Keycloak's reason; a TLS
    handshake refusal (the client certificate was not accepted) says so."""
    try:
        if client is not None:
            r = client.post(endpoints.token, data=data, timeout=timeout)
        else:
            r = httpx.post(endpoints.token, data=data, verify=verify, timeout=timeout)
    except httpx.HTTPError as exc:
        if _tls_alert(exc):
            # TLS 1.3: the server checks the client certificate after the handshake and answers
            # with an alert on the first read; Keycloak logs nothing, so we say it here.
            log(logger, "client certificate refused at TLS", logging.WARNING, url=endpoints.token, alert=str(exc)[:120])
            raise ClientCertificateRefused(
                f"Keycloak refused the client certificate during the TLS handshake ({exc})",
                hint="the certificate is expired, not yet valid, from another CA or not for "
                "client authentication; `govops ca check CERT` says which",
            ) from None
        raise unreachable(endpoints.base_url, exc) from None
    try:
        body = r.json()
    except ValueError:
        body = {"error": f"HTTP {r.status_code}", "error_description": r.text[:200]}
    if r.status_code != 200 or "access_token" not in body:
        reason = body.get("error_description") or body.get("error") or f"HTTP {r.status_code}"
        log(
            logger,
            "token request refused",
            logging.WARNING,
            status=r.status_code,
            error=body.get("error"),
            reason=reason,
            grant=data.get("grant_type"),
        )
        if r.status_code >= 500:
            raise ServiceUnavailable(f"Keycloak failed the token request: {reason}")
        raise Unauthenticated(f"Keycloak refused the login: {reason}", hint="see Keycloak's login events for the user")
    return TokenResponse(body["access_token"], body)


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class DeviceAuthorization:
    """RFC 8628: what the person opens (and the code they confirm) while the client polls."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int


def device_authorization(
    endpoints: OidcEndpoints,
    client_id: str,
    *,
    scope: str = "openid",
    verify: ssl.SSLContext | bool = True,
    timeout: float = 10.0,
) -> DeviceAuthorization:
    try:
        r = httpx.post(endpoints.device, data={"client_id": client_id, "scope": scope}, verify=verify, timeout=timeout)
    except httpx.HTTPError as exc:
        raise unreachable(endpoints.base_url, exc) from None
    try:
        body = r.json()
    except ValueError:
        body = {}
    if r.status_code != 200 or "device_code" not in body:
        reason = body.get("error_description") or body.get("error") or f"HTTP {r.status_code}"
        if r.status_code >= 500:
            raise ServiceUnavailable(f"Keycloak failed the device authorization: {reason}")
        raise Unauthenticated(
            f"Keycloak refused the device login for {client_id!r}: {reason}",
            hint="the realm's client may lack the device flow; `govops identity apply` declares it",
        )
    return DeviceAuthorization(
        device_code=str(body["device_code"]),
        user_code=str(body.get("user_code", "")),
        verification_uri=str(body.get("verification_uri", "")),
        verification_uri_complete=body.get("verification_uri_complete"),
        expires_in=int(body.get("expires_in", 600)),
        interval=max(1, int(body.get("interval", 5))),
    )


def poll_device_token(
    endpoints: OidcEndpoints,
    client_id: str,
    device_code: str,
    *,
    verify: ssl.SSLContext | bool = True,
    timeout: float = 10.0,
) -> TokenResponse | str:
    """One poll of the token endpoint: the tokens, or `authorization_pending` / `slow_down`
    while the person has not confirmed yet. A denial or an expired code is Unauthenticated."""
    data = {"grant_type": DEVICE_GRANT, "client_id": client_id, "device_code": device_code}
    try:
        r = httpx.post(endpoints.token, data=data, verify=verify, timeout=timeout)
    except httpx.HTTPError as exc:
        raise unreachable(endpoints.base_url, exc) from None
    try:
        body = r.json()
    except ValueError:
        body = {}
    if r.status_code == 200 and "access_token" in body:
        return TokenResponse(body["access_token"], body)
    error = str(body.get("error") or f"HTTP {r.status_code}")
    if error in ("authorization_pending", "slow_down"):
        return error
    if r.status_code >= 500:
        raise ServiceUnavailable(f"Keycloak failed the device login: {error}")
    reason = body.get("error_description") or error
    log(logger, "device login refused", logging.WARNING, status=r.status_code, error=error)
    raise Unauthenticated(f"the device login ended: {reason}", hint="start it again and confirm in the browser")
