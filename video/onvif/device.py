"""One ONVIF device: onboarding in Home Assistant's order, and PTZ.

Order (homeassistant/components/onvif/device.py): xaddrs → capabilities → clock check → device
information → profiles → stream URI per profile → snapshot URI → PTZ → events. Steps that a
camera needs (xaddrs, device information, profiles, a stream) fail the device; the others are
tried even when the capabilities say no and only add a warning when they fail. A device whose
answer is hostile (DTD, entities, oversized) fails at once, whatever the step.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from video.onvif.errors import DeviceError, excerpt
from video.onvif.transport import GuardedCamera, classify

CLOCK_TOLERANCE_S = 5.0  # WS-Security UsernameToken checks break beyond a few seconds
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
NS_PTZ = "http://www.onvif.org/ver20/ptz/wsdl"
NS_EVENTS = "http://www.onvif.org/ver10/events/wsdl"
NS_IMAGING = "http://www.onvif.org/ver20/imaging/wsdl"
_MAC = re.compile(r"^[0-9a-f]{12}$")


# --- addresses -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceAddress:
    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, target: str) -> DeviceAddress:
        """`host`, `host:port` or a device service URL (an XAddr from discovery)."""
        raw = target.strip()
        if not raw or len(raw) > 300 or any(c.isspace() for c in raw):
            raise DeviceError("unreachable", f"{excerpt(raw, 60)!r} is not a device address", step="address")
        url = raw if "://" in raw else f"http://{raw}"
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise DeviceError(
                "unreachable", f"{excerpt(raw, 60)!r} is not a device address: {exc}", step="address"
            ) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeviceError("unreachable", f"{excerpt(raw, 60)!r} is not an http(s) device address", step="address")
        return cls(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/onvif/device_service"

    @property
    def client_host(self) -> str:
        # onvif-zeep-async takes "https://host" as host to speak TLS; plain hosts mean http.
        return f"https://{self.host}" if self.scheme == "https" else self.host


# --- facts -----------------------------------------------------------------------------------


@dataclass
class StreamProfile:
    token: str
    name: str
    encoding: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bitrate_kbps: int | None = None
    stream_uri: str | None = None
    snapshot_uri: str | None = None
    ptz: bool = False


@dataclass
class DeviceFacts:
    address: str
    manufacturer: str
    model: str
    firmware: str | None = None
    serial: str | None = None
    hardware_id: str | None = None
    mac: str | None = None
    clock_skew_s: float | None = None
    profiles: list[StreamProfile] = field(default_factory=list)
    capabilities: dict[str, bool] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """MAC first, serial number as the fallback (Home Assistant's rule)."""
        if self.mac:
            return f"mac:{self.mac}"
        return f"serial:{self.manufacturer}/{self.serial}"

    @property
    def main_profile(self) -> StreamProfile | None:
        streaming = [p for p in self.profiles if p.stream_uri]
        return max(streaming, key=lambda p: (p.width or 0) * (p.height or 0)) if streaming else None

    @property
    def ptz_profile(self) -> StreamProfile | None:
        return next((p for p in self.profiles if p.ptz), None)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["identity"] = self.identity
        return d


# --- validation of what a device said --------------------------------------------------------


def _malformed(what: str, why: str) -> DeviceError:
    return DeviceError("malformed", f"{what} {why}")


def _text(value: Any, what: str, *, required: bool = False, max_len: int = 200) -> str | None:
    if value is None or value == "":
        if required:
            raise _malformed(what, "is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _malformed(what, f"is not text (got {type(value).__name__})")
    text = str(value).strip()
    if len(text) > max_len:
        raise _malformed(what, f"is {len(text)} characters long (limit {max_len})")
    if any(not ch.isprintable() for ch in text):
        raise _malformed(what, "contains control characters")
    return text or None


def _number(value: Any, what: str, lo: float, hi: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _malformed(what, f"is not a number (got {type(value).__name__})")
    if not lo <= value <= hi:
        raise _malformed(what, f"is {value}, outside {lo:g}..{hi:g}")
    return value


def clean_uri(value: Any, what: str, schemes: tuple[str, ...]) -> str | None:
    """A URI the device gave, checked and with any user:password@ removed (we hold those)."""
    text = _text(value, what, max_len=1000)
    if text is None:
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise _malformed(what, f"is not a URI: {excerpt(text, 80)}") from None
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise _malformed(what, f"is not a {'/'.join(schemes)} URI: {excerpt(text, 80)}")
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, ""))


def normalise_mac(value: Any) -> str | None:
    text = _text(value, "MAC address", max_len=40)
    if not text:
        return None
    hexdigits = re.sub(r"[:\-.\s]", "", text).lower()
    if not _MAC.match(hexdigits) or hexdigits in ("000000000000", "ffffffffffff"):
        return None
    return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


# --- the onboarding sequence -----------------------------------------------------------------


class Inspection:
    """Runs the sequence against one device; `step` tells a timeout where it was."""

    def __init__(
        self,
        target: str,
        user: str | None,
        password: str | None,
        *,
        request_timeout_s: float = 8.0,
        clock_tolerance_s: float = CLOCK_TOLERANCE_S,
    ) -> None:
        self.target = target
        self.user = user
        self.password = password
        self.request_timeout_s = request_timeout_s
        self.clock_tolerance_s = clock_tolerance_s
        self.step = "address"
        self._timings: dict[str, float] = {}

    def _enter(self, step: str) -> None:
        self.step = step
        self._t0 = time.perf_counter()

    def _leave(self) -> None:
        self._timings[self.step] = round((time.perf_counter() - self._t0) * 1000, 1)

    async def run(self) -> DeviceFacts:
        address = DeviceAddress.parse(self.target)
        cam = GuardedCamera(
            address.client_host, address.port, self.user, self.password, timeout_s=self.request_timeout_s
        )
        try:
            try:
                return await self._sequence(cam, address)
            except DeviceError as exc:
                if exc.kind != "auth" or self.step != "xaddrs":
                    raise
                # Auth failing on the first call may be the clock: measure it and, if it is
                # off, retry once with the timestamps shifted by the skew.
                skew = await self._skew_or_none(cam)
                if skew is None or abs(skew) <= self.clock_tolerance_s:
                    raise
                await cam.close()
                cam = GuardedCamera(
                    address.client_host,
                    address.port,
                    self.user,
                    self.password,
                    timeout_s=self.request_timeout_s,
                    adjust_time=True,
                )
                facts = await self._sequence(cam, address)
                facts.warnings.insert(0, f"authentication needed a {skew:+.0f} s clock correction")
                return facts
        finally:
            await cam.close()

    def _explain(self, err: DeviceError) -> DeviceError:
        if err.kind == "timeout" and err.message == "no complete answer in time":
            err.message = f"no complete answer within {self.request_timeout_s:g} s"
        return err

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
        utc = _get(answer, "UTCDateTime")
        try:
            parts = [
                int(_number(_get(utc, *p), "device clock", 0, 9999) or 0)
                for p in (
                    ("Date", "Year"),
                    ("Date", "Month"),
                    ("Date", "Day"),
                    ("Time", "Hour"),
                    ("Time", "Minute"),
                    ("Time", "Second"),
                )
            ]
            year, month, day, hour, minute, second = parts
            device_now = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
        except (TypeError, ValueError, DeviceError):
            raise DeviceError("malformed", "the device clock answer has no usable UTC time", step="clock") from None
        return (device_now - dt.datetime.now(dt.UTC)).total_seconds()

    async def _sequence(self, cam: GuardedCamera, address: DeviceAddress) -> DeviceFacts:
        warnings: list[str] = []

        async def soft(step: str, coro: Any) -> Any:
            """A best-effort step: a failure is a warning, except a hostile answer."""
            self._enter(step)
            try:
                return await coro
            except Exception as exc:  # classified below
                err = self._explain(classify(exc, step))
                if err.kind == "hostile":
                    raise err from None
                warnings.append(f"{step}: {err.message}")
                return None
            finally:
                self._leave()

        async def hard(step: str, coro: Any) -> Any:
            self._enter(step)
            try:
                return await coro
            except Exception as exc:
                raise self._explain(classify(exc, step)) from None
            finally:
                self._leave()

        await hard("xaddrs", cam.update_xaddrs())
        services = {ns: url for ns, url in cam.xaddrs.items() if isinstance(url, str)}
        caps = await soft("capabilities", cam.get_capabilities()) or {}

        skew = await soft("clock", self._clock_skew(cam))
        if skew is not None and abs(skew) > self.clock_tolerance_s:
            warnings.append(
                f"clock: the device clock is off by {skew:+.1f} s (over "
                f"{self.clock_tolerance_s:g} s breaks WS-Security); set NTP on it"
            )

        devicemgmt = await hard("device_info", cam.create_devicemgmt_service())
        info = await hard("device_info", devicemgmt.GetDeviceInformation())
        self._enter("device_info")
        try:
            manufacturer = _text(_get(info, "Manufacturer"), "Manufacturer", required=True)
            model = _text(_get(info, "Model"), "Model", required=True)
            firmware = _text(_get(info, "FirmwareVersion"), "FirmwareVersion")
            serial = _text(_get(info, "SerialNumber"), "SerialNumber", max_len=100)
            hardware_id = _text(_get(info, "HardwareId"), "HardwareId", max_len=100)
        except DeviceError as exc:
            raise exc.at("device_info") from None
        interfaces = await soft("mac", devicemgmt.GetNetworkInterfaces())
        mac = None
        for iface in interfaces or []:
            mac = normalise_mac(_get(iface, "Info", "HwAddress"))
            if mac:
                break
        if mac is None:
            if not serial:
                raise DeviceError(
                    "malformed",
                    "the device has neither a MAC address nor a serial number, so it cannot be identified",
                    step="device_info",
                )
            warnings.append("identity: no MAC address from GetNetworkInterfaces; identified by serial number")

        media = await hard("profiles", cam.create_media_service())
        raw_profiles = await hard("profiles", media.GetProfiles())
        profiles = self._profiles(raw_profiles)

        for p in profiles:
            answer = await soft(
                "stream_uri", media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": p.token})
            )
            if answer is not None:
                try:
                    p.stream_uri = clean_uri(
                        _get(answer, "Uri"), f"stream URI of {p.token}", ("rtsp", "rtsps", "http", "https")
                    )
                except DeviceError as exc:
                    warnings.append(f"stream_uri: {exc.message}")
        if not any(p.stream_uri for p in profiles):
            raise DeviceError("unsupported", "no profile gave a stream URI", step="stream_uri")

        # Try the snapshot even when the media capabilities do not claim one.
        for p in profiles:
            answer = await soft("snapshot_uri", media.GetSnapshotUri({"ProfileToken": p.token}))
            if answer is not None:
                try:
                    p.snapshot_uri = clean_uri(_get(answer, "Uri"), f"snapshot URI of {p.token}", ("http", "https"))
                except DeviceError as exc:
                    warnings.append(f"snapshot_uri: {exc.message}")

        ptz = False
        if NS_PTZ not in cam.xaddrs:
            # Probing by trying: many devices serve every service on the device endpoint.
            cam.xaddrs[NS_PTZ] = address.url
        ptz_service = await soft("ptz", cam.create_ptz_service())
        if ptz_service is not None:
            nodes = await soft("ptz", ptz_service.GetNodes())
            ptz = bool(nodes)
        if not ptz:
            for p in profiles:
                p.ptz = False

        events = False
        if NS_EVENTS not in cam.xaddrs:
            cam.xaddrs[NS_EVENTS] = address.url
        events_service = await soft("events", cam.create_events_service())
        if events_service is not None:
            # GetEventProperties, not GetServiceCapabilities: some devices answer the latter for
            # any service on a shared endpoint, which would claim events they do not have.
            events = await soft("events", events_service.GetEventProperties()) is not None

        capabilities = {
            "ptz": ptz,
            "events": events,
            "snapshot": any(p.snapshot_uri for p in profiles),
            "imaging": NS_IMAGING in services or bool(_get(caps, "Imaging")),
            "multicast": bool(_get(caps, "Media", "StreamingCapabilities", "RTPMulticast")),
        }
        return DeviceFacts(
            address=address.url,
            manufacturer=manufacturer or "",
            model=model or "",
            firmware=firmware,
            serial=serial,
            hardware_id=hardware_id,
            mac=mac,
            clock_skew_s=round(skew, 1) if skew is not None else None,
            profiles=profiles,
            capabilities=capabilities,
            services=services,
            warnings=warnings,
            timings_ms=dict(self._timings),
        )

    def _profiles(self, raw: Any) -> list[StreamProfile]:
        if not isinstance(raw, list):
            raise DeviceError("malformed", "GetProfiles did not answer a list of profiles", step="profiles")
        profiles: list[StreamProfile] = []
        for item in raw[:32]:
            try:
                token = _text(_get(item, "token"), "profile token", required=True, max_len=64)
                enc = _get(item, "VideoEncoderConfiguration")
                if enc is None:
                    continue  # an audio-only or metadata profile
                width = _int(_number(_get(enc, "Resolution", "Width"), "width", 1, 16384))
                height = _int(_number(_get(enc, "Resolution", "Height"), "height", 1, 16384))
                if width is None or height is None:
                    raise _malformed(
                        f"profile {token}",
                        "has no usable resolution (the schema requires Width and Height as integers)",
                    )
                profiles.append(
                    StreamProfile(
                        token=token or "",
                        name=_text(_get(item, "Name"), "profile name", max_len=64) or token or "",
                        encoding=_text(_get(enc, "Encoding"), "encoding", max_len=16),
                        width=width,
                        height=height,
                        fps=_number(_get(enc, "RateControl", "FrameRateLimit"), "frame rate", 0, 1000),
                        bitrate_kbps=_int(_number(_get(enc, "RateControl", "BitrateLimit"), "bitrate", 0, 10_000_000)),
                        ptz=_get(item, "PTZConfiguration") is not None,
                    )
                )
            except DeviceError as exc:
                raise exc.at("profiles") from None
        if not profiles:
            raise DeviceError("unsupported", "the device has no video profile", step="profiles")
        return profiles


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


async def inspect_device(
    target: str, user: str | None, password: str | None, *, request_timeout_s: float = 8.0
) -> DeviceFacts:
    return await Inspection(target, user, password, request_timeout_s=request_timeout_s).run()


# --- PTZ ---------------------------------------------------------------------------------------


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
        from video.onvif.xmlsafe import parse

        raw = getattr(getattr(self, "_transport", None), "last_answer", None)
        if err.kind != "malformed" or not raw:
            raise err
        return parse(raw, what="PTZ answer")

    async def continuous_move(self, pan: float, tilt: float, zoom: float = 0.0, timeout_s: float = 5.0) -> None:
        for name, v in (("pan", pan), ("tilt", tilt), ("zoom", zoom)):
            if not -1.0 <= v <= 1.0:
                from govops.errors import ValidationFailed

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
        from video.onvif.xmlsafe import local

        try:
            answer = await self._call("SetPreset", {"PresetName": name})
            token = _text(
                _get(answer, "PresetToken") if not isinstance(answer, str) else answer, "preset token", max_len=64
            )
        except DeviceError as err:
            root = self._lenient(err)
            token = next(
                (_text(el.text, "preset token", max_len=64) for el in root.iter() if local(el.tag) == "PresetToken"),
                None,
            )
        if not token:
            raise DeviceError("malformed", "SetPreset gave no preset token", step="ptz.SetPreset")
        return token

    async def presets(self) -> list[dict[str, str]]:
        from video.onvif.xmlsafe import local

        out = []
        try:
            answer = await self._call("GetPresets", {})
            items = [(_get(i, "token"), _get(i, "Name")) for i in answer or []]
        except DeviceError as err:
            root = self._lenient(err)
            items = [
                (el.get("token"), next((c.text for c in el if local(c.tag) == "Name"), None))
                for el in root.iter()
                if local(el.tag) == "Preset"
            ]
        for raw_token, raw_name in items[:100]:
            token = _text(raw_token, "preset token", max_len=64)
            if token:
                out.append({"token": token, "name": _text(raw_name, "preset name") or token})
        return out


@asynccontextmanager
async def ptz_control(
    address: str, user: str | None, password: str | None, profile_token: str, *, request_timeout_s: float = 8.0
) -> AsyncIterator[PtzControl]:
    addr = DeviceAddress.parse(address)
    cam = GuardedCamera(addr.client_host, addr.port, user, password, timeout_s=request_timeout_s)
    try:
        yield PtzControl(cam, profile_token)
    finally:
        await cam.close()


def scope_value(scopes: list[str], kind: str) -> str | None:
    """`onvif://www.onvif.org/name/Gate%20Camera` → 'Gate Camera' for kind 'name'."""
    prefix = f"onvif://www.onvif.org/{kind}/"
    for s in scopes:
        if s.startswith(prefix):
            return unquote(s[len(prefix) :]).strip() or None
    return None


def with_credentials(uri: str, user: str | None, password: str | None) -> str:
    """A stream URI with credentials for the one process that opens it (never stored)."""
    if not user:
        return uri
    parts = urlsplit(uri)
    netloc = f"{quote(user, safe='')}:{quote(password or '', safe='')}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def system_reboot(address: str, user: str | None, password: str | None, *, request_timeout_s: float = 8.0) -> str:
    """Ask the device to restart (ONVIF Device Management SystemReboot); its answer's message.
    Raises `DeviceError` when the device does not answer or refuses (many do not implement it)."""
    addr = DeviceAddress.parse(address)
    cam = GuardedCamera(addr.client_host, addr.port, user, password, timeout_s=request_timeout_s)
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
        message = answer if isinstance(answer, str) else _get(answer, "Message")
        return _text(message, "reboot message", max_len=200) or "rebooting"
    finally:
        await cam.close()
