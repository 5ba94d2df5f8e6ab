"""Console errors as HTML pages that say what to do — never JSON, never a stack trace.

`install(app)` wraps the app's exception handlers, whatever they are: a browser asking for a page
(not an `/api/` path, `Accept: text/html`) gets the page; everybody else gets the API's own answer
untouched. A 403 page names the role that would open the page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from gateway.templating import templates
from govops.errors import GovopsError
from govops.logs import log

logger = logging.getLogger("govops.console")

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

ROLE_NAMES = {
    "ops-engineer": "运维工程师 ops engineer",
    "dept-admin": "部门管理员 department admin",
    "security-staff": "安保值班人员 security staff",
    "auditor": "审计员 auditor",
    "sec-admin": "安全管理员 security admin",
}
TITLES = {
    400: ("请求有误", "The request is not valid"),
    401: ("请先登录", "Please sign in"),
    403: ("无权访问", "You may not open this page"),
    404: ("页面不存在", "There is no such page"),
    405: ("不支持此操作", "This page does not accept that action"),
    409: ("操作冲突", "That conflicts with something in progress"),
    422: ("输入有误", "Some input is not valid"),
    500: ("服务器内部错误", "Something went wrong on our side"),
    503: ("服务暂不可用", "A service this page needs is not available"),
}


def wants_html(request: Request) -> bool:
    path = request.url.path
    return not path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def roles_needed(message: str) -> list[str]:
    """The roles a PermissionDenied names ("this needs one of the roles: a, b")."""
    m = re.search(r"roles?: ([a-z, -]+)", message)
    return [r.strip() for r in m.group(1).split(",") if r.strip()] if m else []


def page(request: Request, status: int, *, detail: str, todo: str, roles: list[str] | None = None) -> Response:
    zh, en = TITLES.get(status, TITLES[500] if status >= 500 else TITLES[400])
    principal = getattr(request.state, "principal", None)
    if principal is None:  # Allow() stores it only when it passes; a 403 still knows who asked
        try:
            from gateway.auth import authenticate

            principal = authenticate(request)
        except GovopsError:
            principal = None
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "principal": principal,
            "status": status,
            "zh": zh,
            "en": en,
            "detail": detail,
            "todo": todo,
            "roles": [(r, ROLE_NAMES.get(r, r)) for r in roles or []],
        },
        status_code=status,
    )


def render(request: Request, problem: dict[str, Any]) -> Response | None:
    """The browser's page for an API problem (gateway.http.problems asks this first, after the
    denial is audited); None for a 401, which the caller turns into the sign-in redirect."""
    status = int(problem.get("status", 500))
    detail = str(problem.get("detail") or problem.get("message") or "")
    try:
        if status == 401:
            return None
        if status == 403:
            return page(
                request,
                403,
                detail="此页面需要以下角色之一 This page needs one of these roles.",
                todo="请向安全管理员申请该角色，或返回首页。Ask your security administrator (sec-admin) for the role, "
                "or go back to your home page.",
                roles=roles_needed(detail),
            )
        if status == 404 and problem.get("error") in (None, "not_found", "http_error"):
            return page(
                request,
                404,
                detail=detail or f"{request.url.path} 不存在 does not exist.",
                todo="请使用上方导航栏。Use the navigation above; it lists every page your role may open.",
            )
        if status == 422:  # a form a person filled in: "bad request" in their words
            status = 400
        todo = str(problem.get("hint") or "请返回上一页重试。Go back and try again.")
        return page(request, status, detail=detail, todo=todo)
    except Exception as page_error:  # never let the error page itself fail into a traceback
        log(logger, "error page failed", logging.ERROR, error=page_error.__class__.__name__)
        return None
