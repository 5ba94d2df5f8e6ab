"""API v1: every `/api/...` route answers under `/api/v1/...`, set in one place.

Route modules keep declaring `/api/...`; `apply(app)` moves every API route of every included
router under `/api/v1` (idempotent, and cheap to call again after a late `include_router`). The
old paths answer 308 to the new ones in `gateway.http.edge` (method and body are kept).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import compile_path

API_PREFIX = "/api/v1"


def api_routes(app: FastAPI) -> Iterator[tuple[Any, APIRoute]]:
    """Every APIRoute the app serves, with the router that holds it (included routers walked)."""
    seen: set[int] = set()
    stack: list[Any] = [app.router]
    while stack:
        router = stack.pop()
        if id(router) in seen:
            continue
        seen.add(id(router))
        for route in router.routes:
            if isinstance(route, APIRoute):
                yield router, route
            elif hasattr(route, "original_router"):  # FastAPI's _IncludedRouter
                stack.append(route.original_router)


def versioned(path: str) -> str | None:
    if path.startswith("/api/") and not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
        return API_PREFIX + path[len("/api") :]
    return None


def apply(app: FastAPI) -> int:
    """Move unversioned API routes under /api/v1; returns how many moved."""
    moved = 0
    for router, route in list(api_routes(app)):
        new = versioned(route.path)
        if new is None:
            continue
        route.path = new
        route.path_regex, route.path_format, route.param_convertors = compile_path(new)
        router._routes_version = getattr(router, "_routes_version", 0) + 1  # drop FastAPI's cached views
        moved += 1
    app.state.api_routes_version = app.router._get_routes_version()
    return moved


def ensure(app: FastAPI) -> None:
    """Re-apply when routes were added after the app was built (cheap when nothing changed)."""
    if getattr(app.state, "api_routes_version", None) != app.router._get_routes_version():
        apply(app)
