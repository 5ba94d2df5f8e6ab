"""Admission: no more requests inside the app than the limit; the rest wait, none is refused.

200 clients once deadlocked the gateway: requests that held a pooled database connection waited
for a thread while every thread waited for a connection (bench/gateway_api.py)."""

from __future__ import annotations

import anyio

from gateway.http.admission import AdmissionMiddleware


async def _drive(limit: int, requests: int, path: str = "/api/v1/cameras") -> tuple[int, int]:
    inside = peak = 0
    release = anyio.Event()
    full = anyio.Event()

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        if inside >= limit:
            full.set()
        await release.wait()
        inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    mw = AdmissionMiddleware(app, limit=limit)
    done = 0

    async def one() -> None:
        nonlocal done
        sent: list[dict] = []

        async def send(message) -> None:  # type: ignore[no-untyped-def]
            sent.append(message)

        await mw({"type": "http", "path": path}, None, send)  # type: ignore[arg-type]
        assert sent[0]["status"] == 200
        done += 1

    async with anyio.create_task_group() as tg:
        for _ in range(requests):
            tg.start_soon(one)
        await full.wait()
        for _ in range(10):  # let every waiting task try to get in
            await anyio.sleep(0)
        release.set()
    return peak, done


def test_at_most_limit_requests_are_inside_and_every_one_is_answered() -> None:
    peak, done = anyio.run(_drive, 3, 20)
    assert peak == 3 and done == 20


def test_liveness_never_waits() -> None:
    peak, done = anyio.run(_drive, 1, 3, "/healthz")
    assert peak == 3 and done == 3
