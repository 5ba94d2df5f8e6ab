"""Checks on state-changing requests, made before a byte of the body is read (pure ASGI).

1. CSRF: a request that authenticates by the session cookie must come from the gateway's own
   pages: `Sec-Fetch-Site` (same-origin or none) or, without it, an `Origin` equal to the
   gateway's own. Requests with neither header are not from a browser and pass.
2. Authentication: a route that is not public refuses an anonymous caller with 401 before the
   body is read, so an unauthenticated 150 MB POST costs nothing.
3. Body size: a declared `Content-Length` over the route's limit is refused with 413 at once; a
   streamed body is counted and cut off at the limit.

A route's limit is `openapi_extra={"x-body-limit": BYTES}` on its decorator, else the first
matching entry of BODY_LIMITS, else DEFAULT_BODY_LIMIT.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth import SESSION_COOKIE, Allow, authenticate
from gateway.http import audit_events, problems
from gateway.http.edge import send_problem
from gateway.http.versioning import api_routes
from govops.errors import GovopsError, problem

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MiB = 1024 * 1024
DEFAULT_BODY_LIMIT = 2 * MiB
BODY_LIMITS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"^/api/v1/video/(areas/)?import$"), 200 * MiB),  # catalogue imports (CSV, GeoJSON)
    (re.compile(r"^/api/v1/identity/.*import"), 50 * MiB),  # directory imports
]
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


def _route_of(scope: Scope) -> APIRoute | None:
    app = scope.get("app")
    if app is None:
        return None
    for _, route in api_routes(app):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None


def _is_public(route: APIRoute) -> bool:
    cached = route.__dict__.get("_govops_public")
    if cached is None:
        stack, cached = list(route.dependant.dependencies), False
        while stack:
            dep = stack.pop()
            if isinstance(dep.call, Allow) and dep.call.public:
                cached = True
                break
            stack.extend(dep.dependencies)
        route.__dict__["_govops_public"] = cached
    return bool(cached)


def body_limit(path: str, route: APIRoute | None) -> int:
    extra: dict[str, Any] = (route.openapi_extra or {}) if route is not None else {}
    if "x-body-limit" in extra:
        return int(extra["x-body-limit"])
    for pattern, limit in BODY_LIMITS:
        if pattern.search(path):
            return limit
    return DEFAULT_BODY_LIMIT


def cross_site(headers: Headers, own_origins: set[str]) -> str | None:
    """Why a cookie request looks cross-site, or None if it does not."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return None if site in ALLOWED_FETCH_SITES else f"Sec-Fetch-Site is {site}"
    origin = headers.get("origin")
    if origin is None:
        return None  # not a browser (curl, the CLI, a script): nothing ambient to abuse
    if origin.rstrip("/").lower() in own_origins:
        return None
    return f"Origin {origin} is not this gateway"


class GuardMiddleware:
    def __init__(self, app: ASGIApp, public_url: str | None = None) -> None:
        self.app = app
        self.public_origin = None
        if public_url:
            p = urlsplit(public_url)
            self.public_origin = f"{p.scheme}://{p.netloc}".lower()

    def _own_origins(self, scope: Scope, headers: Headers) -> set[str]:
        host = headers.get("host", "")
        own = {f"{scope.get('scheme', 'http')}://{host}".lower()}
        if self.public_origin:
            own.add(self.public_origin)
        return own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request = Request(scope)
        if SESSION_COOKIE in request.cookies and not headers.get("authorization"):
            reason = cross_site(headers, self._own_origins(scope, headers))
            if reason is not None:
                await self._deny(
                    request,
                    send,
                    403,
                    "csrf_refused",
                    f"cross-site request refused: {reason}",
                    "send the request from the govops console itself",
                )
                return
        route = _route_of(scope)
        if route is not None and not _is_public(route):
            try:
                await run_in_threadpool(authenticate, request)
            except GovopsError as exc:
                await self._deny(request, send, exc.http_status, exc.code, exc.message, exc.hint)
                return
        limit = body_limit(scope["path"], route)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_problem(
                send,
                413,
                "payload_too_large",
                f"the body is over this route's limit of {limit} bytes",
                hint="send a smaller body, or split the upload",
                scope=scope,
            )
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"the body is over this route's limit of {limit} bytes")
            return message

        await self.app(scope, counted, send)

    async def _deny(self, request: Request, send: Send, status: int, code: str, detail: str, hint: str | None) -> None:
        actor = "anonymous" if status == 401 else await run_in_threadpool(audit_events.actor_of, request)
        await run_in_threadpool(
            audit_events.record,
            request,
            "auth.denied",
            actor=actor,
            result="denied",
            detail={"status": status, "error": code, "reason": detail},
        )
        body = problem(
            status,
            code,
            detail,
            hint=hint,
            request_id=request.scope.get("state", {}).get("request_id"),
            instance=request.url.path,
        )
        # The same answer as the exception handlers give: problem+json, or a console page.
        await problems.respond(request, body)(request.scope, request.receive, send)
