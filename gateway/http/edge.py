"""The outermost layer of every answer (pure ASGI, reads no body).

- a request ID: taken from `X-Request-ID` when it looks sane, made otherwise; echoed in every
  answer and set for every log line of the request;
- the old unversioned paths: `/api/...` answers 308 to `/api/v1/...` (method and body are kept);
- security headers: CSP with frame-ancestors, X-Frame-Options, nosniff, Referrer-Policy, and
  `Cache-Control: no-store` on API answers;
- redirects never point at the `Host` header: a Location built from it (Starlette's trailing-slash
  redirect does) is rewritten to the configured public URL, or made relative.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http import versioning
from govops.errors import PROBLEM_MEDIA_TYPE, problem
from govops.logs import request_id as request_id_var

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Scripts only from the gateway itself: no inline <script>, no on* attributes (the templates pass
# data to gateway/static/*.js in data-* attributes). Styles likewise, but for the <style> elements
# of the templates that must stand alone (the printable compliance report is also a file the CLI
# writes), each allowed by the hash of its exact text; no style attributes anywhere.
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def _style_hashes() -> str:
    found = set()
    for template in sorted(TEMPLATES.glob("*.html")):
        for text in re.findall(r"<style>(.*?)</style>", template.read_text(encoding="utf-8"), re.S):
            found.add("'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'")
    return " ".join(sorted(found))


CSP = (
    f"default-src 'self'; script-src 'self'; style-src 'self' {_style_hashes()}; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


async def send_problem(send: Send, status: int, code: str, detail: str, *, hint: str | None, scope: Scope) -> None:
    """Answer from a middleware, before the app (and its exception handlers) ran."""
    rid = scope.get("state", {}).get("request_id")
    body = json.dumps(
        problem(status, code, detail, hint=hint, request_id=rid, instance=scope.get("path")), ensure_ascii=False
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, public_url: str | None = None) -> None:
        self.app = app
        self.public = urlsplit(public_url) if public_url else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        offered = headers.get("x-request-id", "")
        rid = offered if _SANE_ID.match(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        path: str = scope["path"]
        started = False
        if "app" in scope:
            versioning.ensure(scope["app"])  # routes included after the app was built

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                out = MutableHeaders(scope=message)
                out["x-request-id"] = rid
                for name, value in SECURITY_HEADERS.items():
                    out.setdefault(name, value)
                ctype = out.get("content-type", "")
                if path.startswith("/api/") or "json" in ctype:
                    out.setdefault("cache-control", "no-store")
                if "location" in out:
                    out["location"] = self._safe_location(out["location"], headers.get("host", ""))
            await send(message)

        try:
            raw = scope.get("raw_path")  # still percent-encoded: safe to put in a header
            target = versioning.versioned(raw.decode("latin-1") if raw else path)
            if target is not None and versioning.versioned(path) is not None:
                query = scope.get("query_string", b"").decode("latin-1")
                location = target + (f"?{query}" if query else "")
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 308,
                        "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            try:
                await self.app(scope, receive, send_with_headers)
            except Exception:
                if not started:  # the exception handler logs it; here the answer keeps its headers
                    await send_problem(
                        send_with_headers,
                        500,
                        "internal_error",
                        "an internal error occurred; it has been logged",
                        hint="retry; if it persists, give the operators the request ID",
                        scope=scope,
                    )
                raise
        finally:
            request_id_var.reset(token)

    def _safe_location(self, location: str, host: str) -> str:
        parts = urlsplit(location)
        if not parts.netloc or not host or parts.netloc.lower() != host.lower():
            return location  # relative, or another service's URL (e.g. Keycloak's sign-in page)
        if self.public is not None and self.public.netloc.lower() == host.lower():
            return location
        rest = parts.path or "/"
        if parts.query:
            rest += f"?{parts.query}"
        if self.public is not None:
            return f"{self.public.scheme}://{self.public.netloc}{self.public.path.rstrip('/')}{rest}"
        return rest
