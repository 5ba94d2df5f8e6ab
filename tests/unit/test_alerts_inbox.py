"""The alert inbox: the Alertmanager receiver (idempotent, replay-safe), claim/ack/resolve,
escalation, visibility per role, and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from govops import alerts, audit
from govops.principal import AUDITOR, DEPT_ADMIN, LOCAL_SYSTEM_ADMIN, OPS_ENGINEER, SECURITY_STAFF, Principal
from monitoring.inbox import actions
from tests.conftest import client_as

CAM_GA = "31011600001326000001"  # gaj, shared to gongan
CAM_ZZ = "31011600001326000004"  # zzb, shared to zongzhi
CAM_CG = "31011600001326000005"  # cgj, shared to nobody
GA = Principal("u-ga", "公安值班员", frozenset({SECURITY_STAFF}), platform="gongan")
ZZ = Principal("u-zz", "综治值班员", frozenset({SECURITY_STAFF}), platform="zongzhi")
CGJ_ADMIN = Principal("u-cgj", "城管管理员", frozenset({DEPT_ADMIN}), department="cgj")
OPS = Principal("u-ops", "运维工程师", frozenset({OPS_ENGINEER}))
AUD = Principal("u-aud", "审计员", frozenset({AUDITOR}))


def _am_alert(fp: str, status: str = "firing", starts: str = "2026-12-05T08:00:00Z", **labels: str) -> dict:
    return {
        "status": status,
        "labels": {"alertname": "CameraFaultRateHigh", "severity": "critical", **labels},
        "annotations": {"summary": f"fault {fp}", "runbook": "govops video faults; /video/faults"},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-05T09:00:00Z",
        "fingerprint": fp,
    }


def _payload(*alerts_: dict) -> dict:
    return {"version": "4", "groupKey": "{}:{}", "status": "firing", "receiver": "govops", "alerts": list(alerts_)}


@pytest.fixture
def hook(app):  # type: ignore[no-untyped-def]
    c = client_as(app, None)
    from gateway.routes.alerts import alert_loop

    class _Req:
        def __init__(self, app):  # type: ignore[no-untyped-def]
            self.app = app

    token = alert_loop(_Req(app)).token  # type: ignore[arg-type]

    def post(body: dict, tok: str | None = token):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        return c.post("/api/v1/alerts/alertmanager", json=body, headers=headers)

    return post


def _count(app) -> int:  # type: ignore[no-untyped-def]
    with app.state.runtime.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(alerts.Alert)))


def test_receiver_needs_its_token(hook):
    assert hook(_payload(_am_alert("aa")), tok=None).status_code == 401
    r = hook(_payload(_am_alert("aa")), tok="wrong")
    assert r.status_code == 401 and "token" in r.json()["message"]


def test_receiver_is_idempotent_and_replay_safe(app, hook):
    body = _payload(_am_alert("f1", camera=CAM_GA), _am_alert("f2", area="310116101"))
    assert hook(body).json() == {"created": 2, "refreshed": 0, "resolved": 0, "ignored": 0}
    assert hook(body).json() == {"created": 0, "refreshed": 2, "resolved": 0, "ignored": 0}
    assert _count(app) == 2
    resolved = _payload(_am_alert("f1", status="resolved", camera=CAM_GA))
    assert hook(resolved).json()["resolved"] == 1
    assert hook(resolved).json() == {"created": 0, "refreshed": 0, "resolved": 0, "ignored": 1}
    # A late replay of the firing notice of the resolved occurrence does not reopen it ...
    assert hook(_payload(_am_alert("f1", camera=CAM_GA))).json()["ignored"] == 1
    # ... but a new occurrence (a new startsAt) is a new alert.
    assert hook(_payload(_am_alert("f1", starts="2026-12-05T10:00:00Z", camera=CAM_GA))).json()["created"] == 1
    assert _count(app) == 3
    admin = client_as(app, LOCAL_SYSTEM_ADMIN)
    items = admin.get("/api/v1/alerts", params={"state": "resolved"}).json()["items"]
    assert [a["fingerprint"] for a in items] == ["am:f1"] and items[0]["ends_at"].startswith("2026-12-05T09:00")
    with app.state.runtime.sessions() as s:
        assert s.scalar(select(func.count()).where(audit.AuditRecord.action == "alerts.receive")) == 3


def test_receiver_refuses_bad_bodies_cleanly(hook):
    for body in ({"alerts": [{"status": "odd"}]}, {"nope": 1}, {"alerts": [{"status": "firing", "startsAt": "x"}]}):
        r = hook(body)
        assert r.status_code == 422 and "Traceback" not in r.text


def test_claim_ack_resolve_are_audited_and_in_history(app, hook):
    hook(_payload(_am_alert("c1", camera=CAM_GA)))
    ops = client_as(app, OPS)
    alert_id = ops.get("/api/v1/alerts").json()["items"][0]["id"]
    assert ops.post(f"/api/v1/alerts/{alert_id}/claim").json()["claimed_by"] == "u-ops"
    other = client_as(app, GA)
    r = other.post(f"/api/v1/alerts/{alert_id}/claim")
    assert r.status_code == 409 and "already claimed" in r.json()["message"]
    assert ops.post(f"/api/v1/alerts/{alert_id}/ack", json={"comment": ""}).status_code == 422
    r = ops.post(f"/api/v1/alerts/{alert_id}/ack", json={"comment": "派人现场检查 sent a technician"})
    assert r.json()["ack_comment"].startswith("派人")
    assert ops.post(f"/api/v1/alerts/{alert_id}/resolve", json={"comment": "换了电源"}).json()["status"] == "resolved"
    assert ops.post(f"/api/v1/alerts/{alert_id}/resolve").status_code == 409
    detail = ops.get(f"/api/v1/alerts/{alert_id}").json()
    assert [e["action"] for e in detail["history"]] == ["raised", "claimed", "acknowledged", "resolved"]
    assert detail["runbook"] == "govops video faults; /video/faults"
    with app.state.runtime.sessions() as s:
        acts = set(s.scalars(select(audit.AuditRecord.action).where(audit.AuditRecord.target == str(alert_id))))
        assert acts == {"alerts.claimed", "alerts.acknowledged", "alerts.resolved"}
        assert audit.verify(s).ok


def _seed(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    ids = {}
    with app.state.runtime.transaction() as s:
        for key, cam, dept in (("ga", CAM_GA, "gaj"), ("zz", CAM_ZZ, "zzb"), ("cg", CAM_CG, "cgj")):
            ids[key] = alerts.raise_alert(
                s,
                fingerprint=f"video.camera:{cam}",
                source="video.diagnosis",
                summary=f"camera {cam} offline",
                severity="critical",
                labels={"camera": cam, "department": dept, "area": "310116001"},
            ).id
        ids["kc"] = alerts.raise_alert(
            s, fingerprint="keycloak", source="alertmanager", summary="Keycloak down", labels={"alertname": "KC"}
        ).id
        ids["plat"] = alerts.raise_alert(
            s, fingerprint="plat:zz", source="alertmanager", summary="zongzhi low", labels={"platform": "zongzhi"}
        ).id
    return ids


@pytest.mark.parametrize(
    ("who", "expected"),
    [(OPS, {"ga", "zz", "cg", "kc", "plat"}), (GA, {"ga"}), (ZZ, {"zz", "plat"}), (CGJ_ADMIN, {"cg"})],
)
def test_visibility_follows_the_data(app, who, expected):
    ids = _seed(app)
    c = client_as(app, who)
    seen = {a["id"] for a in c.get("/api/v1/alerts", params={"limit": 500}).json()["items"]}
    assert seen == {ids[k] for k in expected}
    hidden = next(k for k in ids if k not in expected) if len(expected) < len(ids) else None
    if hidden:
        assert c.get(f"/api/v1/alerts/{ids[hidden]}").status_code == 404
        assert c.post(f"/api/v1/alerts/{ids[hidden]}/claim").status_code == 404


def test_auditor_and_anonymous_see_no_alerts(app):
    _seed(app)
    assert client_as(app, AUD).get("/api/v1/alerts").status_code == 403
    assert client_as(app, None).get("/api/v1/alerts").status_code == 401


def test_filters_and_cursor_pagination(app):
    with app.state.runtime.transaction() as s:
        for i in range(7):
            alerts.raise_alert(
                s,
                fingerprint=f"t{i}",
                source="test",
                summary=f"t{i}",
                severity="critical" if i % 2 else "warning",
                labels={"area": "A" if i < 3 else "B"},
            )
    c = client_as(app, OPS)
    got, cursor, pages = [], None, 0
    while True:
        page = c.get("/api/v1/alerts", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        got += [a["summary"] for a in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 4 and got == [f"t{i}" for i in reversed(range(7))]
    crit_b = c.get("/api/v1/alerts", params={"severity": "critical", "area": "B"}).json()["items"]
    assert sorted(a["summary"] for a in crit_b) == ["t3", "t5"]
    assert c.get("/api/v1/alerts", params={"severity": "loud"}).status_code == 422
    assert c.get("/api/v1/alerts", params={"cursor": "!!"}).status_code == 422
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert c.get("/api/v1/alerts", params={"since": future}).json()["items"] == []


def test_escalation_marks_unclaimed_critical_alerts_once(app):
    ids = _seed(app)
    later = datetime.now(UTC) + timedelta(minutes=30)
    with app.state.runtime.transaction() as s:
        actions.claim(s, OPS, ids["ga"])
        due = actions.escalate_unclaimed(s, after_min=15, now=later)
        assert {a.id for a in due} == {ids["zz"], ids["cg"]}  # critical, unclaimed; kc/plat are warnings
        assert actions.escalate_unclaimed(s, after_min=15, now=later) == []
        assert actions.escalate_unclaimed(s, after_min=60, now=later) == []
    r = client_as(app, OPS).get(f"/api/v1/alerts/{ids['zz']}").json()
    assert r["escalated_at"] and r["history"][-1]["action"] == "escalated"


def test_console_inbox_and_detail_pages(app):
    ids = _seed(app)
    c = client_as(app, OPS)
    html = c.get("/alerts").text
    assert "告警收件箱" in html and html.count("data-alert-id=") == 5
    page = c.get(f"/alerts/{ids['ga']}").text
    assert f'href="/video/cameras/{CAM_GA}"' in page and "处置手册" in page
    r = c.post(f"/alerts/{ids['ga']}/claim", follow_redirects=False)
    assert r.status_code == 303 and "msg=" in r.headers["location"]
    assert "u-ops" in c.get(f"/alerts/{ids['ga']}").text
    r = c.post(f"/alerts/{ids['ga']}/ack", data={"comment": ""}, follow_redirects=False)
    assert "err=" in r.headers["location"]
    assert client_as(app, GA).get("/alerts").text.count("data-alert-id=") == 1
    assert client_as(app, GA).get(f"/alerts/{ids['cg']}").status_code == 404
    silences = c.get("/alerts/silences").text
    assert "GOVOPS_ALERTS_ALERTMANAGER_URL" in silences  # no Alertmanager configured: said, not a 500


def test_cli_lists_claims_and_acks_with_json(runtime, monkeypatch):
    import json

    from typer.testing import CliRunner

    from gateway.cli.main import app as cli

    monkeypatch.setenv("GOVOPS_DATA_DIR", str(runtime.settings.data_dir))
    with runtime.transaction() as s:
        alert_id = alerts.raise_alert(
            s, fingerprint="cli1", source="test", summary="磁盘快满 disk", severity="critical"
        ).id
    run = CliRunner().invoke
    listed = json.loads(run(cli, ["alerts", "list", "--json"]).stdout)
    assert [a["id"] for a in listed["items"]] == [alert_id]
    r = run(cli, ["alerts", "claim", str(alert_id), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["claimed_by"].startswith("cli:")
    r = run(cli, ["alerts", "ack", str(alert_id), "-m", "看过了", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["ack_comment"] == "看过了"
    shown = json.loads(run(cli, ["alerts", "show", str(alert_id), "--json"]).stdout)
    assert [e["action"] for e in shown["history"]] == ["raised", "claimed", "acknowledged"]
    for window, ids in (([], [alert_id]), (["--since", "2026-01-01"], [alert_id]), (["--until", "2026-01-01"], [])):
        r = run(cli, ["alerts", "list", "--all", *window, "--json"])
        assert r.exit_code == 0 and [a["id"] for a in json.loads(r.stdout)["items"]] == ids, (window, r.stdout)
    bad = run(cli, ["alerts", "list", "--since", "yesterday"])
    assert type(bad.exception).__name__ == "ValidationFailed" and "YYYY-MM-DD" in bad.exception.hint
    assert run(cli, ["alerts", "resolve", str(alert_id), "--json"]).exit_code == 0
    again = run(cli, ["alerts", "resolve", str(alert_id)])  # already resolved: a Conflict, exit 1 in main()
    assert type(again.exception).__name__ == "Conflict" and again.exception.exit_code == 1


def test_cli_usage_mistake_is_one_line_exit_2(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "alerts", "silence", "--match", "nonsense"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "GOVOPS_DATA_DIR": str(tmp_path)},
        timeout=120,
    )
    assert out.returncode == 2 and "NAME=VALUE" in out.stderr and "Traceback" not in out.stderr


def test_the_background_loop_escalates_and_notifies(runtime):
    import time

    from monitoring.inbox.service import AlertLoop, EscalationLoop
    from monitoring.settings import AlertSettings

    sent: list[tuple[str, list]] = []
    loop = AlertLoop.build(
        runtime.settings.data_dir,
        runtime.transaction,
        settings=AlertSettings(escalate_after_min=0, check_interval_s=0.05),
    )
    loop.notifier.submit = lambda event, items: items and sent.append((event, items))  # type: ignore[method-assign]
    with runtime.transaction() as s:
        alert_id = alerts.raise_alert(s, fingerprint="esc", source="test", summary="无人认领", severity="critical").id
    import threading

    ran = threading.Event()

    def broken() -> None:
        raise RuntimeError("a job's bug")

    checker = EscalationLoop(loop, runtime.transaction, jobs=[broken, ran.set])  # the daily report's place
    checker.start()
    try:
        with runtime.transaction() as s:  # raised by the platform after start-up: notified as firing
            later = alerts.raise_alert(
                s, fingerprint="p2", source="video.diagnosis", summary="离线", severity="info"
            ).id
        deadline = time.monotonic() + 60
        while len(sent) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ran.wait(60), "a job after a failing one still runs"
    finally:
        checker.stop()
    events = {event: [a["id"] for a in items] for event, items in sent}
    assert events == {"escalated": [alert_id], "firing": [later]}
    with runtime.sessions() as s:
        assert s.get(alerts.Alert, alert_id).escalated_at is not None  # type: ignore[union-attr]
