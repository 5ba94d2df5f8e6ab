"""The camera patrol over the sample district's clips: history, hysteresis, alerts, shards,
timeouts, on-demand diagnosis, per-camera thresholds, and the API's isolation matrix."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.runtime import Runtime
from govops import audit
from govops.alerts import Alert
from govops.errors import ConfigError, ValidationFailed
from govops.principal import DEPT_ADMIN, LOCAL_SYSTEM_ADMIN, SECURITY_STAFF, Principal
from tests.conftest import client_as
from tests.support.synthetic import ClipSpec, write_condition_clip
from video.catalogue.models import Camera
from video.diagnosis import Thresholds
from video.patrol import Patrol, Policy, Shard
from video.patrol.ledger import alert_fingerprint
from video.patrol.models import CameraWatch, DiagnosisRecord, PatrolRound
from video.patrol.verdict import observe

ZZ = Principal("u-zz", "综治值班员", frozenset({SECURITY_STAFF}), platform="zongzhi")
GA = Principal("u-ga", "公安值班员", frozenset({SECURITY_STAFF}), platform="gongan")
CGJ_ADMIN = Principal("u-cgj", "城管管理员", frozenset({DEPT_ADMIN}), department="cgj")
ROAD = "龙山路主干道"  # gaj, shared to 公安 only
PARK = "朱泾公园"  # cgj, shared to 综治


def run(steps: list[str], raise_after: int = 2, clear_after: int = 2) -> list[str]:
    stable, pending, streak, seen = "ok", None, 0, []
    for verdict in steps:
        s = observe(stable, pending, streak, verdict, raise_after=raise_after, clear_after=clear_after)
        stable, pending, streak = s.stable, s.pending, s.streak
        seen.append(stable)
    return seen


def test_one_bad_round_changes_nothing_two_do() -> None:
    assert run(["faulty", "ok", "faulty", "ok"]) == ["ok"] * 4
    assert run(["faulty", "faulty"]) == ["ok", "faulty"]


def test_a_flapping_camera_stays_faulty_until_it_holds_good() -> None:
    seen = run(["faulty", "faulty", "ok", "faulty", "ok", "faulty", "ok", "ok"])
    assert seen == ["ok", "faulty", "faulty", "faulty", "faulty", "faulty", "faulty", "ok"]


def test_offline_and_faulty_are_different_verdicts() -> None:
    assert run(["faulty", "offline", "offline"]) == ["ok", "ok", "offline"]


def test_a_person_is_believed_at_once() -> None:
    s = observe("faulty", None, 0, "ok", raise_after=3, clear_after=3, confirmed=True)
    assert s.changed and s.stable == "ok"


def test_shards_split_the_catalogue_exactly() -> None:
    ids = [f"3101160000132{n:07d}" for n in range(300)]
    owned = [[i for i in ids if Shard(k, 3).owns(i)] for k in range(3)]
    assert sorted(i for o in owned for i in o) == ids
    assert all(60 < len(o) < 140 for o in owned)


@pytest.mark.parametrize("text", ["", "1", "3/3", "-1/2", "a/b", "1/0"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed, match="bad shard"):
        Shard.parse(text)


def test_shard_from_the_statefulset_pod_name() -> None:
    assert Shard.from_pod_name("govops-diagnosis-2", "4") == Shard(2, 4)
    assert Shard.from_pod_name("patrol-job-3-x7kq2", "4", job_index="3") == Shard(3, 4)  # Indexed Job
    with pytest.raises(ConfigError, match="pod name"):
        Shard.from_pod_name("govops-diagnosis", "4")
    with pytest.raises(ConfigError, match="GOVOPS_PATROL_SHARDS"):
        Shard.from_pod_name("govops-diagnosis-0", None)
    with pytest.raises(ValidationFailed):
        Shard.from_pod_name("govops-diagnosis-5", "4")


def _camera_id(rt: Runtime, name: str) -> str:
    with rt.transaction() as s:
        return s.scalar(select(Camera.id).where(Camera.name == name))  # type: ignore[return-value]


def _set_stream(rt: Runtime, camera_id: str, url: str) -> None:
    with rt.transaction() as s:
        s.get(Camera, camera_id).stream_url = url  # type: ignore[union-attr]


T = Thresholds()


def _patrol(rt: Runtime, **kw: object) -> Patrol:
    kw.setdefault("thresholds", T)
    return Patrol(rt.sessions, rt.box, concurrency=8, **kw)  # type: ignore[arg-type]


def _alerts(rt: Runtime, camera_id: str) -> list[Alert]:
    with rt.transaction() as s:
        rows = list(s.scalars(select(Alert).where(Alert.fingerprint == alert_fingerprint(camera_id))))
        s.expunge_all()
        return rows


def test_a_round_writes_history_with_pictures_and_references(district: Runtime) -> None:
    report = _patrol(district).run_round()
    assert report.status == "done" and report.cameras == 8
    assert report.counts == {"ok": 8, "faulty": 0, "offline": 0}
    with district.transaction() as s:
        assert s.scalar(select(func.count()).select_from(DiagnosisRecord)) == 8
        rec = s.scalars(select(DiagnosisRecord)).first()
        assert rec.thumbnail[:2] == b"\xff\xd8" and rec.metrics["width"] == 640  # type: ignore[union-attr]
        # The first healthy picture of each camera became its scene reference.
        refs = list(s.scalars(select(CameraWatch.reference)))
        assert len(refs) == 8 and all(r and r[:2] == b"\xff\xd8" for r in refs)
        rnd = s.scalars(select(PatrolRound)).one()
        assert (rnd.status, rnd.ok, rnd.cameras) == ("done", 8, 8) and rnd.finished_at is not None


def test_a_dead_camera_alerts_once_and_recovers(district: Runtime, tmp_path: Path) -> None:
    cam = _camera_id(district, ROAD)
    with district.transaction() as s:
        good = s.get(Camera, cam).stream_url  # type: ignore[union-attr]
    patrol = _patrol(district, policy=Policy(raise_after=2, clear_after=2))
    patrol.run_round()
    _set_stream(district, cam, str(tmp_path / "gone.mp4"))
    first = patrol.run_round([cam])
    assert first.counts["offline"] == 1 and first.alerts_raised == 0 and not _alerts(district, cam)
    second = patrol.run_round([cam])
    assert second.alerts_raised == 1
    [alert] = _alerts(district, cam)
    assert alert.status == "firing" and alert.severity == "critical"  # a key public area
    assert "no such file" in alert.summary
    with district.transaction() as s:
        c = s.get(Camera, cam)
        assert c.status == "offline" and c.diagnosis_faults == ["signal_loss"]  # type: ignore[union-attr]
    # Flapping: good, bad, good, bad keeps the one alert open; two good rounds close it.
    for url in (good, "/nope.mp4", good, "/nope.mp4", good, good):
        _set_stream(district, cam, url)  # type: ignore[arg-type]
        patrol.run_round([cam])
    alerts = _alerts(district, cam)
    assert len(alerts) == 1 and alerts[0].status == "resolved"
    with district.transaction() as s:
        assert s.get(Camera, cam).status == "online"  # type: ignore[union-attr]
        assert s.get(CameraWatch, cam).alerts_raised == 1  # type: ignore[union-attr]


def test_a_faulty_picture_counts_against_the_intact_rate(district: Runtime, tmp_path: Path) -> None:
    from video.coverage import Coverage

    cam = _camera_id(district, ROAD)
    clip = write_condition_clip(tmp_path / "dark.mp4", ClipSpec("dark", strength=0.8))
    _set_stream(district, cam, str(clip))
    patrol = _patrol(district, policy=Policy(raise_after=1, clear_after=1))
    report = patrol.run_round()
    assert report.counts["faulty"] == 1 and report.faults == {"too_dark": 1}
    with district.transaction() as s:
        c = s.get(Camera, cam)
        assert (c.status, c.picture_fault, c.diagnosis_faults) == ("faulty", True, ["too_dark"])  # type: ignore[union-attr]
        [kpi] = Coverage(s, district.video).by_area("district")
        assert (kpi.cameras, kpi.online_rate, kpi.intact_rate) == (8, 1.0, 7 / 8)


def test_a_night_camera_dark_on_purpose(district: Runtime, tmp_path: Path) -> None:
    from video.patrol.ondemand import set_thresholds

    cam = _camera_id(district, ROAD)
    _set_stream(district, cam, str(write_condition_clip(tmp_path / "dark.mp4", ClipSpec("dark", strength=0.3))))
    with district.transaction() as s:
        set_thresholds(s, cam, {"dark_mean": 5}, actor="test", base=T)
    report = _patrol(district, policy=Policy(raise_after=1)).run_round([cam])
    assert report.counts["ok"] == 1
    with district.transaction() as s, pytest.raises(ValidationFailed, match="dark_meen") as typo:
        set_thresholds(s, cam, {"dark_meen": 5}, actor="test", base=T)
    assert typo.value.hint == "did you mean dark_mean?"


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never says a word (a hung camera)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_a_hung_camera_times_out_and_the_round_goes_on(
    district: Runtime, silent: SilentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cam = _camera_id(district, ROAD)
    _set_stream(district, cam, f"rtsp://127.0.0.1:{silent.port}/live")
    monkeypatch.setenv("GOVOPS_VQD_OPEN_TIMEOUT_S", "20")
    monkeypatch.setenv("GOVOPS_VQD_READ_TIMEOUT_S", "20")
    report = _patrol(district, camera_timeout_s=1.5, thresholds=Thresholds()).run_round()
    assert report.cameras == 8 and report.counts["ok"] == 7 and report.timed_out == 1
    assert report.elapsed_s < 15  # the round did not wait for the camera's 40 s of timeouts
    with district.transaction() as s:
        assert "no answer within 2 s" in s.get(Camera, cam).last_error  # type: ignore[operator, union-attr]


def test_stop_writes_what_is_in_flight_and_starts_nothing_new(district: Runtime) -> None:
    patrol = _patrol(district)
    patrol.stop()
    report = patrol.run_round()
    assert report.status == "stopped" and sum(report.counts.values()) == 0


def test_on_demand_is_believed_and_audited(district: Runtime, tmp_path: Path) -> None:
    from video.patrol.ondemand import diagnose_now, refresh_reference

    cam = _camera_id(district, ROAD)
    with district.transaction() as s:
        good = s.get(Camera, cam).stream_url  # type: ignore[union-attr]
    _set_stream(district, cam, str(tmp_path / "gone.mp4"))
    out = diagnose_now(district.sessions, district.box, cam, actor="ops-1", base=T)
    assert out["verdict"] == "offline" and out["watch"]["stable"] == "offline"
    assert _alerts(district, cam)[0].status == "firing"
    with pytest.raises(Exception, match="old reference is kept"):
        refresh_reference(district.sessions, district.box, cam, actor="ops-1", base=T)
    _set_stream(district, cam, good)  # type: ignore[arg-type]
    out = diagnose_now(district.sessions, district.box, cam, actor="ops-1", base=T)
    assert out["watch"]["stable"] == "ok" and _alerts(district, cam)[0].status == "resolved"
    out = refresh_reference(district.sessions, district.box, cam, actor="ops-1", base=T)
    assert out["watch"]["reference_at"]
    with district.transaction() as s:
        actions = [r.action for r in s.scalars(select(audit.AuditRecord))]
        assert actions.count("video.diagnose") == 2 and "video.reference.refresh" in actions


def test_the_api_keeps_each_viewer_to_their_cameras(district: Runtime, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    road, park = _camera_id(district, ROAD), _camera_id(district, PARK)
    _patrol(district).run_round()
    for cam in (road, park):
        _set_stream(district, cam, str(tmp_path / "gone.mp4"))
    _patrol(district, policy=Policy(raise_after=1)).run_round()
    with (
        client_as(app, ZZ) as zz,
        client_as(app, GA) as ga,
        client_as(app, CGJ_ADMIN) as cgj,
        client_as(app, LOCAL_SYSTEM_ADMIN) as ops,
    ):
        assert {c["id"] for c in ops.get("/api/video/faults").json()["items"]} == {road, park}
        assert [c["id"] for c in zz.get("/api/video/faults").json()["items"]] == [park]
        assert [c["id"] for c in ga.get("/api/video/faults").json()["items"]] == [road]
        assert [c["id"] for c in cgj.get("/api/video/faults").json()["items"]] == [park]
        hist = ga.get(f"/api/cameras/{road}/diagnoses").json()
        assert hist["watch"]["stable"] == "offline" and hist["items"][0]["verdict"] == "offline"
        rid = ops.get(f"/api/cameras/{road}/diagnoses").json()["items"][0]["id"]
        # 综治 staff cannot read the history, the pictures or re-diagnose a 公安-only camera.
        assert zz.get(f"/api/cameras/{road}/diagnoses").status_code == 404
        assert zz.get(f"/api/cameras/{road}/diagnoses/{rid}/picture.jpg").status_code == 404
        assert zz.post(f"/api/cameras/{road}/diagnose").status_code == 404
        assert cgj.post(f"/api/cameras/{park}/diagnose").status_code == 403  # dept admins only look
        assert zz.get("/api/video/patrol/rounds").status_code == 403
        assert ops.get("/api/video/patrol/rounds").json()["items"][0]["offline"] == 2
        ok_rid = ops.get(f"/api/cameras/{road}/diagnoses?limit=20").json()["items"][-1]["id"]
        assert ops.get(f"/api/cameras/{road}/diagnoses/{rid}/picture.jpg").status_code == 404  # offline
        pic = ga.get(f"/api/cameras/{road}/diagnoses/{ok_rid}/picture.jpg")
        assert pic.status_code == 200 and pic.content[:2] == b"\xff\xd8"
        bad = ops.put(f"/api/cameras/{road}/diagnosis/thresholds", json={"thresholds": {"dark_meen": 1}})
        assert bad.status_code == 422 and "dark_meen" in bad.json()["message"]
        # 1e999 is valid JSON and reads as infinity: a timeout of it would hang the patrol.
        endless = ops.put(
            f"/api/cameras/{road}/diagnosis/thresholds",
            content=b'{"thresholds": {"read_timeout_s": 1e999}}',
            headers={"content-type": "application/json"},
        )
        assert endless.status_code == 422 and "read_timeout_s" in endless.json()["message"], endless.text
        assert (
            zz.put(f"/api/cameras/{park}/diagnosis/thresholds", json={"thresholds": {"dark_mean": 9}}).status_code
            == 403
        )
        good = ops.put(f"/api/cameras/{road}/diagnosis/thresholds", json={"thresholds": {"dark_mean": 9}})
        assert good.json()["thresholds"] == {"dark_mean": 9}
        again = ga.post(f"/api/cameras/{road}/diagnose")
        assert again.status_code == 200 and again.json()["verdict"] == "offline"
        assert "error" in again.json() and "Traceback" not in again.text


def test_cli_patrol_once_json(district: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from gateway.cli.main import app as cli

    monkeypatch.setenv("GOVOPS_DATA_DIR", str(district.settings.data_dir))
    runner = CliRunner()
    out = runner.invoke(cli, ["video", "patrol", "--once", "--shard", "0/1", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["cameras"] == 8 and report["ok"] == 8 and report["status"] == "done"
    bad = runner.invoke(cli, ["video", "patrol", "--once", "--shard", "2/2"])
    assert bad.exit_code != 0
    hist = runner.invoke(cli, ["video", "history", _camera_id(district, ROAD), "--json"])
    assert json.loads(hist.stdout)["items"][0]["origin"] == "patrol"


def test_console_faults_page_and_camera_history(district: Runtime, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    road, park = _camera_id(district, ROAD), _camera_id(district, PARK)
    _patrol(district).run_round()
    # Snow over the park camera's own view (a clip of the road would be another view: scene_change).
    _set_stream(district, park, str(write_condition_clip(tmp_path / "snow.mp4", ClipSpec("snow", "park", 0.8))))
    _set_stream(district, road, str(tmp_path / "gone.mp4"))
    _patrol(district, policy=Policy(raise_after=1)).run_round()
    html = {"Accept": "text/html"}
    with client_as(app, ZZ) as zz, client_as(app, LOCAL_SYSTEM_ADMIN) as ops:
        page = zz.get("/video/faults", headers=html).text
        assert f'data-camera="{park}"' in page and f'data-camera="{road}"' not in page
        assert "雪花噪声" in page and "/picture.jpg" in page and "最近巡检" not in page
        page = ops.get("/video/faults", headers=html).text
        assert f'data-camera="{road}"' in page and "无画面" in page and "最近巡检" in page
        detail = zz.get(f"/video/cameras/{park}", headers=html).text
        assert detail.count("<figure") == 2 and 'data-verdict="faulty"' in detail and "re-diagnose" in detail
        assert "refresh reference" not in detail  # the reference is for ops to move
        done = zz.post(f"/video/cameras/{park}/diagnose", follow_redirects=False)
        assert done.status_code == 303 and "msg=" in done.headers["location"]
        assert zz.post(f"/video/cameras/{road}/diagnose", follow_redirects=False).status_code == 404
        gone = ops.post(f"/video/cameras/{road}/reference", follow_redirects=False)
        assert gone.status_code == 303 and "err=" in gone.headers["location"]


def test_metrics_show_each_shard_and_fault_code(district: Runtime, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    road = _camera_id(district, ROAD)
    # A dark lens: judged on the absolute limits in the camera's first round (not yet commissioned).
    _set_stream(district, road, str(write_condition_clip(tmp_path / "dark.mp4", ClipSpec("dark", strength=0.9))))
    for k in range(2):
        Patrol(
            district.sessions, district.box, shard=Shard(k, 2), policy=Policy(raise_after=1), thresholds=T
        ).run_round()
    text = client_as(app, None).get("/metrics").text
    assert 'govops_video_patrol_round_cameras{shard="0/2",verdict="ok"}' in text
    assert 'govops_video_patrol_last_round_timestamp_seconds{shard="1/2"}' in text
    assert 'govops_video_picture_faults{code="too_dark"} 1.0' in text
    assert 'govops_video_picture_faults{code="freeze"} 0.0' in text


def test_faults_the_camera_reports_itself_over_onvif_events(district: Runtime) -> None:
    from tools.lab.fake_onvif import DeviceSpec, FakeOnvifFleet

    road, park = _camera_id(district, ROAD), _camera_id(district, PARK)
    specs = [
        DeviceSpec(events={"ImageTooBlurry": True, "ImageTooDark": False, "Tamper": False}),
        DeviceSpec(mode="xxe", action="PullMessages", events={"ImageTooDark": True}),
    ]
    with FakeOnvifFleet(specs, user="admin", password="Cam#2026") as fleet:
        for cam_id, port in zip((road, park), fleet.ports, strict=True):
            with district.transaction() as s:
                cam = s.get(Camera, cam_id)
                cam.onvif_address = f"http://127.0.0.1:{port}/onvif/device_service"  # type: ignore[union-attr]
                cam.username, cam.password_enc = "admin", district.box.encrypt("Cam#2026")  # type: ignore[union-attr]
                cam.capabilities = {"events": True}  # type: ignore[union-attr]
        patrol = _patrol(district, policy=Policy(raise_after=1, clear_after=1))
        report = patrol.run_round([road, park])
        assert report.faults == {"blur": 1}
        with district.transaction() as s:
            rec = s.scalars(select(DiagnosisRecord).where(DiagnosisRecord.camera_id == road)).one()
            assert rec.faults == [{"code": "blur", "score": 1.0}] and rec.verdict == "faulty"
            assert rec.metrics["camera_events"] == {"blur": True, "too_dark": False, "occlusion": False}
            hostile = s.scalars(select(DiagnosisRecord).where(DiagnosisRecord.camera_id == park)).one()
            assert hostile.verdict == "ok" and "DTD" in hostile.metrics["camera_events_error"]
        state = fleet.state(fleet.ports[0])
        assert state["subscriptions"] == 1 and state["unsubscribed"] == 1
        # The camera's analytics clear the fault: the next round clears it too.
        fleet.set_event(fleet.ports[0], "ImageTooBlurry", False)
        patrol.run_round([road])
        with district.transaction() as s:
            assert s.get(Camera, road).status == "online"  # type: ignore[union-attr]


def test_cli_patrol_and_api_give_one_verdict_for_one_picture(
    district: Runtime, app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Commissioned on its normal view, the camera then shows a defocused picture: the patrol,
    the API's re-diagnose and `govops video diagnose --camera` judge it with the same settings
    and agree, fault by fault; the stored record says what the log said."""
    from tests.support.natural import Clip, write_clip

    cam = _camera_id(district, ROAD)
    normal = write_clip(tmp_path / "normal.mp4", Clip("clean", "riverside", 0.0, seed=2, frames=12))
    blurred = write_clip(tmp_path / "blurred.mp4", Clip("defocus", "riverside", 0.5, seed=2, frames=12, t0=7))
    taken, patrol_rec, api, line = _three_verdicts(district, app, monkeypatch, cam, normal, blurred)
    assert taken["baseline"]["mode"] == "day"
    with district.transaction() as s:
        actions = [r.action for r in s.scalars(select(audit.AuditRecord))]
    assert patrol_rec["codes"] == [f["code"] for f in api["faults"]] == [f["code"] for f in line["faults"]] == ["blur"]
    assert patrol_rec["basis"] == line["metrics"]["basis"] == api["metrics"]["basis"] == "baseline"
    assert "video.reference.refresh" in actions  # re-taking the baseline is audited


