"""The contract for a camera family (`CameraAdapter`), and its ONVIF implementation.

The device service (video/onvif/service.py) talks to devices only through this Protocol, so a
vendor family that speaks something other than ONVIF plugs in by implementing it. All methods
are coroutines. `discover` and `onboard` never raise for one bad device (each device's failure
is in its result); the `ptz_*` methods raise `DeviceError` (kind, step, message).
`Credentials` carries a device's user and password and the hosts other than its own that an
operator allowed for it; `creds` may also be a function of the target, one per device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from video.onvif.discovery import DiscoveryResult, probe
from video.onvif.onboarding import Credentials, OnboardResult, inspect_many
from video.onvif.ptz import PtzControl, ptz_control

CredentialsFor = Credentials | Callable[[str], Credentials]


@runtime_checkable
class CameraAdapter(Protocol):
    name: str

    async def discover(
        self, targets: Sequence[str], *, multicast: bool, interface: str | None, timeout_s: float
    ) -> DiscoveryResult: ...

    async def onboard(
        self,
        targets: Sequence[str],
        creds: CredentialsFor,
        *,
        concurrency: int,
        device_timeout_s: float,
        on_result: Callable[[OnboardResult], None] | None = None,
    ) -> list[OnboardResult]: ...

    async def ptz_move(
        self, address: str, creds: Credentials, profile: str, pan: float, tilt: float, zoom: float, timeout_s: float
    ) -> None: ...

    async def ptz_stop(self, address: str, creds: Credentials, profile: str) -> None: ...

    async def ptz_goto_preset(self, address: str, creds: Credentials, profile: str, preset: str) -> None: ...

    async def ptz_set_preset(self, address: str, creds: Credentials, profile: str, name: str) -> str: ...

    async def ptz_presets(self, address: str, creds: Credentials, profile: str) -> list[dict[str, str]]: ...


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
        creds: CredentialsFor,
        *,
        concurrency: int = 32,
        device_timeout_s: float = 20.0,
        on_result: Callable[[OnboardResult], None] | None = None,
    ) -> list[OnboardResult]:
        return await inspect_many(
            targets,
            creds,
            concurrency=concurrency,
            device_timeout_s=device_timeout_s,
            request_timeout_s=self.request_timeout_s,
            on_result=on_result,
        )

    def _control(self, address: str, creds: Credentials, profile: str) -> AbstractAsyncContextManager[PtzControl]:
        return ptz_control(
            address,
            creds.user,
            creds.password,
            profile,
            request_timeout_s=self.request_timeout_s,
            allowed_hosts=creds.allowed_hosts,
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
        async with self._control(address, creds, profile) as ptz:
            await ptz.continuous_move(pan, tilt, zoom, timeout_s)

    async def ptz_stop(self, address: str, creds: Credentials, profile: str) -> None:
        async with self._control(address, creds, profile) as ptz:
            await ptz.stop()

    async def ptz_goto_preset(self, address: str, creds: Credentials, profile: str, preset: str) -> None:
        async with self._control(address, creds, profile) as ptz:
            await ptz.goto_preset(preset)

    async def ptz_set_preset(self, address: str, creds: Credentials, profile: str, name: str) -> str:
        async with self._control(address, creds, profile) as ptz:
            return await ptz.set_preset(name)

    async def ptz_presets(self, address: str, creds: Credentials, profile: str) -> list[dict[str, str]]:
        async with self._control(address, creds, profile) as ptz:
            return await ptz.presets()
