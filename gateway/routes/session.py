"""Signing in and out: the one-time login URLs (one per local account), the sign-in page, logout and whoami.

The sessions these routes open and close live in the database (gateway.auth.LocalLogin over
govops.sessions), so a cookie issued by one gateway replica is honoured by every other.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.auth import PUBLIC, SESSION_COOKIE, SESSION_TTL
from gateway.deps import SignedIn
from gateway.http import audit_events

router = APIRouter()


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
        "<p>请使用 <code>govops serve</code> 打印的一次性登录链接登录（系统管理员、安全管理员、审计管理员各一个），"
        "或通过统一身份认证登录。</p>"
        f"{sso}<p>Sign in with one of the one-time login URLs printed by <code>govops serve</code> "
        "(one each for the system admin, the security admin and the auditor).</p></main>",
        status_code=401,
    )


@router.post("/logout", include_in_schema=False)
def logout(request: Request, principal: SignedIn) -> Response:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        request.app.state.local_login.close(sid)
    audit_events.record(request, "auth.logout", actor=principal.subject)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/api/whoami", tags=["auth"])
def whoami(principal: SignedIn) -> dict[str, object]:
    return {
        "subject": principal.subject,
        "name": principal.name,
        "roles": sorted(principal.roles),
        "department": principal.department,
        "platform": principal.platform,
        "contractor": principal.contractor,
    }
