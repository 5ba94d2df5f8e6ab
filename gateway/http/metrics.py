"""Request counts and latency by route template (pure ASGI: it passes the body through untouched,
so a body-limit error raised while the route reads it reaches the route as is)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # The route template, not the path: a bounded label set.
            name = getattr(scope.get("route"), "path", "unmatched")
            self.requests.labels(scope["method"], name, str(status)).inc()
            self.latency.labels(scope["method"], name).observe(time.perf_counter() - started)
