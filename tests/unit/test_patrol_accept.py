"""误报确认: a person accepts the picture a camera shows now as its normal. The camera learns it
(the hour's brightness, or its baseline statistics) without forgetting the rest, the alert
clears and the action is audited; a picture that is nobody's normal teaches nothing."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from gateway.runtime import Runtime
from govops import audit
from govops.alerts import Alert
from govops.errors import Conflict
from govops.principal import DEPT_ADMIN, LOCAL_SYSTEM_ADMIN, Principal
from tests.conftest import client_as
from tests.support.natural import Clip, write_clip
from tests.support.synthetic import ClipSpec, write_condition_clip
from tests.unit.test_patrol import GA, ROAD, T, _alerts, _camera_id, _patrol, _set_stream
from video.diagnosis.baseline import local_hour
from video.patrol import Policy
from video.patrol.models import CameraBaseline
from video.patrol.ondemand import accept_normal, diagnose_now, refresh_reference, set_thresholds

ONCE = Policy(raise_after=1, clear_after=1)


def _commissioned(rt: Runtime, tmp_path: Path, name: str = "healthy") -> str:
    """The road camera, commissioned by the patrol on a healthy picture of its road."""
    cam = _camera_id(rt, ROAD)
    _set_stream(rt, cam, str(write_condition_clip(tmp_path / f"{name}.mp4", ClipSpec(name, scene="road"))))
    report = _patrol(rt, policy=ONCE).run_round([cam])
    assert report.counts["ok"] == 1
    return cam


def _baseline(rt: Runtime, cam: str) -> SimpleNamespace:
    with rt.transaction() as s:
        row = s.get(CameraBaseline, (cam, "day"))
        assert row is not None
        names = ("stats", "samples", "reference", "taken_at", "taken_by", "updated_at")
        return SimpleNamespace(**{k: getattr(row, k) for k in names})


def _show(rt: Runtime, tmp_path: Path, cam: str, condition: str, strength: float = 0.5) -> dict:  # type: ignore[type-arg]
    clip = write_condition_clip(tmp_path / f"{condition}.mp4", ClipSpec(condition, scene="road", strength=strength))
    _set_stream(rt, cam, str(clip))
    return diagnose_now(rt.sessions, rt.box, cam, actor="ops-1", base=T, policy=ONCE)


def test_a_dim_hour_accepted_is_learned_as_that_hours_brightness(district: Runtime, tmp_path: Path) -> None:
    cam = _commissioned(district, tmp_path)
    before = _baseline(district, cam)
    shown = _show(district, tmp_path, cam, "dark", 0.2)
    assert [f["code"] for f in shown["faults"]] == ["too_dark"] and shown["watch"]["stable"] == "faulty"
    assert _alerts(district, cam)[0].status == "firing"

    out = accept_normal(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)

    assert (out["accepted"], out["learned"], out["faults"]) == (["too_dark"], "hour", [])
    assert out["watch"]["stable"] == "ok" and _alerts(district, cam)[0].status == "resolved"
    after = _baseline(district, cam)
    hour = str(out["hour"])
    assert after.stats["hours"][hour][0] == pytest.approx(shown["metrics"]["brightness_mean"], abs=1.0)
    assert after.stats["hours"][hour][1] == 1
    # Only the hour moved: the picture, who took it and every other statistic stay.
    assert (after.reference, after.taken_by, after.taken_at) == (before.reference, before.taken_by, before.taken_at)
    assert {k: v for k, v in after.stats.items() if k != "hours"} == {
        k: v for k, v in before.stats.items() if k != "hours"
    }
    # The same picture is healthy from now on, wherever it is judged.
    again = diagnose_now(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)
    assert again["faults"] == [] and again["metrics"]["brightness_basis"] == f"hour {hour}"
    with district.transaction() as s:
        [entry] = s.scalars(select(audit.AuditRecord).where(audit.AuditRecord.action == "video.baseline.accept"))
        assert entry.actor == "ops-1" and entry.detail["accepted"] == ["too_dark"]
        assert entry.detail["learned"] == "hour"


def test_a_cast_accepted_retakes_the_statistics_and_keeps_the_hours(
    district: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from gateway.cli.main import app as cli

    cam = _commissioned(district, tmp_path)
    before = _baseline(district, cam)
    shown = _show(district, tmp_path, cam, "cast")
    assert [f["code"] for f in shown["faults"]] == ["color_cast"]

    monkeypatch.setenv("GOVOPS_DATA_DIR", str(district.settings.data_dir))
    runner = CliRunner()
    done = runner.invoke(cli, ["video", "accept", cam, "--json"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout.strip().splitlines()[-1])

    assert (out["accepted"], out["learned"], out["faults"], out["verdict"]) == (["color_cast"], "statistics", [], "ok")
    after = _baseline(district, cam)
    assert after.taken_by.startswith("cli:") and after.samples == 1 and after.reference != before.reference
    assert after.stats["illuminants"] != before.stats["illuminants"]
    assert set(before.stats["hours"]) <= set(after.stats["hours"])
    again = runner.invoke(cli, ["video", "accept", cam])  # nothing left to accept: a clear refusal (exit 1)
    assert isinstance(again.exception, Conflict) and "no fault now" in again.exception.message


def test_a_fault_on_an_absolute_limit_is_not_learned(district: Runtime, tmp_path: Path) -> None:
    """A picture whose highlights clip stays too bright whatever its normal brightness is: the
    clipped share is an absolute limit, moved only by the camera's own thresholds."""
    cam = _commissioned(district, tmp_path)
    before = _baseline(district, cam)
    shown = _show(district, tmp_path, cam, "bright", 1.0)
    assert [f["code"] for f in shown["faults"]] == ["too_bright"]
    with pytest.raises(Conflict, match="absolute limit"):
        accept_normal(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)
    assert _baseline(district, cam).stats == before.stats


