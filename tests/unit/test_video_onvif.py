"""The ONVIF adapter against a fleet of SOAP devices on 127.0.0.1, honest and hostile.

Hostile answers (XXE, billion laughs, 50 MB bodies, wrong types, SOAP faults, silence, garbage)
must each end as a clear per-device error, while the other devices of the same run onboard as if
alone. WS-Discovery is exercised on private UDP ports (never 3702, which lab cameras share).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from govops.errors import ValidationFailed
from tools.lab.fake_onvif import DeviceSpec, FakeOnvifFleet
from video.onvif import Credentials, DeviceAddress, DeviceError, inspect_many, ptz_control
from video.onvif.answers import clean_uri, normalise_mac
from video.onvif.discovery import (
    expand_endpoints,
    expand_targets,
    parse_probe_matches,
    probe,
    probe_message,
)
from video.onvif.xmlsafe import screen

CREDS = Credentials("admin", "pw-Lab#1")

# mode, action the mode applies to, expected kind, expected step, words in the message
HOSTILE = [
    ("xxe", "GetDeviceInformation", "hostile", "device_info", "DTD or entity declarations"),
    ("billion_laughs", "GetDeviceInformation", "hostile", "device_info", "entity-expansion"),
    ("huge", "GetDeviceInformation", "hostile", "device_info", "byte limit"),
    ("huge_chunked", "GetProfiles", "hostile", "profiles", "stopped reading"),
    ("wrong_types", "GetProfiles", "malformed", "profiles", "no usable resolution"),
    ("wrong_types", "GetDeviceInformation", "malformed", "device_info", "Manufacturer"),
    ("fault", "GetDeviceInformation", "soap_fault", "device_info", "internal camera error"),
    ("fault", "*", "soap_fault", "xaddrs", "SOAP fault"),
    ("silent", "GetDeviceInformation", "timeout", "device_info", "no complete answer within"),
    ("garbage", "GetProfiles", "malformed", "profiles", "not XML"),
    ("utf16", "GetDeviceInformation", "hostile", "device_info", "UTF-16"),
]


@pytest.fixture(scope="module")
def fleet() -> Iterator[FakeOnvifFleet]:
    specs = [DeviceSpec(), DeviceSpec(mac=False, ptz=False)] + [DeviceSpec(mode=m, action=a) for m, a, *_ in HOSTILE]
    with FakeOnvifFleet(specs, user=CREDS.user or "", password=CREDS.password or "") as f:
        yield f


async def test_hostile_devices_fail_alone_and_the_run_goes_on(fleet):
    results = await inspect_many(fleet.addresses, CREDS, concurrency=8, device_timeout_s=10, request_timeout_s=2)
    assert [r.target for r in results] == fleet.addresses  # one result per device, in order
    good, no_mac, *hostile = results
    assert good.ok and no_mac.ok
    for r, (mode, action, kind, step, words) in zip(hostile, HOSTILE, strict=True):
        assert not r.ok, mode
        assert (r.error.kind, r.error.step) == (kind, step), (mode, action, r.error.as_dict())
        assert words in r.error.message, (mode, r.error.message)
        assert len(r.error.message) < 400  # an excerpt, never the device's whole answer
    # The silent device cost its own request timeout and the others still answered (how long a
    # run with silent devices takes is bench/video_onboarding.py's, not a test's).
    alone = await inspect_many([fleet.addresses[0]], CREDS, request_timeout_s=2)
    assert alone[0].facts.profiles == good.facts.profiles  # the hostile peers changed nothing


async def test_onboarding_facts_follow_the_ha_order(fleet):
    [r] = await inspect_many([fleet.addresses[0]], CREDS)
    f = r.facts
    assert list(f.timings_ms)[:5] == ["xaddrs", "capabilities", "clock", "device_info", "mac"]
    assert list(f.timings_ms)[-2:] == ["ptz", "events"]
    assert (f.manufacturer, f.model, f.serial) == ("GovLab", "FakeCam-200", f"FK-{fleet.ports[0]}")
    assert f.identity == f"mac:{fleet.devices[fleet.ports[0]].mac}"
    assert [p.token for p in f.profiles] == ["main", "sub"]
    assert f.main_profile.token == "main" and f.main_profile.width == 1920
    assert f.main_profile.stream_uri.endswith(f"/FK-{fleet.ports[0]}/main")
    assert f.capabilities == {"ptz": True, "events": True, "snapshot": True, "imaging": False, "multicast": False}
    assert abs(f.clock_skew_s) < 5 and f.warnings == []


async def test_identity_falls_back_to_serial_and_ptz_is_tried_anyway(fleet):
    [r] = await inspect_many([fleet.addresses[1]], CREDS)
    assert r.facts.mac is None and r.facts.identity.startswith("serial:GovLab/FK-")
    assert r.facts.capabilities["ptz"] is False  # tried on the device endpoint, refused
    assert any("identified by serial number" in w for w in r.facts.warnings)


async def test_wrong_password_and_closed_port_say_why(fleet):
    bad, closed = await inspect_many(
        [fleet.addresses[0], "127.0.0.1:9"], Credentials("admin", "wrong"), request_timeout_s=2
    )
    assert (bad.error.kind, bad.error.step) == ("auth", "xaddrs")
    assert (closed.error.kind, closed.error.step) == ("unreachable", "xaddrs")
    assert "wrong" not in repr(Credentials("admin", "wrong"))


async def test_clock_skew_is_measured_and_corrected():
    spec = DeviceSpec(skew_s=300, strict_clock=True)  # this device refuses timestamps 5 s off
    with FakeOnvifFleet([spec], user="admin", password="pw") as f:
        [r] = await inspect_many(f.addresses, Credentials("admin", "pw"))
    assert r.ok, r.error
    assert 295 < r.facts.clock_skew_s < 305
    assert any("clock correction" in w for w in r.facts.warnings)
    assert any("breaks WS-Security" in w for w in r.facts.warnings)


async def test_a_whole_run_is_bounded_per_device(fleet):
    silent = fleet.addresses[2 + [m for m, *_ in HOSTILE].index("silent")]
    [r] = await inspect_many([silent], CREDS, device_timeout_s=1.0, request_timeout_s=5)
    assert r.error.kind == "timeout" and r.error.step == "device_info"
    assert r.elapsed_ms < 3000


async def test_ptz_commands_reach_the_device(fleet):
    port = fleet.ports[0]
    # A generous request timeout: the first call parses the WSDLs on a loaded CI machine too.
    async with ptz_control(fleet.addresses[0], CREDS.user, CREDS.password, "main", request_timeout_s=60) as ptz:
        await ptz.continuous_move(0.5, -0.25, 0.1, timeout_s=3)
        assert fleet.state(port)["velocity"] == (0.5, -0.25, 0.1)
        await ptz.stop()
        assert fleet.state(port)["velocity"] == (0.0, 0.0, 0.0)
        token = await ptz.set_preset("南门 south gate")
        await ptz.goto_preset(token)
        assert fleet.state(port)["last_preset"] == token
        assert {"token": token, "name": "南门 south gate"} in await ptz.presets()
        with pytest.raises(DeviceError) as exc:
            await ptz.goto_preset("no-such-preset")
        assert exc.value.kind == "soap_fault" and exc.value.step == "ptz.GotoPreset"
        with pytest.raises(ValidationFailed):
            await ptz.continuous_move(2.0, 0)


# --- pieces ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "url"),
    [
        ("127.0.0.1:8080", "http://127.0.0.1:8080/onvif/device_service"),
        ("cam-7.example", "http://cam-7.example:80/onvif/device_service"),
        ("http://10.1.2.3:8000/onvif/device_service", "http://10.1.2.3:8000/onvif/device_service"),
        ("https://10.1.2.3/onvif/device_service", "https://10.1.2.3:443/onvif/device_service"),
    ],
)
def test_device_addresses(target, url):
    assert DeviceAddress.parse(target).url == url


@pytest.mark.parametrize("target", ["", "ftp://x/y", "127.0.0.1:99999", "a b", "x" * 400, "http://"])
def test_bad_device_addresses(target):
    with pytest.raises(DeviceError) as exc:
        DeviceAddress.parse(target)
    assert exc.value.step == "address"


def test_uris_lose_credentials_and_bad_schemes():
    assert clean_uri("rtsp://u:p@10.0.0.1:554/s1", "uri", ("rtsp",)) == "rtsp://10.0.0.1:554/s1"
    for bad in ("javascript:alert(1)", "file:///etc/passwd", "rtsp://", 12.5):
        with pytest.raises(DeviceError):
            clean_uri(bad, "uri", ("rtsp", "http"))


@pytest.mark.parametrize(
    ("raw", "mac"),
    [
        ("00:1A:2b:3c:4d:5e", "00:1a:2b:3c:4d:5e"),
        ("00-1A-2B-3C-4D-5E", "00:1a:2b:3c:4d:5e"),
        ("001a2b3c4d5e", "00:1a:2b:3c:4d:5e"),
        ("00:00:00:00:00:00", None),
        ("zz:zz", None),
        ("", None),
    ],
)
def test_mac_normalisation(raw, mac):
    assert normalise_mac(raw) == mac


def test_screen_refuses_dtds_in_any_case_and_encoding():
    from video.onvif.errors import AnswerRejected

    for body in (
        b'<?xml version="1.0"?><!doctype x [<!entity a "b">]><x>&a;</x>',
        b"<x/>" + b" " * 5000 + b"<!ENTITY a 'b'>",
        '<?xml version="1.0" encoding="UTF-16"?><x/>'.encode("utf-16"),
        b'<?xml version="1.0" encoding="UTF-7"?><x/>',
    ):
        with pytest.raises(AnswerRejected):
            screen(body)
    with pytest.raises(AnswerRejected, match="byte limit"):
        screen(b"<x>" + b"a" * 100 + b"</x>", limit=50)
    screen('<?xml version="1.0" encoding="GB2312"?><x>好</x>'.encode("gb2312"))


@pytest.mark.parametrize(
    ("specs", "hosts"),
    [
        (["10.0.0.0/30"], ["10.0.0.1", "10.0.0.2"]),
        (["10.0.0.254-10.0.1.1"], ["10.0.0.254", "10.0.0.255", "10.0.1.0", "10.0.1.1"]),
        (["10.0.0.7-9", "10.0.0.8"], ["10.0.0.7", "10.0.0.8", "10.0.0.9"]),
        (["cam.example, 10.0.0.1"], ["cam.example", "10.0.0.1"]),
        (["127.0.0.1:40001-40003"], ["127.0.0.1:40001", "127.0.0.1:40002", "127.0.0.1:40003"]),
        (["10.0.0.7-8:3703", "10.0.0.7:3702"], ["10.0.0.7:3703", "10.0.0.8:3703", "10.0.0.7"]),
        (["10.0.0.0/30:80", "cam.example:3702"], ["10.0.0.1:80", "10.0.0.2:80", "cam.example"]),
    ],
)
def test_target_ranges(specs, hosts):
    assert expand_targets(specs) == hosts


def test_endpoints_default_to_the_probe_port():
    assert expand_endpoints(["127.0.0.1", "127.0.0.1:9"], default_port=5000) == [("127.0.0.1", 5000), ("127.0.0.1", 9)]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("10.0.0.0/8", "limit"),
        ("10.0.0.9-3", "empty"),
        ("10.0.0.300", "not a host"),
        ("127.0.0.1:0", "1-65535"),
        ("127.0.0.1:70000", "1-65535"),
        ("127.0.0.1:9-3", "empty"),
        ("127.0.0.1:", "not a UDP port"),
        ("127.0.0.1:x", "not a UDP port"),
        ("127.0.0.1:1-2-3", "not a UDP port"),
        (":3702", "no host"),
        ("::1", "IPv6"),
        ("[::1]:3702", "IPv6"),
        ("10.0.0.0/20:1-20", "limit"),
        ("bad host!", "not a host"),
    ],
)
def test_bad_target_ranges(spec, words):
    with pytest.raises(ValidationFailed, match=words):
        expand_targets([spec])


def _match(message_id: str, xaddrs: str, name: str = "Gate%20Cam") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header>'
        f"<a:RelatesTo>{message_id}</a:RelatesTo></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>"
        "<a:EndpointReference><a:Address>urn:uuid:1234</a:Address></a:EndpointReference>"
        "<d:Types>dn:NetworkVideoTransmitter</d:Types>"
        f"<d:Scopes>onvif://www.onvif.org/name/{name} onvif://www.onvif.org/hardware/X1</d:Scopes>"
        f"<d:XAddrs>{xaddrs}</d:XAddrs></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"
    ).encode()


def test_probe_match_parsing():
    [m] = parse_probe_matches(
        _match("urn:uuid:m1", "http://10.0.0.5/onvif/device_service javascript:alert(1) http://[::1"), "urn:uuid:m1"
    )
    assert m.xaddrs == ["http://10.0.0.5/onvif/device_service"]
    assert (m.name, m.hardware, m.endpoint) == ("Gate Cam", "X1", "urn:uuid:1234")
    with pytest.raises(DeviceError, match="another probe"):
        parse_probe_matches(_match("urn:uuid:other", "http://10.0.0.5/x"), "urn:uuid:m1")
    with pytest.raises(DeviceError) as exc:
        parse_probe_matches(b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    assert exc.value.kind == "hostile"


class _Responder(threading.Thread):
    """Answers Probes on a private UDP port: one honest match, one hostile datagram."""

    def __init__(self, *, multicast: bool) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("" if multicast else "127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        if multicast:
            mreq = struct.pack("4s4s", socket.inet_aton("239.255.255.250"), socket.inet_aton("127.0.0.1"))
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        self.sock.settimeout(0.2)
        self.stop_flag = False

    def run(self) -> None:
        while not self.stop_flag:
            try:
                data, addr = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            mid = data.split(b"MessageID>")[1].split(b"<")[0].decode()
            self.sock.sendto(_match(mid, f"http://127.0.0.1:{self.port}/onvif/device_service"), addr)
            self.sock.sendto(b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><x>&lol;</x>', addr)

    def close(self) -> None:
        self.stop_flag = True
        self.join(2)
        self.sock.close()


@pytest.mark.parametrize("multicast", [False, True])
async def test_ws_discovery_unicast_and_multicast_on_loopback(multicast):
    responder = _Responder(multicast=multicast)
    responder.start()
    try:
        result = await probe(
            targets=[] if multicast else ["127.0.0.1"],
            multicast=multicast,
            interface="127.0.0.1",
            timeout_s=0.5,
            port=responder.port,
        )
    finally:
        responder.close()
    assert [d.xaddrs for d in result.devices] == [[f"http://127.0.0.1:{responder.port}/onvif/device_service"]]
    assert result.devices[0].name == "Gate Cam"
    assert result.rejected and result.rejected[0]["kind"] == "hostile"


async def test_one_unicast_probe_reaches_responders_on_their_own_ports():
    """Co-located devices on ports of their own: one probe of a host:port list finds each."""
    responders = [_Responder(multicast=False) for _ in range(3)]
    for r in responders:
        r.start()
    try:
        result = await probe(
            targets=[",".join(f"127.0.0.1:{r.port}" for r in responders)],
            interface="127.0.0.1",
            timeout_s=0.5,
            repeats=1,
        )
    finally:
        for r in responders:
            r.close()
    assert result.probed == 3
    assert sorted(d.responder for d in result.devices) == sorted(f"127.0.0.1:{r.port}" for r in responders)
    assert len(result.rejected) == 3 and {x["kind"] for x in result.rejected} == {"hostile"}


def test_probe_message_is_ws_discovery():
    body = probe_message("urn:uuid:abc")
    assert b"http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe" in body
    assert b"dn:NetworkVideoTransmitter" in body and b"urn:uuid:abc" in body


async def test_nothing_to_probe_is_a_usage_error():
    with pytest.raises(ValidationFailed):
        await probe(targets=[], multicast=False)
    await asyncio.sleep(0)


# --- SSRF and unclear errors (#15 items 7 and 13) ------------------------------------------------


@pytest.fixture(scope="module")
def tricky() -> Iterator[FakeOnvifFleet]:
    specs = [
        DeviceSpec(),  # 0: the peer the others point at
        DeviceSpec(mode="redirect", action="*", peer=0),
        DeviceSpec(mode="redirect_loop", action="*"),
        DeviceSpec(mode="html401", action="*"),
        DeviceSpec(mode="foreign_xaddr", peer=0),
    ]
    with FakeOnvifFleet(specs, user=CREDS.user or "", password=CREDS.password or "") as f:
        yield f


async def test_a_device_cannot_send_the_platform_to_another_host(tricky):
    peer, redirect, _loop, _html, foreign = tricky.addresses
    before = tricky.state(tricky.ports[0])["requests"]
    results = await inspect_many([redirect, foreign], CREDS, request_timeout_s=2)
    for r in results:
        assert not r.ok and r.error.kind == "hostile", r.error.as_dict()
        assert f"127.0.0.1:{tricky.ports[0]}" in r.error.message and "another host" in r.error.message
        assert "--allow-host" in (r.error.hint or "")
    assert results[0].error.step == "xaddrs" and results[1].error.step == "profiles"
    assert tricky.state(tricky.ports[0])["requests"] == before  # nothing was re-sent to the peer
    allowed = Credentials(CREDS.user, CREDS.password, (f"127.0.0.1:{tricky.ports[0]}",))
    [ok] = await inspect_many([foreign], allowed, request_timeout_s=2)
    assert ok.ok, ok.error and ok.error.as_dict()
    assert tricky.state(tricky.ports[0])["requests"] > before  # the allowed host was used
    assert peer != foreign


async def test_unclear_device_errors_say_what_happened(tricky):
    _peer, _redirect, loop, html, _foreign = tricky.addresses
    r_loop, r_html = await inspect_many([loop, html], CREDS, request_timeout_s=2)
    assert (r_loop.error.kind, r_loop.error.step) == ("protocol", "xaddrs")
    assert "redirects in a loop" in r_loop.error.message
    assert r_html.error.kind == "auth" and "HTTP 401" in r_html.error.message, r_html.error.as_dict()
    [refused] = await inspect_many(["127.0.0.1:1"], Credentials(None, None), request_timeout_s=2)
    assert refused.error.kind == "unreachable" and "connection refused" in refused.error.message
    [no_user] = await inspect_many([tricky.addresses[0]], Credentials(None, None), request_timeout_s=2)
    assert no_user.error.kind == "auth" and "none were given" in no_user.error.message, no_user.error.as_dict()
    assert "--user" in (no_user.error.hint or "")


def test_onboarding_keeps_the_hosts_allowed_for_a_camera(district, tricky):
    from sqlalchemy import select

    from video.catalogue.models import Camera
    from video.catalogue.registry import Placement
    from video.onvif import service as device_service

    foreign, peer = tricky.addresses[4], f"127.0.0.1:{tricky.ports[0]}"
    kwargs = dict(
        user=CREDS.user,
        password=CREDS.password,
        placement=Placement(department="gaj"),
        box=district.box,
        settings=district.video,
        actor="t",
    )
    with district.transaction() as s:
        refused = device_service.onboard(s, [foreign], **kwargs)
        assert refused["failed"] == 1 and refused["results"][0]["error"]["kind"] == "hostile"
        allowed = device_service.onboard(s, [foreign], allow_hosts=[peer], **kwargs)
        assert allowed["onboarded"] == 1, allowed
        cam = s.scalar(select(Camera).where(Camera.id == allowed["results"][0]["camera"]))
        assert cam.capabilities["allowed_hosts"] == [peer]
        assert device_service.camera_credentials(cam, district.box).allowed_hosts == (peer,)
    with district.transaction() as s, pytest.raises(ValidationFailed, match="HOST"):
        device_service.onboard(s, [foreign], allow_hosts=["a b"], **kwargs)
