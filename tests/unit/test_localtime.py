"""Times people read are the district's local time (北京时间 by default); records, the API and
--json keep UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.cli import output
from govops.alerts import Alert, raise_alert
from govops.errors import ConfigError, ValidationFailed
from govops.localtime import DATE, SECOND, assumed_local, day_start, shown, typed
from govops.principal import Principal
from govops.settings import Settings, load_or_explain
from tests.conftest import client_as

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPS = Principal("u-ops", "运维", frozenset({"ops-engineer"}))


def test_an_instant_is_shown_in_the_districts_time():
    assert shown("2026-12-07T15:58:03.123456+00:00", SHANGHAI) == "2026-12-07 23:58"
    assert shown("2026-12-07T15:58:03Z", SHANGHAI, SECOND) == "2026-12-07 23:58:03"
    assert shown(datetime(2026, 12, 7, 16, 30, tzinfo=UTC), SHANGHAI, DATE) == "2026-12-08"  # past midnight there
    assert shown(datetime(2026, 12, 7, 15, 58), SHANGHAI) == "2026-12-07 23:58"  # naive: UTC, as records keep it
    assert shown("2026-12-07T15:58:03+00:00", ZoneInfo("UTC")) == "2026-12-07 15:58"
    # what is not an instant is left as it is
    for other in ("running", "2026-12-07", "jsyw-1", "310116001", "", "2026-13-45T99:99+00:00"):
        assert shown(other, SHANGHAI) == other
    assert shown(None, SHANGHAI) == ""
    assert shown(date(2026, 12, 7), SHANGHAI) == "2026-12-07"  # a date has no clock


def test_the_default_zone_is_beijing_time_and_a_bad_one_says_what_to_give(monkeypatch):
    assert Settings().timezone == "Asia/Shanghai"
    monkeypatch.setenv("GOVOPS_TIMEZONE", "Beijing")
    with pytest.raises(ConfigError, match=r"GOVOPS_TIMEZONE.*Asia/Shanghai"):
        load_or_explain(Settings)


def test_a_day_a_person_picks_is_the_districts_day():
    assert day_start("2026-12-07", SHANGHAI) == datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
    assert day_start("2026-12-07", SHANGHAI, after=True) == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    with pytest.raises(ValidationFailed, match="not a date"):
        day_start("2026-02-31", SHANGHAI)


def test_a_time_a_person_types_is_the_districts_time():
    nine_thirty = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # 09:30 北京时间
    assert typed("2026-12-07 09:30", SHANGHAI) == typed("2026-12-07T09:30:00", SHANGHAI) == nine_thirty
    assert typed("2026-12-07T09:30+08:00", SHANGHAI) == typed("2026-12-07T01:30Z", SHANGHAI) == nine_thirty
    assert typed(" 2026-12-07 ", SHANGHAI) == datetime(2026, 12, 6, 16, 0, tzinfo=UTC)  # the day begins
    assert typed("2026-12-07", SHANGHAI, end=True) == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)  # …and ends
    for bad in ("yesterday", "20261207", "2026-12-07 25:00", "2026-02-31", "12:00", ""):
        with pytest.raises(ValidationFailed) as caught:
            typed(bad, SHANGHAI, what="--since")
        assert "YYYY-MM-DD" in str(caught.value)
    assert assumed_local(datetime(2026, 12, 7, 9, 30), SHANGHAI) == nine_thirty  # naive: the district's clock
    assert assumed_local(nine_thirty, SHANGHAI) == nine_thirty and assumed_local(None, SHANGHAI) is None


def test_the_api_reads_a_time_without_offset_as_the_districts(app, district):
    with district.transaction() as s:
        alert = raise_alert(s, fingerprint="test:since", source="clock-test", summary="时钟 since")
        alert.starts_at = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # 09:30 北京时间
    with client_as(app, OPS) as c:

        def found(**params: str) -> bool:
            page = c.get("/api/v1/alerts", params={"source": "clock-test", **params})
            assert page.status_code == 200, page.text
            return [a["summary"] for a in page.json()["items"]] == ["时钟 since"]

        assert found(since="2026-12-07T09:00") and not found(since="2026-12-07T10:00")
        assert not found(since="2026-12-07T09:00:00+00:00")  # an offset is that instant: 17:00 北京时间
        assert found(until="2026-12-07T10:00") and not found(until="2026-12-07T09:00")
        assert c.get("/api/v1/alerts", params={"since": "yesterday"}).status_code == 422


def test_the_console_shows_the_districts_time(app, district):
    with district.transaction() as s:
        alert = raise_alert(s, fingerprint="test:clock", source="test", summary="时钟 clock")
        alert.starts_at = datetime(2026, 12, 7, 15, 58, 3, tzinfo=UTC)
        alert_id = alert.id
    with client_as(app, OPS) as c:
        inbox = c.get("/alerts")
        detail = c.get(f"/alerts/{alert_id}")
    assert inbox.status_code == 200 and "2026-12-07 23:58" in inbox.text
    assert detail.status_code == 200 and "2026-12-07 23:58:03" in detail.text
    assert "15:58" not in inbox.text and "15:58" not in detail.text
    # the API keeps UTC
    with district.transaction() as s:
        stored = s.get(Alert, alert_id)
        assert stored is not None and stored.starts_at == datetime(2026, 12, 7, 15, 58, 3, tzinfo=UTC)


def test_a_cli_table_shows_the_districts_time_and_keeps_its_ids_whole(monkeypatch):
    monkeypatch.setattr(output, "shown", lambda v: shown(v, SHANGHAI))
    with output.console.capture() as captured:
        output.table("t", ["id", "since"], [["31011600001326000005", "2026-12-07T15:58:03+00:00"]])
    text = captured.get()
    assert "31011600001326000005" in text and "23:58" in text and "15:58" not in text


def test_the_zone_is_read_alone_and_a_bad_one_is_a_config_error(monkeypatch):
    from govops.localtime import configured_zone

    configured_zone.cache_clear()
    try:
        monkeypatch.setenv("GOVOPS_PORT", "abc")  # not the clock's to refuse
        monkeypatch.setenv("GOVOPS_TIMEZONE", "Europe/Paris")
        assert configured_zone().key == "Europe/Paris"
        configured_zone.cache_clear()
        monkeypatch.setenv("GOVOPS_TIMEZONE", "Nope")
        with pytest.raises(ConfigError, match="GOVOPS_TIMEZONE"):
            configured_zone()
    finally:
        configured_zone.cache_clear()


def test_a_notification_says_since_when_on_the_duty_officers_clock(monkeypatch):
    from monitoring.notify import templates

    monkeypatch.setattr(templates, "shown", lambda v, fmt: shown(v, SHANGHAI, fmt))
    alert = {"severity": "critical", "summary": "摄像机 石化街道东村 离线", "starts_at": "2026-12-07T15:58:03+00:00"}
    content = templates.wecom(templates.Message("firing", [alert]))["markdown"]["content"]
    assert "始于 since 12-07 23:58" in content, content
