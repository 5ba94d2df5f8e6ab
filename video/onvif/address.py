"""Where a device is: its address, the origin it may send us to, and URLs without credentials.

A device chooses every service address (XAddr), subscription address and media URI it gives
us, so a hostile one could point the platform at another machine (server-side request
forgery). The rule: the platform talks to the device's own host and port, plus whatever an
operator allowed for that camera (`allowed_hosts`), and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from video.onvif.errors import DeviceError, excerpt

_HOST_PORT = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\.?)+:[0-9]{1,5}|\[?[0-9a-f:.]+\]?:[0-9]{1,5}")


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
                "unreachable", f"{excerpt(strip_credentials(raw), 60)!r} is not a device address: {exc}", step="address"
            ) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeviceError(
                "unreachable",
                f"{excerpt(strip_credentials(raw), 60)!r} is not an http(s) device address",
                step="address",
            )
        if parts.username is not None or parts.password is not None:
            raise DeviceError(
                "auth",
                "the address carries a user:password@; give the user with --user and the password "
                "from $GOVOPS_CAMERA_PASSWORD (an address ends up in logs and the audit log)",
                step="address",
            )
        return cls(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/onvif/device_service"

    @property
    def client_host(self) -> str:
        # onvif-zeep-async takes "https://host" as host to speak TLS; plain hosts mean http.
        return f"https://{self.host}" if self.scheme == "https" else self.host

    @property
    def origin(self) -> str:
        return origin_of(self.url) or ""


def origin_of(url: str) -> str | None:
    """`host:port` of an http(s) URL (the port made explicit), or None when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return f"{parts.hostname.lower()}:{port}"


def normalise_origin(spec: str) -> str:
    """An operator's `--allow-host HOST[:PORT]` as an origin (`host:port`, port 80 if none)."""
    text = spec.strip()
    origin = origin_of(text if "://" in text else f"http://{text}")
    if origin is None or "@" in text or not _HOST_PORT.fullmatch(origin):
        raise DeviceError("unreachable", f"{excerpt(text, 60)!r} is not a HOST[:PORT] to allow", step="address")
    return origin


class OriginGuard:
    """The origins a device may send us to: its own, and those allowed for the camera."""

    def __init__(self, address: DeviceAddress, allowed: Iterable[str] = ()) -> None:
        self.own = address.origin
        self.allowed = frozenset({self.own, *(normalise_origin(a) for a in allowed)})

    def check(self, url: str, what: str) -> None:
        origin = origin_of(url)
        if origin not in self.allowed:
            shown = origin or excerpt(strip_credentials(url), 80)
            raise DeviceError(
                "hostile",
                f"the device sends {what} to {shown}, another host than its own ({self.own}); refused",
                hint=f"if that host really belongs to the camera, onboard it with --allow-host {shown}",
            )


def strip_credentials(url: str) -> str:
    """The URL without any user:password@ (for logs, audit records, stored addresses)."""
    if "@" not in url or "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    netloc, sep, tail = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{sep}{tail}"


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
