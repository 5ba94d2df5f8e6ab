"""The FastAPI app factory: one API and one web console over every domain."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Histogram

from gateway import http
from gateway.auth import LocalLogin
from gateway.http import problems, versioning
from gateway.http.metrics import MetricsMiddleware
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
from gateway.routes import reports as report_routes
from gateway.routes import status as status_routes
from gateway.routes import workorders as workorder_routes
from gateway.runtime import Runtime
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

    app.add_middleware(MetricsMiddleware, requests=requests, latency=latency)
    http.install(app, runtime.settings)  # problem+json errors, request IDs, CSRF, body limits, headers

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
    app.include_router(workorder_routes.router)
    app.include_router(report_routes.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    versioning.apply(app)  # every /api/... route under /api/v1 (keep this after the last include_router)
    return app


_wants_html = problems.wants_html  # the branch point between problem+json and console HTML pages
