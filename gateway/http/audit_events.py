"""Audit records the HTTP edge writes itself: sign-ins, sign-outs and denials (401, 403)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request

from govops import audit
from govops.logs import log

logger = logging.getLogger("govops.gateway.audit")


def record(
    request: Request,
    action: str,
    *,
    actor: str,
    target: str | None = None,
    result: str = "success",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one record in a transaction of its own. Never raises: a failed audit write is
    logged, and the answer the user gets (a sign-in, a 401) does not change because of it."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return
    info = {
        "method": request.method,
        "path": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        "client": request.client.host if request.client else None,
        **(detail or {}),
    }
    try:
        with runtime.transaction(write=True) as session:  # reads the tail, then appends
            audit.append(
                session,
                actor=actor[:200],
                action=action,
                target=(target or request.url.path)[:300],
                result=result,
                detail=info,
            )
    except Exception as exc:  # the audit store is down: say so in the log, keep serving
        log(logger, "audit write failed", logging.ERROR, action=action, error=exc.__class__.__name__)


def actor_of(request: Request) -> str:
    """Who sent a denied request, if they could be identified at all."""
    from gateway.auth import authenticate
    from govops.errors import GovopsError

    principal = getattr(request.state, "principal", None)
    if principal is None:
        try:
            principal = authenticate(request)
        except GovopsError:
            return "anonymous"
    return str(principal.subject)
