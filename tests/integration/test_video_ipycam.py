"""The video network against several real ipycam cameras on 127.0.0.1.

One unicast WS-Discovery probe finds them all, onboarding stores what it found (identified by
serial: ipycam has no GetNetworkInterfaces), OpenCV reads each stored RTSP stream, a snapshot
comes through the API (ipycam asks for HTTP Basic), and PTZ move/stop/presets sent through the
API reach the simulator, checked on ipycam's own /api/ptz.

Unicast and co-located simulators: ipycam's WS-Discovery binds UDP 3702 on all interfaces with
SO_REUSEADDR, shared by every instance on the machine, and the kernel hands a unicast datagram
to one of those sockets only. The lab therefore gives each camera a unicast listener of its own
on 127.0.0.1:<discovery_port> (tools/lab/onvif.py), here a block of consecutive ports, and the
probe targets that port range: `127.0.0.1:<first>-<last>`, as it would a range of hosts. The
shared 3702 listeners still answer a multicast probe (out of the loopback interface, TTL 1).
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import cv2
import httpx
import pytest

from govops.principal import LOCAL_SYSTEM_ADMIN, SECURITY_STAFF, Principal
from tests.conftest import client_as
from tests.fixtures.platform import need, wait_for
from tools.lab.onvif import OnvifCameraHandle, start_onvif_camera
from tools.lab.process import StartupFailed
from video.catalogue.models import Camera
from video.catalogue.registry import Placement
from video.onvif import probe
from video.onvif import service as device_service

pytestmark = pytest.mark.integration
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
PASSWORD = "Lab-Cam#2026"
COUNT = 3


def _udp_block(count: int) -> int:
    """The first of `count` consecutive free UDP ports on 127.0.0.1, below the ephemeral range
    (32768+) so that no outgoing socket takes one before the cameras bind them."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000 - count)
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no block of {count} free UDP ports on 127.0.0.1")


@pytest.fixture(scope="module")
def cameras(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[OnvifCameraHandle]]:
    base = _udp_block(COUNT)
    # Made here, not in the threads: tmp_path_factory is not thread-safe.
    workdirs = [tmp_path_factory.mktemp(f"ipycam{i}") for i in range(COUNT)]

    def one(i: int) -> OnvifCameraHandle:
        def start() -> OnvifCameraHandle:
            kwargs = {"password": PASSWORD, "name": f"Gate{i}", "discovery_port": base + i, "timeout": 120}
            try:
                return start_onvif_camera(workdirs[i] / "first", **kwargs)
            except StartupFailed:
                # Parallel starts pick free TCP ports independently; on a busy machine two can
                # race for one. A second start with fresh ports settles it; a real fault fails again.
                return start_onvif_camera(workdirs[i] / "retry", **kwargs)

        return need(start)

    with ThreadPoolExecutor(COUNT) as pool:
        futures = [pool.submit(one, i) for i in range(COUNT)]
    # Every start has finished here: stop every camera that did start if one did not.
    handles = [f.result() for f in futures if f.exception() is None]
    failed = next((f.exception() for f in futures if f.exception() is not None), None)
    if failed is not None:
        for h in handles:
            h.stop()
        raise failed
    try:
        yield handles
    finally:
        for h in handles:
            h.stop()


def _port_range(cameras: list[OnvifCameraHandle]) -> str:
    ports = sorted(c.discovery_port for c in cameras)
    assert ports == list(range(ports[0], ports[0] + len(ports)))
    return f"127.0.0.1:{ports[0]}-{ports[-1]}"


def _ptz_state(cam: OnvifCameraHandle) -> dict:
    r = httpx.get(f"http://{cam.host}:{cam.port}/api/ptz", auth=(cam.user, cam.password), timeout=5)
    r.raise_for_status()
    return r.json()


async def test_one_unicast_probe_finds_every_simulator(cameras):
    ours = {c.device_service_url: c for c in cameras}
    unicast = await probe(targets=[_port_range(cameras)], interface="127.0.0.1", timeout_s=2.0)
    assert unicast.probed == COUNT and not unicast.rejected, unicast.as_dict()
    by_xaddr = {d.xaddrs[0]: d for d in unicast.devices}
    assert set(by_xaddr) == set(ours), unicast.as_dict()  # every one, each exactly once
    for i, cam in enumerate(cameras):
        # Each answer came from that camera's own listener, and names that camera.
        match = by_xaddr[cam.device_service_url]
        assert (match.responder, match.name) == (cam.discovery_target, f"Gate{i}")

    # The shared 3702 listeners still serve a multicast probe out of the loopback interface.
    multicast = await probe(multicast=True, interface="127.0.0.1", timeout_s=2.0, repeats=3)
    assert set(ours) <= {x for d in multicast.devices for x in d.xaddrs}, multicast.as_dict()
    assert not multicast.rejected


