"""PTZ commands on one onboarded device (continuous move, stop, presets).

The device's answers pass the same guarded transport as onboarding; a few devices answer PTZ
with unbound prefixes, which the lenient readers below still read (screened, never hostile).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from govops.errors import ValidationFailed
from video.onvif import answers
from video.onvif.address import DeviceAddress
from video.onvif.errors import DeviceError
from video.onvif.transport import GuardedCamera, classify
from video.onvif.xmlsafe import local, parse


def _duration(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=max(0.1, min(seconds, 300.0)))


class PtzControl:
    """PTZ commands on one device. Use `async with ptz_control(...) as ptz:`."""

    def __init__(self, cam: GuardedCamera, profile_token: str) -> None:
        self._cam = cam
        self.profile_token = profile_token

    async def _service(self) -> Any:
        try:
            if not self._cam.xaddrs:
                await self._cam.update_xaddrs()
            return await self._cam.create_ptz_service()
        except Exception as exc:
            raise classify(exc, "ptz") from None

    async def _call(self, op: str, params: dict[str, Any]) -> Any:
        service = await self._service()
        self._transport = service.transport
        try:
            return await getattr(service, op)({"ProfileToken": self.profile_token, **params})
        except Exception as exc:
            raise classify(exc, f"ptz.{op}") from None

    def _lenient(self, err: DeviceError) -> Any:
        """The last answer read without the schema, for devices whose PTZ answers use unbound
        prefixes (the command itself was carried out). Still screened; never hostile input."""
        raw = getattr(getattr(self, "_transport", None), "last_answer", None)
        if err.kind != "malformed" or not raw:
            raise err
        return parse(raw, what="PTZ answer")

    async def continuous_move(self, pan: float, tilt: float, zoom: float = 0.0, timeout_s: float = 5.0) -> None:
        for name, v in (("pan", pan), ("tilt", tilt), ("zoom", zoom)):
            if not -1.0 <= v <= 1.0:
                raise ValidationFailed(f"{name} velocity {v} must be between -1 and 1")
        await self._call(
            "ContinuousMove",
            {"Velocity": {"PanTilt": {"x": pan, "y": tilt}, "Zoom": {"x": zoom}}, "Timeout": _duration(timeout_s)},
        )

    async def stop(self) -> None:
        await self._call("Stop", {"PanTilt": True, "Zoom": True})

    async def goto_preset(self, preset_token: str) -> None:
        await self._call("GotoPreset", {"PresetToken": preset_token})

    async def set_preset(self, name: str) -> str:
        try:
            answer = await self._call("SetPreset", {"PresetName": name})
            token = answers.text(
                answers.get(answer, "PresetToken") if not isinstance(answer, str) else answer,
                "preset token",
                max_len=64,
            )
        except DeviceError as err:
            root = self._lenient(err)
            token = next(
                (
                    answers.text(el.text, "preset token", max_len=64)
                    for el in root.iter()
                    if local(el.tag) == "PresetToken"
                ),
                None,
            )
        if not token:
            raise DeviceError("malformed", "SetPreset gave no preset token", step="ptz.SetPreset")
        return token

    async def presets(self) -> list[dict[str, str]]:
        out = []
        try:
            answer = await self._call("GetPresets", {})
            items = [(answers.get(i, "token"), answers.get(i, "Name")) for i in answer or []]
        except DeviceError as err:
            root = self._lenient(err)
            items = [
                (el.get("token"), next((c.text for c in el if local(c.tag) == "Name"), None))
                for el in root.iter()
                if local(el.tag) == "Preset"
            ]
        for raw_token, raw_name in items[:100]:
            token = answers.text(raw_token, "preset token", max_len=64)
            if token:
                out.append({"token": token, "name": answers.text(raw_name, "preset name") or token})
        return out


@asynccontextmanager
async def ptz_control(
    address: str,
    user: str | None,
    password: str | None,
    profile_token: str,
    *,
    request_timeout_s: float = 8.0,
    allowed_hosts: Iterable[str] = (),
) -> AsyncIterator[PtzControl]:
    cam = GuardedCamera(
        DeviceAddress.parse(address), user, password, timeout_s=request_timeout_s, allowed_hosts=allowed_hosts
    )
    try:
        yield PtzControl(cam, profile_token)
    finally:
        await cam.close()
