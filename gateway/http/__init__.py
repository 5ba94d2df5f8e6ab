"""The gateway's HTTP edge: versioning, problem responses, request IDs, security headers,
CSRF, body limits and admission (no more requests inside than threads). Every route gets these
from `install(app)`, none by itself."""

from __future__ import annotations

from fastapi import FastAPI

from govops.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Error handlers, the OpenAPI additions and the middlewares (the edge outermost, then
    admission, then the guard)."""
    from gateway.http import admission, edge, guard, openapi, problems

    problems.install(app)
    openapi.install(app)
    app.add_middleware(guard.GuardMiddleware, public_url=settings.public_url)
    app.add_middleware(admission.AdmissionMiddleware)
    app.add_middleware(edge.EdgeMiddleware, public_url=settings.public_url)
