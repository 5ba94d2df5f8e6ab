"""Health, readiness and metrics: the routes a probe or a scraper calls (sign-in is in session.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.auth import PUBLIC
from gateway.deps import RuntimeDep
from gateway.http.openapi import media, problems
from gateway.runtime import DOMAIN_MIGRATIONS
from govops.db import pending_heads
from govops.errors import GovopsError
from monitoring.exposition import check_scrape

router = APIRouter()


@router.get("/healthz", dependencies=[Depends(PUBLIC)], tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


READINESS = {
    "type": "object",
    "required": ["status", "database"],
    "properties": {"status": {"enum": ["ready", "unavailable"]}, "database": {"type": "string"}},
}


@router.get(
    "/readyz",
    dependencies=[Depends(PUBLIC)],
    tags=["health"],
    responses={
        200: {"content": {"application/json": {"schema": READINESS}}},
        503: {"description": "Not ready: the database", "content": {"application/json": {"schema": READINESS}}},
    },
)
def readyz(runtime: RuntimeDep) -> Response:
    try:
        runtime.check()
        migrated = not pending_heads(runtime.engine, DOMAIN_MIGRATIONS)
    except GovopsError as exc:
        return JSONResponse({"status": "unavailable", "database": exc.message}, status_code=503)
    if not migrated:
        return JSONResponse(
            {"status": "unavailable", "database": "not migrated; run `govops db upgrade`"}, status_code=503
        )
    return JSONResponse({"status": "ready", "database": "ok"})


@router.get(
    "/metrics",
    dependencies=[Depends(PUBLIC)],
    tags=["health"],
    response_class=Response,
    responses={
        **media("text/plain", "application/openmetrics-text", description="Prometheus exposition"),
        **problems("401", "503"),
    },
)
def metrics(request: Request, runtime: RuntimeDep) -> Response:
    check_scrape(runtime.settings, request.headers.get("authorization", ""))
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
