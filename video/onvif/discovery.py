"""WS-Discovery: find ONVIF devices by a Probe, multicast or unicast to hosts and ranges.

- Multicast sends one Probe to 239.255.255.250:3702 out of one chosen interface with TTL 1, so a
  probe never leaves the segment it was meant for (on a lab machine: `interface="127.0.0.1"`).
- Unicast sends the Probe to UDP 3702 of each host of a list or range (`10.1.2.0/28`,
  `10.1.2.10-10.1.2.40`, `cam.example`), for segments multicast cannot reach (routed camera
  VLANs, another street's NVR room). Devices answer to the sender's port, so one socket hears
  every answer.
- A target may name its UDP port or a port range: `10.1.2.7:3702`, `127.0.0.1:40001-40003`,
  `10.1.2.0/28:3703`. That reaches devices behind a port-forwarding NAT gateway, and several
  simulators on one host that each listen on a port of their own (the lab's ipycams do: the
  kernel hands a unicast datagram to one socket only, so co-located devices sharing 3702 would
  answer a unicast probe once between them).

Answers are screened like SOAP answers (no DTD, 64 kB at most), must relate to our Probe, and
carry http(s) XAddrs; anything else is counted as rejected with the reason, never raised.

Why not the `wsdiscovery` package: it probes one address and port at a time from its own
threads and sockets, with no way to sweep a range or a port range from one socket as above, and
it parses answers with minidom without the size cap, the DTD refusal and the RelatesTo check
that a hostile network needs. This module is those few hundred lines, on asyncio, so the
dependency was dropped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from govops.errors import ValidationFailed
from video.onvif.address import scope_value
from video.onvif.errors import DeviceError, excerpt
from video.onvif.xmlsafe import MAX_DATAGRAM_BYTES, local, parse

MULTICAST_GROUP = "239.255.255.250"
PORT = 3702
MAX_HOSTS = 65536
PROBE_TYPES = "dn:NetworkVideoTransmitter"


def probe_message(message_id: str, types: str = PROBE_TYPES) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
        "<s:Header>"
        '<a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>'
        f"<a:MessageID>{escape(message_id)}</a:MessageID>"
        "<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
        "</a:Address></a:ReplyTo>"
        '<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>'
        "</s:Header>"
        f"<s:Body><d:Probe><d:Types>{escape(types)}</d:Types></d:Probe></s:Body>"
        "</s:Envelope>"
    ).encode()


@dataclass
class DiscoveredDevice:
    xaddrs: list[str]
    endpoint: str | None
    types: list[str]
    scopes: list[str]
    responder: str  # ip:port the answer came from

    @property
    def name(self) -> str | None:
        return scope_value(self.scopes, "name")

    @property
    def hardware(self) -> str | None:
        return scope_value(self.scopes, "hardware")

    def as_dict(self) -> dict[str, Any]:
        return {
            "xaddrs": self.xaddrs,
            "endpoint": self.endpoint,
            "name": self.name,
            "hardware": self.hardware,
            "types": self.types,
            "scopes": self.scopes,
            "responder": self.responder,
        }


@dataclass
class DiscoveryResult:
    devices: list[DiscoveredDevice] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    probed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"devices": [d.as_dict() for d in self.devices], "rejected": self.rejected, "probed": self.probed}


def parse_probe_matches(data: bytes, message_id: str | None = None) -> list[DiscoveredDevice]:
    """The ProbeMatch entries of one answer (raises DeviceError on a hostile or foreign one)."""
    root = parse(data, what="WS-Discovery answer", limit=MAX_DATAGRAM_BYTES)
    if message_id is not None:
        relates = [el.text.strip() for el in root.iter() if local(el.tag) == "RelatesTo" and el.text]
        if relates and message_id not in relates:
            raise DeviceError("protocol", "the answer relates to another probe")
    found = []
    for match in (el for el in root.iter() if local(el.tag) == "ProbeMatch"):
        fields: dict[str, str] = {}
        for el in match.iter():
            name = local(el.tag)
            if name in ("Address", "Types", "Scopes", "XAddrs") and el.text:
                fields.setdefault(name, el.text.strip())
        xaddrs = []
        for url in fields.get("XAddrs", "").split():
            try:
                parts = urlsplit(url)
                ok = parts.scheme in ("http", "https") and bool(parts.hostname) and len(url) < 300
                parts.port  # noqa: B018 - raises on a bad port
            except ValueError:
                ok = False
            if ok:
                xaddrs.append(url)
        if not xaddrs:
            continue
        found.append(
            DiscoveredDevice(
                xaddrs=xaddrs,
                endpoint=(fields.get("Address") or None),
                types=fields.get("Types", "").split()[:16],
                scopes=fields.get("Scopes", "").split()[:32],
                responder="",
            )
        )
    if not found:
        raise DeviceError("malformed", "the answer has no ProbeMatch with an http(s) XAddr")
    return found


def _ports(spec: str, text: str) -> range:
    """`3702` or `40001-40003`: the port part of a target."""
    first_s, _, last_s = text.partition("-")
    if not first_s.isdigit() or (last_s and not last_s.isdigit()):
        raise ValidationFailed(
            f"{spec!r}: {text!r} is not a UDP port or a from-to port range",
            hint="e.g. 10.1.2.7:3702 or 127.0.0.1:40001-40003",
        )
    first, last = int(first_s), int(last_s or first_s)
    if not (1 <= first <= 65535 and 1 <= last <= 65535):
        raise ValidationFailed(f"{spec!r}: ports are 1-65535")
    if last < first:
        raise ValidationFailed(f"{spec!r}: the port range is empty (the end is before the start)")
    return range(first, last + 1)


def _hosts(spec: str, limit: int) -> list[str]:
    """Hosts of one host part: `a.b.c.d`, `a.b.c.d/nn`, `a.b.c.d-a.b.c.e`, `a.b.c.d-e`, a name."""
    if "/" in spec:
        net = ipaddress.ip_network(spec, strict=False)
        if net.num_addresses > limit:
            raise ValidationFailed(f"range {spec} has {net.num_addresses} addresses; the limit is {limit}")
        return [str(h) for h in (net.hosts() if net.num_addresses > 2 else net)]
    if "-" in spec and spec.replace(".", "").replace("-", "").isdigit():
        first_s, last_s = spec.split("-", 1)
        first = ipaddress.ip_address(first_s)
        last = (
            ipaddress.ip_address(last_s)
            if "." in last_s
            else ipaddress.ip_address(first_s.rsplit(".", 1)[0] + "." + last_s)
        )
        count = int(last) - int(first) + 1
        if count < 1:
            raise ValidationFailed(f"range {spec} is empty (the end is before the start)")
        if count > limit:
            raise ValidationFailed(f"range {spec} has {count} addresses; the limit is {limit}")
        return [str(ipaddress.ip_address(int(first) + i)) for i in range(count)]
    if spec[0].isdigit():
        ipaddress.ip_address(spec)  # raises ValueError on 10.0.0.300
    elif not all(
        part and len(part) <= 63 and part.replace("-", "").replace("_", "").isalnum() for part in spec.split(".")
    ):
        raise ValueError("not a host name")
    return [spec]


def expand_endpoints(specs: list[str], *, default_port: int = PORT, limit: int = MAX_HOSTS) -> list[tuple[str, int]]:
    """(host, UDP port) pairs from targets: a host part (see `_hosts`), optionally `:port` or
    `:from-to`; without a port, `default_port`. At most `limit` pairs in all."""
    out: list[tuple[str, int]] = []
    for spec in (s.strip() for raw in specs for s in raw.split(",")):
        if not spec:
            continue
        if spec.count(":") > 1 or spec.startswith("["):
            raise ValidationFailed(f"{spec!r}: IPv6 targets are not supported (WS-Discovery probes go over IPv4)")
        host_part, _, port_part = spec.partition(":")
        if not host_part:
            raise ValidationFailed(f"{spec!r} names no host", hint="e.g. 127.0.0.1:40001-40003")
        ports = _ports(spec, port_part) if port_part or spec.endswith(":") else range(default_port, default_port + 1)
        try:
            hosts = _hosts(host_part, limit)
        except ValueError as exc:
            raise ValidationFailed(
                f"{spec!r} is not a host, a CIDR range or a from-to range ({exc})",
                hint="e.g. 10.1.2.0/28, 10.1.2.10-40 or 127.0.0.1:40001-40003",
            ) from None
        if len(hosts) * len(ports) > limit:
            raise ValidationFailed(f"{spec!r} has {len(hosts) * len(ports)} endpoints; the limit is {limit}")
        out.extend((h, p) for h in hosts for p in ports)
        if len(out) > limit:
            raise ValidationFailed(f"more than {limit} endpoints to probe; narrow the ranges")
    return list(dict.fromkeys(out))


def expand_targets(specs: list[str], *, limit: int = MAX_HOSTS) -> list[str]:
    """The targets as `host` (UDP 3702) or `host:port` strings, ranges expanded."""
    return [h if p == PORT else f"{h}:{p}" for h, p in expand_endpoints(specs, default_port=PORT, limit=limit)]


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str, result: DiscoveryResult) -> None:
        self.message_id = message_id
        self.result = result
        self._seen: set[tuple[str, ...]] = set()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        responder = f"{addr[0]}:{addr[1]}"
        try:
            matches = parse_probe_matches(data, self.message_id)
        except DeviceError as exc:
            if exc.message != "the answer relates to another probe":
                self.result.rejected.append(
                    {"responder": responder, "kind": exc.kind, "reason": excerpt(exc.message, 200)}
                )
            return
        for m in matches:
            key = (m.endpoint or "", *m.xaddrs)
            if key in self._seen:
                continue
            self._seen.add(key)
            m.responder = responder
            self.result.devices.append(m)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.
        pass


async def _resolve(host: str) -> str | None:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, PORT, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    except OSError:
        return None
    return str(infos[0][4][0]) if infos else None


async def probe(
    *,
    targets: list[str] | None = None,
    multicast: bool = False,
    interface: str | None = None,
    timeout_s: float = 2.0,
    port: int = PORT,
    repeats: int = 2,
    send_interval_s: float = 0.0005,
) -> DiscoveryResult:
    """Send Probes and collect ProbeMatches for `timeout_s` after the last one went out.

    `port` is the UDP port of the multicast probe and of every target that names none."""
    endpoints = expand_endpoints(targets or [], default_port=port)
    if not endpoints and not multicast:
        raise ValidationFailed("nothing to probe: give targets or ask for multicast")
    message_id = f"urn:uuid:{uuid.uuid4()}"
    message = probe_message(message_id)
    result = DiscoveryResult(probed=len(endpoints) + (1 if multicast else 0))
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setblocking(False)
    bind_ip = interface or "0.0.0.0"  # noqa: S104 - answers come back to this socket
    sock.bind((bind_ip, 0))
    if multicast:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("b", 1))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        if interface:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    transport, _ = await loop.create_datagram_endpoint(lambda: _Collector(message_id, result), sock=sock)
    resolved: dict[str, str | None] = {}
    try:
        for attempt in range(max(1, repeats)):
            if multicast:
                transport.sendto(message, (MULTICAST_GROUP, port))
            for i, (host, udp_port) in enumerate(endpoints):
                if host not in resolved:
                    resolved[host] = host if host[0].isdigit() else await _resolve(host)
                    if resolved[host] is None:
                        result.rejected.append(
                            {"responder": host, "kind": "unreachable", "reason": "the host name does not resolve"}
                        )
                ip = resolved[host]
                if ip is None:
                    continue
                transport.sendto(message, (ip, udp_port))
                if send_interval_s and i % 64 == 63:
                    await asyncio.sleep(send_interval_s * 64)  # pace large ranges
            if attempt + 1 < repeats:
                await asyncio.sleep(min(0.25, timeout_s / 4))
        await asyncio.sleep(timeout_s)
    finally:
        transport.close()
    result.devices.sort(key=lambda d: d.xaddrs[0])
    return result
