"""Admission: at most `limit` requests inside the app at once; the rest wait their turn here.

Why: FastAPI runs a request's sync dependencies and its handler in separate hops through
anyio's thread pool (40 threads). A request's database session checks out its connection in the
handler's hop and gives it back in the next hop (the dependency's exit), so between the two it
holds a connection while it waits for a thread. With 200 clients, more requests than the pool
has connections sat in that gap while every thread waited for a connection: a deadlock until
the pool's 30 s timeout, then 500s (bench/gateway_api.py, SQLite and PostgreSQL alike). With no
more requests inside than threads, each holding at most two connections (its unit of work and a
short sign-in lookup), the pool (govops.db: 2 × THREADS on SQLite) always has one to give, and
waiting happens in the event loop, where it costs nothing.

Pure ASGI, outside the guard (which looks the session up in a thread) and inside the edge (so a
waiting request already has its request ID). Liveness (`/healthz`) and static files never wait.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from govops.db import THREADS

EXEMPT_PREFIXES = ("/static/", "/healthz")


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, limit: int = THREADS) -> None:
        self.app = app
        self.limit = limit
        self._slots: anyio.Semaphore | None = None  # made on first use, inside the server's event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = anyio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
