"""Checking what a device said: every value it sends is validated before govops keeps it.

A value of the wrong type, too long, out of range or with control characters is a `malformed`
DeviceError naming the field; nothing a device sends reaches the catalogue unchecked.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from video.onvif.errors import DeviceError, excerpt
from video.onvif.models import StreamProfile

_MAC = re.compile(r"^[0-9a-f]{12}$")
MAX_PROFILES = 32


def malformed(what: str, why: str) -> DeviceError:
    return DeviceError("malformed", f"{what} {why}")


def get(obj: Any, *path: str) -> Any:
    """obj.a.b (or obj["a"]["b"]), None as soon as a step is missing."""
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def text(value: Any, what: str, *, required: bool = False, max_len: int = 200) -> str | None:
    if value is None or value == "":
        if required:
            raise malformed(what, "is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise malformed(what, f"is not text (got {type(value).__name__})")
    out = str(value).strip()
    if len(out) > max_len:
        raise malformed(what, f"is {len(out)} characters long (limit {max_len})")
    if any(not ch.isprintable() for ch in out):
        raise malformed(what, "contains control characters")
    return out or None


def number(value: Any, what: str, lo: float, hi: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise malformed(what, f"is not a number (got {type(value).__name__})")
    if not lo <= value <= hi:
        raise malformed(what, f"is {value}, outside {lo:g}..{hi:g}")
    return value


def as_int(value: float | None) -> int | None:
    return None if value is None else int(value)


def clean_uri(value: Any, what: str, schemes: tuple[str, ...]) -> str | None:
    """A URI the device gave, checked and with any user:password@ removed (we hold those)."""
    uri = text(value, what, max_len=1000)
    if uri is None:
        return None
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise malformed(what, f"is not a URI: {excerpt(uri, 80)}") from None
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise malformed(what, f"is not a {'/'.join(schemes)} URI: {excerpt(uri, 80)}")
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, ""))


def normalise_mac(value: Any) -> str | None:
    raw = text(value, "MAC address", max_len=40)
    if not raw:
        return None
    hexdigits = re.sub(r"[:\-.\s]", "", raw).lower()
    if not _MAC.match(hexdigits) or hexdigits in ("000000000000", "ffffffffffff"):
        return None
    return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))


def device_time(answer: Any) -> dt.datetime:
    """The UTC time of a GetSystemDateAndTime answer."""
    utc = get(answer, "UTCDateTime")
    try:
        parts = [
            int(number(get(utc, *p), "device clock", 0, 9999) or 0)
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
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except (TypeError, ValueError, DeviceError):
        raise DeviceError("malformed", "the device clock answer has no usable UTC time", step="clock") from None


def device_information(info: Any) -> dict[str, str | None]:
    try:
        return {
            "manufacturer": text(get(info, "Manufacturer"), "Manufacturer", required=True),
            "model": text(get(info, "Model"), "Model", required=True),
            "firmware": text(get(info, "FirmwareVersion"), "FirmwareVersion"),
            "serial": text(get(info, "SerialNumber"), "SerialNumber", max_len=100),
            "hardware_id": text(get(info, "HardwareId"), "HardwareId", max_len=100),
        }
    except DeviceError as exc:
        raise exc.at("device_info") from None


def first_mac(interfaces: Any) -> str | None:
    for iface in interfaces or []:
        mac = normalise_mac(get(iface, "Info", "HwAddress"))
        if mac:
            return mac
    return None


def profiles(raw: Any) -> list[StreamProfile]:
    """The video profiles of a GetProfiles answer (audio-only and metadata profiles skipped)."""
    if not isinstance(raw, list):
        raise DeviceError("malformed", "GetProfiles did not answer a list of profiles", step="profiles")
    out: list[StreamProfile] = []
    for item in raw[:MAX_PROFILES]:
        try:
            token = text(get(item, "token"), "profile token", required=True, max_len=64)
            enc = get(item, "VideoEncoderConfiguration")
            if enc is None:
                continue  # an audio-only or metadata profile
            width = as_int(number(get(enc, "Resolution", "Width"), "width", 1, 16384))
            height = as_int(number(get(enc, "Resolution", "Height"), "height", 1, 16384))
            if width is None or height is None:
                raise malformed(
                    f"profile {token}",
                    "has no usable resolution (the schema requires Width and Height as integers)",
                )
            out.append(
                StreamProfile(
                    token=token or "",
                    name=text(get(item, "Name"), "profile name", max_len=64) or token or "",
                    encoding=text(get(enc, "Encoding"), "encoding", max_len=16),
                    width=width,
                    height=height,
                    fps=number(get(enc, "RateControl", "FrameRateLimit"), "frame rate", 0, 1000),
                    bitrate_kbps=as_int(number(get(enc, "RateControl", "BitrateLimit"), "bitrate", 0, 10_000_000)),
                    ptz=get(item, "PTZConfiguration") is not None,
                )
            )
        except DeviceError as exc:
            raise exc.at("profiles") from None
    if not out:
        raise DeviceError("unsupported", "the device has no video profile", step="profiles")
    return out
