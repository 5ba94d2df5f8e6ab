"""onvif-zeep-async with a guarded transport, and the one place its exceptions are translated.

`GuardedCamera` is `onvif.ONVIFCamera` whose every SOAP answer passes `xmlsafe.screen` after a
capped read, with a per-request timeout. Every request goes only to the device's own host and
port (or a host allowed for the camera): a service address (XAddr) elsewhere is refused before
anything is sent, and a redirect is followed only on the device's own origin, three times at
most (aiohttp would follow ten, anywhere, re-sending the SOAP body with its credentials).
`classify` turns whatever the library or a device threw into a `DeviceError` naming the step.
Only this package imports onvif, zeep and aiohttp.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

import aiohttp
from lxml import etree
from zeep import exceptions as zx

from govops.logs import root_logging_kept
from video.onvif.address import DeviceAddress, OriginGuard
from video.onvif.errors import DeviceError, excerpt
from video.onvif.xmlsafe import MAX_SOAP_BYTES, read_capped, screen

with root_logging_kept():  # onvif configures the root logger when imported
    from onvif import ONVIFCamera
    from onvif.client import _WSDL_PATH, AsyncTransportProtocolErrorHandler, ONVIFService, _cached_document
    from onvif.definition import SERVICES
    from onvif.exceptions import ONVIFAuthError, ONVIFError, ONVIFTimeoutError

USER_AGENT = "govops-onvif/0.1"
MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)
# zeep logs a traceback for every value it cannot convert and then carries on with None; the
# validation in device.py reports those values itself, once, per device.
logging.getLogger("zeep.xsd").setLevel(logging.CRITICAL)


async def warm_up(services: tuple[str, ...] = ("devicemgmt", "media", "ptz", "events")) -> None:
    """Parse the WSDLs once, one after the other. The library loads a WSDL on first use without a
    lock, so N devices starting together would each parse the same files (seconds of CPU). The
    parsed documents live in the library's own cache, so a second call costs four look-ups."""
    for name in services:
        await _cached_document(f"{_WSDL_PATH}/{SERVICES[name]['wsdl']}")


