"""Onboarding one device: one method per setup step, in Home Assistant's order.

Order (homeassistant/components/onvif/device.py): xaddrs → capabilities → clock check → device
information (with the MAC) → profiles → stream URI per profile → snapshot URI → PTZ → events
last. Steps that a camera needs (xaddrs, device information, profiles, a stream) fail the
device; the others are tried even when the capabilities say no and only add a warning when they
fail. A device whose answer is hostile (DTD, entities, oversized, a redirect or a service on
another host) fails at once, whatever the step.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Iterable
from typing import Any

from video.onvif import answers
from video.onvif.address import DeviceAddress
from video.onvif.errors import DeviceError
from video.onvif.models import DeviceFacts, StreamProfile
from video.onvif.transport import GuardedCamera, classify

CLOCK_TOLERANCE_S = 5.0  # WS-Security UsernameToken checks break beyond a few seconds
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
NS_PTZ = "http://www.onvif.org/ver20/ptz/wsdl"
NS_EVENTS = "http://www.onvif.org/ver10/events/wsdl"
NS_IMAGING = "http://www.onvif.org/ver20/imaging/wsdl"


class Inspection:
    """Runs the setup against one device; `step` tells a timeout where it was."""

    def __init__(
        self,
        target: str,
        user: str | None,
        password: str | None,
        *,
        request_timeout_s: float = 8.0,
        clock_tolerance_s: float = CLOCK_TOLERANCE_S,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self.target = target
        self.user = user
        self.password = password
        self.request_timeout_s = request_timeout_s
        self.clock_tolerance_s = clock_tolerance_s
        self.allowed_hosts = tuple(allowed_hosts)
        self.step = "address"
        self._timings: dict[str, float] = {}
        self._warnings: list[str] = []

    def _camera(self, address: DeviceAddress, *, adjust_time: bool = False) -> GuardedCamera:
        return GuardedCamera(
            address,
            self.user,
            self.password,
            timeout_s=self.request_timeout_s,
            adjust_time=adjust_time,
            allowed_hosts=self.allowed_hosts,
        )

    async def run(self) -> DeviceFacts:
        address = DeviceAddress.parse(self.target)
        cam = self._camera(address)
        try:
            try:
                return await self._setup(cam, address)
            except DeviceError as exc:
                if exc.kind != "auth" or self.step != "xaddrs":
                    raise
                if not self.user:
                    raise DeviceError(
                        "auth",
                        "the device asks for credentials and none were given",
                        step=self.step,
                        hint="give the ONVIF user with --user; the password comes from $GOVOPS_CAMERA_PASSWORD",
                    ) from None
                # Auth failing on the first call may be the clock: measure it and, if it is
                # off, retry once with the timestamps shifted by the skew.
                skew = await self._skew_or_none(cam)
                if skew is None or abs(skew) <= self.clock_tolerance_s:
                    raise
                await cam.close()
                cam = self._camera(address, adjust_time=True)
                facts = await self._setup(cam, address)
                facts.warnings.insert(0, f"authentication needed a {skew:+.0f} s clock correction")
                return facts
        finally:
            await cam.close()

    async def _setup(self, cam: GuardedCamera, address: DeviceAddress) -> DeviceFacts:
        self._warnings = []
        services = await self.xaddrs(cam)
        caps = await self.capabilities(cam)
        skew = await self.clock(cam)
        info = await self.device_information(cam)
        mac = await self.mac(cam, info["serial"])
        profiles = await self.profiles(cam)
        await self.stream_uris(cam, profiles)
        await self.snapshot_uris(cam, profiles)
        ptz = await self.ptz(cam, address, profiles)
        events = await self.events(cam, address)
        capabilities = {
            "ptz": ptz,
            "events": events,
            "snapshot": any(p.snapshot_uri for p in profiles),
            "imaging": NS_IMAGING in services or bool(answers.get(caps, "Imaging")),
            "multicast": bool(answers.get(caps, "Media", "StreamingCapabilities", "RTPMulticast")),
        }
        return DeviceFacts(
            address=address.url,
            manufacturer=info["manufacturer"] or "",
            model=info["model"] or "",
            firmware=info["firmware"],
            serial=info["serial"],
            hardware_id=info["hardware_id"],
            mac=mac,
            clock_skew_s=round(skew, 1) if skew is not None else None,
            profiles=profiles,
            capabilities=capabilities,
            services=services,
            warnings=self._warnings,
            timings_ms=dict(self._timings),
        )

    # --- how a step runs ---

    def _enter(self, step: str) -> None:
        self.step = step
        self._t0 = time.perf_counter()

    def _leave(self) -> None:
        self._timings[self.step] = round((time.perf_counter() - self._t0) * 1000, 1)

    def _explain(self, err: DeviceError) -> DeviceError:
        if err.kind == "timeout" and err.message == "no complete answer in time":
            err.message = f"no complete answer within {self.request_timeout_s:g} s"
        return err

    async def _hard(self, step: str, call: Awaitable[Any]) -> Any:
        """A step the camera needs: its failure fails the device."""
        self._enter(step)
        try:
            return await call
        except Exception as exc:
            raise self._explain(classify(exc, step)) from None
        finally:
            self._leave()

    async def _soft(self, step: str, call: Awaitable[Any]) -> Any:
        """A best-effort step: a failure is a warning, except a hostile answer."""
        self._enter(step)
        try:
            return await call
        except Exception as exc:  # classified below
            err = self._explain(classify(exc, step))
            if err.kind == "hostile":
                raise err from None
            self._warnings.append(f"{step}: {err.message}")
            return None
        finally:
            self._leave()

    # --- the steps, in order ---

    async def xaddrs(self, cam: GuardedCamera) -> dict[str, str]:
        await self._hard("xaddrs", cam.update_xaddrs())
        return {ns: url for ns, url in cam.xaddrs.items() if isinstance(url, str)}

    async def capabilities(self, cam: GuardedCamera) -> Any:
        return await self._soft("capabilities", cam.get_capabilities()) or {}

    async def clock(self, cam: GuardedCamera) -> float | None:
        skew = await self._soft("clock", self._clock_skew(cam))
        if skew is not None and abs(skew) > self.clock_tolerance_s:
            self._warnings.append(
                f"clock: the device clock is off by {skew:+.1f} s (over "
                f"{self.clock_tolerance_s:g} s breaks WS-Security); set NTP on it"
            )
        return skew

    async def device_information(self, cam: GuardedCamera) -> dict[str, str | None]:
        devicemgmt = await self._hard("device_info", cam.create_devicemgmt_service())
        info = await self._hard("device_info", devicemgmt.GetDeviceInformation())
        self._enter("device_info")
        try:
            return answers.device_information(info)
        finally:
            self._leave()

    async def mac(self, cam: GuardedCamera, serial: str | None) -> str | None:
        """Identify by MAC, falling back to the serial number (Home Assistant's rule)."""
        devicemgmt = await cam.create_devicemgmt_service()
        mac = answers.first_mac(await self._soft("mac", devicemgmt.GetNetworkInterfaces()))
        if mac is None:
            if not serial:
                raise DeviceError(
                    "malformed",
                    "the device has neither a MAC address nor a serial number, so it cannot be identified",
                    step="device_info",
                )
            self._warnings.append("identity: no MAC address from GetNetworkInterfaces; identified by serial number")
        return mac

    async def profiles(self, cam: GuardedCamera) -> list[StreamProfile]:
        media = await self._hard("profiles", cam.create_media_service())
        return answers.profiles(await self._hard("profiles", media.GetProfiles()))

    async def stream_uris(self, cam: GuardedCamera, profiles: list[StreamProfile]) -> None:
        media = await cam.create_media_service()
        for p in profiles:
            answer = await self._soft(
                "stream_uri", media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": p.token})
            )
            if answer is not None:
                try:
                    p.stream_uri = answers.clean_uri(
                        answers.get(answer, "Uri"), f"stream URI of {p.token}", ("rtsp", "rtsps", "http", "https")
                    )
                except DeviceError as exc:
                    self._warnings.append(f"stream_uri: {exc.message}")
        if not any(p.stream_uri for p in profiles):
            raise DeviceError("unsupported", "no profile gave a stream URI", step="stream_uri")

    async def snapshot_uris(self, cam: GuardedCamera, profiles: list[StreamProfile]) -> None:
        """Tried even when the media capabilities do not claim a snapshot."""
        media = await cam.create_media_service()
        for p in profiles:
            answer = await self._soft("snapshot_uri", media.GetSnapshotUri({"ProfileToken": p.token}))
            if answer is not None:
                try:
                    p.snapshot_uri = answers.clean_uri(
                        answers.get(answer, "Uri"), f"snapshot URI of {p.token}", ("http", "https")
                    )
                except DeviceError as exc:
                    self._warnings.append(f"snapshot_uri: {exc.message}")

    async def ptz(self, cam: GuardedCamera, address: DeviceAddress, profiles: list[StreamProfile]) -> bool:
        if NS_PTZ not in cam.xaddrs:
            # Probing by trying: many devices serve every service on the device endpoint.
            cam.xaddrs[NS_PTZ] = address.url
        ptz = False
        service = await self._soft("ptz", cam.create_ptz_service())
        if service is not None:
            ptz = bool(await self._soft("ptz", service.GetNodes()))
        if not ptz:
            for p in profiles:
                p.ptz = False
        return ptz

    async def events(self, cam: GuardedCamera, address: DeviceAddress) -> bool:
        if NS_EVENTS not in cam.xaddrs:
            cam.xaddrs[NS_EVENTS] = address.url
        service = await self._soft("events", cam.create_events_service())
        if service is None:
            return False
        # GetEventProperties, not GetServiceCapabilities: some devices answer the latter for
        # any service on a shared endpoint, which would claim events they do not have.
        return await self._soft("events", service.GetEventProperties()) is not None

    # --- the clock ---

    async def _skew_or_none(self, cam: GuardedCamera) -> float | None:
        try:
            return await self._clock_skew(cam)
        except DeviceError:
            return None

    async def _clock_skew(self, cam: GuardedCamera) -> float:
        devicemgmt = await cam.create_devicemgmt_service()
        try:
            answer = await devicemgmt.authless_GetSystemDateAndTime()
        except Exception:  # many devices want auth even here; try with it
            try:
                answer = await devicemgmt.GetSystemDateAndTime()
            except Exception as exc:
                raise classify(exc, "clock") from None
        return (answers.device_time(answer) - dt.datetime.now(dt.UTC)).total_seconds()


async def inspect_device(
    target: str,
    user: str | None,
    password: str | None,
    *,
    request_timeout_s: float = 8.0,
    allowed_hosts: Iterable[str] = (),
) -> DeviceFacts:
    return await Inspection(
        target, user, password, request_timeout_s=request_timeout_s, allowed_hosts=allowed_hosts
    ).run()
