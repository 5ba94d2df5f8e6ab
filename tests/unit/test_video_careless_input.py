"""Careless input to the video room (#17 item 7, #15 items 11-13): a clean error or an empty
answer, never a 5xx, a traceback or a half-written record. Each test failed before its fix."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from govops.audit import AuditRecord
from govops.errors import ValidationFailed
from govops.principal import LOCAL_SYSTEM_ADMIN
from tests.conftest import client_as
from tests.unit.test_cli import assert_clean_failure, govops
from video import gbt28181
from video.catalogue import io as cio
from video.catalogue.queries import CameraFilter, list_cameras
from video.coverage import Coverage


def test_unknown_area_or_group_gives_an_empty_list(app):
    ops = client_as(app, LOCAL_SYSTEM_ADMIN)
    for params in ({"area": "0"}, {"area": "999999"}, {"group": "31011600002160000999"}):
        r = ops.get("/api/cameras", params=params)
        assert r.status_code == 200, (params, r.text)
        assert r.json()["items"] == []
    assert ops.get("/video/cameras", params={"area": "999999"}).status_code == 200


def test_empty_in_list_in_the_domain(district):
    with district.sessions() as s:
        assert list_cameras(s, LOCAL_SYSTEM_ADMIN, CameraFilter(area="nosuch")) == []
        assert list_cameras(s, LOCAL_SYSTEM_ADMIN, CameraFilter(group="31011600002160000999")) == []


# --- imports -------------------------------------------------------------------------------------

GOOD_ID = "31011600001326000501"
HEADER = "id,name,department,area\n"


def _import_csv(district, text: str, **kw):
    with district.transaction() as s:
        return cio.import_cameras(s, cio.read_csv(text), actor="t", **kw)


def _import_geojson(district, doc, **kw):
    with district.transaction() as s:
        return cio.import_cameras(s, cio.read_geojson_cameras(doc), actor="t", **kw)


@pytest.mark.parametrize("digits", ["３１０１１６００００１３２６０００５０１", "٣١٠١١٦٠٠٠٠١٣٢٦٠٠٠٥٠١"])
def test_gb_codes_are_ascii_digits_only(digits):
    assert digits.isdigit() and len(digits) == 20  # what `\d` let through
    with pytest.raises(ValidationFailed, match="20 digits"):
        gbt28181.parse(digits)


def test_a_nul_or_a_newline_in_a_name_is_refused(district):
    for name in ("路口\x00摄像机", "路口\x1b[31m"):
        report = _import_csv(district, HEADER + f'{GOOD_ID},"{name}",gaj,\n')
        assert not report.written and report.errors[0]["field"] == "name", report.errors
        assert "control characters" in report.errors[0]["message"]


def test_a_csv_field_over_128_kib_is_a_clean_error(district):
    with pytest.raises(ValidationFailed, match="128 KiB"):
        _import_csv(district, HEADER + f"{GOOD_ID},{'x' * (200 * 1024)},gaj,\n")


def _feature(geometry, **props):
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {"id": GOOD_ID, "name": "新", "department": "gaj", **props},
    }


@pytest.mark.parametrize(
    ("feature", "field", "words"),
    [
        (_feature({"type": "LineString", "coordinates": [[121.3, 30.7], [121.4, 30.8]]}), "geometry", "Point"),
        (_feature({"type": "Point", "coordinates": [121.3]}), "geometry", "[lon, lat]"),
        (_feature({"type": "Point", "coordinates": 5}), "geometry", "[lon, lat]"),
        (_feature({"type": "Point", "coordinates": ["east", "north"]}), "geometry", "numbers"),
        (_feature({"type": "Point", "coordinates": [1e999, 30.7]}), "lon", "outside"),
        (_feature({"type": "Point", "coordinates": [121.3, 30.7]}, name=["a", "b"]), "name", "single value"),
        (_feature(None, lat={"deg": 30}), "lat", "single value"),
        ("not a feature", "feature", "object"),
    ],
)
def test_careless_geojson_rows_are_refused(district, feature, field, words):
    report = _import_geojson(district, {"type": "FeatureCollection", "features": [feature]})
    assert not report.written and report.created == 0
    assert report.errors and report.errors[0]["field"] == field and words in report.errors[0]["message"], report.errors


def test_careless_geojson_files_are_clean_errors(district):
    with pytest.raises(ValidationFailed, match="must be a list"):
        _import_geojson(district, {"type": "FeatureCollection", "features": 5})
    with district.transaction() as s, pytest.raises(ValidationFailed, match="must be a list"):
        cio.import_areas(s, {"type": "FeatureCollection", "features": 5}, actor="t")
    with pytest.raises(ValidationFailed, match="nested too deeply"):
        cio.load_json("[" * 100_000 + "]" * 100_000)


def test_a_dry_run_counts_what_it_would_create(district):
    report = _import_csv(district, HEADER + f"{GOOD_ID},新建路口,gaj,\n", dry_run=True)
    assert (report.created, report.updated, report.written) == (1, 0, False)
    with district.sessions() as s:
        assert list_cameras(s, LOCAL_SYSTEM_ADMIN, CameraFilter(q="新建路口")) == []


def test_unknown_status_and_level_are_refused(district):
    with pytest.raises(ValidationFailed, match="not a camera status"):
        CameraFilter(status="burning")
    with district.sessions() as s, pytest.raises(ValidationFailed, match="not an area level"):
        Coverage(s, district.video).by_area("planet")


# --- the CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def env(district) -> dict[str, str]:
    return {"GOVOPS_DATA_DIR": str(district.settings.data_dir), "GOVOPS_ENVIRONMENT": "test"}


def test_cli_careless_input(env, tmp_path):
    out = govops("video", "export", "-o", str(tmp_path / "missing-dir" / "x.csv"), env=env)
    assert_clean_failure(out, 2, "missing-dir", "does not exist")
    assert "bug" not in out.stderr
    assert_clean_failure(govops("video", "list", "--status", "burning", env=env), 2, "burning")
    assert_clean_failure(govops("video", "kpi", "--level", "planet", env=env), 2, "planet")
    listed = govops("video", "list", "--area", "nosuch", "--json", env=env)
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr
    new = tmp_path / "new.csv"
    new.write_text(HEADER + f"{GOOD_ID},新建路口,gaj,\n", encoding="utf-8")
    dry = govops("video", "import", str(new), "--dry-run", "--json", env=env)
    assert dry.returncode == 0 and json.loads(dry.stdout)["created"] == 1, dry.stdout + dry.stderr
    deep = tmp_path / "deep.geojson"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert_clean_failure(govops("video", "import", str(deep), env=env), 2, "nested too deeply")
    cam = json.loads(govops("video", "list", "--json", env=env).stdout)[0]["id"]
    for careless in ("=3", "dark_mean", "dark_mean=abc"):  # "=3" was "unknown threshold(s): " of nothing
        assert_clean_failure(govops("video", "thresholds", cam, careless, env=env), 2, "bad threshold", "NAME=NUMBER")


def test_cli_diagnose_of_a_missing_file_exits_1(env, tmp_path):
    missing = str(tmp_path / "no-such-file.mp4")
    out = govops("video", "diagnose", missing, "--json", env=env)
    assert out.returncode == 1, (out.stdout, out.stderr)
    [line] = [json.loads(x) for x in out.stdout.splitlines() if x.strip()]
    assert line["faults"][0]["code"] == "signal_loss" and "no such file" in line["error"]


# --- camera passwords in addresses (#15 item 8) ------------------------------------------------------


def test_a_password_in_a_target_is_refused_and_never_audited(district):
    from video.catalogue.registry import Placement, save_onboarded
    from video.onvif import DeviceError, OnboardResult
    from video.onvif import service as device_service

    target = "http://admin:pw-in-url@127.0.0.1:1/onvif/device_service"
    with district.transaction() as s, pytest.raises(ValidationFailed) as refused:
        device_service.onboard(
            s,
            [target],
            user=None,
            password=None,
            placement=Placement(department="gaj"),
            box=district.box,
            settings=district.video,
            actor="t",
        )
    assert "pw-in-url" not in refused.value.message + (refused.value.hint or "")
    failed = OnboardResult(target, None, DeviceError("unreachable", "connection refused", step="xaddrs"), 1.0)
    with district.transaction() as s:
        [summary] = save_onboarded(
            s,
            [failed],
            placement=Placement(department="gaj"),
            user=None,
            password=None,
            box=district.box,
            settings=district.video,
            actor="t",
        )
    assert summary["target"] == "http://127.0.0.1:1/onvif/device_service"
    with district.sessions() as s:
        dump = json.dumps([(r.action, r.target, r.detail) for r in s.scalars(select(AuditRecord))], default=str)
    assert "video.onboard.failures" in dump and "pw-in-url" not in dump


def test_cli_onboard_nothing_listening_and_camera_edit(env):
    out = govops("video", "onboard", "127.0.0.1:1", "--department", "gaj", "--json", env=env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    [line] = [json.loads(x) for x in out.stdout.splitlines() if x.strip()]
    assert line["error"]["kind"] == "unreachable" and "connection refused" in line["error"]["message"], line
    cams = json.loads(govops("video", "list", "--json", env=env).stdout)
    cam = cams[0]["id"]
    edited = govops("video", "edit", cam, "--name", "改名路口", "--lat", "30.72", "--json", env=env)
    assert edited.returncode == 0, edited.stderr
    assert json.loads(edited.stdout)["name"] == "改名路口"
    assert_clean_failure(govops("video", "edit", cam, "--area", "nowhere", env=env), 2, "nowhere")
    assert_clean_failure(govops("video", "edit", cam, "--name", "a\x01b", env=env), 2, "control characters")
    assert_clean_failure(govops("video", "edit", cam, env=env), 2, "nothing to change", "name, area")


def test_a_failed_onboarding_lands_in_the_alert_inbox_once_and_resolves(district):
    """#12: alerts the platform raises itself (onboarding) share the inbox, scoped to the department."""
    from govops.alerts import Alert
    from video.catalogue.registry import Placement
    from video.onvif import service as device_service

    placement = Placement(department="gaj")
    for _ in range(2):  # a retry of the same failure refreshes the alert, it does not add one
        with district.transaction() as s:
            out = device_service.onboard(
                s,
                ["127.0.0.1:1"],
                user="admin",
                password="secret-pw",
                placement=placement,
                box=district.box,
                settings=district.video,
                actor="t",
                device_timeout_s=10,
            )
        assert out["failed"] == 1
    with district.sessions() as s:
        [alert] = s.scalars(select(Alert).where(Alert.source == device_service.ONBOARDING_ALERT_SOURCE)).all()
        assert alert.status == "firing" and alert.department == "gaj"
        assert "127.0.0.1:1" in alert.summary and "secret-pw" not in json.dumps(alert.as_dict(), default=str)
        target = alert.labels["target"]
    with district.transaction() as s:
        device_service._onboarding_alerts(s, [{"target": target, "ok": True}], placement)
    with district.sessions() as s:
        assert s.scalar(select(Alert.status).where(Alert.id == alert.id)) == "resolved"
