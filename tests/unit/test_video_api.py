"""The video API and console through the real app: the isolation matrix (list, snapshot, PTZ),
sharing by ops with audit, onboarding with hostile peers, import/export, KPIs, pages.

Cameras that need a device point at lightweight SOAP devices on 127.0.0.1 (tools/lab/fake_onvif),
so PTZ commands and snapshots really travel; the fleet records what reached each device.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from govops import audit
from govops.principal import AUDITOR, DEPT_ADMIN, LOCAL_SYSTEM_ADMIN, SECURITY_STAFF, Principal
from tests.conftest import client_as
from tools.lab.fake_onvif import DeviceSpec, FakeOnvifFleet
from video.catalogue.models import Camera

ZZ = Principal("u-zz", "综治值班员", frozenset({SECURITY_STAFF}), platform="zongzhi")
GA = Principal("u-ga", "公安值班员", frozenset({SECURITY_STAFF}), platform="gongan")
GAJ_ADMIN = Principal("u-gaj", "公安分局管理员", frozenset({DEPT_ADMIN}), department="gaj")
CGJ_ADMIN = Principal("u-cgj", "城管管理员", frozenset({DEPT_ADMIN}), department="cgj")
AUDITOR_P = Principal("u-aud", "审计员", frozenset({AUDITOR}))
PASSWORD = "Cam#2026-lab"


@pytest.fixture(scope="module")
def fleet() -> Iterator[FakeOnvifFleet]:
    specs = [DeviceSpec(), DeviceSpec(), DeviceSpec(mode="xxe"), DeviceSpec(mode="silent")]
    with FakeOnvifFleet(specs, user="admin", password=PASSWORD) as f:
        yield f


@pytest.fixture
def gongan_only(district, fleet) -> str:
    """The sample camera shared only to 公安, wired to fake device 0 (PTZ, snapshots)."""
    port = fleet.ports[0]
    with district.transaction() as s:
        cam = s.scalar(select(Camera).where(Camera.name == "卫零路与龙胜路口"))
        cam.onvif_address = f"http://127.0.0.1:{port}/onvif/device_service"
        cam.username, cam.password_enc = "admin", district.box.encrypt(PASSWORD)
        cam.capabilities = {"ptz": True, "snapshot": True}
        cam.profiles = [
            {
                "token": "main",
                "name": "main",
                "ptz": True,
                "stream_uri": "rtsp://127.0.0.1:1/none",
                "snapshot_uri": f"http://127.0.0.1:{port}/snapshot.jpg",
            }
        ]
        cam.snapshot_url = f"http://127.0.0.1:{port}/snapshot.jpg"
        return cam.id


def _ids(client, **params) -> set[str]:
    r = client.get("/api/cameras", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


def test_zongzhi_staff_cannot_list_snapshot_or_move_a_gongan_only_camera(app, fleet, gongan_only):
    zz, ga = client_as(app, ZZ), client_as(app, GA)
    assert gongan_only in _ids(ga) and gongan_only not in _ids(zz)
    assert zz.get(f"/api/cameras/{gongan_only}").status_code == 404
    assert zz.get(f"/api/cameras/{gongan_only}/snapshot.jpg").status_code == 404
    before = fleet.state(fleet.ports[0])["moves"]
    r = zz.post(f"/api/cameras/{gongan_only}/ptz/move", json={"pan": 0.5})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert zz.post(f"/api/cameras/{gongan_only}/ptz/stop").status_code == 404
    assert (
        zz.post(
            f"/video/cameras/{gongan_only}/ptz", data={"action": "move", "pan": "0.5"}, follow_redirects=False
        ).status_code
        == 404
    )
    assert fleet.state(fleet.ports[0])["moves"] == before  # nothing reached the device
    # 公安 staff may: the move and the stop reach the device, and the snapshot comes back.
    r = ga.post(f"/api/cameras/{gongan_only}/ptz/move", json={"pan": 0.5, "tilt": -0.2, "timeout_s": 3})
    assert r.status_code == 200, r.text
    assert fleet.state(fleet.ports[0])["velocity"] == (0.5, -0.2, 0.0)
    assert ga.post(f"/api/cameras/{gongan_only}/ptz/stop").status_code == 200
    assert fleet.state(fleet.ports[0])["velocity"] == (0.0, 0.0, 0.0)
    snap = ga.get(f"/api/cameras/{gongan_only}/snapshot.jpg")
    assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"


def test_department_admin_sees_only_its_cameras_and_cannot_steer(app, gongan_only):
    gaj, cgj = client_as(app, GAJ_ADMIN), client_as(app, CGJ_ADMIN)
    admin = {
        c["id"]: c["department"]
        for c in client_as(app, LOCAL_SYSTEM_ADMIN).get("/api/cameras?limit=500").json()["items"]
    }
    assert {admin[i] for i in _ids(gaj)} == {"gaj"} and {admin[i] for i in _ids(cgj)} == {"cgj"}
    assert cgj.get(f"/api/cameras/{gongan_only}").status_code == 404
    assert gaj.get(f"/api/cameras/{gongan_only}").status_code == 200  # its own camera
    r = gaj.post(f"/api/cameras/{gongan_only}/ptz/move", json={"pan": 0.5})
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    html = cgj.get("/video/cameras").text
    assert html.count("data-camera-id=") == len(_ids(cgj))


def test_ptz_presets_and_audit(app, district, fleet, gongan_only):
    ga = client_as(app, GA)
    r = ga.post(f"/api/cameras/{gongan_only}/ptz/presets", json={"name": "路口全景"})
    assert r.status_code == 200 and r.json()["name"] == "路口全景"
    token = r.json()["preset"]
    assert ga.post(f"/api/cameras/{gongan_only}/ptz/presets/{token}/goto").status_code == 200
    assert fleet.state(fleet.ports[0])["last_preset"] == token
    presets = ga.get(f"/api/cameras/{gongan_only}/ptz/presets").json()["presets"]
    assert {"token": token, "name": "路口全景"} in presets
    failed = ga.post(f"/api/cameras/{gongan_only}/ptz/presets/nope/goto")
    assert failed.status_code == 503 and failed.json()["kind"] == "soap_fault"
    with district.sessions() as s:
        rows = list(s.scalars(select(audit.AuditRecord).where(audit.AuditRecord.target == gongan_only)))
    assert [(r.action, r.actor, r.result) for r in rows][-2:] == [
        ("video.ptz.goto_preset", "u-ga", "success"),
        ("video.ptz.goto_preset", "u-ga", "failure"),
    ]
    assert PASSWORD not in json.dumps([r.detail for r in rows], ensure_ascii=False)


def test_console_ptz_form(app, fleet, gongan_only):
    ga = client_as(app, GA)
    page = ga.get(f"/video/cameras/{gongan_only}").text
    assert 'data-testid="ptz"' in page
    r = ga.post(
        f"/video/cameras/{gongan_only}/ptz", data={"action": "move", "pan": "-0.5", "tilt": "0"}, follow_redirects=False
    )
    assert r.status_code == 303 and "msg=move" in r.headers["location"]
    assert fleet.state(fleet.ports[0])["velocity"][0] == -0.5
    ga.post(f"/video/cameras/{gongan_only}/ptz", data={"action": "stop"})
    assert fleet.state(fleet.ports[0])["velocity"] == (0.0, 0.0, 0.0)
    # Without PTZ capability the controls are not offered.
    gaj_page = client_as(app, GAJ_ADMIN).get(f"/video/cameras/{gongan_only}").text
    assert 'data-testid="ptz"' not in gaj_page


def test_ops_grant_and_revoke_through_the_api(app, district, gongan_only):
    ops, zz = client_as(app, LOCAL_SYSTEM_ADMIN), client_as(app, ZZ)
    body = {
        "platform": "zongzhi",
        "subject_kind": "camera",
        "subject_id": gongan_only,
        "reason": "综治中心联合值守",
        "expires_at": "2099-01-01T00:00:00+08:00",
    }
    assert zz.post("/api/video/shares", json=body).status_code == 403  # staff cannot share
    r = ops.post("/api/video/shares", json=body)
    assert r.status_code == 201, r.text
    grant = r.json()
    assert grant["expires_at"] == "2098-12-31T16:00:00+00:00"  # midnight 北京时间 is that instant, kept in UTC
    assert gongan_only in _ids(zz) and zz.get(f"/api/cameras/{gongan_only}").status_code == 200
    assert ops.post("/api/video/shares", json=body).status_code == 409
    own = zz.get("/api/video/shares").json()["items"]
    assert {g["platform"] for g in own} == {"zongzhi"}
    assert zz.get("/api/video/shares?platform=gongan").status_code == 403
    r = ops.post(f"/api/video/shares/{grant['id']}/revoke", json={"reason": "值守结束"})
    assert r.status_code == 200 and r.json()["revoked_by"] == "local-admin"
    assert gongan_only not in _ids(zz)
    # without an offset, an expiry is the district's wall clock
    again = ops.post("/api/video/shares", json={**body, "expires_at": "2099-01-01T00:00:00"})
    assert again.status_code == 201 and again.json()["expires_at"] == grant["expires_at"]
    with district.sessions() as s:
        actions = [(r.action, r.actor) for r in s.scalars(select(audit.AuditRecord))]
        assert ("video.share.grant", "local-admin") in actions
        assert ("video.share.revoke", "local-admin") in actions
        assert audit.verify(s).ok
    bad = ops.post("/api/video/shares", json={**body, "reason": "x"})
    assert bad.status_code == 422


def test_onboarding_api_with_hostile_peers(app, district, fleet):
    ops = client_as(app, LOCAL_SYSTEM_ADMIN)
    r = ops.post(
        "/api/video/onboard",
        json={
            "targets": fleet.addresses,
            "username": "admin",
            "password": PASSWORD,
            "department": "dsjj",
            "area": "310116109002G02",
            "timeout_s": 4,
        },
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["total"], report["onboarded"], report["failed"]) == (4, 2, 2)
    kinds = [x["error"]["kind"] for x in report["results"] if not x["ok"]]
    assert kinds == ["hostile", "timeout"]
    assert PASSWORD not in r.text
    new = [x["camera"] for x in report["results"] if x["ok"]]
    detail = ops.get(f"/api/cameras/{new[0]}").json()
    assert detail["department"] == "dsjj" and detail["capabilities"]["ptz"] is True
    assert detail["mac"] and all("stream_uri" not in p for p in detail["profiles"])
    assert PASSWORD not in json.dumps(detail) and "fernet" not in json.dumps(detail)
    assert (
        client_as(app, CGJ_ADMIN)
        .post("/api/video/onboard", json={"targets": ["127.0.0.1:1"], "department": "cgj"})
        .status_code
        == 403
    )
    bad = ops.post("/api/video/onboard", json={"targets": fleet.addresses[:1], "department": "nobody"})
    assert bad.status_code == 422 and "department" in bad.json()["message"]


def test_import_export_and_catalog_api(app):
    ops, zz = client_as(app, LOCAL_SYSTEM_ADMIN), client_as(app, ZZ)
    csv_text = ops.get("/api/video/export.csv").text
    assert csv_text.count("\n") == 9
    zz_csv = zz.get("/api/video/export.csv").text
    assert zz_csv.count("\n") == 1 + len(_ids(zz))
    new_row = "31011600001326000500,新建路口,gaj,310116001001G01,,30.725,121.345,true,online,true,,,,"
    r = ops.post("/api/video/import?format=csv", content=csv_text + new_row + "\n")
    assert r.status_code == 200 and r.json()["created"] == 1 and r.json()["updated"] == 8, r.text
    bad = ops.post("/api/video/import?format=csv", content="id,name,department\n123,x,gaj\n")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "id"
    assert zz.post("/api/video/import?format=csv", content=csv_text).status_code == 403
    geo = zz.get("/api/video/export.geojson").json()
    assert {f["id"] for f in geo["features"]} == _ids(zz)
    xml = ops.get("/api/video/catalog.xml?platform=gongan")
    assert xml.status_code == 200 and "GB2312" in xml.headers["content-type"]
    areas = zz.get("/api/video/areas?level=grid").json()
    assert len(areas["features"]) == 12 and areas["features"][0]["geometry"]["type"] == "Polygon"


def test_kpi_api_and_metrics(app, anonymous):
    ops, zz = client_as(app, LOCAL_SYSTEM_ADMIN), client_as(app, ZZ)
    body = ops.get("/api/video/kpi").json()
    assert body["targets"]["intact_key_place"] == 0.98 and body["items"][0]["cameras"] == 8
    assert {k["key"] for k in ops.get("/api/video/kpi?by=platform").json()["items"]} >= {"zongzhi", "gongan"}
    assert zz.get("/api/video/kpi?by=platform").status_code == 403
    assert zz.get("/api/video/kpi").json()["items"][0]["cameras"] == len(_ids(zz))
    assert client_as(app, AUDITOR_P).get("/api/video/kpi").status_code == 403
    text = anonymous.get("/metrics").text
    assert 'govops_video_intact_ratio{area="310116"}' in text
    assert 'govops_video_platform_cameras{platform="gongan"} 3.0' in text


def test_console_pages_respect_visibility(app, gongan_only):
    zz, ops = client_as(app, ZZ), client_as(app, LOCAL_SYSTEM_ADMIN)
    page = zz.get("/video/map").text
    dots = zz.get("/video/map/cameras.json").json()["rows"]
    assert len(dots) == len(_ids(zz)) and gongan_only not in {d[0] for d in dots}
    assert ops.get("/video/map?colour=intact").status_code == 200
    grids = ops.get("/video/map/areas.geojson").json()["features"]
    assert any(f["properties"].get("fill", "").startswith("hsl(") for f in grids)  # grids coloured by density
    wall = zz.get("/video/wall").text
    assert wall.count("data-camera-id=") == len(_ids(zz)) and "snapshot-age" in wall
    kpi = ops.get("/video/kpi").text
    assert 'data-testid="kpi-platforms"' in kpi and "310116001" in kpi
    assert 'data-testid="kpi-platforms"' not in zz.get("/video/kpi").text
    listing = ops.get("/video/cameras?area=310116101&status=online").text
    assert listing.count("data-camera-id=") == 3
    for path in ("/video/map", "/video/kpi", "/video/cameras", "/video/wall"):
        assert client_as(app, AUDITOR_P).get(path).status_code == 403
    assert "http://" not in page and "https://" not in page  # no tiles, nothing fetched from outside


def test_camera_patch_by_ops_only(app, gongan_only):
    ops = client_as(app, LOCAL_SYSTEM_ADMIN)
    r = ops.patch(f"/api/cameras/{gongan_only}", json={"install_address": "卫零路 100 号", "lat": 30.7205})
    assert r.status_code == 200 and r.json()["install_address"] == "卫零路 100 号"
    assert ops.patch(f"/api/cameras/{gongan_only}", json={"area": "nowhere"}).status_code == 422
    assert client_as(app, GA).patch(f"/api/cameras/{gongan_only}", json={"name": "x"}).status_code == 403
