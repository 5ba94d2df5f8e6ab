"""Who is calling, and may they?

Every route declares its roles with `Allow(...)` (or `PUBLIC`); tests walk the app and fail on a
route that declares nothing. In the embedded default the only way in is one of the three one-time
login URLs that `govops serve` prints, one per local account (system admin, security admin,
auditor: MLPS three-role separation, 三员分立); a token is exchanged once for an HttpOnly session
cookie. A principal holding two of those three roles is refused wherever it comes from.
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

from gateway.http import query
from govops.errors import PermissionDenied, Unauthenticated
from govops.principal import LOCAL_ACCOUNTS, SEPARATION_HINT, Principal, separated_roles_held
from govops.sessions import SESSION_TTL, SessionStore

SESSION_COOKIE = "govops_session"
__all__ = ["PUBLIC", "SESSION_COOKIE", "SESSION_TTL", "Allow", "LocalLogin", "TokenVerifier", "authenticate"]


class TokenVerifier(Protocol):
    """Turns a bearer token into a Principal, or raises Unauthenticated / ServiceUnavailable."""

    def verify(self, token: str) -> Principal: ...


class LocalLogin:
    """The one-time login tokens of `govops serve` (one per local account), and the door to the
    sign-in sessions.

    The tokens live in this process only (they are printed once, by the process that serves
    them); each opens a session for its own account once. The sessions they and single sign-on
    open live in the database (`govops.sessions`), so every replica of the gateway, and a
    restarted one, knows them.
    """

    def __init__(self, store: SessionStore, tokens: dict[str, str] | None = None) -> None:
        self.store = store
        self.tokens: dict[str, str | None] = {
            account: (tokens or {}).get(account) or secrets.token_urlsafe(32) for account in LOCAL_ACCOUNTS
        }
        self._lock = threading.Lock()

    @property
    def token(self) -> str | None:
        """The system admin's token (the account `govops serve` names first)."""
        return self.tokens["system-admin"]

    def redeem(self, offered: str) -> str:
        with self._lock:
            given = offered.encode()
            account = next((a for a, t in self.tokens.items() if t and hmac.compare_digest(given, t.encode())), None)
            if account is None:
                raise Unauthenticated(
                    "this login link is invalid or was already used",
                    hint="restart `govops serve` for new one-time login URLs",
                )
            sid = self.store.open(LOCAL_ACCOUNTS[account])  # first: a database that fails leaves the link usable
            self.tokens[account] = None  # one time only
            return sid

    def open_session(self, principal: Principal) -> str:
        return self.store.open(principal)

    def lookup(self, sid: str) -> Principal | None:
        return self.store.lookup(sid)

    def close(self, sid: str) -> None:
        self.store.close(sid)


def authenticate(request: Request) -> Principal:
    principal = _who(request)
    held = separated_roles_held(principal.roles)
    if held:  # 三员分立: whatever let this principal in, it may not act as two administrators
        sid = request.cookies.get(SESSION_COOKIE)
        if sid and not request.headers.get("authorization"):
            request.app.state.local_login.close(sid)  # e.g. a session from before the accounts were split
        raise Unauthenticated(
            f"{principal.subject} holds {' + '.join(held)}: together they break MLPS three-role separation (三员分立)",
            hint=f"{SEPARATION_HINT}; sign in with one of the three local accounts or your own certificate",
        )
    return principal


def _who(request: Request) -> Principal:
    state = request.app.state
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        verifier: TokenVerifier | None = getattr(state, "token_verifier", None)
        if verifier is None:
            raise Unauthenticated(
                "bearer tokens are not accepted: no identity provider is configured",
                hint="set GOVOPS_KEYCLOAK_URL, or use a local login URL",
            )
        return verifier.verify(header[7:].strip())
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        principal = state.local_login.lookup(sid)
        if principal is not None:
            return principal
    raise Unauthenticated("not signed in", hint="open a login URL printed by `govops serve`")


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
        query.refuse_unknown(request)  # after the role check: 401 and 403 come first
        return principal

    def __repr__(self) -> str:
        return "PUBLIC" if self.public else f"Allow({', '.join(sorted(self.roles)) or 'signed-in'})"


PUBLIC = Allow(public=True)
