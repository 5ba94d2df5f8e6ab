"""kubectl's exec credential plugin (`govops cloud credential`): the civil servant's token for
the cloud's apiserver, through the platform's login, refreshed and cached.

Order: a cached access token still valid for MARGIN seconds (no network) → the refresh token
(one round trip; Keycloak rotates it) → a new login: the certificate on Keycloak's mTLS port
(X.509 direct grant, no password) or the device flow (the verification URL on stderr; the
browser step is the realm's X.509 login).

The cache is one file per (issuer, client, login) under the user's config directory, mode 0600
in a 0700 directory, Fernet-encrypted: with a key derived from the certificate's private key
(whoever reads the cache without that key learns nothing, and a login that key cannot make is
never replayed from it), or for the device flow with a random 0600 key file beside it. A cache
that does not decrypt (tampered, another key) is dropped, never trusted. A file lock keeps two
kubectl processes from spending the same refresh token (Keycloak refuses its reuse). Nothing
here logs or prints a token; the access token leaves only on stdout, inside the ExecCredential.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from govops.errors import GovopsError, Unauthenticated, ValidationFailed
from govops.files import write_private
from govops.logs import log
from identity.keycloak_adapter.endpoints import OidcEndpoints

if TYPE_CHECKING:  # httpx and the rest of the adapter load only when Keycloak is asked
    from identity.keycloak_adapter import DeviceAuthorization, TokenResponse

# = identity.realm.KUBERNETES_CLIENT (a test keeps them equal): not imported from there, since the
# realm's code (and the CA's SQLAlchemy models behind it) would add seconds to every kubectl call.
KUBERNETES_CLIENT = "kubernetes"

logger = logging.getLogger("govops.identity.kubeauth")
EXEC_API_VERSION = "client.authentication.k8s.io/v1"
MARGIN = 30.0  # seconds: a token this close to its expiry is not handed out any more
HINT = "run `govops cloud kubeconfig` again, or check the certificate with `govops ca check CERT`"


@dataclass(frozen=True)
class Login:
    """How the plugin signs in: Keycloak's HTTPS URL and realm, the client, the CA that issued
    Keycloak's certificate, and either a certificate + key (X.509) or the device flow."""

    keycloak_url: str
    realm: str
    client_id: str = KUBERNETES_CLIENT
    ca_file: Path | None = None
    cert: Path | None = None
    key: Path | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValidationFailed("give both --cert and --key, or neither (device flow)")

    @property
    def endpoints(self) -> OidcEndpoints:
        return OidcEndpoints(self.keycloak_url, self.realm)

    @property
    def method(self) -> str:
        return "certificate" if self.cert is not None else "device"

    def identity(self) -> str:
        """What the cache is keyed by: the certificate's fingerprint, or `device`."""
        if self.cert is None:
            return "device"
        try:
            pem = Path(self.cert).read_text(encoding="ascii")
            body = pem.split("-----BEGIN CERTIFICATE-----", 1)[1].split("-----END CERTIFICATE-----", 1)[0]
            der = base64.b64decode("".join(body.split()), validate=True)
        except (OSError, UnicodeDecodeError, IndexError, ValueError) as exc:
            raise ValidationFailed(f"cannot read the certificate {self.cert}: {exc}") from None
        return hashlib.sha256(der).hexdigest()  # the leaf's SHA-256 fingerprint


@dataclass
class Tokens:
    access_token: str
    expires_at: float
    refresh_token: str | None
    refresh_expires_at: float

    @classmethod
    def from_response(cls, response: TokenResponse, now: float) -> Tokens:
        raw = response.raw
        exp = _claims(response.access_token).get("exp")
        expires_at = float(exp) if isinstance(exp, int | float) else now + float(raw.get("expires_in", 0))
        refresh_token = raw.get("refresh_token")
        refresh_in = float(raw.get("refresh_expires_in") or 0)
        if refresh_token and not refresh_in:
            refresh_in = 86400.0  # Keycloak says 0 for an offline token: try it, the realm decides
        return cls(response.access_token, expires_at, refresh_token, now + refresh_in if refresh_token else 0.0)


@dataclass(frozen=True)
class Credential:
    tokens: Tokens
    source: str  # cache | refresh | login

    def exec_credential(self) -> dict[str, Any]:
        return exec_credential(self.tokens.access_token, self.tokens.expires_at - MARGIN)


def exec_credential(token: str, expires_at: float) -> dict[str, Any]:
    """client.authentication.k8s.io/v1 ExecCredential: kubectl reuses the token until
    `expirationTimestamp` (RFC 3339, UTC), then runs the plugin again."""
    stamp = dt.datetime.fromtimestamp(int(expires_at), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": EXEC_API_VERSION,
        "kind": "ExecCredential",
        "spec": {"interactive": False},
        "status": {"token": token, "expirationTimestamp": stamp},
    }


