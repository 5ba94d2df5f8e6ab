"""The work-order API and console: roles, isolation (contractor, security staff, dept-admin),
cursor pages, the repair upload, 409s with hints, the report as JSON, CSV and printable HTML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from gateway.runtime import Runtime
from gateway.sample_district import CONTRACTORS
from govops.alerts import raise_alert
from govops.principal import AUDITOR, CONTRACTOR, DEPT_ADMIN, LOCAL_SYSTEM_ADMIN, SECURITY_STAFF, Principal
from monitoring.workorders import contractors
from monitoring.workorders.settings import WorkOrderSettings
from monitoring.workorders.sync import sync
from tests.conftest import client_as
from video.catalogue.models import Camera

SAMPLE = {code for code, _, _ in CONTRACTORS}  # the sample district's own contractors

OPS = Principal("u-ops", "运维", frozenset({"ops-engineer"}))
ZZ = Principal("u-zz", "综治值班员", frozenset({SECURITY_STAFF}), platform="zongzhi")
GA = Principal("u-ga", "公安值班员", frozenset({SECURITY_STAFF}), platform="gongan")
CGJ = Principal("u-cgj", "城管管理员", frozenset({DEPT_ADMIN}), department="cgj")
AUD = Principal("u-aud", "审计员", frozenset({AUDITOR}))
# Contractor C answers for 朱泾镇 (310116101); contractor S for 石化街道 and 金山卫镇.
C = Principal("u-c", "丙运维", frozenset({CONTRACTOR}), contractor="c-tech")
S = Principal("u-s", "石化运维", frozenset({CONTRACTOR}), contractor="s-tech")
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def orders(district: Runtime) -> dict[str, int]:
    """One order per sample camera, dispatched; camera name → order id."""
    with district.transaction() as s:
        contractors.add_contractor(s, "c-tech", "丙运维", None, actor="t")
        contractors.add_contractor(s, "s-tech", "石化运维", None, actor="t")
        contractors.assign_area(s, "c-tech", "310116101000", key_area=False, actor="t")
        contractors.assign_area(s, "s-tech", "310116001", key_area=True, actor="t")
        contractors.assign_area(s, "s-tech", "310116109", key_area=False, actor="t")
        cams = list(s.scalars(select(Camera)))
        for c in cams:
            raise_alert(s, fingerprint=f"video.camera:{c.id}", source="video.diagnosis", summary=c.name)
        sync(s, datetime.now(UTC), WorkOrderSettings(auto_dispatch=True))
        from monitoring.workorders.models import WorkOrder

        return {o.camera_name: o.id for o in s.scalars(select(WorkOrder))}


def names(client, **params: object) -> set[str]:
    r = client.get("/api/v1/workorders", params=params)
    assert r.status_code == 200, r.text
    return {o["camera_name"] for o in r.json()["items"]}


def test_isolation_matrix(app, orders: dict[str, int]) -> None:
    assert len(orders) == 8
    zhujing = {"朱泾老街入口", "东林社区大门", "朱泾公园"}
    with client_as(app, C) as c:
        assert names(c) == zhujing
        other = orders["龙山路主干道"]
        assert c.get(f"/api/v1/workorders/{other}").status_code == 404
        assert c.get(f"/api/v1/workorders/{orders['朱泾公园']}").status_code == 200
    with client_as(app, S) as c:
        assert names(c) == set(orders) - zhujing
    with client_as(app, ZZ) as c:  # shared to 综治
        assert names(c) == {"石化街道东村广场", "东林社区大门", "八二村河道", "朱泾公园"}
    with client_as(app, GA) as c:
        assert names(c) == {"卫零路与龙胜路口", "石化街道东村广场", "龙山路主干道"}
        assert c.get(f"/api/v1/workorders/{orders['朱泾公园']}").status_code == 404
    with client_as(app, CGJ) as c:
        assert names(c) == {"朱泾老街入口", "金山卫城东停车场", "朱泾公园"}
    with client_as(app, OPS) as c:
        assert names(c) == set(orders)
    with client_as(app, AUD) as c:
        assert c.get("/api/v1/workorders").status_code == 403
        assert c.get("/workorders", headers={"accept": "text/html"}).status_code == 403


def test_cursor_pagination(app, orders: dict[str, int]) -> None:
    seen: list[int] = []
    cursor = None
    with client_as(app, OPS) as c:
        for _ in range(5):
            body = c.get("/api/v1/workorders", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
            seen += [o["id"] for o in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert c.get("/api/v1/workorders", params={"state": "nope"}).status_code == 422
    assert sorted(seen) == sorted(orders.values())


def test_contractor_reports_a_repair_with_a_photo(app, orders: dict[str, int]) -> None:
    oid = orders["朱泾公园"]
    with client_as(app, S) as c:  # not theirs: not found
        r = c.post(f"/api/v1/workorders/{oid}/repair", data={"note": "x"})
        assert r.status_code == 404
    with client_as(app, C) as c:
        r = c.post(f"/api/v1/workorders/{oid}/repair", data={"note": "清洁镜头"}, files={"photo": ("a.svg", b"<svg/>")})
        assert r.status_code == 422 and "JPEG or PNG" in r.json()["message"]
        r = c.post(f"/api/v1/workorders/{oid}/repair", data={"note": "清洁镜头"}, files={"photo": ("a.png", PNG)})
        assert r.status_code == 200 and r.json()["state"] == "repaired" and r.json()["has_photo"]
        assert c.get(f"/api/v1/workorders/{oid}/photo").content == PNG
        again = c.post(f"/api/v1/workorders/{oid}/repair", data={"note": "again"})
        assert again.status_code == 409 and "re-diagnose" in again.json()["hint"]
        assert c.post(f"/api/v1/workorders/{oid}/close").status_code == 403  # ops closes
        page = c.get(f"/workorders/{oid}")
        assert page.status_code == 200 and "清洁镜头" in page.text and "repair" in page.text
    with client_as(app, OPS) as c:
        r = c.post(f"/api/v1/workorders/{oid}/verify")
        assert r.status_code == 409 and "rediagnose" in r.json()["hint"]


def test_contractors_api_and_report(app, orders: dict[str, int]) -> None:
    with client_as(app, OPS) as c:
        assert c.post("/api/v1/workorders/contractors", json={"code": "d-tech", "name": "丁"}).status_code == 201
        assert c.post("/api/v1/workorders/contractors", json={"code": "d-tech", "name": "丁"}).status_code == 409
        r = c.post("/api/v1/workorders/contractors/d-tech/areas", json={"area": "bad"})
        assert r.status_code == 422
        assert c.post("/api/v1/workorders/contractors/d-tech/areas", json={"area": "310116109"}).status_code == 200
        listed = c.get("/api/v1/workorders/contractors").json()["items"]
        assert [x["code"] for x in listed if x["code"] not in SAMPLE] == ["c-tech", "d-tech", "s-tech"]
        assert c.delete("/api/v1/workorders/contractors/c-tech").status_code == 409  # holds open orders
        month = datetime.now(UTC).strftime("%Y-%m")
        rows = c.get("/api/v1/workorders/report", params={"month": month}).json()["items"]
        c_row = next(r for r in rows if r["contractor"] == "c-tech")
        assert (c_row["opened"], c_row["cameras"], c_row["source"]) == (3, 3, "catalogue")
        csv = c.get("/api/v1/workorders/report", params={"month": month, "format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv") and csv.text.startswith("contractor,")
        assert c.get("/api/v1/workorders/report", params={"month": "2026-13"}).status_code == 422
        html = c.get("/workorders/report", params={"month": month, "print": 1})
        assert html.status_code == 200 and "运维考核" in html.text and "/static/print.js" in html.text
    with client_as(app, C) as c:
        rows = c.get("/api/v1/workorders/report").json()["items"]
        assert {r["contractor"] for r in rows} == {"c-tech"}
        assert c.get("/api/v1/workorders/contractors").status_code == 403


def test_dispatch_needs_a_contractor_and_the_right_state(app, district: Runtime) -> None:
    with district.transaction() as s:
        cam = s.scalars(select(Camera)).first()
        assert cam is not None
        # an area no contractor answers for (the sample district's contractors cover its streets)
        answers = contractors.responsible(s, cam.area_code)
        if answers is not None:
            contractors.unassign_area(s, answers.prefix, actor="t")
        raise_alert(s, fingerprint=f"video.camera:{cam.id}", source="video.diagnosis", summary="x")
        [oid] = sync(s, datetime.now(UTC), WorkOrderSettings()).opened
    with client_as(app, OPS) as c:
        r = c.post(f"/api/v1/workorders/{oid}/dispatch")
        assert r.status_code == 409 and "contractors assign" in r.json()["hint"]
        assert c.post("/api/v1/workorders/contractors", json={"code": "e-tech", "name": "戊"}).status_code == 201
        r = c.post(f"/api/v1/workorders/{oid}/dispatch", json={"contractor": "e-tech"})
        assert r.status_code == 200 and r.json()["state"] == "dispatched"
        assert c.get(f"/api/v1/workorders/{oid}").json()["contractor_name"] == "戊"  # who, not only a code
        assert "e-tech · 戊" in c.get(f"/workorders/{oid}").text
        assert c.post(f"/api/v1/workorders/{oid}/dispatch").status_code == 409
        page = c.get("/workorders")
        assert page.status_code == 200 and f"#{oid}" in page.text
    assert LOCAL_SYSTEM_ADMIN.has("ops-engineer")


def test_the_gateway_runs_sync_in_the_background(district: Runtime) -> None:
    """The router's lifespan starts the periodic sync: an alert becomes an order without anyone
    calling the API or the CLI."""
    import time

    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from monitoring.workorders.models import WorkOrder

    with district.transaction() as s:
        cam = s.scalars(select(Camera)).first()
        assert cam is not None
        cam_id = cam.id
        raise_alert(s, fingerprint=f"video.camera:{cam_id}", source="video.diagnosis", summary="x")
    app = create_app(district)
    app.state.workorder_settings = WorkOrderSettings(sync_interval_s=0.05)
    found = None
    with TestClient(app):
        deadline = time.monotonic() + 60  # generous: the loop runs every 50 ms
        while found is None and time.monotonic() < deadline:
            with district.transaction() as s:
                found = s.scalar(select(WorkOrder.camera_id))
            time.sleep(0.05)
    assert found == cam_id


def test_console_forms_move_an_order(app, district: Runtime) -> None:
    with district.transaction() as s:
        contractors.add_contractor(s, "c-tech", "丙运维", None, actor="t")
        cam = s.scalars(select(Camera).where(Camera.name == "朱泾公园")).one()
        raise_alert(s, fingerprint=f"video.camera:{cam.id}", source="video.diagnosis", summary="x")
        [oid] = sync(s, datetime.now(UTC), WorkOrderSettings()).opened
    with client_as(app, OPS) as c:
        page = c.get(f"/workorders/{oid}")
        assert 'data-testid="dispatch"' in page.text
        r = c.post(f"/workorders/{oid}/action", data={"action": "close"}, follow_redirects=False)
        assert r.status_code == 303 and "err=" in r.headers["location"]
        assert "cannot close" in c.get(r.headers["location"]).text
        r = c.post(f"/workorders/{oid}/action", data={"action": "dispatch", "contractor": "c-tech"})
        assert r.status_code == 200 and "dispatch 完成" in r.text
    with client_as(app, C) as c:
        assert c.post(f"/workorders/{oid}/action", data={"action": "close"}).status_code == 403
        r = c.post(f"/workorders/{oid}/repair", data={"note": "更换镜头"}, files={"photo": ("p.png", PNG)})
        assert r.status_code == 200 and "已上报维修" in r.text and "待复核" in r.text
    with client_as(app, AUD) as c:
        assert c.post(f"/workorders/{oid}/repair", data={"note": "x"}).status_code == 403
