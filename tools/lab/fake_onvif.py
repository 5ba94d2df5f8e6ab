"""A fleet of lightweight ONVIF devices on 127.0.0.1, honest ones and hostile ones.

ipycam is the real simulator (one Python process and ffmpeg per camera). For hundreds of devices,
and for devices that misbehave on purpose, this module serves the same SOAP subset from one
asyncio loop, one loopback port per device:

    fleet = FakeOnvifFleet([DeviceSpec(), DeviceSpec(mode="xxe")], user="admin", password="pw")
    fleet.start()                      # a background thread; fleet.addresses -> ["127.0.0.1:port", ...]
    fleet.state(fleet.ports[0])        # what PTZ commands reached the device
    fleet.stop()

    python -m tools.lab.fake_onvif serve --count 500 --latency-ms 20 --password pw
        prints {"ports": [...], "pid": ...} on one line, then serves until SIGTERM.

WS-Security UsernameToken digests are checked (and Created against the device clock when
`strict_clock`), GetSystemDateAndTime answers without auth as the ONVIF core spec asks.
Hostile modes, applied to `action` (GetDeviceInformation unless told) or to every action with
action="*": xxe, billion_laughs, huge (50 MB with Content-Length), huge_chunked (50 MB chunked),
wrong_types, fault, silent (never answers), garbage (not XML), utf16 (UTF-16 with a DTD), slow,
redirect (307 to the device `peer`, another origin), redirect_loop (307 to itself), html401 (a
login page with HTTP 401), foreign_xaddr (its media service announced on the device `peer`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

MODES = (
    "good",
    "xxe",
    "billion_laughs",
    "huge",
    "huge_chunked",
    "wrong_types",
    "fault",
    "silent",
    "garbage",
    "utf16",
    "slow",
    "redirect",
    "redirect_loop",
    "html401",
    "foreign_xaddr",
)
HUGE_BYTES = 50 * 1024 * 1024
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" '
    'xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl" '
    'xmlns:tev="http://www.onvif.org/ver10/events/wsdl" '
    'xmlns:wstop="http://docs.oasis-open.org/wsn/t-1" '
    'xmlns:ter="http://www.onvif.org/ver10/error" '
    'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" '
    'xmlns:wsa="http://www.w3.org/2005/08/addressing" '
    'xmlns:tns1="http://www.onvif.org/ver10/topics" '
    'xmlns:tt="http://www.onvif.org/ver10/schema"><s:Body>{body}</s:Body></s:Envelope>'
)


@dataclass
class DeviceSpec:
    mode: str = "good"
    action: str = "GetDeviceInformation"
    skew_s: float = 0.0
    strict_clock: bool = False
    ptz: bool = True
    mac: bool = True
    slow_s: float = 30.0
    peer: int = 0  # index in the fleet of the device that redirect / foreign_xaddr point at
    # Faults the camera's own analytics report, as ONVIF property events: ImageTooBlurry,
    # ImageTooDark, ImageTooBright, GlobalSceneChange, Tamper → state. Empty: no such topics.
    events: dict[str, bool] = field(default_factory=dict)


@dataclass
class DeviceState:
    spec: DeviceSpec
    port: int
    serial: str
    mac: str
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    moves: int = 0
    stops: int = 0
    presets: dict[str, str] = field(default_factory=dict)
    last_preset: str | None = None
    requests: int = 0
    events: dict[str, bool] = field(default_factory=dict)
    subscriptions: dict[int, bool] = field(default_factory=dict)  # id -> initial states sent
    unsubscribed: int = 0


def _fault(reason: str, subcode: str = "ter:ActionNotSupported") -> str:
    return ENVELOPE.format(
        body=(
            "<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>"
            f'{subcode}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">{reason}'
            "</s:Text></s:Reason></s:Fault>"
        )
    )


def _check_token(body: str, user: str, password: str, device_now: dt.datetime, strict_clock: bool) -> bool:
    def grab(tag: str) -> str | None:
        m = re.search(rf"<(?:\w+:)?{tag}\b[^>]*>([^<]*)</(?:\w+:)?{tag}>", body)
        return m.group(1) if m else None

    u, pw, nonce, created = grab("Username"), grab("Password"), grab("Nonce"), grab("Created")
    if None in (u, pw, nonce, created):
        return False
    digest = base64.b64encode(
        hashlib.sha1(  # noqa: S324 - WS-Security UsernameToken mandates SHA-1
            base64.b64decode(nonce or "") + (created or "").encode() + password.encode()
        ).digest()
    ).decode()
    if not (hmac.compare_digest(u or "", user) and hmac.compare_digest(pw or "", digest)):
        return False
    if strict_clock:
        try:
            when = dt.datetime.fromisoformat((created or "").replace("Z", "+00:00"))
        except ValueError:
            return False
        if abs((when - device_now).total_seconds()) > 5:
            return False
    return True


class FakeOnvifFleet:
    def __init__(
        self,
        specs: list[DeviceSpec],
        *,
        user: str = "admin",
        password: str = "admin",  # noqa: S107
        latency_s: float = 0.0,
        rtsp_port: int = 8554,
    ) -> None:
        self.specs = specs
        self.user, self.password = user, password
        self.latency_s = latency_s
        self.rtsp_port = rtsp_port
        self.devices: dict[int, DeviceState] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # --- lifecycle ---
    @property
    def ports(self) -> list[int]:
        return list(self.devices)

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{p}" for p in self.devices]

    def state(self, port: int) -> dict[str, Any]:
        d = self.devices[port]
        return {
            "velocity": d.velocity,
            "moves": d.moves,
            "stops": d.stops,
            "presets": d.presets,
            "last_preset": d.last_preset,
            "requests": d.requests,
            "events": dict(d.events),
            "subscriptions": len(d.subscriptions),
            "unsubscribed": d.unsubscribed,
        }

    def set_event(self, port: int, name: str, state: bool) -> None:
        """What the camera's own analytics say now (e.g. "ImageTooBlurry", True)."""
        self.devices[port].events[name] = state

    async def serve(self) -> None:
        for spec in self.specs:
            server = await asyncio.start_server(self._client, "127.0.0.1", 0, limit=1 << 20)
            port = server.sockets[0].getsockname()[1]
            self.devices[port] = DeviceState(
                spec,
                port,
                serial=f"FK-{port}",
                events=dict(spec.events),
                mac=f"02:00:00:{(port >> 16) & 0xFF:02x}:{(port >> 8) & 0xFF:02x}:{port & 0xFF:02x}",
            )
            self._servers.append(server)

    def start(self) -> FakeOnvifFleet:
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self.serve())
            except BaseException as exc:  # reported to start()
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            self._loop.run_forever()
            for s in self._servers:
                s.close()
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-onvif", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FakeOnvifFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- HTTP ---
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        device = self.devices.get(port)
        try:
            while device is not None:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                device.requests += 1
                if method == "GET" and path.startswith("/snapshot"):
                    await self._send(writer, 200, _JPEG, "image/jpeg")
                    continue
                if method == "GET" and path == "/state":
                    await self._send(writer, 200, json.dumps(self.state(port)).encode(), "application/json")
                    continue
                keep = await self._soap(device, headers, body.decode("utf-8", "replace"), writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        payload: bytes,
        ctype: str = "application/soap+xml; charset=utf-8",
        headers: str = "",
    ) -> None:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        writer.write(
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n{headers}"
            "Connection: keep-alive\r\n\r\n".encode()
            + payload
        )
        await writer.drain()

    async def _soap(self, d: DeviceState, headers: dict[str, str], body: str, writer: asyncio.StreamWriter) -> bool:
        m = (
            re.search(r'action="[^"]*/(\w+)"', headers.get("content-type", ""))
            or re.search(r'/(\w+)"?$', headers.get("soapaction", ""))
            or re.search(r"<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)", body)
        )
        action = m.group(1).removesuffix("Request") if m else "Unknown"
        now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=d.spec.skew_s)
        if action != "GetSystemDateAndTime" and not _check_token(
            body, self.user, self.password, now, d.spec.strict_clock
        ):
            await self._send(writer, 400, _fault("Sender not authorized", "ter:NotAuthorized").encode())
            return True
        spec = d.spec
        if spec.mode not in ("good", "foreign_xaddr") and (spec.action == "*" or spec.action == action):
            return await self._hostile(d, action, writer)
        await self._send(writer, 200, self._answer(d, action, body, now).encode())
        return True

    async def _hostile(self, d: DeviceState, action: str, writer: asyncio.StreamWriter) -> bool:
        mode = d.spec.mode
        if mode in ("redirect", "redirect_loop"):
            port = self.ports[d.spec.peer] if mode == "redirect" else d.port
            location = f"Location: http://127.0.0.1:{port}/onvif/device_service\r\n"
            await self._send(writer, 307, b"", "text/plain", headers=location)
            return True
        if mode == "html401":
            page = b"<!DOCTYPE html><html><body><h1>401 Login required</h1></body></html>"
            await self._send(writer, 401, page, "text/html; charset=utf-8")
            return True
        if mode == "silent":
            await asyncio.Event().wait()  # hold the connection and never answer
        if mode == "slow":
            await asyncio.sleep(d.spec.slow_s)
            await self._send(writer, 200, self._answer(d, action, "", dt.datetime.now(dt.UTC)).encode())
            return True
        if mode == "xxe":
            body = (
                '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                + ENVELOPE.format(
                    body="<tds:GetDeviceInformationResponse><tds:Manufacturer>&xxe;"
                    "</tds:Manufacturer></tds:GetDeviceInformationResponse>"
                ).split("\n", 1)[1]
            )
            await self._send(writer, 200, body.encode())
        elif mode == "billion_laughs":
            ents = '<!ENTITY lol "lol">' + "".join(
                f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
            )
            body = (
                f'<?xml version="1.0"?><!DOCTYPE lolz [{ents}]>'
                + ENVELOPE.format(
                    body="<tds:GetDeviceInformationResponse><tds:Manufacturer>&lol9;"
                    "</tds:Manufacturer></tds:GetDeviceInformationResponse>"
                ).split("\n", 1)[1]
            )
            await self._send(writer, 200, body.encode())
        elif mode in ("huge", "huge_chunked"):
            prefix = ENVELOPE.split("{body}")[0].encode() + b"<tds:GetDeviceInformationResponse><tds:Manufacturer>"
            chunk = b"A" * 65536
            if mode == "huge":
                writer.write(
                    f"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n"
                    f"Content-Length: {HUGE_BYTES}\r\n\r\n".encode()
                    + prefix
                )
            else:
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                writer.write(b"%x\r\n%s\r\n" % (len(prefix), prefix))
            sent = len(prefix)
            while sent < HUGE_BYTES:
                writer.write(chunk if mode == "huge" else b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                await writer.drain()
            return False
        elif mode == "wrong_types":
            await self._send(writer, 200, self._wrong_types(d, action).encode())
        elif mode == "fault":
            await self._send(
                writer, 500, _fault(f"{action} failed: internal camera error", "ter:InternalError").encode()
            )
        elif mode == "garbage":
            await self._send(writer, 200, b"\x89PNG not xml <<<>>> &&& \x00\x01", "text/plain")
        elif mode == "utf16":
            body = (
                '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x SYSTEM '
                '"file:///etc/hostname">]><r>&x;</r>'
            )
            await self._send(writer, 200, body.encode("utf-16"))
        return True

    def _wrong_types(self, d: DeviceState, action: str) -> str:
        if action == "GetProfiles":
            return ENVELOPE.format(
                body=(
                    '<trt:GetProfilesResponse><trt:Profiles token="P1"><tt:Name>Main</tt:Name>'
                    '<tt:VideoEncoderConfiguration token="E1"><tt:Name>E</tt:Name><tt:UseCount>1</tt:UseCount>'
                    "<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>wide</tt:Width>"
                    "<tt:Height>-5e999</tt:Height></tt:Resolution><tt:Quality>high</tt:Quality>"
                    "</tt:VideoEncoderConfiguration></trt:Profiles></trt:GetProfilesResponse>"
                )
            )
        # Device information where text is expected, structure arrives, and a 10 kB "serial".
        return ENVELOPE.format(
            body=(
                "<tds:GetDeviceInformationResponse><tds:Manufacturer><tt:Width>1</tt:Width>"
                "</tds:Manufacturer><tds:Model>12</tds:Model><tds:FirmwareVersion>1</tds:FirmwareVersion>"
                f"<tds:SerialNumber>{'9' * 10000}</tds:SerialNumber><tds:HardwareId>x</tds:HardwareId>"
                "</tds:GetDeviceInformationResponse>"
            )
        )

    def _answer(self, d: DeviceState, action: str, body: str, now: dt.datetime) -> str:
        base = f"http://127.0.0.1:{d.port}/onvif"
        media = f"{base}/media_service"
        if d.spec.mode == "foreign_xaddr":
            media = f"http://127.0.0.1:{self.ports[d.spec.peer]}/onvif/media_service"
        services = [
            ("http://www.onvif.org/ver10/device/wsdl", f"{base}/device_service"),
            ("http://www.onvif.org/ver10/media/wsdl", media),
            ("http://www.onvif.org/ver10/events/wsdl", f"{base}/events_service"),
        ]
        if d.spec.ptz:
            services.append(("http://www.onvif.org/ver20/ptz/wsdl", f"{base}/ptz_service"))
        if action == "GetServices":
            return ENVELOPE.format(
                body="<tds:GetServicesResponse>"
                + "".join(
                    f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{url}</tds:XAddr>"
                    "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
                    for ns, url in services
                )
                + "</tds:GetServicesResponse>"
            )
        if action == "GetCapabilities":
            ptz = f"<tt:PTZ><tt:XAddr>{base}/ptz_service</tt:XAddr></tt:PTZ>" if d.spec.ptz else ""
            return ENVELOPE.format(
                body=(
                    "<tds:GetCapabilitiesResponse><tds:Capabilities>"
                    f"<tt:Device><tt:XAddr>{base}/device_service</tt:XAddr></tt:Device>"
                    f"<tt:Events><tt:XAddr>{base}/events_service</tt:XAddr><tt:WSSubscriptionPolicySupport>"
                    "false</tt:WSSubscriptionPolicySupport><tt:WSPullPointSupport>true"
                    "</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false"
                    "</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>"
                    f"<tt:Media><tt:XAddr>{media}</tt:XAddr><tt:StreamingCapabilities>"
                    "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>"
                    "<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
                    f"{ptz}</tds:Capabilities></tds:GetCapabilitiesResponse>"
                )
            )
        if action == "GetSystemDateAndTime":
            return ENVELOPE.format(
                body=(
                    "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP"
                    "</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:UTCDateTime>"
                    f"<tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute>"
                    f"<tt:Second>{now.second}</tt:Second></tt:Time><tt:Date><tt:Year>{now.year}</tt:Year>"
                    f"<tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date></tt:UTCDateTime>"
                    "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
                )
            )
        if action == "GetDeviceInformation":
            return ENVELOPE.format(
                body=(
                    "<tds:GetDeviceInformationResponse><tds:Manufacturer>GovLab</tds:Manufacturer>"
                    "<tds:Model>FakeCam-200</tds:Model><tds:FirmwareVersion>2.6.0</tds:FirmwareVersion>"
                    f"<tds:SerialNumber>{d.serial}</tds:SerialNumber><tds:HardwareId>FK200</tds:HardwareId>"
                    "</tds:GetDeviceInformationResponse>"
                )
            )
        if action == "GetNetworkInterfaces":
            if not d.spec.mac:
                return _fault("GetNetworkInterfaces is not supported")
            return ENVELOPE.format(
                body=(
                    '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
                    "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
                    f"<tt:HwAddress>{d.mac}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
                    "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
                )
            )
        if action == "GetProfiles":
            return ENVELOPE.format(
                body="<trt:GetProfilesResponse>"
                + "".join(
                    f'<trt:Profiles token="{tok}" fixed="true"><tt:Name>{tok}</tt:Name>'
                    f'<tt:VideoEncoderConfiguration token="E{tok}"><tt:Name>E{tok}</tt:Name>'
                    "<tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>"
                    f"<tt:Resolution><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:Resolution>"
                    "<tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>25</tt:FrameRateLimit>"
                    f"<tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>{br}</tt:BitrateLimit>"
                    "</tt:RateControl></tt:VideoEncoderConfiguration>"
                    + (
                        '<tt:PTZConfiguration token="PTZ1"><tt:Name>PTZ</tt:Name><tt:UseCount>2</tt:UseCount>'
                        "<tt:NodeToken>N1</tt:NodeToken></tt:PTZConfiguration>"
                        if d.spec.ptz
                        else ""
                    )
                    + "</trt:Profiles>"
                    for tok, w, h, br in (("main", 1920, 1080, 4096), ("sub", 640, 360, 512))
                )
                + "</trt:GetProfilesResponse>"
            )
        if action == "GetStreamUri":
            token = "sub" if ">sub<" in body else "main"
            return ENVELOPE.format(
                body=(
                    "<trt:GetStreamUriResponse><trt:MediaUri>"
                    f"<tt:Uri>rtsp://127.0.0.1:{self.rtsp_port}/{d.serial}/{token}</tt:Uri>"
                    "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false"
                    "</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>"
                    "</trt:GetStreamUriResponse>"
                )
            )
        if action == "GetSnapshotUri":
            return ENVELOPE.format(
                body=(
                    f"<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>http://127.0.0.1:{d.port}/snapshot.jpg"
                    "</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>"
                    "false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>"
                    "</trt:GetSnapshotUriResponse>"
                )
            )
        if action == "GetEventProperties":
            return ENVELOPE.format(
                body=(
                    "<tev:GetEventPropertiesResponse><tev:TopicNamespaceLocation>"
                    "http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>"
                    '<wsnt:FixedTopicSet xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2">true</wsnt:FixedTopicSet>'
                    '<wstop:TopicSet/><wsnt:TopicExpressionDialect xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2">'
                    "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet</wsnt:TopicExpressionDialect>"
                    "<tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/"
                    "ItemFilter</tev:MessageContentFilterDialect><tev:MessageContentSchemaLocation>"
                    "http://www.onvif.org/onvif/ver10/schema/onvif.xsd</tev:MessageContentSchemaLocation>"
                    "</tev:GetEventPropertiesResponse>"
                )
            )
        if action in ("CreatePullPointSubscription", "PullMessages", "Unsubscribe", "Renew"):
            return self._events(d, action, body, now)
        if d.spec.ptz:
            return self._ptz(d, action, body)
        return _fault(f"Action not supported: {action}")

    def _events(self, d: DeviceState, action: str, body: str, now: dt.datetime) -> str:
        """A PullPoint subscription: its first pull sends every property state as Initialized."""

        def iso(t: dt.datetime) -> str:
            return t.strftime("%Y-%m-%dT%H:%M:%SZ")

        times = (
            f"<tev:CurrentTime>{iso(now)}</tev:CurrentTime><tev:TerminationTime>"
            f"{iso(now + dt.timedelta(seconds=60))}</tev:TerminationTime>"
        )
        if action == "CreatePullPointSubscription":
            sub = len(d.subscriptions) + 1
            d.subscriptions[sub] = False
            return ENVELOPE.format(
                body=(
                    "<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>"
                    f"http://127.0.0.1:{d.port}/onvif/pullpoint/{sub}</wsa:Address></tev:SubscriptionReference>"
                    f"<wsnt:CurrentTime>{iso(now)}</wsnt:CurrentTime><wsnt:TerminationTime>"
                    f"{iso(now + dt.timedelta(seconds=60))}</wsnt:TerminationTime>"
                    "</tev:CreatePullPointSubscriptionResponse>"
                )
            )
        if action == "Unsubscribe":
            d.unsubscribed += 1
            return ENVELOPE.format(body="<wsnt:UnsubscribeResponse/>")
        if action == "Renew":
            return ENVELOPE.format(
                body=(
                    f"<wsnt:RenewResponse><wsnt:TerminationTime>{iso(now + dt.timedelta(seconds=60))}"
                    f"</wsnt:TerminationTime><wsnt:CurrentTime>{iso(now)}</wsnt:CurrentTime></wsnt:RenewResponse>"
                )
            )
        fresh = [k for k, sent in d.subscriptions.items() if not sent]
        messages = ""
        if fresh:
            d.subscriptions[fresh[-1]] = True
            for name, state in d.events.items():
                topic, item = (
                    ("tns1:RuleEngine/TamperDetector/Tamper", "IsTamper")
                    if name == "Tamper"
                    else (f"tns1:VideoSource/{name}/AnalyticsService", "State")
                )
                messages += (
                    '<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/'
                    f'topicExpression/ConcreteSet">{topic}</wsnt:Topic><wsnt:Message>'
                    f'<tt:Message UtcTime="{iso(now)}" PropertyOperation="Initialized"><tt:Source>'
                    '<tt:SimpleItem Name="Source" Value="VideoSource_1"/></tt:Source><tt:Data>'
                    f'<tt:SimpleItem Name="{item}" Value="{str(state).lower()}"/></tt:Data></tt:Message>'
                    "</wsnt:Message></wsnt:NotificationMessage>"
                )
        return ENVELOPE.format(body=f"<tev:PullMessagesResponse>{times}{messages}</tev:PullMessagesResponse>")

    def _ptz(self, d: DeviceState, action: str, body: str) -> str:
        if action == "GetNodes":
            return ENVELOPE.format(
                body=(
                    '<tptz:GetNodesResponse><tptz:PTZNode token="N1"><tt:Name>N1</tt:Name>'
                    "<tt:SupportedPTZSpaces/><tt:MaximumNumberOfPresets>100</tt:MaximumNumberOfPresets>"
                    "<tt:HomeSupported>true</tt:HomeSupported></tptz:PTZNode></tptz:GetNodesResponse>"
                )
            )
        if action == "ContinuousMove":
            pt = re.search(r'PanTilt[^>]*x="([-\d.eE]+)"[^>]*y="([-\d.eE]+)"', body)
            zm = re.search(r'Zoom[^>]*x="([-\d.eE]+)"', body)
            d.velocity = (
                float(pt.group(1)) if pt else 0.0,
                float(pt.group(2)) if pt else 0.0,
                float(zm.group(1)) if zm else 0.0,
            )
            d.moves += 1
            return ENVELOPE.format(body="<tptz:ContinuousMoveResponse/>")
        if action == "Stop":
            d.velocity = (0.0, 0.0, 0.0)
            d.stops += 1
            return ENVELOPE.format(body="<tptz:StopResponse/>")
        if action == "SetPreset":
            name = re.search(r"PresetName>([^<]*)<", body)
            token = f"p{len(d.presets) + 1}"
            d.presets[token] = name.group(1) if name else token
            return ENVELOPE.format(
                body=f"<tptz:SetPresetResponse><tptz:PresetToken>{token}</tptz:PresetToken></tptz:SetPresetResponse>"
            )
        if action == "GotoPreset":
            token = re.search(r"PresetToken>([^<]*)<", body)
            if not token or token.group(1) not in d.presets:
                return _fault("no such preset", "ter:NoToken")
            d.last_preset = token.group(1)
            return ENVELOPE.format(body="<tptz:GotoPresetResponse/>")
        if action == "GetPresets":
            return ENVELOPE.format(
                body="<tptz:GetPresetsResponse>"
                + "".join(
                    f'<tptz:Preset token="{t}"><tt:Name>{n}</tt:Name></tptz:Preset>' for t, n in d.presets.items()
                )
                + "</tptz:GetPresetsResponse>"
            )
        return _fault(f"Action not supported: {action}")


def _tiny_jpeg() -> bytes:
    try:
        import cv2
        import numpy as np

        img = np.zeros((180, 320, 3), np.uint8)
        img[:, :, 1] = 120
        cv2.putText(img, "govops fake camera", (10, 90), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
        ok, buf = cv2.imencode(".jpg", img)
        return buf.tobytes() if ok else b""
    except ImportError:
        return b""


_JPEG = _tiny_jpeg()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.lab.fake_onvif")
    ap.add_argument("command", choices=["serve"])
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--mode", choices=MODES, default="good")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default=os.environ.get("FAKE_ONVIF_PASSWORD", "admin"))
    args = ap.parse_args(argv)
    fleet = FakeOnvifFleet(
        [DeviceSpec(mode=args.mode) for _ in range(args.count)],
        user=args.user,
        password=args.password,
        latency_s=args.latency_ms / 1000,
    )

    async def run() -> None:
        await fleet.serve()
        print(json.dumps({"ports": fleet.ports, "pid": os.getpid()}), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
