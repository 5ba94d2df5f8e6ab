"""The FastAPI app factory: one API and one web console over every domain."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import console_errors
from gateway.auth import LocalLogin
from gateway.routes import (
    alerts,
    audit,
    cameras,
    cloud,
    cluster,
    console,
    console_cloud,
    console_map,
    diagnosis_console,
    health,
    session,
    video_catalogue,
    video_console,
    video_diagnosis,
    video_onvif,
)
from gateway.routes import identity as identity_routes
from gateway.routes import status as status_routes
from gateway.runtime import Runtime
from govops.errors import GovopsError, Unauthenticated
from govops.logs import log
from identity.tokens import verifier_from_settings
from monitoring.collectors import register_collectors

logger = logging.getLogger("govops.gateway")
STATIC = Path(__file__).with_name("static")


def create_app(runtime: Runtime | None = None, *, local_login: LocalLogin | None = None) -> FastAPI:
    runtime = runtime or Runtime.build()
    app = FastAPI(
        title="govops",
        version="0.1.0",
        description="E-government infrastructure: cloud tenants, unified identity, Sharp Eyes video, O&M",
        docs_url=None,  # /docs is served offline from npm swagger-ui-dist (routes/console.py)
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.local_login = local_login or LocalLogin(runtime.signins)
    app.state.token_verifier = None
    if runtime.settings.keycloak_url:  # Keycloak access tokens are accepted as bearer tokens
        app.state.token_verifier = verifier_from_settings(runtime.settings, runtime.sessions)

    registry = CollectorRegistry(auto_describe=True)
    app.state.registry = registry
    requests = Counter(
        "govops_http_requests", "HTTP requests by route and status", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "govops_http_request_seconds", "HTTP request latency by route", ["method", "route"], registry=registry
    )
    register_collectors(registry, runtime.sessions, runtime.settings, runtime.video)

    @app.middleware("http")
    async def metrics_and_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        # The route template, not the path: a bounded label set.
        name = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        requests.labels(request.method, name, str(response.status_code)).inc()
        latency.labels(request.method, name).observe(elapsed)
        return response

    @app.exception_handler(GovopsError)
    async def govops_error(request: Request, exc: GovopsError) -> Response:
        if isinstance(exc, Unauthenticated) and _wants_html(request):
            return RedirectResponse("/signin", status_code=303)
        if exc.http_status >= 500:
            log(logger, "request failed", logging.ERROR, path=request.url.path, error=exc.message)
        return JSONResponse(exc.as_dict(), status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return JSONResponse(
            {"error": "validation_failed", "message": "the request is not valid", "details": errors}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return JSONResponse({"error": "http_error", "message": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log(logger, "unexpected error", logging.ERROR, path=request.url.path, error=exc.__class__.__name__)
        return JSONResponse(
            {"error": "internal_error", "message": "an internal error occurred; it has been logged"}, status_code=500
        )

    for module in (
        alerts,
        health,
        session,
        cameras,
        video_onvif,
        video_catalogue,
        video_diagnosis,
        audit,
        cloud,
        cluster,
        console,
        video_console,
        diagnosis_console,
    ):
        app.include_router(module.router)
    app.include_router(identity_routes.router)
    app.include_router(status_routes.router)
    app.include_router(console_cloud.router)
    app.include_router(console_map.router)
    app.include_router(audit.viewer)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    console_errors.install(app)  # browsers get HTML error pages; the API keeps its own answers
    return app


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")
