"""The video network against several real ipycam cameras on 127.0.0.1.

WS-Discovery finds them, onboarding stores them (identified by serial: ipycam has no
GetNetworkInterfaces), OpenCV reads each stored RTSP stream, a snapshot comes through the API
(ipycam asks for HTTP Basic), and PTZ move/stop/presets sent through the API reach the simulator,
checked on ipycam's own /api/ptz.

ipycam's WS-Discovery binds UDP 3702 on all interfaces with SO_REUSEADDR, shared by every
instance on the machine. The kernel hands a *unicast* datagram to one of those sockets only (the
last bound), so a unicast probe of 127.0.0.1 is answered by one simulator; a multicast probe
(sent out of the loopback interface, TTL 1) reaches every one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import cv2
import httpx
import pytest

from govops.principal import LOCAL_ADMIN, SECURITY_STAFF, Principal
from tests.conftest import client_as
from tests.fixtures.platform import need
from tools.lab.onvif import OnvifCameraHandle, start_onvif_camera
from tools.lab.process import StartupFailed
from video.catalogue import control
from video.catalogue.models import Camera
from video.catalogue.registry import Placement
from video.onvif import probe

pytestmark = pytest.mark.integration
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
PASSWORD = "Lab-Cam#2026"
COUNT = 3


@pytest.fixture(scope="module")
def cameras(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[OnvifCameraHandle]]:
    def one(i: int) -> OnvifCameraHandle:
        def start() -> OnvifCameraHandle:
            try:
                return start_onvif_camera(tmp_path_factory.mktemp(f"ipycam{i}"), password=PASSWORD,
                                          name=f"Gate{i}", timeout=120)
            except StartupFailed:
                # Parallel starts pick free ports independently; on a busy machine two can race
                # for one. A second start with fresh ports settles it; a real fault fails again.
                return start_onvif_camera(tmp_path_factory.mktemp(f"ipycam{i}-retry"),
                                          password=PASSWORD, name=f"Gate{i}", timeout=120)

        return need(start)

    with ThreadPoolExecutor(COUNT) as pool:
        futures = [pool.submit(one, i) for i in range(COUNT)]
        handles = []
        try:
            for f in futures:
                handles.append(f.result())
        except BaseException:
            for h in handles:
                h.stop()
            raise
    try:
        yield handles
    finally:
        for h in handles:
            h.stop()


def _ptz_state(cam: OnvifCameraHandle) -> dict:
    r = httpx.get(f"http://{cam.host}:{cam.port}/api/ptz", auth=(cam.user, cam.password), timeout=5)
    r.raise_for_status()
    return r.json()


async def test_ws_discovery_finds_the_simulators(cameras):
    ours = {c.device_service_url for c in cameras}
    multicast = await probe(multicast=True, interface="127.0.0.1", timeout_s=3.0, repeats=3)
    found = {x for d in multicast.devices for x in d.xaddrs}
    assert ours <= found, (ours, found)
    assert {d.name for d in multicast.devices if d.xaddrs[0] in ours} == {f"Gate{i}" for i in range(COUNT)}
    unicast = await probe(targets=["127.0.0.1"], interface="127.0.0.1", timeout_s=2.0)
    assert unicast.devices, unicast.rejected  # one simulator owns unicast 3702 on this host
    assert all(x.startswith("http://127.0.0.1:") for d in unicast.devices for x in d.xaddrs)
    assert not multicast.rejected and not unicast.rejected


def test_onboard_stream_snapshot_and_ptz(cameras, district):
    addresses = [c.device_service_url for c in cameras]
    with district.transaction() as s:
        report = control.onboard(
            s, addresses, user="admin", password=PASSWORD,
            placement=Placement(department="gaj", area="310116001001G02", key_place=True),
            box=district.box, settings=district.video, actor="it")
    assert report["onboarded"] == COUNT, report
    by_address = {}
    with district.sessions() as s:
        for r in report["results"]:
            cam = s.get(Camera, r["camera"])
            by_address[cam.onvif_address] = cam
            assert r["identity"] == f"serial:PythonCam/{cam.serial_number}"
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
    ops = client_as(app_client, LOCAL_ADMIN)
    first_address = addresses[0]
    cam_id = by_address[first_address].id
    handle = handles[first_address]

    # The snapshot URI asks for HTTP Basic; the API answers in kind and caches with an age.
    snap = ops.get(f"/api/cameras/{cam_id}/snapshot.jpg")
    assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8", snap.text
    assert ops.get(f"/api/cameras/{cam_id}/snapshot.jpg").headers["x-snapshot-age"] in ("0", "1", "2")

    # PTZ through the API reaches the simulator.
    staff = Principal("it-ga", "值班员", frozenset({SECURITY_STAFF}), platform="gongan")
    with district.transaction() as s:
        from video.catalogue import sharing

        sharing.grant(s, platform="gongan", subject_kind="camera", subject_id=cam_id,
                      reason="integration test", actor="it")
    ga = client_as(app_client, staff)
    start = _ptz_state(handle)
    r = ga.post(f"/api/cameras/{cam_id}/ptz/move", json={"pan": 0.5, "tilt": 0.0, "timeout_s": 5})
    assert r.status_code == 200, r.text
    time.sleep(0.6)
    moving = _ptz_state(handle)
    assert moving["moving"] is True and moving["pan"] > start["pan"]
    r = ga.post(f"/api/cameras/{cam_id}/ptz/stop")
    assert r.status_code == 200, r.text
    stopped = _ptz_state(handle)
    assert stopped["moving"] is False
    time.sleep(0.3)
    assert _ptz_state(handle)["pan"] == pytest.approx(stopped["pan"], abs=1e-6)

    # Presets: ipycam's answers use an unbound prefix; the lenient reader copes.
    r = ga.post(f"/api/cameras/{cam_id}/ptz/presets", json={"name": "north gate"})
    assert r.status_code == 200, r.text
    token = r.json()["preset"]
    ga.post(f"/api/cameras/{cam_id}/ptz/move", json={"pan": -0.8, "tilt": 0.0})
    time.sleep(0.4)
    ga.post(f"/api/cameras/{cam_id}/ptz/stop")
    assert ga.post(f"/api/cameras/{cam_id}/ptz/presets/{token}/goto").status_code == 200
    assert _ptz_state(handle)["pan"] == pytest.approx(stopped["pan"], abs=1e-6)

    # Re-onboarding finds the same cameras by serial; a stopped camera goes offline on probe.
    with district.transaction() as s:
        again = control.onboard(
            s, addresses, user="admin", password=PASSWORD, placement=Placement(department="gaj"),
            box=district.box, settings=district.video, actor="it")
    assert {r["action"] for r in again["results"]} == {"updated"}
    cameras[-1].stop()
    with district.transaction() as s:
        probed = control.probe_catalogue(s, district.box, district.video)
    status = {r["camera"]: r["status"] for r in probed["results"]}
    assert status[by_address[addresses[-1]].id] == "offline"
    assert status[cam_id] == "online"
