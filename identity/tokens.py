"""Keycloak access tokens → Principal, for the gateway (implements gateway.auth.TokenVerifier).

Checks, in order: the header's algorithm is on an asymmetric allow-list (never `none`, never
HMAC, so a token "signed" with our public key as an HMAC secret is refused before any crypto);
the key id is one of the realm's signing keys (PyJWT's PyJWKClient holds the JWKS for at most
`max_key_age`, 60 s, so a key the realm withdrew is dropped within a minute; an unknown kid
triggers one refetch, rate limited so a flood of forged kids cannot hammer Keycloak); the key's
own algorithm matches the header; then signature, issuer, audience, the authorized party (`azp`
must be one of the platform's own clients: a department app's token is for that app, not for the
gateway), expiry (with a small leeway) and `typ` = Bearer (so an ID token cannot be replayed as an
access token). A token holding two of the MLPS-separated roles (三员分立) is refused.

Realm roles become the Principal's roles (only the five platform roles count); the `groups`
claim (full paths) gives the department — the longest department SSO group that is a prefix —
and `/platforms/<code>` gives a security-staff member's share platform. The `contractor` claim
(a user attribute only realm admins set, mapped by the govops-contractor scope) gives a
contractor's code (运维单位), and only to a holder of the contractor role; a claim that is not one
well-formed code is ignored, so such a contractor sees no work orders (deny, never all).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientError, PyJWKSetError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govops.errors import ServiceUnavailable, Unauthenticated
from govops.org import Department
from govops.principal import CONTRACTOR, ROLES, Principal
from govops.settings import Settings
from identity import separation
from identity.keycloak_adapter import OidcEndpoints, fetch_jwks, tls_context
from identity.realm import (
    CLI_CLIENT,
    CONTRACTOR_ATTRIBUTE,
    CONTRACTOR_CODE_PATTERN,
    GATEWAY_CLIENT,
    ID_ATTRIBUTE,
    PLATFORM_ROOT,
)

logger = logging.getLogger("govops.identity.tokens")
ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
HINT = "sign in again through the identity service (统一身份认证)"
PLATFORM_CLIENTS = frozenset({GATEWAY_CLIENT, CLI_CLIENT})
_SEPARATED = frozenset(separation.SEPARATED_ROLES)  # the only clients whose tokens the gateway takes
_ALGORITHMS = jwt.algorithms.get_default_algorithms()
_B64URL = re.compile(rb"[A-Za-z0-9_-]*")
_CONTRACTOR_CODE = re.compile(CONTRACTOR_CODE_PATTERN)


def _b64decode(segment: str) -> bytes:
    """Strict base64url (no padding in JWS; anything outside the alphabet is an error)."""
    raw = segment.encode("ascii")
    if len(raw) % 4 == 1 or not _B64URL.fullmatch(raw):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    key: Any


class _RealmKeys(PyJWKClient):
    """PyJWT's JWKS client, fed by our fetcher (httpx with the realm's TLS context, errors as
    ServiceUnavailable) and keeping only signing keys on the allow-listed algorithms."""

    def __init__(
        self, fetch: Callable[[], dict[str, Any]], algorithms: frozenset[str], lifespan: float, cooldown: float
    ) -> None:
        super().__init__("https://keycloak.invalid/certs", lifespan=lifespan, cooldown_duration=cooldown)
        self._fetch = fetch
        self._algorithms = algorithms

    def fetch_data(self) -> Any:
        jwks = self._fetch()
        keys = []
        for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig" or not jwk.get("kid"):
                continue
            if jwk.get("alg") not in self._algorithms:
                continue
            keys.append(jwk)
        self._last_successful_fetch = time.monotonic()
        return {"keys": keys}


class JwksTokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        fetch_keys: Callable[[], dict[str, Any]],
        authorized_parties: frozenset[str] | None = PLATFORM_CLIENTS,
        departments: Callable[[], Mapping[str, str]] | None = None,
        algorithms: frozenset[str] = ALLOWED_ALGORITHMS,
        leeway: float = 30.0,
        max_key_age: float = 60.0,
        min_refetch_interval: float = 10.0,
        department_ttl: float = 60.0,
        cache_size: int = 10_000,
    ) -> None:
        unsafe = {a for a in algorithms if a.upper().startswith("HS") or a.lower() == "none"}
        if unsafe:
            raise ValueError(f"refusing symmetric or empty algorithms: {sorted(unsafe)}")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = algorithms
        self.leeway = leeway
        self.authorized_parties = authorized_parties
        self._jwks = _RealmKeys(fetch_keys, algorithms, lifespan=max_key_age, cooldown=min_refetch_interval)
        self._departments = departments
        self._max_key_age = max_key_age
        self._department_ttl = department_ttl
        self._keys: dict[str, SigningKey] = {}
        self._set: object = None
        self._fetched_at = float("-inf")
        self._keys_fresh_until = float("-inf")  # wall clock, for the cached-token fast path
        self._dept_map: list[tuple[str, str]] = []
        self._dept_at = float("-inf")
        self._lock = threading.Lock()
        self._refetches = 0
        # Tokens that passed every check, until they expire: a console or an app presents the
        # same token for every request of its five-minute life.
        self._seen: dict[str, tuple[dict[str, Any], float]] = {}
        self._cache_size = cache_size
        self._headers: dict[str, dict[str, Any]] = {}

    # -- keys ----------------------------------------------------------------------------------

    @property
    def refetches(self) -> int:
        return self._refetches

    def _snapshot(self) -> None:
        """Mirror the client's current key set for the lock-free fast path; a withdrawn key
        also withdraws every cached token it signed."""
        jwk_set = self._jwks.get_jwk_set()  # cached: no fetch unless the set expired
        if jwk_set is self._set:
            self._fetched_at = self._jwks_fetched_at()
            return
        keys: dict[str, SigningKey] = {}
        for jwk in jwk_set.keys:
            if jwk.key_id and jwk.algorithm_name in self.algorithms:
                keys[jwk.key_id] = SigningKey(jwk.key_id, jwk.algorithm_name, jwk.key)
        if set(self._keys) - set(keys):
            self._seen = {}
        self._keys, self._set = keys, jwk_set
        self._fetched_at = self._jwks_fetched_at()
        self._refetches += 1

    def _jwks_fetched_at(self) -> float:
        cache = self._jwks.jwk_set_cache
        stamp = cache.jwk_set_with_timestamp if cache is not None else None
        fetched = stamp.get_timestamp() if stamp is not None else time.monotonic()
        self._keys_fresh_until = time.time() + self._max_key_age - (time.monotonic() - fetched)
        return fetched

    def _key(self, kid: str) -> SigningKey:
        key = self._keys.get(kid)
        if key is not None and time.monotonic() - self._fetched_at < self._max_key_age:
            return key
        with self._lock:
            try:
                self._jwks.get_signing_key(kid)  # refetches when expired or on an unknown kid (rate limited)
                self._snapshot()
            except ServiceUnavailable:
                known = self._keys.get(kid)
                if known is not None:  # Keycloak briefly down: keep trusting the keys we know
                    return known
                raise
            except (PyJWKClientError, PyJWKSetError):
                with contextlib.suppress(ServiceUnavailable, PyJWKClientError, PyJWKSetError):
                    self._snapshot()  # the refetch may have withdrawn keys
                raise Unauthenticated("token signed with an unknown key", hint=HINT) from None
            key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("token signed with an unknown key", hint=HINT)
        return key

    # -- verification --------------------------------------------------------------------------

    def claims(self, token: str) -> dict[str, Any]:
        """Validated claims. Parsing is done here rather than by jwt.decode: PyJWT's strict
        base64 check walks every character in Python and costs ~10x the RSA verification."""
        if not isinstance(token, str) or len(token) > 16384 or token.count(".") != 2:
            raise Unauthenticated("malformed bearer token", hint=HINT)
        cached = self._seen.get(token)
        if cached is not None:
            # one clock read: the token must be unexpired and the keys checked within max_key_age
            claims, exp = cached
            now = time.time()
            if now < self._keys_fresh_until and exp + self.leeway >= now:
                return claims
            if exp + self.leeway < now:
                self._seen.pop(token, None)
        signed, _, sig_b64 = token.rpartition(".")
        header_b64, _, payload_b64 = signed.partition(".")
        header = self._headers.get(header_b64)
        if header is None:
            try:
                header = json.loads(_b64decode(header_b64))
            except (ValueError, binascii.Error):
                raise Unauthenticated("malformed bearer token", hint=HINT) from None
            if not isinstance(header, dict):
                raise Unauthenticated("malformed bearer token", hint=HINT)
            if len(self._headers) < 256:  # a realm has a handful of (alg, kid) headers
                self._headers[header_b64] = header
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise Unauthenticated(f"token algorithm {alg!r} is not accepted", hint=HINT)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("token has no key id", hint=HINT)
        if header.get("crit"):
            raise Unauthenticated("token has critical header extensions", hint=HINT)
        key = self._key(kid)
        if key.algorithm != alg:
            raise Unauthenticated("token algorithm does not match its key", hint=HINT)
        try:
            signature = _b64decode(sig_b64)
            ok = _ALGORITHMS[alg].verify(signed.encode("ascii"), key.key, signature)
        except (ValueError, binascii.Error, TypeError):
            ok = False
        if not ok:
            raise Unauthenticated("token signature is not valid", hint=HINT)
        try:
            claims = json.loads(_b64decode(payload_b64))
        except (ValueError, binascii.Error):
            raise Unauthenticated("malformed bearer token", hint=HINT) from None
        if not isinstance(claims, dict):
            raise Unauthenticated("malformed bearer token", hint=HINT)
        self._check(claims)
        if self._cache_size > 0:
            if len(self._seen) >= self._cache_size:
                # oldest first (dicts keep insertion order); racing threads may both evict
                with contextlib.suppress(StopIteration, RuntimeError):
                    self._seen.pop(next(iter(self._seen)), None)
            self._seen[token] = (claims, float(claims["exp"]))
        return claims

    def _check(self, claims: dict[str, Any]) -> None:
        for name in ("exp", "iat", "iss", "aud", "sub"):
            if name not in claims:
                raise Unauthenticated(f"token lacks the {name!r} claim", hint=HINT)
        now = time.time()
        try:
            exp, iat = float(claims["exp"]), float(claims["iat"])
            nbf = float(claims.get("nbf", iat))
        except (TypeError, ValueError):
            raise Unauthenticated("token times are not numbers", hint=HINT) from None
        if exp + self.leeway < now:
            raise Unauthenticated("token has expired", hint=HINT)
        if nbf - self.leeway > now or iat - self.leeway > now:
            raise Unauthenticated("token is not valid yet", hint=HINT)
        if claims["iss"] != self.issuer:
            raise Unauthenticated("token was issued by an untrusted issuer", hint=HINT)
        aud = claims["aud"]
        audiences = aud if isinstance(aud, list) else [aud]
        if self.audience not in audiences:
            raise Unauthenticated("token is not meant for this service (audience)", hint=HINT)
        if self.authorized_parties is not None and claims.get("azp") not in self.authorized_parties:
            raise Unauthenticated(
                f"a token of {claims.get('azp')!r} is for that app, not for the govops platform",
                hint="sign in to the platform itself (console or `govops identity login`)",
            )
        access = claims.get("realm_access")
        realm_roles = access.get("roles") if isinstance(access, dict) else None
        if isinstance(realm_roles, list):
            try:
                held = _SEPARATED.intersection(realm_roles)
            except TypeError:
                raise Unauthenticated("token roles are malformed", hint=HINT) from None
            if len(held) > 1:
                ordered = [r for r in separation.SEPARATED_ROLES if r in held]
                raise Unauthenticated(f"the token's roles: {separation.describe(ordered)}", hint=separation.HINT)
        if claims.get("typ", "Bearer") != "Bearer":
            raise Unauthenticated(f"a {claims.get('typ')} token is not an access token", hint=HINT)
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise Unauthenticated("token has no subject", hint=HINT)

    def verify(self, token: str) -> Principal:
        return self.principal(self.claims(token))

    # -- claims → principal --------------------------------------------------------------------

    def _department_prefixes(self) -> list[tuple[str, str]]:
        if self._departments is None:
            return []
        now = time.monotonic()
        if now - self._dept_at > self._department_ttl:
            mapping = self._departments()
            # Longest first, so /310116/gaj/zhian matches /310116/gaj before /310116.
            self._dept_map = sorted(((g.rstrip("/"), c) for g, c in mapping.items()), key=lambda gc: -len(gc[0]))
            self._dept_at = now
        return self._dept_map

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        realm_roles = (claims.get("realm_access") or {}).get("roles") or []
        roles = frozenset(r for r in realm_roles if r in ROLES)
        groups = [g for g in claims.get("groups") or [] if isinstance(g, str)]
        department = None
        prefixes = self._department_prefixes()
        for g in sorted(groups):
            for prefix, code in prefixes:
                if g == prefix or g.startswith(prefix + "/"):
                    department = code
                    break
            if department:
                break
        platform = None
        for g in sorted(groups):
            parts = [p for p in g.split("/") if p]
            if len(parts) >= 2 and parts[0] == PLATFORM_ROOT:
                platform = parts[1]
                break
        name = claims.get("name") or claims.get("preferred_username") or claims["sub"]
        return Principal(
            subject=str(claims["sub"]),
            name=str(name),
            roles=roles,
            department=department,
            platform=platform,
            contractor=contractor_code(claims) if CONTRACTOR in roles else None,
        )


def contractor_code(claims: Mapping[str, Any]) -> str | None:
    """The `contractor` claim when it is exactly one well-formed code; anything else (absent,
    empty, a list, a number, an injected string) is no code at all."""
    value = claims.get(CONTRACTOR_ATTRIBUTE)
    if isinstance(value, str) and _CONTRACTOR_CODE.fullmatch(value):
        return value
    return None


def department_groups(sessions: sessionmaker[Session]) -> Callable[[], dict[str, str]]:
    def read() -> dict[str, str]:
        with sessions() as s:
            return {d.sso_group: d.code for d in s.scalars(select(Department))}

    return read


def verifier_from_settings(settings: Settings, sessions: sessionmaker[Session] | None = None) -> JwksTokenVerifier:
    if not settings.keycloak_url:
        raise ValueError("keycloak_url is not set")
    endpoints = OidcEndpoints(settings.keycloak_url, settings.keycloak_realm)
    ctx = tls_context(settings.keycloak_ca_file)
    return JwksTokenVerifier(
        issuer=endpoints.issuer,
        audience=settings.keycloak_audience,
        fetch_keys=lambda: fetch_jwks(endpoints.jwks, verify=ctx),
        departments=department_groups(sessions) if sessions is not None else None,
    )


__all__ = ["ALLOWED_ALGORITHMS", "ID_ATTRIBUTE", "JwksTokenVerifier", "verifier_from_settings"]