def _is_web_page(content: bytes, content_type: str) -> bool:
    head = content[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or content_type.startswith(("text/html", "application/xhtml"))


class GuardedTransport(AsyncTransportProtocolErrorHandler):
    """Reads at most `limit` bytes, screens them, and gives up after `timeout_s` per request."""

    def __init__(
        self, session: aiohttp.ClientSession, *, limit: int, timeout_s: float, guard: OriginGuard | None = None
    ) -> None:
        super().__init__(session=session, verify_ssl=False, cache=None)
        self.limit = limit
        self.guard = guard
        # The raw bytes of the last answer, for the lenient readers of a few sloppy answers
        # (see device.PtzControl); one transport serves one caller at a time.
        self.last_answer: bytes | None = None
        self._client_timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(timeout_s, 5.0))

    async def _post_internal(
        self, address: str, message: str | bytes, headers: dict[str, str]
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        headers = dict(headers or {})
        headers["User-Agent"] = USER_AGENT
        headers.setdefault("Content-Type", 'text/xml; charset="utf-8"')
        data = message.encode("utf-8") if isinstance(message, str) else message
        url = address
        for _hop in range(MAX_REDIRECTS + 1):
            if self.guard is not None:
                self.guard.check(url, "a service address (XAddr) of the device")
            response = await self.session.post(
                url, data=data, headers=headers, timeout=self._client_timeout, allow_redirects=False
            )
            if response.status not in _REDIRECTS:
                break
            location = response.headers.get("Location", "")
            response.close()
            if not location:
                raise DeviceError("protocol", f"the device answered HTTP {response.status} without a Location")
            url = urljoin(url, location)
            if self.guard is not None:
                self.guard.check(url, "a redirect of the device")
        else:
            raise DeviceError(
                "protocol",
                f"the device redirects in a loop (more than {MAX_REDIRECTS} redirects); not followed",
                hint="check the address and the port of the device service",
            )
        try:
            declared = response.content_length
            if declared is not None and declared > self.limit:
                raise DeviceError(
                    "hostile",
                    f"the device announced a {declared} byte answer, over "
                    f"the {self.limit} byte limit; refused without reading it",
                )
            content = await read_capped(response.content, self.limit)
        except BaseException:
            response.close()
            raise
        content_type = response.headers.get("Content-Type", "").lower()
        if (response.status == 401 and "xml" not in content_type) or _is_web_page(content, content_type):
            # A web server's error page (an HTML 401 from a login proxy, a 404): say what it was
            # rather than let the SOAP parser call it an unknown fault.
            if response.status == 401:
                raise DeviceError(
                    "auth",
                    "the device refused the credentials (HTTP 401, a web page rather than a SOAP fault)",
                    hint="check --user and the password; some devices want HTTP digest auth on this port",
                )
            raise DeviceError(
                "protocol",
                f"the device answered HTTP {response.status} with a web page, not a SOAP message",
                hint="check the address points at the ONVIF device service (e.g. /onvif/device_service)",
            )
        screen(content, limit=self.limit)
        self.last_answer = content
        return response, content


class GuardedCamera(ONVIFCamera):
    """ONVIFCamera whose services all use GuardedTransport."""

    def __init__(
        self,
        address: DeviceAddress,
        user: str | None,
        password: str | None,
        *,
        timeout_s: float = 8.0,
        limit: int = MAX_SOAP_BYTES,
        adjust_time: bool = False,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        super().__init__(address.client_host, address.port, user, password, no_cache=True, adjust_time=adjust_time)
        self.request_timeout_s = timeout_s
        self.answer_limit = limit
        self.guard = OriginGuard(address, allowed_hosts)

    async def create_onvif_service(
        self, name: str, port_type: str | None = None, read_timeout: int | None = None, write_timeout: int | None = None
    ) -> ONVIFService:
        service = await super().create_onvif_service(name, port_type, read_timeout, write_timeout)
        if not isinstance(service.transport, GuardedTransport):
            guarded = GuardedTransport(
                service._session, limit=self.answer_limit, timeout_s=self.request_timeout_s, guard=self.guard
            )
            service.transport = guarded
            for client in (service.zeep_client, service.zeep_client_authless):
                if client is not None:
                    client.transport = guarded
            if not self.user and service.zeep_client is not None:
                # No user: send no UsernameToken (the library would build one from None and
                # fail before any request); the device then says whether it wants one.
                service.zeep_client.wsse = None
        return service


def _fault_text(fault: zx.Fault) -> str:
    parts = [str(fault.message or "")]
    for sub in fault.subcodes or []:
        parts.append(getattr(sub, "text", None) or str(sub))
    if fault.code:
        parts.append(str(fault.code))
    return " ".join(p for p in parts if p)


def classify(exc: BaseException, step: str) -> DeviceError:
    """One device failure, as a DeviceError naming the step and the reason."""
    if isinstance(exc, DeviceError):
        return exc.at(step)
    if isinstance(exc, ONVIFError) and not isinstance(exc, ONVIFTimeoutError | ONVIFAuthError):
        inner = exc.__cause__ or (exc.args[0] if exc.args else None)
        if isinstance(inner, BaseException) and inner is not exc:
            return classify(inner, step)
        text = str(exc)
        if "support service" in text:
            return DeviceError("unsupported", f"the device does not offer the service ({excerpt(text)})", step=step)
        return DeviceError("protocol", f"ONVIF client error: {excerpt(text)}", step=step)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | ONVIFTimeoutError | aiohttp.ServerTimeoutError):
        return DeviceError(
            "timeout",
            "no complete answer in time",
            step=step,
            hint="check the device is up; raise the timeout for slow links",
        )
    if isinstance(exc, ONVIFAuthError):
        return DeviceError("auth", "the device refused the credentials", step=step)
    if isinstance(exc, zx.Fault):
        text = _fault_text(exc)
        if any(w in text.lower() for w in ("not authorized", "notauthorized", "unauthorized")):
            return DeviceError(
                "auth",
                f"the device refused the credentials ({excerpt(text, 80)})",
                step=step,
                hint="check user and password; a clock skew over a few seconds also breaks WS-Security",
            )
        return DeviceError("soap_fault", f"the device answered with a SOAP fault: {excerpt(text)}", step=step)
    if isinstance(exc, zx.TransportError):
        if exc.status_code == 401:
            return DeviceError("auth", "the device refused the credentials (HTTP 401)", step=step)
        if exc.status_code and exc.status_code != 200:
            return DeviceError("protocol", f"the device answered HTTP {exc.status_code}", step=step)
        return DeviceError(
            "malformed",
            f"the answer is not a usable SOAP message: {excerpt(str(exc.message).split('Content:')[0])}",
            step=step,
        )
    if isinstance(exc, zx.DTDForbidden | zx.EntitiesForbidden):
        return DeviceError("hostile", "the answer carries a DTD or entities; refused", step=step)
    if isinstance(exc, zx.XMLSyntaxError | zx.XMLParseError | etree.XMLSyntaxError):
        return DeviceError("malformed", f"the answer is not well-formed SOAP: {excerpt(exc)}", step=step)
    if isinstance(exc, zx.Error | ValueError | TypeError | AttributeError | KeyError | IndexError):
        return DeviceError(
            "malformed",
            f"the answer does not fit the ONVIF schema ({exc.__class__.__name__}: {excerpt(exc, 120)})",
            step=step,
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return DeviceError("unreachable", "the device closed the connection without answering", step=step)
    if isinstance(exc, aiohttp.ClientConnectorError):
        if getattr(exc.os_error, "errno", None) == errno.ECONNREFUSED:
            return DeviceError(
                "unreachable",
                f"connection refused by {exc.host}:{exc.port}: nothing listens there",
                step=step,
                hint="check the address and the port of the device's ONVIF service",
            )
        return DeviceError(
            "unreachable",
            f"cannot connect: {excerpt(exc.os_error or exc, 100)}",
            step=step,
            hint="check the address, the port and any firewall",
        )
    if isinstance(exc, aiohttp.ClientError | OSError):
        return DeviceError("unreachable", f"connection failed: {excerpt(exc, 120)}", step=step)
    return DeviceError("protocol", f"unexpected {exc.__class__.__name__}: {excerpt(exc, 120)}", step=step)


def to_dict(obj: Any) -> Any:
    return ONVIFService.to_dict(obj)
