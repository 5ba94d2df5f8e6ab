"""The patrol against real RTSP streams from the lab's GStreamer server: healthy, frozen, dark and
snowy mounts; a server that dies in the middle of a round; a PostgreSQL-free, SQLite catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.runtime import Runtime
from govops.alerts import Alert
from tests.fixtures.platform import need
from tests.support.synthetic import ClipSpec, write_condition_clip
from tools.lab.rtsp import RtspHandle, start_rtsp_server
from video.catalogue.models import Camera
from video.clips import write_clip
from video.diagnosis import CameraSettings, Thresholds, diagnose_source
from video.patrol import Patrol, Policy
from video.patrol.models import DiagnosisRecord

pytestmark = pytest.mark.integration


def _mounts(d: Path) -> dict[str, str | Path]:
    """Two healthy scenes through the lab's x264 encoder, and three faults served as the camera's
    encoder made them (`copy:`, see tools/lab/rtsp_server.py): frozen, dark, snow."""

    def camera(condition: str, scene: str) -> str:
        spec = ClipSpec(condition, scene, 0.8, fps=15, seconds=10)
        return f"copy:{write_condition_clip(d / f'{spec.name}.mp4', spec)}"

    return {
        "road": write_clip(d / "road.mp4", "road", seconds=4, seed=1),
        "crossroad": write_clip(d / "crossroad.mp4", "crossroad", seconds=4, seed=2),
        "frozen": camera("freeze", "plaza"),  # the stream flows, the pictures are identical
        "dark": camera("dark", "plaza"),
        "snow": camera("snow", "market"),
    }


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspHandle]:
    d = tmp_path_factory.mktemp("patrol-rtsp")
    handle = need(start_rtsp_server, d, _mounts(d))
    for url in handle.urls.values():  # a re-encoded mount shows black until its looper delivers
        diagnose_source(url, CameraSettings(Thresholds()))
    yield handle
    handle.stop()


def _point(rt: Runtime, urls: list[str]) -> list[str]:
    """Point the sample district's cameras at `urls` (cycled); returns camera IDs in order."""
    with rt.transaction() as s:
        cams = list(s.scalars(select(Camera).order_by(Camera.id)))
        for cam, url in zip(cams, (urls * len(cams))[: len(cams)], strict=True):
            cam.stream_url = url
        return [c.id for c in cams]


def test_a_round_over_live_streams_finds_each_fault(district: Runtime, streams: RtspHandle) -> None:
    names = ["road", "crossroad", "frozen", "dark", "snow"]
    ids = _point(district, [streams.url(n) for n in names])[: len(names)]
    patrol = Patrol(
        district.sessions, district.box, concurrency=8, policy=Policy(raise_after=2), thresholds=Thresholds()
    )
    first = patrol.run_round(ids)
    second = patrol.run_round(ids)
    assert first.status == second.status == "done"
    with district.transaction() as s:
        found = {name: s.get(Camera, cid).diagnosis_faults for name, cid in zip(names, ids, strict=True)}
        status = {name: s.get(Camera, cid).status for name, cid in zip(names, ids, strict=True)}
        firing = {a.labels["camera"] for a in s.scalars(select(Alert).where(Alert.status == "firing"))}
    assert found["road"] == [] and found["crossroad"] == []
    assert "freeze" in found["frozen"]
    assert "too_dark" in found["dark"]
    assert "noise" in found["snow"]
    assert status == {"road": "online", "crossroad": "online", "frozen": "faulty", "dark": "faulty", "snow": "faulty"}
    assert firing == set(ids[2:])  # raised on the second faulty round, one per camera
    assert first.alerts_raised == 0 and second.alerts_raised == 3


def test_a_server_that_dies_mid_round_loses_no_camera(district: Runtime, tmp_path: Path) -> None:
    handle = need(start_rtsp_server, tmp_path, {"road": write_clip(tmp_path / "road.mp4", "road", seconds=4)})
    try:
        ids = _point(district, [handle.url("road")])
        seen: list[str] = []

        def on_result(camera_id: str, result, outcome) -> None:  # type: ignore[no-untyped-def]
            seen.append(camera_id)
            if len(seen) == 2:
                handle.stop()  # by its PID, while the other cameras are still to be read

        patrol = Patrol(district.sessions, district.box, concurrency=1, batch=1, thresholds=Thresholds())
        report = patrol.run_round(ids, on_result=on_result)
    finally:
        handle.stop()
    assert report.status == "done" and report.cameras == 8
    assert report.counts["ok"] >= 2 and report.counts["offline"] >= 5
    assert sum(report.counts.values()) == 8
    with district.transaction() as s:
        rows = list(s.scalars(select(DiagnosisRecord).where(DiagnosisRecord.round_id == report.round_id)))
        assert sorted(r.camera_id for r in rows) == sorted(ids)  # one record per camera, none lost
        errors = [r.error for r in rows if r.verdict == "offline"]
        assert all(e and "Traceback" not in e and "rtsp stream" in e for e in errors), errors
        assert s.scalar(select(func.count()).select_from(DiagnosisRecord)) == 8