def _claims(token: str) -> dict[str, Any]:
    """The payload, unverified: the apiserver verifies the signature; the plugin only needs to
    know whether handing the token out is worth it (decoded by hand: PyJWT costs every kubectl
    call ~0.2 s of imports)."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_problem(token: str, login: Login, now: float) -> str | None:
    """Why this access token must not be handed to kubectl (None: it may). The apiserver checks
    the signature; this spares it tokens that cannot pass: unreadable, another issuer, another
    audience or client, or (nearly) expired."""
    claims = _claims(token)
    if not claims:
        return "not a readable JWT"
    if claims.get("iss") != login.endpoints.issuer:
        return "issued by another issuer"
    aud = claims.get("aud")
    if login.client_id not in (aud if isinstance(aud, list) else [aud]):
        return f"not meant for {login.client_id}"
    if claims.get("azp") != login.client_id:
        return f"issued to {claims.get('azp')!r}, not {login.client_id}"
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        return "has no expiry"
    if exp - MARGIN <= now:
        return "expired"
    return None


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "govops" / "kube-credentials"


class TokenCache:
    """One encrypted 0600 file per (issuer, client, login) under a 0700 directory."""

    def __init__(self, directory: Path, login: Login) -> None:
        self.directory = Path(directory)
        self.login = login
        who = f"{login.endpoints.issuer}|{login.client_id}|{login.identity()}"
        self.path = self.directory / f"{hashlib.sha256(who.encode()).hexdigest()[:32]}.token"
        self._fernet: Fernet | None = None

    def _ensure_dir(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.directory.stat().st_mode & 0o077:
            self.directory.chmod(0o700)

    def _key(self) -> Fernet:
        if self._fernet is None:
            if self.login.key is not None:
                material = _private_key_bytes(Path(self.login.key))
                info = f"govops kube credential cache|{self.login.endpoints.issuer}|{self.login.client_id}".encode()
                derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)
                self._fernet = Fernet(base64.urlsafe_b64encode(derived))
            else:
                key_file = self.directory / "cache.key"
                with contextlib.suppress(FileExistsError):
                    write_private(key_file, Fernet.generate_key(), exclusive=True)
                self._fernet = Fernet(key_file.read_bytes().strip())
        return self._fernet

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self._ensure_dir()
        fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def load(self) -> Tokens | None:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(self._key().decrypt(blob))
            return Tokens(**data)
        except (InvalidToken, ValueError, TypeError):
            log(logger, "token cache dropped", logging.WARNING, reason="does not decrypt or parse", file=self.path.name)
            self.clear()
            return None

    def store(self, tokens: Tokens) -> None:
        self._ensure_dir()
        write_private(self.path, self._key().encrypt(json.dumps(asdict(tokens)).encode()))

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _private_key_bytes(path: Path) -> bytes:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ValidationFailed(
            f"cannot read the private key {path}: {exc}", hint="give the PEM key of --cert"
        ) from None
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def show_device_prompt(auth: DeviceAuthorization) -> None:
    """The device flow's one message, on stderr (stdout is the ExecCredential)."""
    import sys

    url = auth.verification_uri_complete or auth.verification_uri
    sys.stderr.write(
        f"政务云 sign-in: open {url} in a browser holding your certificate and confirm code {auth.user_code}"
        f" (valid {auth.expires_in // 60} min)\n"
    )
    sys.stderr.flush()


def _fresh_login(login: Login, prompt: Callable[[DeviceAuthorization], None]) -> TokenResponse:
    from identity.login import certificate_login, device_login

    if login.cert is not None and login.key is not None:
        return certificate_login(
            login.endpoints, login.cert, login.key, ca_file=login.ca_file, client_id=login.client_id
        )
    return device_login(login.endpoints, client_id=login.client_id, ca_file=login.ca_file, prompt=prompt)


def get_credential(
    login: Login,
    cache: TokenCache,
    *,
    prompt: Callable[[DeviceAuthorization], None] = show_device_prompt,
    now: Callable[[], float] = time.time,
) -> Credential:
    """The token kubectl should present: cached, refreshed or from a new login (in that order)."""
    with cache.locked():
        cached = cache.load()
        if cached is not None and token_problem(cached.access_token, login, now()) is None:
            return Credential(cached, "cache")
        if cached is not None and cached.refresh_token and cached.refresh_expires_at - MARGIN > now():
            from identity.login import refresh_login  # httpx: only when Keycloak is asked

            try:
                refreshed = refresh_login(
                    login.endpoints, cached.refresh_token, client_id=login.client_id, ca_file=login.ca_file
                )
            except Unauthenticated:  # the session ended (logout, idle, revoked): sign in again
                log(logger, "refresh refused, signing in again", client=login.client_id)
            else:
                return Credential(_accept(refreshed, login, cache, now()), "refresh")
        cache.clear()
        return Credential(_accept(_fresh_login(login, prompt), login, cache, now()), "login")


def _accept(response: TokenResponse, login: Login, cache: TokenCache, now: float) -> Tokens:
    problem = token_problem(response.access_token, login, now)
    if problem is not None:
        # Keycloak gave a token the apiserver would refuse: say why instead of a bare 401 later.
        raise GovopsError(
            f"Keycloak's token for {login.client_id} is {problem}",
            hint="the realm may predate the kubernetes client: `govops identity apply` declares it",
        )
    tokens = Tokens.from_response(response, now)
    cache.store(tokens)
    log(logger, "kube credential issued", client=login.client_id, method=login.method)
    return tokens
