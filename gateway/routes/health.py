"""Health, readiness and metrics: the routes a probe or a scraper calls (sign-in is in session.py)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.auth import PUBLIC
from gateway.deps import RuntimeDep
from gateway.runtime import DOMAIN_MIGRATIONS
from govops.db import pending_heads
from govops.errors import GovopsError, Unauthenticated

router = APIRouter()


@router.get("/healthz", dependencies=[Depends(PUBLIC)], tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", dependencies=[Depends(PUBLIC)], tags=["health"])
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


@router.get("/metrics", dependencies=[Depends(PUBLIC)], tags=["health"])
def metrics(request: Request, runtime: RuntimeDep) -> Response:
    token = runtime.settings.metrics_token
    if token is not None:
        offered = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(offered.encode(), token.get_secret_value().encode()):
            raise Unauthenticated("metrics need the scrape bearer token", hint="set bearer_token in the scrape config")
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
