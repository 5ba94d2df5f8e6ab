"""运维日报 from a real `govops serve`: its background loop sends yesterday's report at
GOVOPS_ALERTS_DAILY_REPORT_AT to the channel that takes it (a local robot on 127.0.0.1), once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.platform import start_gateway, wait_for
from tests.unit.test_alerts_notify import Recorder

pytestmark = pytest.mark.integration


def test_the_gateway_sends_the_daily_report_to_the_duty_group(tmp_path: Path, sample_clips: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "clips").symlink_to(sample_clips, target_is_directory=True)
    duty, pager = Recorder(), Recorder()
    channels = tmp_path / "channels.yml"
    channels.write_text(
        json.dumps(
            {
                "channels": [
                    {"name": "duty", "kind": "wecom", "url": duty.url, "events": ["firing", "daily_report"]},
                    {"name": "pager", "kind": "wecom", "url": pager.url},
                ]
            }
        )
    )
    channels.chmod(0o600)
    gw = start_gateway(
        tmp_path / "data",
        tmp_path,
        {
            "GOVOPS_ALERTS_CHANNELS_FILE": str(channels),
            "GOVOPS_ALERTS_DAILY_REPORT_AT": "00:00",  # any time of day is after it
            "GOVOPS_ALERTS_CHECK_INTERVAL_S": "1",
        },
    )
    try:

        def reports(bodies: list[dict]) -> list[str]:  # type: ignore[type-arg]
            return [b["markdown"]["content"] for b in bodies if "运维日报" in b["markdown"]["content"]]

        sent = wait_for(lambda: reports(duty.bodies), timeout=120, what="the daily report at the duty robot")
        assert "摄像机 cameras 8" in sent[0] and "告警 alerts" in sent[0], sent[0]
        markers = list((tmp_path / "data" / "reports").glob("daily-*.sent"))
        assert len(markers) == 1, "sent once a day, and it says so on disk"
        assert reports(pager.bodies) == []  # a channel that did not opt in
    finally:
        gw.stop()
        duty.close()
        pager.close()
