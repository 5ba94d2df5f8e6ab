"""运维日报: one district day of operations, from the records kept anyway — the same report from
the domain, the API, the console page and `govops report daily`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from govops.alerts import raise_alert
from govops.errors import ValidationFailed
from govops.principal import LOCAL_SECURITY_ADMIN, LOCAL_SYSTEM_ADMIN
from infra.cluster.models import ClusterRun
from monitoring.kpi_history.models import KpiSample
from monitoring.reports.daily import daily, the_day
from monitoring.workorders.models import WorkOrder
from tests.conftest import client_as
from video.catalogue.models import Camera
from video.patrol.models import DiagnosisRecord

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = "2026-12-01"


def _at(local: str) -> datetime:
    """A wall-clock time in 金山 as the UTC instant the records keep."""
    return datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).astimezone(UTC)


def _kpis(s, at: datetime, online: float, intact: float) -> None:  # type: ignore[no-untyped-def]
    for metric, value in (("online_rate", online), ("intact_rate", intact), ("networking_rate", 1.0), ("cameras", 8)):
        s.add(KpiSample(recorded_at=at, scope="district", key="310116", name="金山区", metric=metric, value=value))


def seed(district):  # type: ignore[no-untyped-def]
    """One day's worth of records in 金山 around 1 December (the PostgreSQL test seeds the same)."""
    with district.transaction() as s:
        cams = s.scalars(select(Camera).order_by(Camera.id).limit(2)).all()
        _kpis(s, _at("2026-11-30 09:00"), 0.95, 0.9)
        _kpis(s, _at("2026-12-01 09:00"), 0.5, 0.5)  # superseded by the day's last sample
        _kpis(s, _at("2026-12-01 21:00"), 0.875, 0.75)
        _kpis(s, _at("2026-12-02 09:00"), 1.0, 1.0)  # the next day: not this report's
        # 07:30 in 金山 is still 30 November in UTC: the district's day counts it
        early = raise_alert(s, fingerprint="daily:early", source="test", summary="早班告警 early", severity="critical")
        early.starts_at = _at("2026-12-01 07:30")
        old = raise_alert(s, fingerprint="daily:old", source="test", summary="昨日告警 old", severity="warning")
        old.starts_at, old.status, old.ends_at = _at("2026-11-30 20:00"), "resolved", _at("2026-12-01 08:00")
        s.add_all(
            [
                DiagnosisRecord(camera_id=cams[0].id, at=_at("2026-12-01 10:00"), origin="patrol", verdict="faulty",
                                faults=[{"code": "blur", "score": 0.8}]),
                DiagnosisRecord(camera_id=cams[0].id, at=_at("2026-12-01 11:00"), origin="patrol", verdict="faulty",
                                faults=[{"code": "blur", "score": 0.9}]),
                DiagnosisRecord(camera_id=cams[1].id, at=_at("2026-12-01 12:00"), origin="patrol", verdict="offline"),
                DiagnosisRecord(camera_id=cams[1].id, at=_at("2026-12-02 00:30"), origin="patrol", verdict="faulty",
                                faults=[{"code": "noise", "score": 0.7}]),
            ]
        )  # fmt: skip
        s.add(
            WorkOrder(camera_id=cams[0].id, camera_name=cams[0].name, contractor_code="jsyw-1", state="dispatched",
                      fault="blur", verdict="faulty", sla_hours=4, opened_at=_at("2026-12-01 10:05"),
                      due_at=_at("2026-12-01 14:05"))
        )  # fmt: skip
        s.add(
            ClusterRun(kind="apply", playbook="site.yml", inventory="hosts.yml", status="failed", actor="cli:ops",
                       started_at=_at("2026-12-01 02:30"), finished_at=_at("2026-12-01 02:31"),
                       error="node-2: unreachable\nmore")
        )  # fmt: skip
    return district


@pytest.fixture
def seeded(district):  # type: ignore[no-untyped-def]
    return seed(district)


def check_the_first(r: dict) -> None:  # type: ignore[type-arg]
    assert r["day"] == DAY and r["from"] == "2026-11-30T16:00:00+00:00" and r["until"] == "2026-12-01T16:00:00+00:00"
    v = r["video"]
    assert v["kpi"]["online_rate"] == 0.875 and v["kpi_source"] == "recorded"  # the day's last sample
    assert v["kpi_change"] == {"online_rate": -0.075, "intact_rate": -0.15, "networking_rate": 0.0}
    assert v["faults"] == {"blur": 1, "offline": 1} and v["diagnosed_cameras"] == 2
    a = r["alerts"]
    assert a["raised"] == {"critical": 1} and a["resolved"] == {"warning": 1} and a["open_at_end"] == {"critical": 1}
    assert [x["summary"] for x in a["oldest_open_critical"]] == ["早班告警 early"]
    w = r["workorders"]
    assert (w["opened"], w["repaired"], w["closed"], w["overdue_at_end"]) == (1, 0, 0, 1)
    assert w["longest_overdue"][0]["contractor_name"] == "金山区雪亮工程运维一标段"
    assert r["cluster"]["runs"] == {"apply failed": 1} and r["cluster"]["failed"][0]["error"] == "node-2: unreachable"
    assert r["cloud"] == {"runs": {}, "failed": []}
    assert r["backup"]["newest"] is None and r["backup"]["too_old"] is True


