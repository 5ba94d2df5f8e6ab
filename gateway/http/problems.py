"""One error shape for the whole API: RFC 9457 problem details (`application/problem+json`).

Every error answer carries `type`, `title`, `status`, `detail`, `hint` and the request ID, plus
the earlier `error` (code) and `message` members. A browser asking for a page gets HTML instead:
`gateway.console_errors.render(request, problem)` is asked first when that module exists, then
the sign-in redirect for a 401.
"""

from __future__ import annotations

import importlib
import json
import logging
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from gateway.http import audit_events
from govops.errors import PROBLEM_MEDIA_TYPE, GovopsError, PermissionDenied, Unauthenticated, problem
from govops.logs import log

logger = logging.getLogger("govops.gateway")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "service_unavailable",
}
HTTP_HINTS = {
    404: "check the path; the API lives under /api/v1 (see /docs)",
    405: "see /docs for the methods this path accepts",
    413: "send a smaller body, or split the upload",
}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def wants_html(request: Request) -> bool:
    """The branch point between an API client (problem+json) and a browser (an HTML page)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _console_renderer() -> Any:
    try:
        module = importlib.import_module("gateway.console_errors")
    except ModuleNotFoundError as exc:
        if exc.name != "gateway.console_errors":
            raise
        return None
    return getattr(module, "render", None)


def respond(request: Request, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    if wants_html(request):
        render = _console_renderer()
        page = render(request, body) if render is not None else None
        if page is not None:
            return page
        if body["status"] == 401:
            return RedirectResponse("/signin", status_code=303)
    return ProblemResponse(body, status_code=body["status"], headers=headers)


async def _audit_denial(request: Request, status: int, code: str, detail: str) -> None:
    actor = await run_in_threadpool(audit_events.actor_of, request) if status == 403 else "anonymous"
    await run_in_threadpool(
        audit_events.record,
        request,
        "auth.denied",
        actor=actor,
        result="denied",
        detail={"status": status, "error": code, "reason": detail},
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(GovopsError)
    async def govops_error(request: Request, exc: GovopsError) -> Response:
        body = exc.as_problem(request_id=request_id(request), instance=request.url.path)
        if isinstance(exc, Unauthenticated | PermissionDenied):
            await _audit_denial(request, exc.http_status, exc.code, exc.message)
        if exc.http_status >= 500:
            log(logger, "request failed", logging.ERROR, path=request.url.path, error=exc.message)
        return respond(request, body)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        first = f": {errors[0]['field']} {errors[0]['message']}" if errors else ""
        body = problem(
            422,
            "validation_failed",
            f"the request is not valid{first}",
            hint="fix the fields listed in `details` (see /docs for the schema)",
            request_id=request_id(request),
            instance=request.url.path,
            details=errors,
        )
        body["message"] = "the request is not valid"
        return respond(request, body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        code = HTTP_CODES.get(status, "http_error")
        body = problem(
            status,
            code,
            str(exc.detail),
            hint=HTTP_HINTS.get(status),
            request_id=request_id(request),
            instance=request.url.path,
        )
        return respond(request, body, headers=dict(exc.headers or {}))

    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: OverflowError) -> Response:
        # The last line of defence: path IDs are declared in range (gateway.http.params.IntId).
        body = problem(
            422,
            "validation_failed",
            "a number in the request is out of range",
            hint="identifiers are positive integers below 2^63",
            request_id=request_id(request),
            instance=request.url.path,
        )
        return respond(request, body)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log(logger, "unexpected error", logging.ERROR, path=request.url.path, error=exc.__class__.__name__)
        body = problem(
            500,
            "internal_error",
            "an internal error occurred; it has been logged",
            hint="retry; if it persists, give the operators the request ID",
            request_id=request_id(request),
            instance=request.url.path,
        )
        return respond(request, body)
