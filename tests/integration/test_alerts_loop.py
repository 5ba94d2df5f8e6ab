"""The alert loop end to end, with the real components on loopback:

the lab's Prometheus evaluates the project's rules against the gateway's /metrics; a forced
camera-fault state makes CameraFaultRateHigh fire; the real Alertmanager posts it to the
receiver and it appears in the inbox; replaying the webhook creates no duplicate; a silence made
from the inbox appears in Alertmanager and suppresses the alert; a resolve notice resolves it.

The rules are the project's own, copied with `for:` set to 0s (the expressions are what is under
test; their hold times are covered by promtool), and the intervals are seconds, not minutes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text

from govops.localtime import shown
from tests.fixtures.platform import GatewayServer, need, start_gateway, wait_for
from tools.lab.alertmanager import AlertmanagerHandle, start_alertmanager
from tools.lab.process import free_port
from tools.lab.prometheus import start_prometheus

pytestmark = pytest.mark.integration
RULES = Path(__file__).resolve().parents[2] / "monitoring" / "rules"
AREA = "310116101"  # 朱泾镇: three sample cameras


def _fast_rules(dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for path in sorted(RULES.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "0s"
        (dest / path.name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        out.append(dest / path.name)
    return out


class Loop:
    def __init__(self, gw: GatewayServer, am: AlertmanagerHandle, token: str, client: httpx.Client) -> None:
        self.gw, self.am, self.token, self.client = gw, am, token, client

    def set_area_status(self, status: str) -> None:
        engine = create_engine(f"sqlite:///{self.gw.data_dir / 'govops.db'}")
        with engine.begin() as conn:
            n = conn.execute(
                text("UPDATE cameras SET status = :s WHERE area_code LIKE :a"), {"s": status, "a": f"{AREA}%"}
            ).rowcount
        engine.dispose()
        assert n == 3

    def inbox(self, **params: str) -> list[dict]:
        r = self.client.get("/api/v1/alerts", params={"limit": "500", "source": "alertmanager", **params})
        r.raise_for_status()
        return [a for a in r.json()["items"] if a["alertname"] == "CameraFaultRateHigh"]

    def am_alerts(self) -> list[dict]:
        r = httpx.get(f"{self.am.url}/api/v2/alerts", params={"filter": 'alertname="CameraFaultRateHigh"'})
        return list(r.json())


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory, sample_clips: Path) -> Iterator[Loop]:
    d = tmp_path_factory.mktemp("alert-loop")
    (d / "data").mkdir()
    (d / "data" / "clips").symlink_to(sample_clips, target_is_directory=True)
    token = secrets.token_urlsafe(24)
    token_file = d / "webhook.token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    am_port = free_port()
    gw = start_gateway(
        d / "data",
        d,
        {
            "GOVOPS_ALERTS_WEBHOOK_TOKEN": token,
            "GOVOPS_ALERTS_ALERTMANAGER_URL": f"http://127.0.0.1:{am_port}",
        },
    )
    started: list = [gw]
    try:
        am = need(
            start_alertmanager,
            d / "am",
            f"{gw.url}/api/v1/alerts/alertmanager",
            token_file,
            port=am_port,
            group_wait="1s",
            group_interval="2s",
            repeat_interval="3s",
        )
        started.append(am)
        prom = need(
            start_prometheus,
            d / "prom",
            {"govops": gw.url.removeprefix("http://")},
            rule_files=_fast_rules(d / "rules"),
            alertmanagers=[am.url.removeprefix("http://")],
            interval="1s",
        )
        started.append(prom)
        client = httpx.Client(base_url=gw.url, timeout=30)
        client.get(gw.login_url.removeprefix(gw.url), follow_redirects=False)  # the one-time login: a cookie
        assert client.get("/api/v1/whoami").status_code == 200
        yield Loop(gw, am, token, client)
        client.close()
    finally:
        for h in reversed(started):
            h.stop()


SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_camera_fault_fires_through_alertmanager_into_the_inbox(loop: Loop) -> None:
    assert loop.inbox(area=AREA) == []
    loop.set_area_status("offline")
    items = wait_for(lambda: loop.inbox(area=AREA, state="firing"), timeout=180, what="CameraFaultRateHigh in inbox")
    assert len(items) == 1
    alert = items[0]
    assert alert["severity"] == "warning" and alert["area"] == AREA
    assert alert["summary"] == f"100% of the cameras in {AREA} are faulty or offline"
    assert alert["runbook"].startswith("/video/faults")
    page = loop.client.get(f"/alerts/{alert['id']}").text
    assert "处置手册" in page and alert["summary"] in page

    # Alertmanager repeats the notification (repeat_interval 3s): refreshed, never duplicated.
    first_seen = alert["last_seen"]
    wait_for(lambda: loop.inbox(area=AREA)[0]["last_seen"] > first_seen, timeout=120, what="a repeated notification")
    # The same webhook replayed twice by hand: still one alert.
    am_alert = wait_for(loop.am_alerts, timeout=60, what="the alert in Alertmanager")[0]
    body = {
        "version": "4",
        "status": "firing",
        "receiver": "govops-inbox",
        "groupKey": "replay",
        "alerts": [
            {
                "status": "firing",
                "labels": am_alert["labels"],
                "annotations": am_alert["annotations"],
                "startsAt": am_alert["startsAt"],
                "endsAt": am_alert["endsAt"],
                "fingerprint": am_alert["fingerprint"],
            }
        ],
    }
    hook = "/api/v1/alerts/alertmanager"
    for _ in range(2):
        r = httpx.post(f"{loop.gw.url}{hook}", json=body, headers={"Authorization": f"Bearer {loop.token}"})
        assert r.status_code == 200 and r.json()["created"] == 0, r.text
    assert httpx.post(f"{loop.gw.url}{hook}", json=body).status_code == 401
    assert [a["id"] for a in loop.inbox(area=AREA)] == [alert["id"]]

    # A silence made from the inbox is Alertmanager's: listed there, and it suppresses the alert.
    r = loop.client.post(
        "/api/v1/alerts/silences", json={"alert_id": alert["id"], "hours": 1, "comment": "设备维修中 under repair"}
    )
    assert r.status_code == 201, r.text
    silence_id = r.json()["id"]
    am_silences = httpx.get(f"{loop.am.url}/api/v2/silences").json()
    mine = [s for s in am_silences if s["id"] == silence_id]
    assert mine and mine[0]["status"]["state"] == "active" and mine[0]["createdBy"] == "local-admin"
    assert {m["name"]: m["value"] for m in mine[0]["matchers"]}["area"] == AREA
    wait_for(lambda: loop.am_alerts()[0]["status"]["state"] == "suppressed", timeout=60, what="the alert suppressed")
    listed = loop.client.get("/api/v1/alerts/silences").json()["items"]
    assert any(s["id"] == silence_id and s["ends_at"] and s["starts_at"] for s in listed)
    assert "设备维修中" in loop.client.get("/alerts/silences").text
    assert loop.client.delete(f"/api/v1/alerts/silences/{silence_id}").status_code == 200
    expired = [s for s in httpx.get(f"{loop.am.url}/api/v2/silences").json() if s["id"] == silence_id]
    assert expired[0]["status"]["state"] == "expired"
    # The console's form says until when, on the district's clock (北京时间 here), not the server's.
    before = datetime.now(UTC)
    form = loop.client.post(f"/alerts/{alert['id']}/silence", data={"hours": "2", "comment": "巡检"})
    said = unquote(form.headers["location"])
    assert form.status_code == 303 and "msg=" in said, said
    ends = [shown(before + timedelta(hours=2, minutes=m), SHANGHAI) for m in (0, 1)]
    assert any(f"until {e}" in said for e in ends), (said, ends)
    form_silence = said.rsplit("(id ", 1)[1].rstrip(")")
    assert loop.client.delete(f"/api/v1/alerts/silences/{form_silence}").status_code == 200

    # The cameras come back: Prometheus resolves, Alertmanager sends the resolved notice.
    loop.set_area_status("online")
    resolved = wait_for(lambda: loop.inbox(area=AREA, state="resolved"), timeout=180, what="the resolved notice")
    assert [a["id"] for a in resolved] == [alert["id"]] and resolved[0]["resolved_by"] == "alertmanager"
    history = loop.client.get(f"/api/v1/alerts/{alert['id']}").json()["history"]
    assert [e["action"] for e in history] == ["raised", "resolved"]