@pytest.mark.parametrize("condition", ["black", "freeze", "occlusion"])
def test_a_fault_that_is_nobodys_normal_teaches_nothing(district: Runtime, tmp_path: Path, condition: str) -> None:
    cam = _commissioned(district, tmp_path)
    before = _baseline(district, cam)
    shown = _show(district, tmp_path, cam, condition, 0.8)
    assert shown["faults"], shown
    assert condition != "occlusion" or shown["metrics"]["basis"] == "baseline"  # a cover here is no guess
    alerts = _alerts(district, cam)
    assert alerts and all("未建档" not in a.summary for a in alerts)  # judged against the baseline: no guess
    with pytest.raises(Conflict, match="no camera's normal; nothing was learned"):
        accept_normal(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)
    after = _baseline(district, cam)
    assert (after.stats, after.reference, after.updated_at) == (before.stats, before.reference, before.updated_at)
    with district.transaction() as s:
        assert not list(s.scalars(select(audit.AuditRecord).where(audit.AuditRecord.action == "video.baseline.accept")))


def test_a_still_view_that_reads_frozen_is_told_its_own_freeze_limit(district: Runtime, tmp_path: Path) -> None:
    """Nothing moves, and at 128 kbit/s the encoder smooths the sensor's noise away: over the
    window the live picture reads frozen. The second after it tells the live view from a frozen
    one (checks/motion.py); a camera whose freeze is not confirmed (freeze_confirm_s = 0) reads
    frozen. Accepting that teaches nothing (a frozen stream reads the same); the refusal says how
    the camera's own freeze limit lets a live, still view through."""
    cam = _commissioned(district, tmp_path)
    still = ClipSpec("static", scene="road", strength=0.8, max_kbps=128)
    _set_stream(district, cam, str(write_condition_clip(tmp_path / "still.mp4", still)))
    confirmed = diagnose_now(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)
    assert confirmed["faults"] == [] and confirmed["metrics"]["freeze_later_frames"] >= 2, confirmed
    window = T.model_copy(update={"freeze_confirm_s": 0.0})
    shown = diagnose_now(district.sessions, district.box, cam, actor="ops-1", base=window, policy=ONCE)
    assert [f["code"] for f in shown["faults"]] == ["freeze"], shown
    with pytest.raises(Conflict, match="no camera's normal") as refused:
        accept_normal(district.sessions, district.box, cam, actor="ops-1", base=window, policy=ONCE)
    assert refused.value.hint and f"govops video thresholds {cam} freeze_max_block_diff=" in refused.value.hint
    assert f"{cam} freeze_confirm_s=2" in refused.value.hint  # this camera's window was not confirmed
    # The advice works: below what the view shows, the live, still view is healthy.
    with district.transaction() as s:
        limit = shown["metrics"]["freeze_block_diff"] / 2
        set_thresholds(s, cam, {"freeze_max_block_diff": limit}, actor="ops-1", base=window)
    again = diagnose_now(district.sessions, district.box, cam, actor="ops-1", base=window, policy=ONCE)
    assert again["faults"] == [], again


