"""The catalogue: 215/216 tree, "1+2+X" sharing with reasons and expiry, visibility in SQL,
import/export (CSV, GeoJSON, Catalog XML), onboarding identity, and the coverage KPIs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from gateway import sample_district
from govops import audit
from govops.errors import Conflict, NotFound, ValidationFailed
from govops.principal import DEPT_ADMIN, SECURITY_STAFF, SYSTEM, Principal
from video.catalogue import io as cio
from video.catalogue import sharing, tree
from video.catalogue.models import AdminArea, Camera, ShareGrant
from video.catalogue.queries import CameraFilter, get_camera, list_cameras
from video.catalogue.registry import Placement, next_camera_id, save_onboarded
from video.catalogue.settings import VideoSettings
from video.coverage import Coverage
from video.onvif import DeviceFacts, OnboardResult, StreamProfile
from video.onvif.errors import DeviceError

ZZ = Principal("zz", "综治值班员", frozenset({SECURITY_STAFF}), platform="zongzhi")
GA = Principal("ga", "公安值班员", frozenset({SECURITY_STAFF}), platform="gongan")
MASTER = Principal("m", "区平台值班员", frozenset({SECURITY_STAFF}), platform="310116-master")
CGJ = Principal("cg", "城管管理员", frozenset({DEPT_ADMIN}), department="cgj")
BG, VO, VO2 = "31011600002150000001", "31011600002160000001", "31011600002160000002"


def ids(session, principal, **f) -> set[str]:
    return {c.id for c in list_cameras(session, principal, CameraFilter(**f), limit=500)}


# --- groups (215/216) -------------------------------------------------------------------------


def test_group_tree_rules_are_enforced(district):
    with district.transaction() as s:
        tree.save_group(s, group_id=BG, name="治安防控", parent_id=None, actor="t")
        tree.save_group(s, group_id=VO, name="石化街道", parent_id=BG, actor="t")
        tree.save_group(s, group_id=VO2, name="东村", parent_id=VO, actor="t")  # 216 nests
    with district.transaction() as s:
        with pytest.raises(ValidationFailed, match="always at the top"):
            tree.save_group(s, group_id="31011600002150000002", name="x", parent_id=VO, actor="t")
        with pytest.raises(ValidationFailed, match="must sit under"):
            tree.save_group(s, group_id="31011600002160000009", name="x", parent_id=None, actor="t")
        with pytest.raises(ValidationFailed, match="own descendant"):
            tree.save_group(s, group_id=VO, name="石化街道", parent_id=VO2, actor="t")
        with pytest.raises(ValidationFailed, match="business group"):
            tree.save_group(s, group_id="31011600001320000009", name="x", parent_id=None, actor="t")
        with pytest.raises(ValidationFailed, match="virtual organisation"):
            tree.check_camera_group(s, BG)  # cameras hang under a 216, not a 215
        with pytest.raises(Conflict, match="groups under it"):
            tree.delete_group(s, BG, "t")


def test_group_share_covers_the_subtree(district):
    with district.transaction() as s:
        tree.save_group(s, group_id=BG, name="治安防控", parent_id=None, actor="t")
        tree.save_group(s, group_id=VO, name="石化街道", parent_id=BG, actor="t")
        tree.save_group(s, group_id=VO2, name="东村", parent_id=VO, actor="t")
        cam = s.scalar(select(Camera).where(Camera.name == "金山卫城东停车场"))  # shared to nobody
        cam.group_id = VO2
        assert cam.id not in ids(s, ZZ)
        sharing.grant(s, platform="zongzhi", subject_kind="group", subject_id=BG, reason="综治巡查需要", actor="ops")
        assert cam.id in ids(s, ZZ) and cam.id in ids(s, ZZ, group=VO)


# --- sharing -----------------------------------------------------------------------------------


def test_grant_revoke_and_expiry_drive_visibility_and_are_audited(district):
    with district.transaction() as s:
        parking = s.scalar(select(Camera).where(Camera.name == "金山卫城东停车场")).id
        assert parking not in ids(s, GA)
        g = sharing.grant(
            s,
            platform="gongan",
            subject_kind="camera",
            subject_id=parking,
            reason="案件侦查调取",
            actor="ops-1",
            expires_at=datetime.now(UTC) + timedelta(days=7),
        )
        assert parking in ids(s, GA) and parking not in ids(s, ZZ)
        with pytest.raises(Conflict, match="already shared"):
            sharing.grant(
                s, platform="gongan", subject_kind="camera", subject_id=parking, reason="again please", actor="ops-1"
            )
        sharing.revoke(s, g.id, reason="侦查结束", actor="ops-2")
        assert parking not in ids(s, GA)
        with pytest.raises(Conflict, match="already revoked"):
            sharing.revoke(s, g.id, reason="twice over", actor="ops-2")
        expired = sharing.grant(
            s,
            platform="gongan",
            subject_kind="camera",
            subject_id=parking,
            reason="短期调取",
            actor="ops-1",
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
        expired.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        s.flush()
        assert parking not in ids(s, GA)
        history = sharing.list_grants(s, subject=("camera", parking), include_inactive=True)
        assert [h.revoke_reason for h in history] == ["侦查结束", None]
        actions = [r.action for r in s.scalars(select(audit.AuditRecord).order_by(audit.AuditRecord.id))]
        assert actions[-3:] == ["video.share.grant", "video.share.revoke", "video.share.grant"]
    with district.sessions() as s:
        assert audit.verify(s).ok


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"platform": "nope"}, NotFound),
        ({"platform": "310116-master"}, ValidationFailed),  # the master sees everything already
        ({"subject_id": "31011600001326999999"}, NotFound),
        ({"reason": "ok"}, ValidationFailed),
        ({"expires_at": datetime.now(UTC) - timedelta(days=1)}, ValidationFailed),
        ({"subject_kind": "department"}, ValidationFailed),
    ],
)
def test_bad_grants_are_refused(district, kwargs, error):
    with district.transaction() as s:
        cam = s.scalar(select(Camera.id).limit(1))
        args = {
            "platform": "chengguan",
            "subject_kind": "camera",
            "subject_id": cam,
            "reason": "城管执法需要",
            "actor": "ops",
            **kwargs,
        }
        with pytest.raises(error):
            sharing.grant(s, **args)


def test_area_share_covers_everything_under_it(district):
    with district.transaction() as s:
        street = "310116101"  # 朱泾镇
        sharing.grant(
            s, platform="zongzhi", subject_kind="area", subject_id=street, reason="朱泾镇综治中心", actor="ops"
        )
        under = set(tree.area_codes_under(s, street))
        expected = {c.id for c in s.scalars(select(Camera).where(Camera.area_code.in_(under)))}
        assert expected and expected <= ids(s, ZZ)


def test_master_platform_staff_see_everything_and_x_platforms_can_be_added(district):
    with district.transaction() as s:
        assert len(ids(s, MASTER)) == 8
        with pytest.raises(Conflict, match="already the district master"):
            sharing.save_platform(s, code="m2", name="另一个", kind="master", parent_code=None, gb_id=None, actor="ops")
        p = sharing.save_platform(
            s,
            code="huanbao",
            name="环保视频平台",
            kind="x",
            parent_code=None,
            gb_id="31011600002006000002",
            actor="ops",
        )
        assert p.parent_code == "310116-master"
        with pytest.raises(ValidationFailed, match="type 200"):
            sharing.save_platform(
                s, code="yingji", name="应急", kind="x", parent_code=None, gb_id="31011600001326000001", actor="ops"
            )


def test_dept_admin_sees_own_department_only(district):
    with district.transaction() as s:
        mine = ids(s, CGJ)
        assert mine == {c.id for c in s.scalars(select(Camera).where(Camera.department_code == "cgj"))}
        other = s.scalar(select(Camera.id).where(Camera.department_code == "gaj"))
        with pytest.raises(NotFound):
            get_camera(s, CGJ, other)


# --- import / export ---------------------------------------------------------------------------


def test_csv_round_trip_and_formula_guard(district):
    with district.transaction() as s:
        cam = s.scalar(select(Camera).limit(1))
        cam.name = '=HYPERLINK("http://evil")'
        text = "".join(cio.export_csv(s, SYSTEM))
    assert "'=HYPERLINK" in text  # a spreadsheet will not run it
    assert "password" not in text and "fernet:" not in text
    with district.transaction() as s:
        report = cio.import_cameras(s, cio.read_csv(text), actor="t")
        assert report.ok and report.updated == 8 and report.created == 0
        assert s.get(Camera, cam.id).name == '=HYPERLINK("http://evil")'


def test_csv_import_reports_every_bad_row_and_writes_nothing(district):
    rows = [
        "id,name,department,area,lat,lon,key_place,status,stream_url",
        "31011600001326000100,新摄像机,gaj,310116001001G01,30.72,121.34,true,online,rtsp://10.0.0.1/s",
        "31011600001326000101,,gaj,,,,,,",
        "3101160000132600010,短编码,gaj,,,,,,",
        "31011700001326000102,区划不符,gaj,310116001001G01,,,,,",
        "31011600001326000103,无部门,nobody,,,,,,",
        "31011600001326000104,坐标错,gaj,,95,121,,,",
        "31011600001326000105,带密码,gaj,,,,,,rtsp://admin:123456@10.0.0.1/s",
        "31011600001326000106,状态错,gaj,,,,maybe,broken,",
        "31011600001326000100,重复,gaj,,,,,,",
    ]
    with district.transaction() as s:
        report = cio.import_cameras(s, cio.read_csv("\n".join(rows)), actor="t")
        assert not report.written and s.get(Camera, "31011600001326000100") is None
    got = {(e["row"], e["field"]) for e in report.errors}
    assert got == {
        (3, "name"),
        (4, "id"),
        (5, "id"),
        (6, "department"),
        (7, "lat"),
        (8, "stream_url"),
        (9, "key_place"),
        (10, "id"),
    }
    assert "123456" not in json.dumps(report.as_dict())
    with district.transaction() as s:
        report = cio.import_cameras(s, cio.read_csv("\n".join(rows)), actor="t", skip_invalid=True)
        assert report.written and report.created == 1 and report.skipped == 8
        assert s.get(Camera, "31011600001326000100").key_place is True


def test_geojson_export_and_import(district):
    with district.transaction() as s:
        doc = json.loads("".join(cio.export_geojson(s, ZZ)))
        assert {f["id"] for f in doc["features"]} == ids(s, ZZ)  # only what the caller may see
        feature = doc["features"][0]
        assert feature["geometry"]["type"] == "Point" and -180 <= feature["geometry"]["coordinates"][0] <= 180
        feature["properties"]["name"] = "改名后的摄像机"
        report = cio.import_cameras(s, cio.read_geojson_cameras(doc), actor="t")
        assert report.ok and s.get(Camera, feature["id"]).name == "改名后的摄像机"


def test_admin_areas_import_checks_levels_and_computes_area(district):
    side = 0.01
    square = {
        "type": "Polygon",
        "coordinates": [
            [[121.5, 30.8], [121.5 + side, 30.8], [121.5 + side, 30.8 + side], [121.5, 30.8 + side], [121.5, 30.8]]
        ],
    }
    good = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": square,
                "properties": {
                    "code": "310116001002G09",
                    "name": "新网格",
                    "level": "grid",
                    "parent": "310116001002",
                    "key_place": True,
                },
            }
        ],
    }
    bad = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": square,
                "properties": {"code": "X1", "name": "错层级", "level": "grid", "parent": "310116001"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[[1, 2], [3, 4]]]},
                "properties": {"code": "X2", "name": "坏多边形", "level": "community", "parent": "310116001"},
            },
        ],
    }
    with district.transaction() as s:
        report = cio.import_areas(s, bad, actor="t")
        assert [e["row"] for e in report.errors] == [1, 2] and "not under a street" in report.errors[0]["message"]
        assert s.get(AdminArea, "X1") is None
        report = cio.import_areas(s, good, actor="t")
        assert report.ok and report.created == 1
        area = s.get(AdminArea, "310116001002G09")
        assert area.key_place and area.area_km2 == pytest.approx(1.1057 * 0.9564, rel=0.01)  # 0.01° × 0.01° at 30.8°N


def test_catalog_xml_for_an_upper_platform(district):
    settings = VideoSettings()
    with district.transaction() as s:
        tree.save_group(s, group_id=BG, name="治安防控", parent_id=None, actor="t")
        tree.save_group(s, group_id=VO, name="石化街道", parent_id=BG, actor="t")
        shared = ids(s, ZZ)
        s.get(Camera, sorted(shared)[0]).group_id = VO
        body = cio.export_catalog_xml(s, SYSTEM, settings, platform="zongzhi")
    root = ET.fromstring(body.decode("gb2312").split("?>", 1)[1])
    items = root.findall("DeviceList/Item")
    cams = {
        i.findtext("DeviceID")
        for i in items
        if len(i.findtext("DeviceID")) == 20 and i.findtext("DeviceID")[10:13] in ("131", "132")
    }
    assert cams == shared  # exactly what is shared to 综治
    assert {i.findtext("DeviceID") for i in items} >= {"310116", BG, VO}
    assert root.findtext("SumNum") == str(len(items))
    vo = next(i for i in items if i.findtext("DeviceID") == VO)
    assert vo.findtext("BusinessGroupID") == BG and vo.findtext("ParentID") == BG


# --- onboarding identity -------------------------------------------------------------------------


def _facts(mac: str | None, serial: str, address: str = "http://10.0.0.9:80/onvif/device_service") -> DeviceFacts:
    return DeviceFacts(
        address=address,
        manufacturer="Hik",
        model="DS-2CD",
        serial=serial,
        mac=mac,
        profiles=[
            StreamProfile(
                "p1", "main", "H264", 1920, 1080, 25.0, 4096, "rtsp://10.0.0.9/s1", "http://10.0.0.9/snap.jpg", True
            )
        ],
        capabilities={"ptz": True},
    )


def test_onboarding_identity_mac_then_serial_and_encrypted_password(district):
    settings, box = VideoSettings(), district.box
    place = Placement(department="gaj", area="310116001001G02")
    with district.transaction() as s:
        first = save_onboarded(
            s,
            [OnboardResult("10.0.0.9", _facts("aa:bb:cc:00:00:01", "S1"), None, 5)],
            placement=place,
            user="admin",
            password="Cam#2026",
            box=box,
            settings=settings,
            actor="t",
        )
        cam = s.get(Camera, first[0]["camera"])
        assert cam.id.startswith("31011600001326") and first[0]["action"] == "created"
        assert cam.password_enc.startswith("fernet:") and "Cam#2026" not in cam.password_enc
        assert box.decrypt(cam.password_enc) == "Cam#2026"
        # Same MAC, new address and serial: the same camera.
        moved = _facts("aa:bb:cc:00:00:01", "S1-new", "http://10.0.0.10:80/onvif/device_service")
        again = save_onboarded(
            s,
            [OnboardResult("10.0.0.10", moved, None, 5)],
            placement=place,
            user="admin",
            password="Cam#2026",
            box=box,
            settings=settings,
            actor="t",
        )
        assert again[0]["camera"] == cam.id and again[0]["action"] == "updated"
        # No MAC: matched by manufacturer + serial.
        a = save_onboarded(
            s,
            [OnboardResult("x", _facts(None, "S2"), None, 5)],
            placement=place,
            user=None,
            password=None,
            box=box,
            settings=settings,
            actor="t",
        )
        b = save_onboarded(
            s,
            [OnboardResult("y", _facts(None, "S2"), None, 5)],
            placement=place,
            user=None,
            password=None,
            box=box,
            settings=settings,
            actor="t",
        )
        assert a[0]["camera"] == b[0]["camera"] != cam.id
        # A failing device that is a known camera marks it offline with the reason.
        err = DeviceError("unreachable", "cannot connect", step="xaddrs")
        failed = save_onboarded(
            s,
            [OnboardResult("10.0.0.10:80", None, err, 5)],
            placement=place,
            user=None,
            password=None,
            box=box,
            settings=settings,
            actor="t",
        )
        assert failed[0]["camera"] == cam.id and cam.status == "offline" and "cannot connect" in cam.last_error
        records = [r.detail for r in s.scalars(select(audit.AuditRecord))]
        assert "Cam#2026" not in json.dumps(records, ensure_ascii=False)


def test_next_camera_id_continues_the_serials(district):
    with district.transaction() as s:
        assert next_camera_id(s, VideoSettings()) == "31011600001326000009"  # the sample has 1..8
        with pytest.raises(ValidationFailed, match="department"):
            Placement(department="nobody").check(s)


# --- KPIs --------------------------------------------------------------------------------------


def test_kpis_per_area_and_platform(district):
    settings = VideoSettings()
    with district.transaction() as s:
        cams = {c.name: c for c in s.scalars(select(Camera))}
        cams["卫零路与龙胜路口"].status = "offline"  # key place, grid 0
        cams["龙山路主干道"].picture_fault = True  # key place, online with a picture fault
        cams["朱泾公园"].networked = False
        s.flush()
        cov = Coverage(s, settings)
        [district_kpi, *streets] = cov.by_area()
        assert district_kpi.key == "310116" and [k.key for k in streets] == ["310116001", "310116101", "310116109"]
        assert district_kpi.cameras == 8
        assert district_kpi.online_rate == 7 / 8
        assert district_kpi.intact_rate == 6 / 8
        assert district_kpi.intact_rate_key_place == pytest.approx(1 / 3, abs=1e-4)
        assert district_kpi.intact_rate_other == 1.0
        assert district_kpi.networking_rate == 7 / 8
        # key grids 0, 1, 2, 9: grid 0 lost its only camera, grid 2's is online (faulty picture)
        assert (district_kpi.key_grids, district_kpi.key_grids_covered) == (4, 2)
        km2 = sum(tree.polygon_km2(a.geometry) for a in sample_district.grids())
        assert district_kpi.area_km2 == pytest.approx(km2, rel=1e-3)
        assert district_kpi.density_per_km2 == pytest.approx(8 / km2, rel=1e-3)
        assert district_kpi.meets["networking"] is False and district_kpi.meets["density_per_km2"] is False
        by_platform = {k.key: k for k in cov.by_platform()}
        assert by_platform["310116-master"].cameras == 8
        assert by_platform["gongan"].cameras == 3 and by_platform["zongzhi"].cameras == 4
        assert by_platform["gongan"].online_rate == pytest.approx(2 / 3, abs=1e-4)


def test_metrics_have_bounded_labels(district):
    from monitoring.collectors import VideoCoverageCollector

    registry = CollectorRegistry()
    registry.register(VideoCoverageCollector(district.sessions, VideoSettings()))
    from prometheus_client import generate_latest

    fams = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    areas = {s.labels["area"] for s in fams["govops_video_online_ratio"].samples}
    assert areas == {"310116", "310116001", "310116101", "310116109"}
    platforms = {s.labels["platform"] for s in fams["govops_video_platform_cameras"].samples}
    assert platforms == {"310116-master", "zongzhi", "gongan", "chengguan"}
    for fam in fams.values():
        for sample in fam.samples:
            assert set(sample.labels) <= {"area", "platform", "kpi"}
    targets = {s.labels["kpi"]: s.value for s in fams["govops_video_kpi_target"].samples}
    assert targets["intact_key_place"] == 0.98 and targets["density_per_km2"] == 15


def test_targets_come_from_settings(monkeypatch, district):
    monkeypatch.setenv("GOVOPS_VIDEO_TARGET_DENSITY_PER_KM2", "0.5")
    settings = VideoSettings()
    with district.sessions() as s:
        [d, *_] = Coverage(s, settings).by_area()
    assert d.meets["density_per_km2"] is True


def test_share_grants_keep_history_columns(district):
    with district.sessions() as s:
        g = s.scalar(select(ShareGrant).limit(1))
        assert g.as_dict()["revoked_at"] is None and g.active(datetime.now(UTC))


# --- the list page (prepared statements) ---------------------------------------------------------

NOBODY = Principal("n", "访客", frozenset())


def test_list_page_agrees_with_the_orm_query_for_every_viewer_and_filter(district):
    """list_cameras runs its own compiled statements; camera_query is the ORM statement built
    from the same conditions. They must select the same cameras, page for page."""
    from sqlalchemy.orm import load_only

    from video.catalogue.queries import LIST_COLUMNS, CameraRow, camera_query

    with district.transaction() as s:
        street = s.scalar(select(AdminArea.code).where(AdminArea.level == "street"))
        grid = s.scalar(select(Camera.area_code).where(Camera.area_code.is_not(None)))
        some = s.scalar(select(Camera).order_by(Camera.id).offset(2).limit(1))
        some.name = "东门_100%/南"  # LIKE wildcards and the escape character, taken literally
        sharing.grant(s, platform="zongzhi", subject_kind="area", subject_id=street, reason="街道综治中心", actor="ops")
        tree.save_group(s, group_id=BG, name="治安防控", parent_id=None, actor="t")
        tree.save_group(s, group_id=VO, name="石化街道", parent_id=BG, actor="t")
        some.group_id = VO
        sharing.grant(s, platform="gongan", subject_kind="group", subject_id=BG, reason="公安巡查需要", actor="ops")
        filters = [
            {},
            {"area": street},
            {"area": grid},
            {"status": "online"},
            {"key_place": True},
            {"networked": False},
            {"department": "cgj"},
            {"q": "_100%/"},
            {"q": "%"},
            {"q": "停车"},
            {"platform": "zongzhi"},
            {"platform": "gongan"},
            {"group": BG},
            {"area": street, "status": "online", "key_place": False},
        ]
        seen_any = False
        for principal in (SYSTEM, ZZ, GA, MASTER, CGJ, NOBODY):
            for f in filters:
                expected = [c.id for c in s.scalars(camera_query(s, principal, CameraFilter(**f)).order_by(Camera.id))]
                assert [c.id for c in list_cameras(s, principal, CameraFilter(**f), limit=500)] == expected, (
                    principal.name,
                    f,
                )
                paged, after = [], None
                while True:
                    page = list_cameras(s, principal, CameraFilter(**f), after, limit=2)
                    paged += [c.id for c in page]
                    if len(page) < 2:
                        break
                    after = page[-1].id
                assert paged == expected, (principal.name, f, "paged")
                seen_any = seen_any or bool(expected)
        assert seen_any
        assert [c.id for c in list_cameras(s, SYSTEM, CameraFilter(q="_100%/"))] == [some.id]
        assert list_cameras(s, NOBODY) == []
        # A row carries what the ORM object would, and the same public view.
        row = list_cameras(s, SYSTEM, limit=500)[2]
        orm = s.scalar(select(Camera).where(Camera.id == row.id).options(load_only(*LIST_COLUMNS)))
        assert isinstance(row, CameraRow) and row.as_dict() == orm.as_dict()
        assert (row.online, row.intact) == (orm.online, orm.intact)
        assert type(row.key_place) is bool and type(row.networked) is bool


def test_prepared_statements_keep_listeners_and_check_their_key(district):
    from sqlalchemy import String, event
    from sqlalchemy import select as sa_select

    from video.catalogue.prepared import fetch, items

    seen: list[str] = []

    def hook(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(district.engine, "before_cursor_execute", hook)
    try:
        with district.sessions() as s:
            list_cameras(s, ZZ, CameraFilter(status="online"))
    finally:
        event.remove(district.engine, "before_cursor_execute", hook)
    assert any("FROM cameras" in sql for sql in seen)

    def build():
        return sa_select(Camera.id).where(Camera.id.in_(items("ids", 2, String())))

    with district.sessions() as s:
        a, b = s.scalars(select(Camera.id).order_by(Camera.id).limit(2)).all()
        assert [r[0] for r in fetch(s, ("test_ids", 2), build, {"ids": [a, b]})] == [a, b]
        with pytest.raises(ValueError, match="the key must include the length"):
            fetch(s, ("test_ids", 2), build, {"ids": [a]})


def test_prepared_statements_belong_to_the_engine(district, tmp_path):
    from gateway.runtime import Runtime
    from govops.settings import load_settings
    from video.catalogue.prepared import statements_of

    with district.sessions() as s:
        list_cameras(s, SYSTEM, CameraFilter(status="online"))
    assert len(statements_of(district.engine)) > 0
    other = Runtime.build(load_settings(data_dir=tmp_path, environment="test"))
    try:
        assert len(statements_of(other.engine)) == 0  # no state shared between engines
        assert statements_of(district.engine) is statements_of(district.engine)
    finally:
        other.engine.dispose()