def test_commissioned_at_onboarding_then_a_fault_mid_patrol_is_raised_within_raise_after(
    district: Runtime, tmp_path: Path
) -> None:
    """A camera accepted at onboarding (建档: its reference picture and baseline taken from its
    live stream), patrolled healthy, then defocused while the patrol goes on: the patrol judges
    it against its own baseline and raises `blur` within RAISE_AFTER faulty rounds."""
    from tests.support.natural import Clip
    from tests.support.natural import write_clip as write_natural
    from video.patrol.ondemand import refresh_reference

    raise_after = 2
    normal = write_natural(tmp_path / "normal.mp4", Clip("clean", "riverside", 0.0, seed=2, frames=36))
    defocused = write_natural(tmp_path / "defocus.mp4", Clip("defocus", "riverside", 0.5, seed=2, frames=36, t0=7))
    handle = need(start_rtsp_server, tmp_path, {"normal": f"copy:{normal}", "defocused": f"copy:{defocused}"})
    try:
        for url in handle.urls.values():
            diagnose_source(url, CameraSettings(Thresholds()))  # the mounts are up
        cam = _point(district, [handle.url("normal")])[0]
        taken = refresh_reference(district.sessions, district.box, cam, actor="installer", base=Thresholds())
        assert taken["verdict"] == "ok" and taken["baseline"]["mode"] == "day", taken
        patrol = Patrol(
            district.sessions,
            district.box,
            concurrency=2,
            policy=Policy(raise_after=raise_after),
            thresholds=Thresholds(),
        )
        healthy = patrol.run_round([cam])
        assert healthy.counts.get("ok") == 1, healthy.counts
        _point(district, [handle.url("defocused")])  # the lens is knocked out of focus mid-patrol
        rounds = 0
        while rounds < raise_after:
            rounds += 1
            report = patrol.run_round([cam])
            with district.transaction() as s:
                firing = [a for a in s.scalars(select(Alert).where(Alert.status == "firing"))]
            if firing:
                break
        assert rounds >= 1 and report.alerts_raised == 1, (rounds, report.counts)
        with district.transaction() as s:
            camera = s.get(Camera, cam)
            assert camera is not None and "blur" in camera.diagnosis_faults
            last = s.scalars(
                select(DiagnosisRecord).where(DiagnosisRecord.camera_id == cam).order_by(DiagnosisRecord.id.desc())
            ).first()
            assert last is not None and last.metrics["basis"] == "baseline"
        assert [a.labels["camera"] for a in firing] == [cam]
    finally:
        handle.stop()


def test_a_false_alarm_accepted_over_a_live_stream_clears_and_stays_clear(district: Runtime, tmp_path: Path) -> None:
    """误报确认 over RTSP: a camera commissioned on its live stream is re-lit with a colour cast (a
    new street lamp), the patrol raises `color_cast`; an operator accepts the picture as normal,
    the alert clears at once and the next patrol round over the same stream stays healthy."""
    from video.patrol.ledger import alert_fingerprint
    from video.patrol.ondemand import accept_normal, refresh_reference

    def clip(condition: str) -> str:
        spec = ClipSpec(condition, "road", 0.5, fps=15, seconds=10)
        return f"copy:{write_condition_clip(tmp_path / f'{spec.name}.mp4', spec)}"

    handle = need(start_rtsp_server, tmp_path, {"normal": clip("healthy"), "lamp": clip("cast")})
    once = Policy(raise_after=1, clear_after=1)
    try:
        for url in handle.urls.values():
            diagnose_source(url, CameraSettings(Thresholds()))  # the mounts are up
        cam = _point(district, [handle.url("normal")])[0]
        taken = refresh_reference(district.sessions, district.box, cam, actor="installer", base=Thresholds())
        assert taken["verdict"] == "ok", taken
        patrol = Patrol(district.sessions, district.box, concurrency=1, policy=once, thresholds=Thresholds())
        _point(district, [handle.url("lamp")])
        raised = patrol.run_round([cam])
        assert raised.alerts_raised == 1, raised.counts
        with district.transaction() as s:
            camera = s.get(Camera, cam)
            assert camera is not None and camera.diagnosis_faults == ["color_cast"]

        out = accept_normal(district.sessions, district.box, cam, actor="ops-1", base=Thresholds(), policy=once)
        assert (out["accepted"], out["learned"], out["faults"]) == (["color_cast"], "statistics", []), out
        with district.transaction() as s:
            alerts = s.scalars(select(Alert).where(Alert.fingerprint == alert_fingerprint(cam)))
            assert [a.status for a in alerts] == ["resolved"]

        after = patrol.run_round([cam])
        assert after.counts.get("ok") == 1 and after.alerts_raised == 0, after.counts
        with district.transaction() as s:
            camera = s.get(Camera, cam)
            assert camera is not None and camera.diagnosis_faults == [] and camera.status == "online"
    finally:
        handle.stop()