def _three_verdicts(
    district: Runtime,
    app: Any,
    monkeypatch: pytest.MonkeyPatch,
    cam: str,
    normal: Path,
    faulty: Path,
    page: bool = False,
) -> tuple[dict, dict, dict, dict]:
    """Commission `cam` on its `normal` stream through the API (healthy), switch it to `faulty`,
    and judge that once each by the patrol, the API's re-diagnose and `govops video diagnose
    --camera`: (the commissioning response, the patrol's stored record's codes and basis, the
    API's verdict, the CLI's JSON line); with `page`, the camera page after commissioning too."""
    from typer.testing import CliRunner

    from gateway.cli.main import app as cli

    _set_stream(district, cam, str(normal))
    with client_as(app, LOCAL_SYSTEM_ADMIN) as ops:
        taken = ops.post(f"/api/cameras/{cam}/diagnosis/reference")
        assert taken.status_code == 200, taken.text
        assert taken.json()["verdict"] == "ok"
        commissioned = {**taken.json()}
        if page:
            commissioned["page"] = ops.get(f"/video/cameras/{cam}", headers={"Accept": "text/html"}).text
        _set_stream(district, cam, str(faulty))
        report = _patrol(district, policy=Policy(raise_after=1)).run_round([cam])
        api = ops.post(f"/api/cameras/{cam}/diagnose").json()
    monkeypatch.setenv("GOVOPS_DATA_DIR", str(district.settings.data_dir))
    out = CliRunner().invoke(cli, ["video", "diagnose", str(faulty), "--camera", cam, "--json"])
    assert out.exit_code == 0, out.output
    with district.transaction() as s:
        rec = s.scalars(select(DiagnosisRecord).where(DiagnosisRecord.round_id == report.round_id)).one()
        patrol_rec = {"codes": [f["code"] for f in rec.faults], "basis": rec.metrics.get("basis")}
    return commissioned, patrol_rec, api, json.loads(out.stdout.strip().splitlines()[-1])


