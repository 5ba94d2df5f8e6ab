"""Onboarding many devices: bounded concurrency, a timeout per device, one result per device.

A device that fails says why (its `DeviceError`: kind, step, message) and the run goes on; no
device can stall or break another. `on_result` is called as each device finishes, which feeds a
progress bar or a stored run history, the way ansible-runner's event handler does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from video.onvif.errors import DeviceError
from video.onvif.inspection import Inspection
from video.onvif.models import DeviceFacts
from video.onvif.transport import classify, warm_up


@dataclass
class OnboardResult:
    target: str
    facts: DeviceFacts | None
    error: DeviceError | None
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return self.facts is not None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": self.target, "ok": self.ok, "elapsed_ms": round(self.elapsed_ms, 1)}
        if self.facts is not None:
            out["device"] = self.facts.as_dict()
        if self.error is not None:
            out["error"] = {"kind": self.error.kind, "step": self.error.step, "message": self.error.message}
            if self.error.hint:
                out["error"]["hint"] = self.error.hint
        return out


@dataclass(frozen=True)
class Credentials:
    """What the platform may use on one device: its user and password, and the hosts other than
    its own that an operator allowed it to send us to (see video.onvif.address)."""

    user: str | None
    password: str | None
    allowed_hosts: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never print a password, even in a debugger
        return (
            f"Credentials(user={self.user!r}, password={'***' if self.password else None}, "
            f"allowed_hosts={self.allowed_hosts!r})"
        )


async def inspect_one(
    target: str, creds: Credentials, *, device_timeout_s: float, request_timeout_s: float
) -> OnboardResult:
    started = time.perf_counter()
    inspection = Inspection(
        target,
        creds.user,
        creds.password,
        request_timeout_s=min(request_timeout_s, device_timeout_s),
        allowed_hosts=creds.allowed_hosts,
    )
    try:
        async with asyncio.timeout(device_timeout_s):
            facts = await inspection.run()
        return OnboardResult(target, facts, None, (time.perf_counter() - started) * 1000)
    except TimeoutError:
        err = DeviceError(
            "timeout",
            f"onboarding did not finish within {device_timeout_s:g} s",
            step=inspection.step,
            hint="check the device answers; raise --timeout",
        )
    except Exception as exc:  # one device's failure never ends the run
        err = classify(exc, inspection.step)
    return OnboardResult(target, None, err, (time.perf_counter() - started) * 1000)


async def inspect_many(
    targets: Sequence[str],
    creds: Credentials | Callable[[str], Credentials],
    *,
    concurrency: int = 32,
    device_timeout_s: float = 20.0,
    request_timeout_s: float = 8.0,
    on_result: Callable[[OnboardResult], None] | None = None,
) -> list[OnboardResult]:
    """Inspect every target; results come back in the order of `targets`."""
    await warm_up()
    semaphore = asyncio.Semaphore(max(1, concurrency))
    pick = creds if callable(creds) else (lambda _t: creds)

    async def one(target: str) -> OnboardResult:
        async with semaphore:
            result = await inspect_one(
                target, pick(target), device_timeout_s=device_timeout_s, request_timeout_s=request_timeout_s
            )
        if on_result is not None:
            on_result(result)
        return result

    return list(await asyncio.gather(*(one(t) for t in dict.fromkeys(targets))))
