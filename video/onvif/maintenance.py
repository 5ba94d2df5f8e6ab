"""Device maintenance: asking a camera to restart (ONVIF Device Management SystemReboot)."""

from __future__ import annotations

from collections.abc import Iterable

from video.onvif.address import DeviceAddress
from video.onvif.answers import get, text
from video.onvif.errors import DeviceError
from video.onvif.transport import GuardedCamera, classify


async def system_reboot(
    address: str,
    user: str | None,
    password: str | None,
    *,
    request_timeout_s: float = 8.0,
    allowed_hosts: Iterable[str] = (),
) -> str:
    """Ask the device to restart; its answer's message. Raises `DeviceError` when the device does
    not answer or refuses (many do not implement it)."""
    cam = GuardedCamera(
        DeviceAddress.parse(address), user, password, timeout_s=request_timeout_s, allowed_hosts=allowed_hosts
    )
    try:
        try:
            if not cam.xaddrs:
                await cam.update_xaddrs()
            devicemgmt = await cam.create_devicemgmt_service()
            answer = await devicemgmt.SystemReboot()
        except DeviceError:
            raise
        except Exception as exc:
            raise classify(exc, "device.SystemReboot") from None
        message = answer if isinstance(answer, str) else get(answer, "Message")
        return text(message, "reboot message", max_len=200) or "rebooting"
    finally:
        await cam.close()