def test_a_camera_with_an_osd_is_commissioned_without_it_and_one_verdict_holds(
    district: Runtime, app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A camera draws its clock and name over its picture. Commissioning learns where they are
    (the camera page says so), and when the sensor dies under them, the patrol, the API and the
    CLI all say signal_loss, not a dark scene."""
    from tests.support.natural import Clip
    from tests.support.osd import write_osd_clip
    from video.patrol.models import CameraBaseline

    cam = _camera_id(district, ROAD)
    normal = write_osd_clip(tmp_path / "normal.mp4", Clip("clean", "riverside", 0.0, seed=2, frames=12))
    dead = write_osd_clip(tmp_path / "dead.mp4", Clip("black", "riverside", 1.0, seed=2, frames=12, t0=7))
    taken, patrol_rec, api, line = _three_verdicts(district, app, monkeypatch, cam, normal, dead, page=True)
    assert taken["baseline"]["osd_lines"] == 2
    assert "data-osd" in taken["page"] and "字符叠加 OSD 2 行" in taken["page"]
    with district.transaction() as s:
        assert len(s.get(CameraBaseline, (cam, "day")).stats["osd"]) == 2  # type: ignore[union-attr]
    codes = [f["code"] for f in line["faults"]]
    assert patrol_rec["codes"] == [f["code"] for f in api["faults"]] == codes == ["signal_loss"]


def test_a_settled_baseline_still_learns_its_brightness_at_an_hour_it_has_not_seen(district: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    """Commissioning records the hour's brightness; once the baseline is settled, a healthy
    picture at a new hour of the day adds that hour, and nothing else of the baseline moves."""
    from datetime import UTC, timedelta

    from video.diagnosis import diagnose_source
    from video.diagnosis.baseline import local_hour
    from video.patrol import baselines
    from video.patrol.models import CameraBaseline

    cam = _camera_id(district, PARK)
    _patrol(district).run_round([cam])
    with district.transaction() as s:
        row = s.get(CameraBaseline, (cam, "day"))
        assert row is not None and row.taken_at is not None
        commissioned_at = row.taken_at.replace(tzinfo=UTC) if row.taken_at.tzinfo is None else row.taken_at
        assert list(row.stats["hours"]) == [str(local_hour(commissioned_at))]
        # Settled, and stored before the baseline kept the grey pixels' estimate of the light
        # and the light of each part of the picture.
        older = {k: v for k, v in row.stats["illuminants"].items() if k != "grey_pixels"}
        whole = {k: v for k, v in row.stats["light"].items() if not k.startswith("part ")}
        assert len(whole) < len(row.stats["light"])
        row.stats = {**row.stats, "samples": T.baseline_rounds, "illuminants": older, "light": whole}
        row.samples = T.baseline_rounds
        stream = s.get(Camera, cam).stream_url  # type: ignore[union-attr]
    assert stream
    later = commissioned_at + timedelta(hours=6)
    outcomes = []
    for _ in range(T.baseline_rounds + 2):
        with district.transaction() as s:
            current = s.get(CameraBaseline, (cam, "day"))
            assert current is not None
            settings, _ = baselines.settings_for(s.get(CameraWatch, cam), [current], T)
            result = diagnose_source(stream, settings)
            assert result.healthy, result.as_dict()
            outcomes.append(baselines.learn(s, cam, settings, result, later))
    # The missing estimates first (once), then each hour up to its rounds.
    assert outcomes == ["refined"] + ["hour_learned"] * T.baseline_rounds + [None]
    with district.transaction() as s:
        row = s.get(CameraBaseline, (cam, "day"))
        assert row is not None and row.samples == T.baseline_rounds
        assert "grey_pixels" in row.stats["illuminants"]
        assert any(k.startswith("part ") for k in row.stats["light"])
        assert sorted(map(int, row.stats["hours"])) == sorted({local_hour(commissioned_at), local_hour(later)})
        assert row.stats["hours"][str(local_hour(later))][1] == T.baseline_rounds
    with client_as(app, LOCAL_SYSTEM_ADMIN) as ops:  # the camera page shows the hours learned
        page = ops.get(f"/video/cameras/{cam}", headers={"Accept": "text/html"}).text
    assert f'data-hour="{local_hour(later)}"' in page and "按时段 by hour" in page
    assert "data-edge-sigma" in page and "边缘 edges σ" in page  # the typical blur of its edges


def test_a_camera_never_commissioned_is_judged_on_the_absolute_thresholds(district: Runtime) -> None:
    """The patrol's first healthy picture commissions the camera (day baseline with its picture)."""
    from video.patrol.models import CameraBaseline

    cam = _camera_id(district, PARK)
    first = _patrol(district).run_round([cam])
    assert first.counts["ok"] == 1
    with district.transaction() as s:
        rec = s.scalars(select(DiagnosisRecord).where(DiagnosisRecord.camera_id == cam)).one()
        assert rec.metrics["basis"] == "absolute"
        base = s.get(CameraBaseline, (cam, "day"))
        assert base is not None and base.taken_by == "patrol" and base.samples == 1
        assert base.reference and base.reference[:2] == b"\xff\xd8"
    _patrol(district).run_round([cam])
    with district.transaction() as s:
        recs = list(s.scalars(select(DiagnosisRecord).where(DiagnosisRecord.camera_id == cam)))
        assert recs[-1].metrics["basis"] == "baseline" and recs[-1].verdict == "ok"
        assert s.get(CameraBaseline, (cam, "day")).samples == 2  # type: ignore[union-attr]  # refined
