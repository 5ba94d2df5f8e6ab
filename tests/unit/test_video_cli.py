"""`govops video …` as scripts use it: --json, exit codes, clean one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.unit.test_cli import assert_clean_failure, govops
from tools.lab.fake_onvif import DeviceSpec, FakeOnvifFleet

PASSWORD = "cli-Cam#7"


@pytest.fixture(scope="module")
def fleet() -> Iterator[FakeOnvifFleet]:
    with FakeOnvifFleet(
        [DeviceSpec(), DeviceSpec(mac=False), DeviceSpec(mode="billion_laughs")], user="admin", password=PASSWORD
    ) as f:
        yield f


@pytest.fixture
def env(district) -> dict[str, str]:
    return {"GOVOPS_DATA_DIR": str(district.settings.data_dir), "GOVOPS_ENVIRONMENT": "test"}


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_onboard_probe_and_list(env, fleet):
    out = govops(
        "video",
        "onboard",
        *fleet.addresses,
        "--user",
        "admin",
        "--department",
        "cgj",
        "--area",
        "310116101002G02",
        "--json",
        env={**env, "GOVOPS_CAMERA_PASSWORD": PASSWORD},
    )
    assert out.returncode == 1, out.stderr  # one device failed; the others were onboarded
    results = _lines(out.stdout)
    assert [r["ok"] for r in results] == [True, True, False]
    assert results[2]["error"]["kind"] == "hostile" and results[2]["error"]["step"] == "device_info"
    assert results[1]["identity"].startswith("serial:")
    assert PASSWORD not in out.stdout + out.stderr and "Traceback" not in out.stderr
    listed = json.loads(govops("video", "list", "--area", "310116101002G02", "--json", env=env).stdout)
    assert {c["id"] for c in listed} == {results[0]["camera"], results[1]["camera"]}
    probe = govops("video", "probe", "--catalogue", "--json", env=env)
    assert probe.returncode == 0, probe.stderr
    assert {r["camera"] for r in _lines(probe.stdout)} == {results[0]["camera"], results[1]["camera"]}
    direct = govops(
        "video",
        "probe",
        fleet.addresses[0],
        "--user",
        "admin",
        "--json",
        env={**env, "GOVOPS_CAMERA_PASSWORD": PASSWORD},
    )
    [facts] = _lines(direct.stdout)
    assert facts["device"]["profiles"][0]["stream_uri"].startswith("rtsp://")


def test_onboard_usage_errors(env):
    out = govops("video", "onboard", "127.0.0.1:9", "--department", "nobody", env=env)
    assert_clean_failure(out, 2, "department 'nobody' does not exist")
    assert_clean_failure(govops("video", "onboard", "--department", "gaj", env=env), 2, "no device")
    assert_clean_failure(govops("video", "discover", env=env), 2, "--multicast")
    assert_clean_failure(govops("video", "discover", "10.0.0.0/8", env=env), 2, "limit")


def test_share_grant_list_revoke(env):
    cams = json.loads(govops("video", "list", "--platform", "gongan", "--json", env=env).stdout)
    cam = next(c["id"] for c in cams if c["name"] == "卫零路与龙胜路口")
    out = govops(
        "video",
        "share",
        "grant",
        "--platform",
        "zongzhi",
        "--camera",
        cam,
        "--reason",
        "联合值守",
        "--days",
        "30",
        "--json",
        env=env,
    )
    assert out.returncode == 0, out.stderr
    grant = json.loads(out.stdout)
    assert grant["platform"] == "zongzhi" and grant["expires_at"] and grant["granted_by"].startswith("cli:")
    zz = json.loads(govops("video", "list", "--platform", "zongzhi", "--json", env=env).stdout)
    assert cam in {c["id"] for c in zz}
    assert_clean_failure(
        govops("video", "share", "grant", "--platform", "zongzhi", "--camera", cam, "--reason", "联合值守", env=env),
        1,
        "already shared",
    )
    out = govops("video", "share", "revoke", str(grant["id"]), "--reason", "值守结束", "--json", env=env)
    assert json.loads(out.stdout)["revoked_at"]
    assert_clean_failure(govops("video", "share", "revoke", "99999", "--reason", "nothing", env=env), 1, "not found")
    assert_clean_failure(
        govops(
            "video",
            "share",
            "grant",
            "--platform",
            "zongzhi",
            "--camera",
            cam,
            "--area",
            "310116",
            "--reason",
            "both",
            env=env,
        ),
        2,
        "exactly one",
    )
    history = json.loads(govops("video", "share", "list", "--all", "--json", env=env).stdout)
    assert any(g["id"] == grant["id"] and g["revoke_reason"] == "值守结束" for g in history)
    # a date given to --expires is the district's day, and the grant lasts through it
    share = ("video", "share", "grant", "--platform", "zongzhi", "--camera", cam, "--reason", "春节值守")
    out = govops(*share, "--expires", "2099-01-31", "--json", env=env)
    assert out.returncode == 0 and json.loads(out.stdout)["expires_at"] == "2099-01-31T16:00:00+00:00", out.stderr
    assert_clean_failure(govops(*share, "--expires", "next week", env=env), 2, "YYYY-MM-DD")


def test_export_import_and_kpi(env, tmp_path):
    target = tmp_path / "cameras.csv"
    out = govops("video", "export", "--format", "csv", "-o", str(target), "--json", env=env)
    assert out.returncode == 0 and json.loads(out.stdout)["bytes"] == target.stat().st_size
    dry = govops("video", "import", str(target), "--dry-run", "--json", env=env)
    assert dry.returncode == 0 and json.loads(dry.stdout)["rows"] == 8
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,department\n31011600001326000999,好,nobody\n", encoding="utf-8")
    out = govops("video", "import", str(bad), "--json", env=env)
    assert out.returncode == 1 and json.loads(out.stdout)["errors"][0]["field"] == "department"
    xml = tmp_path / "catalog.xml"
    out = govops("video", "export", "--format", "gb28181", "--platform", "gongan", "-o", str(xml), env=env)
    assert out.returncode == 0 and xml.read_bytes().startswith(b'<?xml version="1.0" encoding="GB2312"?>')
    assert xml.read_bytes().decode("gb2312").count("<Item>") == 1 + 3  # the district + 3 cameras
    kpi = json.loads(govops("video", "kpi", "--by", "platform", "--json", env=env).stdout)
    assert {k["key"] for k in kpi["items"]} == {"310116-master", "zongzhi", "gongan", "chengguan"}
    recorded = json.loads(govops("video", "kpi", "--record", "--json", env=env).stdout)
    assert recorded["samples"] > 20 and recorded["recorded_at"].endswith("Z")
