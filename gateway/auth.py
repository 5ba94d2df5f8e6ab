"""Who is calling, and may they?

Every route declares its roles with `Allow(...)` (or `PUBLIC`); tests walk the app and fail on a
route that declares nothing. In the embedded default the only way in is the one-time local admin
login URL that `govops serve` prints: its token is exchanged once for an HttpOnly session cookie.
The session behind the cookie is kept in the database, so it survives a restart and works on
every replica of the gateway.
Keycloak bearer tokens plug in through `TokenVerifier` (the identity domain provides one).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from typing import Protocol

from fastapi import Request

from govops.errors import PermissionDenied, Unauthenticated
from govops.principal import LOCAL_ADMIN, Principal
from govops.sessions import SESSION_TTL, SessionStore

SESSION_COOKIE = "govops_session"
__all__ = ["PUBLIC", "SESSION_COOKIE", "SESSION_TTL", "Allow", "LocalLogin", "TokenVerifier", "authenticate"]


class TokenVerifier(Protocol):
    """Turns a bearer token into a Principal, or raises Unauthenticated / ServiceUnavailable."""

    def verify(self, token: str) -> Principal: ...


class LocalLogin:
    """The one-time login token of `govops serve`, and the door to the sign-in sessions.

    The token lives in this process only (it is printed once, by the process that serves it).
    The sessions it and single sign-on open live in the database (`govops.sessions`), so every
    replica of the gateway, and a restarted one, knows them.
    """

    def __init__(self, store: SessionStore, token: str | None = None) -> None:
        self.store = store
        self.token: str | None = token if token is not None else secrets.token_urlsafe(32)
        self._lock = threading.Lock()

    def redeem(self, offered: str) -> str:
        with self._lock:
            if self.token is None or not hmac.compare_digest(offered.encode(), self.token.encode()):
                raise Unauthenticated(
                    "this login link is invalid or was already used",
                    hint="restart `govops serve` for a new one-time login URL",
                )
            sid = self.store.open(LOCAL_ADMIN)  # first: a database that fails leaves the link usable
            self.token = None  # one time only
            return sid

    def open_session(self, principal: Principal) -> str:
        return self.store.open(principal)

    def lookup(self, sid: str) -> Principal | None:
        return self.store.lookup(sid)

    def close(self, sid: str) -> None:
        self.store.close(sid)


def authenticate(request: Request) -> Principal:
    state = request.app.state
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        verifier: TokenVerifier | None = getattr(state, "token_verifier", None)
        if verifier is None:
            raise Unauthenticated(
                "bearer tokens are not accepted: no identity provider is configured",
                hint="set GOVOPS_KEYCLOAK_URL, or use the local login URL",
            )
        return verifier.verify(header[7:].strip())
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        principal = state.local_login.lookup(sid)
        if principal is not None:
            return principal
    raise Unauthenticated("not signed in", hint="open the login URL printed by `govops serve`")


class Allow:
    """A route's declared roles. `Allow()` with no role means any signed-in user."""

    def __init__(self, *roles: str, public: bool = False) -> None:
        self.roles = frozenset(roles)
        self.public = public

    def __call__(self, request: Request) -> Principal | None:
        if self.public:
            return None
        principal = authenticate(request)
        if self.roles and not principal.has(*self.roles):
            raise PermissionDenied(
                f"this needs one of the roles: {', '.join(sorted(self.roles))}",
                hint="ask your security administrator for the role",
            )
        request.state.principal = principal
        return principal

    def __repr__(self) -> str:
        return "PUBLIC" if self.public else f"Allow({', '.join(sorted(self.roles)) or 'signed-in'})"


PUBLIC = Allow(public=True)