def test_discover_onboard_stream_snapshot_and_ptz(cameras, district):
    # Discovery → onboarding, as `govops video onboard --discover RANGE` runs it.
    found = device_service.discover([_port_range(cameras)], multicast=False, interface="127.0.0.1", timeout_s=2.0)
    addresses = [d["xaddrs"][0] for d in found["devices"]]
    assert sorted(addresses) == sorted(c.device_service_url for c in cameras), found
    names = {d["xaddrs"][0]: d["name"] for d in found["devices"]}
    with district.transaction() as s:
        report = device_service.onboard(
            s,
            addresses,
            user="admin",
            password=PASSWORD,
            placement=Placement(department="gaj", area="310116001001G02", key_place=True),
            box=district.box,
            settings=district.video,
            actor="it",
            names=names,
        )
    assert report["onboarded"] == COUNT, report
    by_address = {}
    with district.sessions() as s:
        for r in report["results"]:
            cam = s.get(Camera, r["camera"])
            by_address[cam.onvif_address] = cam
            assert r["identity"] == f"serial:PythonCam/{cam.serial_number}"
            assert cam.name == names[cam.onvif_address]  # named from the discovery scopes
            assert cam.capabilities["ptz"] is True and cam.capabilities["snapshot"] is True
            assert [p["token"] for p in cam.profiles] == ["Profile_Main", "Profile_Sub"]
            assert cam.password_enc.startswith("fernet:") and PASSWORD not in cam.password_enc
    handles = {c.device_service_url: c for c in cameras}

    # OpenCV reads every stored main stream.
    for address, cam in by_address.items():
        assert cam.stream_url == handles[address].rtsp_url
        cap = cv2.VideoCapture(cam.stream_url, cv2.CAP_FFMPEG)
        try:
            frames = [cap.read() for _ in range(3)]
        finally:
            cap.release()
        assert all(ok for ok, _ in frames) and frames[0][1].shape == (360, 640, 3)

    app_client = __import__("gateway.app", fromlist=["create_app"]).create_app(district)
    ops = client_as(app_client, LOCAL_SYSTEM_ADMIN)
    first_address = addresses[0]
    cam_id = by_address[first_address].id
    handle = handles[first_address]

    # The snapshot URI asks for HTTP Basic; the API answers in kind and caches with an age.
    snap = ops.get(f"/api/v1/cameras/{cam_id}/snapshot.jpg")
    assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8", snap.text
    assert ops.get(f"/api/v1/cameras/{cam_id}/snapshot.jpg").headers["x-snapshot-age"] in ("0", "1", "2")

    # PTZ through the API reaches the simulator.
    staff = Principal("it-ga", "值班员", frozenset({SECURITY_STAFF}), platform="gongan")
    with district.transaction() as s:
        from video.catalogue import sharing

        sharing.grant(
            s, platform="gongan", subject_kind="camera", subject_id=cam_id, reason="integration test", actor="it"
        )
    ga = client_as(app_client, staff)
    start = _ptz_state(handle)
    others = [h for h in cameras if h is not handle]
    others_before = [_ptz_state(h) for h in others]
    r = ga.post(f"/api/v1/cameras/{cam_id}/ptz/move", json={"pan": 0.5, "tilt": 0.0, "timeout_s": 60})
    assert r.status_code == 200, r.text
    # the camera turns on its own clock: wait until it has, not for a fixed time
    wait_for(lambda: _ptz_state(handle)["pan"] > start["pan"], timeout=50, interval=0.1, what="the camera to pan")
    moving = _ptz_state(handle)
    assert moving["moving"] is True and moving["pan"] > start["pan"]
    r = ga.post(f"/api/v1/cameras/{cam_id}/ptz/stop")
    assert r.status_code == 200, r.text
    stopped = _ptz_state(handle)
    assert stopped["moving"] is False
    time.sleep(0.3)
    assert _ptz_state(handle)["pan"] == pytest.approx(stopped["pan"], abs=1e-6)
    # ...that simulator and no other.
    for h, before in zip(others, others_before, strict=True):
        after = _ptz_state(h)
        assert after["moving"] is False and after["pan"] == pytest.approx(before["pan"], abs=1e-6)

    # Presets: ipycam's answers use an unbound prefix; the lenient reader copes.
    r = ga.post(f"/api/v1/cameras/{cam_id}/ptz/presets", json={"name": "north gate"})
    assert r.status_code == 200, r.text
    token = r.json()["preset"]
    ga.post(f"/api/v1/cameras/{cam_id}/ptz/move", json={"pan": -0.8, "tilt": 0.0})
    time.sleep(0.4)
    ga.post(f"/api/v1/cameras/{cam_id}/ptz/stop")
    assert ga.post(f"/api/v1/cameras/{cam_id}/ptz/presets/{token}/goto").status_code == 200
    assert _ptz_state(handle)["pan"] == pytest.approx(stopped["pan"], abs=1e-6)

    # Re-onboarding finds the same cameras by serial; a stopped camera goes offline on probe.
    with district.transaction() as s:
        again = device_service.onboard(
            s,
            addresses,
            user="admin",
            password=PASSWORD,
            placement=Placement(department="gaj"),
            box=district.box,
            settings=district.video,
            actor="it",
        )
    assert {r["action"] for r in again["results"]} == {"updated"}
    handles[addresses[-1]].stop()
    with district.transaction() as s:
        probed = device_service.probe_catalogue(s, district.box, district.video)
    status = {r["camera"]: r["status"] for r in probed["results"]}
    assert status[by_address[addresses[-1]].id] == "offline"
    assert status[cam_id] == "online"