def test_the_report_counts_the_districts_day(seeded):
    with seeded.sessions() as s:
        check_the_first(daily(s, seeded.settings, seeded.video, day=DAY, zone=SHANGHAI))
    # the day before knows nothing of the 1st
    with seeded.sessions() as s:
        before = daily(s, seeded.settings, seeded.video, day="2026-11-30", zone=SHANGHAI)
    assert before["alerts"]["raised"] == {"warning": 1} and before["workorders"]["opened"] == 0


def test_the_day_is_yesterday_by_default_and_never_to_come():
    now = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)  # 01:00 on the 8th in 金山
    assert the_day(None, SHANGHAI, now).day.isoformat() == "2026-12-07"
    assert the_day("today", SHANGHAI, now).day.isoformat() == "2026-12-08"
    with pytest.raises(ValidationFailed, match="has not begun"):
        the_day("2026-12-09", SHANGHAI, now)
    with pytest.raises(ValidationFailed, match="not a date"):
        the_day("2026-02-30", SHANGHAI, now)


def test_api_page_and_cli_give_the_same_report(seeded, app, monkeypatch):
    ops = client_as(app, LOCAL_SYSTEM_ADMIN)
    api = ops.get("/api/v1/reports/daily", params={"day": DAY})
    assert api.status_code == 200, api.text
    page = ops.get("/reports/daily", params={"day": DAY})
    assert page.status_code == 200 and "运维日报" in page.text
    assert (
        "早班告警 early" in page.text and "金山区雪亮工程运维一标段" in page.text and "node-2: unreachable" in page.text
    )
    assert "87.5%" in page.text and "-7.5 pt" in page.text
    assert ops.get("/api/v1/reports/daily", params={"day": "someday"}).status_code == 422
    assert client_as(app, LOCAL_SECURITY_ADMIN).get("/api/v1/reports/daily").status_code == 403

    monkeypatch.setenv("GOVOPS_DATA_DIR", str(seeded.settings.data_dir))
    from gateway.cli.main import app as cli

    out = CliRunner().invoke(cli, ["report", "daily", "--day", DAY, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == api.json()
    human = CliRunner().invoke(cli, ["report", "daily", "--day", DAY])
    assert human.exit_code == 0 and "运维日报" in human.stdout and "blur 1" in human.stdout
    assert "2026-12-01 07:30" in human.stdout  # the alert's start on the district's clock
    assert the_day(None).end <= datetime.now(UTC) + timedelta(seconds=1)


def _channels(tmp_path, *channels: tuple[str, str, list[str] | None]):  # type: ignore[no-untyped-def]
    from monitoring.notify.channels import load_channels

    path = tmp_path / "channels.yml"
    path.write_text(
        json.dumps(
            {
                "channels": [
                    {"name": n, "kind": "wecom", "url": u, **({"events": e} if e else {})} for n, u, e in channels
                ]
            }
        )
    )
    path.chmod(0o600)
    return path, load_channels(path)


def test_the_report_goes_only_to_the_channels_that_take_it(seeded, tmp_path):
    from monitoring.notify.dispatcher import Notifier
    from monitoring.reports.daily import send
    from tests.unit.test_alerts_notify import Recorder

    duty, pager = Recorder(), Recorder()
    try:
        _, channels = _channels(tmp_path, ("duty", duty.url, ["firing", "daily_report"]), ("pager", pager.url, None))
        with seeded.sessions() as s:
            report = daily(s, seeded.settings, seeded.video, day=DAY, zone=SHANGHAI)
        assert send(report, Notifier(channels, sleep=lambda _: None), "http://127.0.0.1:8080/") == {"duty": "sent"}
        text = duty.bodies[0]["markdown"]["content"]
        assert text.startswith("### [govops] 运维日报 (daily operations report) 2026-12-01")
        assert "早班告警 early" in text and "金山区雪亮工程运维一标段" in text and "在线率 online: 87.5%" in text
        assert "http://127.0.0.1:8080/reports/daily?day=2026-12-01" in text
        assert pager.bodies == []  # not opted in: the report is not an alert
    finally:
        duty.close()
        pager.close()


def test_a_channel_naming_an_unknown_event_is_refused(tmp_path):
    from govops.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown event"):
        _channels(tmp_path, ("duty", "http://127.0.0.1:9/send", ["daily-report"]))


def _daily_send(seeded: Any, tmp_path: Path, url: str) -> Any:
    """The gateway's daily job at 08:30 in 金山, to one channel `duty` that takes the report."""
    from datetime import time

    from monitoring.notify.dispatcher import Notifier
    from monitoring.reports.scheduled import DailySend

    _, channels = _channels(tmp_path, ("duty", url, ["daily_report"]))
    return DailySend(
        seeded.sessions, seeded.settings, seeded.video, Notifier(channels, sleep=lambda _: None), time(8, 30), SHANGHAI
    )


def test_the_gateway_sends_yesterdays_report_once_after_its_hour(seeded, tmp_path):
    from monitoring.reports.scheduled import DailySend
    from tests.unit.test_alerts_notify import Recorder

    duty = Recorder()
    try:
        job = _daily_send(seeded, tmp_path, duty.url)
        assert job(_at("2026-12-02 08:10")) is None  # not yet
        assert job(_at("2026-12-02 08:40")) == {"duty": "sent"}
        assert job(_at("2026-12-02 09:40")) is None  # once a day, even after a restart (the marker)
        assert DailySend(**{**job.__dict__})(_at("2026-12-02 10:00")) is None
        assert len(duty.bodies) == 1 and "2026-12-01" in duty.bodies[0]["markdown"]["content"]
    finally:
        duty.close()


def test_cli_sends_the_report_and_says_when_no_channel_takes_it(seeded, tmp_path, monkeypatch):
    from gateway.cli.main import app as cli
    from tests.unit.test_alerts_notify import Recorder

    duty = Recorder()
    monkeypatch.setenv("GOVOPS_DATA_DIR", str(seeded.settings.data_dir))
    try:
        path, _ = _channels(tmp_path, ("duty", duty.url, ["daily_report"]))
        monkeypatch.setenv("GOVOPS_ALERTS_CHANNELS_FILE", str(path))
        out = CliRunner().invoke(cli, ["report", "daily", "--day", DAY, "--send", "--json"])
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["sent"] == {"duty": "sent"} and len(duty.bodies) == 1
        path, _ = _channels(tmp_path, ("pager", duty.url, None))
        refused = CliRunner().invoke(cli, ["report", "daily", "--day", DAY, "--send"])
        assert type(refused.exception).__name__ == "ValidationFailed" and "daily_report" in refused.exception.hint
    finally:
        duty.close()


def test_a_send_time_that_is_not_hh_mm_is_refused_with_what_to_give(monkeypatch):
    from govops.errors import ConfigError
    from monitoring.settings import load_alert_settings

    monkeypatch.setenv("GOVOPS_ALERTS_DAILY_REPORT_AT", "8:30")
    with pytest.raises(ConfigError, match=r"DAILY_REPORT_AT.*give HH:MM"):
        load_alert_settings()
    monkeypatch.setenv("GOVOPS_ALERTS_DAILY_REPORT_AT", "08:30")
    assert load_alert_settings().daily_report_at == "08:30"


def test_a_report_no_channel_took_is_tried_again_later_and_then_given_up(seeded, tmp_path):
    """Every channel failing (after the notifier's own four attempts) marked the day sent: the
    report was lost. Now it is tried again 10, 20, 40 … minutes later; a second gateway on the
    same data directory never sends it twice; after six failures it is given up."""
    from monitoring.reports import scheduled
    from tests.unit.test_alerts_notify import Recorder

    duty = Recorder(fail_first=4)  # the first send's four attempts all fail
    try:
        job = _daily_send(seeded, tmp_path, duty.url)
        reports = seeded.settings.data_dir / "reports"
        assert job(_at("2026-12-02 08:40")) == {"duty": "failed"}
        assert not (reports / "daily-2026-12-01.sent").exists()
        assert job(_at("2026-12-02 08:45")) is None  # not before its next try
        lock = reports / "daily-2026-12-01.lock"
        lock.touch()  # another gateway is sending it right now
        assert job(_at("2026-12-02 08:51")) is None
        lock.unlink()
        assert job(_at("2026-12-02 08:51")) == {"duty": "sent"}
        assert (reports / "daily-2026-12-01.sent").exists() and not (reports / "daily-2026-12-01.failed").exists()
        assert job(_at("2026-12-02 12:00")) is None  # sent once
        assert len(duty.bodies) == 1 and "2026-12-01" in duty.bodies[0]["markdown"]["content"]
    finally:
        duty.close()

    dead = Recorder(fail_first=10**6)
    try:
        job = _daily_send(seeded, tmp_path, dead.url)
        tries = [job(_at(f"2026-12-03 {hh}")) for hh in ("08:31", "08:42", "09:03", "09:44", "11:05", "13:06")]
        assert tries == [{"duty": "failed"}] * scheduled.ATTEMPTS
        assert job(_at("2026-12-03 23:59")) is None  # given up: the log and the channel's own alert say so
        assert dead.attempts == 4 * scheduled.ATTEMPTS
    finally:
        dead.close()


def test_an_unreadable_failure_count_is_one_failure_and_the_report_is_tried_at_once(seeded, tmp_path):
    from tests.unit.test_alerts_notify import Recorder

    duty = Recorder()
    try:
        job = _daily_send(seeded, tmp_path, duty.url)
        reports = seeded.settings.data_dir / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        for garbage in ('{"attempts": 2, "at": "2026-12-02T08:40:00"}', "not json"):  # no offset; not JSON
            (reports / "daily-2026-12-01.failed").write_text(garbage)
            assert job(_at("2026-12-02 08:41")) == {"duty": "sent"}
            (reports / "daily-2026-12-01.sent").unlink()
        assert len(duty.bodies) == 2
    finally:
        duty.close()