# Held-out, a still camera: the tower's sky at dusk is a dim plain region from the top border
# down, which without a baseline reads as a cover.
DIM_SKY = Clip("dusk", "china-tower", 0.0, seed=7)


def _audits(rt: Runtime, action: str) -> list[dict]:  # type: ignore[type-arg]
    with rt.transaction() as s:
        return [a.detail for a in s.scalars(select(audit.AuditRecord).where(audit.AuditRecord.action == action))]


@pytest.mark.usefixtures("still_cameras")
def test_a_cover_read_without_a_baseline_is_a_guess_a_person_may_refuse(
    district: Runtime, app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A new camera has no baseline: its dim sky reads as a cover, on the absolute rules. The
    alert and the faults list say so; the person who sees it accepts the false alarm: the camera
    is commissioned on that picture and judged against it, and the next round is healthy."""
    cam = _camera_id(district, ROAD)
    _set_stream(district, cam, str(write_clip(tmp_path / "sky.mp4", DIM_SKY)))
    shown = diagnose_now(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)
    assert [f["code"] for f in shown["faults"]] == ["occlusion"] and shown["metrics"]["basis"] == "absolute", shown
    [alert] = _alerts(district, cam)  # the alert says how the guess is refused
    assert "未建档" in alert.summary and f"govops video accept {cam}" in alert.summary, alert.summary
    with client_as(app, LOCAL_SYSTEM_ADMIN) as ops:
        [row] = [c for c in ops.get("/api/video/faults").json()["items"] if c["id"] == cam]
        assert row["commissioned"] is False and row["faults"] == ["occlusion"], row
        page = ops.get("/video/faults", headers={"Accept": "text/html"}).text
        assert "data-no-baseline" in page and "未建档 no baseline" in page
    from typer.testing import CliRunner

    from gateway.cli.main import app as cli

    monkeypatch.setenv("GOVOPS_DATA_DIR", str(district.settings.data_dir))
    listed = CliRunner().invoke(cli, ["video", "faults"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "baseline" in listed.output and "occlusion" in listed.output, listed.output
    out = accept_normal(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)
    assert (out["accepted"], out["learned"], out["faults"]) == (["occlusion"], "commissioned", []), out
    assert [a.status for a in _alerts(district, cam)] == ["resolved"]
    assert out["verdict"] == "ok" and [b["mode"] for b in out["watch"]["baselines"]] == ["day"]
    assert [d["accepted"] for d in _audits(district, "video.baseline.accept")] == [["occlusion"]]
    report = _patrol(district, policy=ONCE).run_round([cam])
    assert report.counts["ok"] == 1, report
    with client_as(app, LOCAL_SYSTEM_ADMIN) as ops:
        assert cam not in [c["id"] for c in ops.get("/api/video/faults").json()["items"]]


@pytest.mark.usefixtures("still_cameras")
def test_a_reference_over_a_plain_view_is_taken_only_when_the_person_vouches_for_it(
    district: Runtime, app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The camera is moved on purpose, to a view with a dim sky: the new view is judged without
    the old baseline, so its sky reads as a cover. Re-taking refuses it (the API, the console)
    and says how to vouch for it; vouched (the CLI), the baseline is taken, and the audit says so."""
    from typer.testing import CliRunner

    from gateway.cli.main import app as cli

    cam = _commissioned(district, tmp_path)
    before = _baseline(district, cam)
    _set_stream(district, cam, str(write_clip(tmp_path / "sky.mp4", DIM_SKY)))
    with pytest.raises(Conflict, match="reads as covered") as refused:
        refresh_reference(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)
    assert refused.value.hint and f"govops video reference {cam} --plain-is-view" in refused.value.hint
    with client_as(app, LOCAL_SYSTEM_ADMIN) as ops:
        api = ops.post(f"/api/cameras/{cam}/diagnosis/reference")
        assert api.status_code == 409 and "--plain-is-view" in api.text, api.text
        typo = ops.post(f"/api/cameras/{cam}/diagnosis/reference", params={"plain_is_view": "perhaps"})
        assert typo.status_code == 422 and "plain_is_view" in typo.text, typo.text
        page = ops.get(f"/video/cameras/{cam}", headers={"Accept": "text/html"}).text
        assert 'data-testid="plain-is-view"' in page
    assert _baseline(district, cam).stats == before.stats
    monkeypatch.setenv("GOVOPS_DATA_DIR", str(district.settings.data_dir))
    done = CliRunner().invoke(cli, ["video", "reference", cam, "--plain-is-view", "--json"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["vouched"] == ["occlusion"] and out["faults"] == [], out
    assert _baseline(district, cam).stats != before.stats
    assert [d.get("vouched") for d in _audits(district, "video.reference.refresh")] == [["occlusion"]]
    # Without --json the person reads what was taken, and that they vouched for it.
    said = CliRunner().invoke(cli, ["video", "reference", cam, "--plain-is-view"], env={"COLUMNS": "200"})
    assert said.exit_code == 0, said.output
    assert "baseline (建档) re-taken for day mode" in said.stdout, said.stdout
    assert "vouched for by you: occlusion" in said.stdout, said.stdout


def test_a_healthy_picture_has_no_false_alarm_to_accept(district: Runtime, tmp_path: Path) -> None:
    cam = _commissioned(district, tmp_path)
    with pytest.raises(Conflict, match="no fault now"):
        accept_normal(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)


def test_the_console_button_accepts_and_says_what_was_learned(district: Runtime, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cam = _commissioned(district, tmp_path)
    _show(district, tmp_path, cam, "dark", 0.2)
    # Those who may open the road camera's page but not change its baseline: no button, a 403.
    gaj_admin = Principal("u-gaj", "公安管理员", frozenset({DEPT_ADMIN}), department="gaj")
    for viewer in (gaj_admin, GA):
        with client_as(app, viewer) as c:
            page = c.get(f"/video/cameras/{cam}", headers={"Accept": "text/html"})
            assert page.status_code == 200 and 'data-testid="history"' in page.text
            assert 'data-testid="accept-normal"' not in page.text
            assert c.post(f"/video/cameras/{cam}/accept", follow_redirects=False).status_code == 403
            assert c.post(f"/api/v1/cameras/{cam}/diagnosis/accept").status_code == 403
    with client_as(app, LOCAL_SYSTEM_ADMIN) as ops:
        page = ops.get(f"/video/cameras/{cam}", headers={"Accept": "text/html"}).text
        assert 'data-testid="accept-normal"' in page and "误报确认" in page
        r = ops.post(f"/video/cameras/{cam}/accept", follow_redirects=False)
        assert r.status_code == 303 and "msg=" in r.headers["location"]
        page = ops.get(r.headers["location"], headers={"Accept": "text/html"}).text
        assert "已确认误报" in page and "已学习该时段亮度" in page
        assert "<small data-accepted>误报确认 accepted as normal: 画面过暗" in page  # the history says so
        assert 'data-testid="accept-normal"' not in page  # healthy now: nothing left to accept
        r = ops.post(f"/api/v1/cameras/{cam}/diagnosis/accept")
        assert r.status_code == 409 and "no fault now" in r.json()["detail"]
    hour = local_hour(_baseline(district, cam).updated_at)
    assert f'data-hour="{hour}"' in page
    metrics = client_as(app, None).get("/metrics").text  # the codes that cry wolf, for Prometheus
    assert 'govops_video_false_alarms_accepted{code="too_dark"} 1.0' in metrics
    assert 'govops_video_false_alarms_accepted{code="blur"} 0.0' in metrics
    with district.transaction() as s:
        assert not list(s.scalars(select(Alert).where(Alert.status == "firing")))


def test_an_order_for_a_false_alarm_is_withdrawn_not_dispatched(district: Runtime, tmp_path: Path) -> None:
    """The work-order engine opens an order for the firing alert; once a person accepts the
    picture as normal (and the camera stays healthy) the next sync closes it as a false alarm."""
    from datetime import UTC, datetime

    from monitoring.workorders.models import WorkOrder, WorkOrderEvent
    from monitoring.workorders.settings import WorkOrderSettings
    from monitoring.workorders.sync import sync

    def sync_now() -> dict:  # type: ignore[type-arg]
        with district.transaction() as s:
            return sync(s, datetime.now(UTC), WorkOrderSettings()).as_dict()

    cam = _commissioned(district, tmp_path)
    _show(district, tmp_path, cam, "dark", 0.2)
    [order_id] = sync_now()["opened"]
    # Accepted, but the camera is faulty again by the next diagnosis: the order stays.
    accept_normal(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)
    _show(district, tmp_path, cam, "black", 0.8)
    assert sync_now()["withdrawn"] == []
    # The picture is accepted while the camera still shows it: the order is withdrawn, once.
    _show(district, tmp_path, cam, "cast")
    accept_normal(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)
    assert sync_now()["withdrawn"] == [order_id]
    assert sync_now()["withdrawn"] == []
    with district.transaction() as s:
        order = s.get(WorkOrder, order_id)
        assert order is not None and order.state == "closed" and order.closed_at is not None
        last = s.scalars(select(WorkOrderEvent).where(WorkOrderEvent.order_id == order_id)).all()[-1]
        assert (last.action, last.from_state, last.actor) == ("withdraw", "open", "system:workorders")
        assert "误报 false alarm: ops-1" in (last.note or "") and "color_cast" in (last.note or "")


def test_what_the_patrol_learned_while_the_camera_was_read_is_kept(
    district: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The acceptance is applied to the baseline as it is when written, not as it was read: a
    patrol round that learned another hour meanwhile keeps it."""
    from video.patrol import ondemand

    cam = _commissioned(district, tmp_path)
    _show(district, tmp_path, cam, "dark", 0.2)
    meanwhile = (int(next(iter(_baseline(district, cam).stats["hours"]))) + 12) % 24
    read = ondemand.diagnose_target

    def read_while_the_patrol_learns(target):  # type: ignore[no-untyped-def]
        result = read(target)
        with district.transaction() as s:
            row = s.get(CameraBaseline, (cam, "day"))
            assert row is not None
            row.stats = {**row.stats, "hours": {**row.stats["hours"], str(meanwhile): [90.0, 3]}}
        return result

    monkeypatch.setattr(ondemand, "diagnose_target", read_while_the_patrol_learns)
    out = accept_normal(district.sessions, district.box, cam, actor="ops-1", base=T, policy=ONCE)
    hours = _baseline(district, cam).stats["hours"]
    assert out["learned"] == "hour" and hours[str(meanwhile)] == [90.0, 3] and hours[str(out["hour"])][1] == 1
    assert meanwhile in out["baseline"]["brightness_by_hour"]  # and the answer says what was written
