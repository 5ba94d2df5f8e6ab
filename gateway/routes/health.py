"""Health, readiness, metrics and sign-in: the routes that exist before a user does."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.auth import PUBLIC, SESSION_COOKIE, SESSION_TTL, Allow
from gateway.deps import RuntimeDep
from gateway.http import audit_events
from gateway.runtime import DOMAIN_MIGRATIONS
from govops.db import pending_heads
from govops.errors import GovopsError, Unauthenticated
from govops.principal import Principal

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


@router.get("/login", dependencies=[Depends(PUBLIC)], include_in_schema=False)
def login(request: Request, token: Annotated[str, Query(max_length=200)]) -> Response:
    sid = request.app.state.local_login.redeem(token)
    principal = request.app.state.local_login.lookup(sid)
    audit_events.record(request, "auth.login", actor=principal.subject if principal else "?", detail={"via": "local"})
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, sid, max_age=SESSION_TTL, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.get("/signin", dependencies=[Depends(PUBLIC)], include_in_schema=False)
def signin(request: Request) -> HTMLResponse:
    sso = (
        "<p><a class=button href=/login/sso>统一身份认证登录 (sign in with your certificate)</a></p>"
        if request.app.state.token_verifier is not None
        else ""
    )
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>govops · 请登录</title>"
        "<link rel=stylesheet href=/static/console.css><main class=card><h1>govops 运维平台</h1>"
        "<p>请使用 <code>govops serve</code> 打印的一次性登录链接登录，或通过统一身份认证登录。</p>"
        f"{sso}<p>Sign in with the one-time login URL printed by <code>govops serve</code>.</p></main>",
        status_code=401,
    )


@router.post("/logout", include_in_schema=False)
def logout(request: Request, principal: Annotated[Principal, Depends(Allow())]) -> Response:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        request.app.state.local_login.close(sid)
    audit_events.record(request, "auth.logout", actor=principal.subject)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/api/whoami", tags=["auth"])
def whoami(principal: Annotated[Principal, Depends(Allow())]) -> dict[str, object]:
    return {
        "subject": principal.subject,
        "name": principal.name,
        "roles": sorted(principal.roles),
        "department": principal.department,
        "platform": principal.platform,
    }
