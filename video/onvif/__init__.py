"""The ONVIF adapter: the one module family that talks to onvif-zeep-async (and WS-Discovery).

The rest of govops uses only what is exported here. A vendor adapter (a camera family that speaks
something other than ONVIF) implements `CameraAdapter`; what is not in that Protocol is not API.

    result = await discovery.probe(targets=["10.1.2.0/28"], timeout_s=2)
    results = await inspect_many([d.xaddrs[0] for d in result.devices], Credentials(u, p))
    async with ptz_control(cam.onvif_address, user, password, token) as ptz:
        await ptz.continuous_move(0.5, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from video.onvif.device import (
    DeviceAddress,
    DeviceFacts,
    PtzControl,
    StreamProfile,
    inspect_device,
    ptz_control,
    system_reboot,
    with_credentials,
)
from video.onvif.discovery import (
    DiscoveredDevice,
    DiscoveryResult,
    expand_endpoints,
    expand_targets,
    probe,
)
from video.onvif.errors import DeviceError
from video.onvif.onboarding import Credentials, OnboardResult, inspect_many

__all__ = [
    "CameraAdapter",
    "Credentials",
    "DeviceAddress",
    "DeviceError",
    "DeviceFacts",
    "DiscoveredDevice",
    "DiscoveryResult",
    "OnboardResult",
    "OnvifAdapter",
    "PtzControl",
    "StreamProfile",
    "expand_endpoints",
    "expand_targets",
    "inspect_device",
    "inspect_many",
    "probe",
    "ptz_control",
    "system_reboot",
    "with_credentials",
]


@runtime_checkable
class CameraAdapter(Protocol):
    """The contract for a camera family. All methods are coroutines; none raises for one bad
    device except `ptz_*`, which raise `DeviceError` (kind, step, message)."""

    name: str

    async def discover(
        self, targets: Sequence[str], *, multicast: bool, interface: str | None, timeout_s: float
    ) -> DiscoveryResult: ...

    async def onboard(
        self,
        targets: Sequence[str],
        creds: Credentials,
        *,
        concurrency: int,
        device_timeout_s: float,
        request_timeout_s: float,
    ) -> list[OnboardResult]: ...

    async def ptz_move(
        self, address: str, creds: Credentials, profile: str, pan: float, tilt: float, zoom: float, timeout_s: float
    ) -> None: ...

    async def ptz_stop(self, address: str, creds: Credentials, profile: str) -> None: ...

    async def ptz_goto_preset(self, address: str, creds: Credentials, profile: str, preset: str) -> None: ...

    async def ptz_set_preset(self, address: str, creds: Credentials, profile: str, name: str) -> str: ...


class OnvifAdapter:
    """`CameraAdapter` for ONVIF Profile S/T devices."""

    name = "onvif"

    def __init__(self, request_timeout_s: float = 8.0) -> None:
        self.request_timeout_s = request_timeout_s

    async def discover(
        self, targets: Sequence[str], *, multicast: bool = False, interface: str | None = None, timeout_s: float = 2.0
    ) -> DiscoveryResult:
        return await probe(targets=list(targets), multicast=multicast, interface=interface, timeout_s=timeout_s)

    async def onboard(
        self,
        targets: Sequence[str],
        creds: Credentials,
        *,
        concurrency: int = 32,
        device_timeout_s: float = 20.0,
        request_timeout_s: float | None = None,
    ) -> list[OnboardResult]:
        return await inspect_many(
            targets,
            creds,
            concurrency=concurrency,
            device_timeout_s=device_timeout_s,
            request_timeout_s=request_timeout_s or self.request_timeout_s,
        )

    async def ptz_move(
        self,
        address: str,
        creds: Credentials,
        profile: str,
        pan: float,
        tilt: float,
        zoom: float = 0.0,
        timeout_s: float = 5.0,
    ) -> None:
        async with ptz_control(
            address, creds.user, creds.password, profile, request_timeout_s=self.request_timeout_s
        ) as ptz:
            await ptz.continuous_move(pan, tilt, zoom, timeout_s)

    async def ptz_stop(self, address: str, creds: Credentials, profile: str) -> None:
        async with ptz_control(
            address, creds.user, creds.password, profile, request_timeout_s=self.request_timeout_s
        ) as ptz:
            await ptz.stop()

    async def ptz_goto_preset(self, address: str, creds: Credentials, profile: str, preset: str) -> None:
        async with ptz_control(
            address, creds.user, creds.password, profile, request_timeout_s=self.request_timeout_s
        ) as ptz:
            await ptz.goto_preset(preset)

    async def ptz_set_preset(self, address: str, creds: Credentials, profile: str, name: str) -> str:
        async with ptz_control(
            address, creds.user, creds.password, profile, request_timeout_s=self.request_timeout_s
        ) as ptz:
            return await ptz.set_preset(name)
